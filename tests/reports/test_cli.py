"""The ``bpttlab`` command line: help with an example on every subcommand, misuse exits 2 with one
line, an output that cannot be written exits 1 with one line, and nothing is half-written."""

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
