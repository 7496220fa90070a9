"""The command-line paths that only ``--help`` reached before: ``bench`` at tiny sizes, ``prove`` and
its exit 1, ``derive --latex --notation``, the ``verify`` table and its exit 1, the ``verify_gradients``
console script, ``all`` returning 1, Ctrl-C (130) and a closed pipe, ``sheet --decay-figures`` and
``sheet --pdf`` without pdflatex (exit 2).

Most run in-process through ``main`` (fast); the console script, SIGINT and the broken pipe run as real
processes, because what they test is the process: its exit status and its stderr."""

import dataclasses
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp
from conftest import BARS

import bpttlab.derivations
from bpttlab.derivations import CELLS, H, delta, derive
from bpttlab.derivations import prove as real_prove
from bpttlab.derivations.printing.notations import NOTATIONS
from bpttlab.derivations.symbols import ones, vector
from bpttlab.numeric.engine import NumpyEngine
from bpttlab.numeric.verify import CHECKS
from bpttlab.numeric.verify import gradients as verify_module
from bpttlab.reports.benchmarks import engine as engine_bench
from bpttlab.reports.cli import app, main_job
from bpttlab.reports.cli import verify as verify_cli
from bpttlab.reports.cli.app import main
from bpttlab.reports.sheets.writer import LANGUAGES


def wrong_rnn():
    """The RNN's derivation with 1 − h_t where 1 − h_t² belongs: the step and BPTT proofs fail, and
    an engine built from it computes wrong gradients."""
    d = derive("rnn", head="linear", loss_at="last")
    h = vector("h_t", H)
    step = tuple(sp.Eq(eq.lhs, sp.HadamardProduct(delta(h), ones(H) - h), evaluate=False)
                 if eq.lhs.name == "δa_t" else eq for eq in d.step_backward)
    return dataclasses.replace(d, step_backward=step)


def failing_prove(cell, *args, **kwargs):
    """``prove``, but the RNN's proof is of the wrong derivation."""
    if getattr(cell, "name", cell) == "rnn":
        kwargs["derivation"] = wrong_rnn()
    return real_prove(cell, *args, **kwargs)


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)


