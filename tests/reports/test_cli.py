"""The ``bpttlab`` command line: help with an example on every subcommand, misuse exits 2 with one
line, an output that cannot be written exits 1 with one line, and nothing is half-written."""

import re
import subprocess
import sys

import pytest

from bpttlab.reports.cli.app import build_parser, main

SUBCOMMANDS = ("derive", "prove", "verify", "sheet", "decay", "learn", "bench", "all")


def bpttlab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bpttlab", *args], capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_help_of_every_subcommand_shows_an_example(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert f"example: bpttlab {command}" in capsys.readouterr().out


def test_every_subcommand_is_listed():
    commands = build_parser()._subparsers._group_actions[0].choices
    assert set(commands) == set(SUBCOMMANDS)


@pytest.mark.parametrize("argv", [
    ["sheet", "--lang", "fr"],
    ["sheet", "--cell", "transformer"],
    ["sheet", "--notation", "physics"],
    ["decay", "--T", "1"],
    ["decay", "--T", "many"],
    ["decay", "--lang", "de"],
    ["learn", "--T", "1"],
    ["learn", "--cells", "transformer"],
    ["all", "--colour"],
    ["verify", "--T", "0"],
    ["derive", "elman"],
    ["frobnicate"],
])
def test_misuse_exits_2_with_one_line(argv, capsys):
    """In-process (argparse's exit, or a status returned by the command); the process itself is
    covered by test_misuse_of_the_module_entry_point_exits_2 below."""
    try:
        status = main(argv)
    except SystemExit as exit_:
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err
    error_lines = [line for line in err.splitlines() if "error" in line]
    assert len(error_lines) == 1, err


def test_misuse_of_the_module_entry_point_exits_2():
    result = bpttlab("decay", "--T", "many")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if "error" in line] == [
        "bpttlab decay: error: argument --T: expected an integer ≥ 2, got 'many'"]


@pytest.mark.parametrize("command", ["sheet", "decay"])
def test_an_output_that_cannot_be_written_is_one_line(tmp_path, command):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    args = [command, "--out", str(blocker / "sub")] + (["--no-pdf", "--cell", "rnn"] if command == "sheet"
                                                         else ["--T", "5", "--seeds", "1"])
    result = bpttlab(*args)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and str(blocker) in result.stderr


def test_sheet_writes_tex_without_pdf(tmp_path):
    result = bpttlab("sheet", "--cell", "gru", "--lang", "id", "--no-pdf", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gru.id.course.tex"]
    assert f"wrote {tmp_path / 'gru.id.course.tex'}" in result.stdout


def test_version():
    result = bpttlab("--version")
    assert result.returncode == 0 and result.stdout.startswith("bpttlab ")


def test_a_failure_inside_a_library_is_an_internal_error_not_a_misuse(monkeypatch, capsys):
    """SymPy's ShapeError is a ValueError too; raised outside bpttlab's own checks it is a bug: exit 3
    and one line asking for a report, never the misuse status 2."""
    import sympy as sp

    from bpttlab.reports.cli import app

    def broken(*_args, **_kwargs):
        sp.Matrix([[1, 2]]) + sp.Matrix([[1], [2]])  # raises inside SymPy

    monkeypatch.setattr(app, "derive", broken)
    assert app.main(["derive", "rnn"]) == app.INTERNAL_ERROR == 3
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "internal error (ShapeError" in error[0] and "please report" in error[0]


def test_a_misuse_found_by_the_library_exits_2_in_one_line(tmp_path, capsys):
    bad = tmp_path / "deep.cell"
    bad.write_text("name: deep\nstates: h_t <- h_prev\nh_t = " + "tanh(" * 9 + "W_xh @ x_t" + ")" * 9 + "\n")
    with pytest.raises(SystemExit) as exit_:
        main(["prove", "--cells", str(bad)])
    assert exit_.value.code == 2
    assert f"{bad}:3: h_t is 9 functions deep" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["decay", "--T", "100000000", "--out"],
    ["verify", "--T", "1000000000", "--cells", "rnn"],
    ["learn", "--T", "100000000", "--cells", "rnn", "--out"],
])
def test_a_run_too_large_for_memory_is_refused_before_it_starts(tmp_path, capsys, argv):
    out = tmp_path / "out"
    argv = [*argv, str(out)] if argv[-1] == "--out" else argv
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and not out.exists()  # nothing written, not even the folder
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and re.search(r"needs about [\d.]+ GB of memory, more than the", error[0])


def test_bench_refuses_zero_repeats_at_once(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "--repeats", "0"])
    assert exit_.value.code == 2 and "--repeats: must be ≥ 1" in capsys.readouterr().err