# ------------------------------------------------------------------------------------------ derive
@pytest.mark.parametrize(("notation", "lines"), [
    ("course", [r"a_t = W_{hh} h_{t-1} + W_{xh} x_t + b_h", r"h_t = \tanh(a_t)",
                r"\delta W_{hy} = \delta \hat{y}_t h_t^{\top}"]),
    ("dlbook", [r"\bm{a}^{(t)} = \bm{W} \bm{h}^{(t-1)} + \bm{U} \bm{x}^{(t)} + \bm{b}",
                r"\bm{h}^{(t)} = \tanh(\bm{a}^{(t)})",
                r"\delta \bm{V} = \delta \hat{\bm{y}}^{(t)} \bm{h}^{(t)\top}"]),
])
def test_derive_latex_in_each_notation(notation, lines, capsys):
    assert main(["derive", "rnn", "--head", "linear", "--latex", "--notation", notation]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "forward:" and "backward:" in out
    shown = [line.strip() for line in out]
    for line in lines:
        assert line in shown, (line, out)
    other = {"course": r"\bm{", "dlbook": "W_{hh}"}[notation]  # nothing of the other notation
    assert not any(other in line for line in out)


# ------------------------------------------------------------------------------------------- prove
def test_prove_prints_each_proof_and_exits_0(capsys):
    assert main(["prove", "--cells", "rnn", "gru", "--head", "linear"]) == 0
    out = capsys.readouterr().out
    assert re.findall(r"^(\S+).*: PROVEN$", out, re.MULTILINE) == ["rnn", "gru"], out
    assert "FAILED" not in out and "BAD" not in out


def test_prove_exits_1_when_a_proof_fails(monkeypatch, capsys):
    monkeypatch.setattr(app, "prove", failing_prove)
    assert main(["prove", "--cells", "gru", "rnn", "--head", "linear"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^gru.*: PROVEN$", out, re.MULTILINE)
    assert re.search(r"^rnn.*: FAILED$", out, re.MULTILINE)
    assert re.search(r"BAD .*δa_t", out), out


# ------------------------------------------------------------------------------------------ verify
def test_verify_table_shows_every_check_under_the_stated_bars(capsys):
    assert main(["verify", "--cells", "rnn", "--heads", "linear", "--loss-at", "last"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["cell", "head", "loss", "at", "check", "max", "abs", "max", "rel", "in", "bar",
                              "result"]
    rows = [line for line in out if line.startswith("rnn ")]
    assert len(rows) == len(CHECKS)
    for row, check in zip(rows, CHECKS, strict=True):
        assert check in row and row.endswith("yes"), row
        _, max_rel, quantity, bar = row[row.index(check) + len(check):].split()[:4]
        assert float(bar) == BARS[check] and float(max_rel) <= BARS[check], row
        assert quantity in {"W_xh", "W_hh", "b_h", "W_hy", "b_y", "xs", "h0", "loss", "h"}, row
    assert f"{len(CHECKS)} passed, 0 failed" in out
    assert re.fullmatch(r"in \d+\.\d s", out[-1])


def test_verify_exits_1_and_says_no_when_the_engine_is_wrong(monkeypatch, capsys):
    engine = NumpyEngine(wrong_rnn())
    monkeypatch.setattr(verify_module, "build_engine", lambda *_args, **_kwargs: engine)
    assert main(["verify", "--cells", "rnn", "--heads", "linear", "--loss-at", "last"]) == 1
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("rnn ")]
    assert rows and all(row.endswith("NO") for row in rows), out
    assert f"0 passed, {len(CHECKS)} failed" in out


def test_verify_gradients_console_script_prints_json():
    script = shutil.which("verify_gradients")
    assert script, "the verify_gradients console script is not installed (pip install -e .)"
    result = run(script, "--cells", "gru", "--heads", "sigmoid", "--loss-at", "every", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["check"] for r in rows] == [c for c in CHECKS if c != "torch nn module"]  # no nn.GRU twin
    assert all(r["cell"] == "gru" and r["passed"] and r["max_rel"] <= BARS[r["check"]] for r in rows)


def test_verify_gradients_main_exits_1_on_a_wrong_engine(monkeypatch, capsys):
    engine = NumpyEngine(wrong_rnn())
    monkeypatch.setattr(verify_module, "build_engine", lambda *_args, **_kwargs: engine)
    assert verify_cli.main(["--cells", "rnn", "--heads", "linear", "--loss-at", "last", "--json"]) == 1
    assert not any(r["passed"] for r in json.loads(capsys.readouterr().out))


def test_verify_gradients_misuse_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        verify_cli.main(["--cells", "elman"])
    assert exit_info.value.code == 2
    assert "verify_gradients: error:" in capsys.readouterr().err


# ------------------------------------------------------------------------------------- all → 1
def test_all_returns_1_when_a_proof_fails(tmp_path, monkeypatch, capsys):
    """The main job on the RNN alone (its proofs, checks, decay and sheet) with the proof of a wrong
    derivation: every step still runs, the report says what failed, and the status is 1."""
    monkeypatch.setattr(main_job, "prove", failing_prove)
    monkeypatch.setattr(main_job, "CELLS", {"rnn": CELLS["rnn"]})
    monkeypatch.setattr(main_job, "verify_gradients", functools.partial(main_job.verify_gradients,
                                                                        cells=("rnn",)))
    monkeypatch.setattr(main_job, "all_sheets", lambda: ("rnn",))
    monkeypatch.setattr(main_job, "write_decay", functools.partial(main_job.write_decay, cells=("rnn",),
                                                                   T=6, H=3, seeds=(0,), langs=("en",)))
    monkeypatch.setattr(main_job, "LANGUAGES", ("en",))
    monkeypatch.setattr(main_job, "quick_config",  # the learning study, on the RNN alone
                        functools.partial(main_job.quick_config, "numpy", cells=("rnn",)))
    assert main(["all", "--out", str(tmp_path), "--no-pdf"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^proofs: FAILED", out, re.MULTILINE), out
    assert re.search(r"^verify: ok", out, re.MULTILINE), out
    proofs = json.loads((tmp_path / "proofs.json").read_text())
    assert proofs and all(p["proof"].startswith("rnn") for p in proofs)
    assert not all(p["passed"] for p in proofs)
    assert "Everything passed." not in (tmp_path / "REPORT.md").read_text()


# ------------------------------------------------------------------------ Ctrl-C and broken pipes
def test_ctrl_c_exits_130_with_one_line_and_leaves_no_partial_files(tmp_path):
    # SIGINT as a terminal delivers it, even when the suite was started with it ignored (`&` in a script)
    process = subprocess.Popen([sys.executable, "-m", "bpttlab", "all", "--out", str(tmp_path), "--no-pdf"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = process.stdout.readline()  # "proofs ...": the job is under way
        assert first.startswith("proofs"), first
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert err.strip() == "interrupted", err
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".")]  # no temporary files left


def test_keyboard_interrupt_in_any_command_is_130(monkeypatch, capsys):
    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(app, "derive", interrupted)
    assert main(["derive", "rnn"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


@pytest.mark.parametrize("argv", [["derive", "lstm", "--latex"], ["verify", "--cells", "rnn", "--json"]])
def test_output_into_a_closed_pipe_exits_0_without_a_traceback(argv):
    """``bpttlab … | head``: the reader has gone before anything is written."""
    process = subprocess.Popen([sys.executable, "-m", "bpttlab", *argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.close()
    err = process.stderr.read().decode()
    assert process.wait(timeout=300) == 0, err
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


# ------------------------------------------------------------------------------------------- sheet
def test_sheet_pdf_without_pdflatex_exits_2_and_writes_nothing(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no pdflatex anywhere on it
    out = tmp_path / "sheets"
    assert main(["sheet", "--cell", "rnn", "--lang", "en", "--pdf", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "pdflatex not found" in err, err
    assert not out.exists() or not any(out.iterdir())


def test_sheet_with_decay_figures_shows_the_cells_figure(tmp_path, capsys):
    decay = tmp_path / "decay"
    assert main(["decay", "--T", "6", "--H", "3", "--seeds", "1", "--radii", "0.5", "--forget-biases", "1",
                 "--cells", "rnn", "lstm", "--out", str(decay)]) == 0
    out = tmp_path / "sheets"
    assert main(["sheet", "--cell", "rnn", "lstm", "--lang", "en", "--no-pdf", "--decay-figures", str(decay),
                 "--out", str(out)]) == 0
    capsys.readouterr()
    for cell in ("rnn", "lstm"):
        tex = (out / f"{cell}.en.course.tex").read_text()
        figures = re.findall(r"\\includegraphics(?:\[[^]]*\])?\{([^}]+)\}", tex)
        assert len(figures) == 1, (cell, figures)
        assert (out / figures[0]).is_file() or os.path.isfile(figures[0]), figures
    without = tmp_path / "plain"
    assert main(["sheet", "--cell", "rnn", "--lang", "en", "--no-pdf", "--out", str(without)]) == 0
    assert "\\includegraphics" not in (without / "rnn.en.course.tex").read_text()


# ------------------------------------------------------------------------------------------- bench
def test_bench_runs_end_to_end_at_tiny_sizes(monkeypatch, capsys):
    """Every section of ``bpttlab bench --quick`` with the sizes made tiny and one repeat, so that the
    code path (not the timing) is what is tested."""
    from bpttlab.reports.benchmarks import decay as decay_bench
    from bpttlab.reports.benchmarks import derive as derive_bench
    from bpttlab.reports.benchmarks import sheets as sheets_bench

    tiny = engine_bench.SIZES["tiny"]
    monkeypatch.setattr(engine_bench, "SIZES", {name: tiny for name in engine_bench.SIZES})
    monkeypatch.setattr(engine_bench, "SETTLE", 0.0)
    monkeypatch.setattr(derive_bench, "bench_derive", functools.partial(derive_bench.bench_derive, repeats=1))
    monkeypatch.setattr(derive_bench, "bench_variants", functools.partial(derive_bench.bench_variants,
                                                                          repeats=1))
    monkeypatch.setattr(bpttlab.derivations, "VARIANTS", bpttlab.derivations.VARIANTS[:1])  # one, cold
    monkeypatch.setattr(decay_bench, "decay_benchmark",
                        functools.partial(decay_bench.decay_benchmark, T=8, H=4, repeats=1))
    monkeypatch.setattr(sheets_bench, "all_sheets", lambda: ("rnn",))
    assert main(["bench", "--quick", "--cells", "rnn", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    seconds = float(re.search(r"cold: (\d+\.\d+) s", out)[1])
    assert seconds > 0
    table = [line.split() for line in out.splitlines() if line.startswith("rnn ")]
    assert {"small", "mid"} <= {word for row in table for word in row}, out  # both sizes of --quick
    assert "JAX 0.10.2: cpu device" in out and "jax ÷ torch.nn ≤ 0.7 at small" in out  # both backends
    assert "gradient-decay analysis" in out and "equation sheets" in out
    section = out.split("phase by phase:\n")[1].split("\n\n")[0]
    phases = [line.split() for line in section.splitlines() if line.startswith("rnn ")]
    assert [row[:2] for row in phases] == [["rnn", "mid"]], out  # the sizes but tiny, one line each
    # the one sheet in 2 languages × 2 notations
    count = len(LANGUAGES) * len(NOTATIONS)
    assert re.search(rf"^\.tex only +{count} sheets +\d+\.\d+ s$", out, re.MULTILINE), out
    assert re.search(rf"^{bpttlab.derivations.VARIANTS[0]} +\d+\.\d+ +\d+\.\d+ +\d+\.\d+$", out, re.MULTILINE)
    assert np.isfinite(seconds)
