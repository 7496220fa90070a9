"""Without PyTorch: the main job and ``bpttlab verify`` run every check that needs no PyTorch, say in
one line what they skipped, and exit 0; asking for a PyTorch check by name exits 2 with one line.

The subprocesses block ``import torch`` (``sys.modules["torch"] = None`` makes it raise ImportError),
as on a machine where only ``pip install bpttlab`` was run."""

import json
import subprocess
import sys

import numpy as np

from bpttlab.derivations.printing.notations import NOTATIONS
from bpttlab.reports.benchmarks import engine as engine_benchmark
from bpttlab.reports.sheets.writer import LANGUAGES

BLOCK_TORCH = """
import sys
sys.modules["torch"] = None
from bpttlab.reports.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


#: The main job on three cells (two with a torch.nn twin, one without), the RNN's sheets, a small decay
#: study: every kind of step and of skipped check, at a fraction of the full job's time. JAX is blocked too:
#: `pip install bpttlab` alone has neither extra, and the learning study falls back to NumPy by itself.
SMALL_JOB_WITHOUT_TORCH = """
import functools, sys
sys.modules["torch"] = None
sys.modules["jax"] = None
from bpttlab.derivations import CELLS
from bpttlab.reports.cli import main, main_job
cells = ("rnn", "lstm", "gru")
main_job.CELLS = {name: CELLS[name] for name in cells}
main_job.verify_gradients = functools.partial(main_job.verify_gradients, cells=cells)
main_job.all_sheets = lambda: cells[:1]
main_job.write_decay = functools.partial(main_job.write_decay, T=12, H=4, seeds=(0, 1))
main_job.quick_config = functools.partial(main_job.quick_config, cells=cells[:1])  # the RNN
raise SystemExit(main(sys.argv[1:]))
"""
SMALL_JOB_CELLS = ("rnn", "lstm", "gru")
SMALL_JOB_SHEETS = ("rnn",)


def bpttlab_without_torch(*args, cwd=None, script=BLOCK_TORCH):
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def test_torch_is_really_blocked():
    result = subprocess.run([sys.executable, "-c", "import sys; sys.modules['torch'] = None; import torch"],
                            capture_output=True, text=True)
    assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr


def test_the_main_job_runs_and_names_what_it_skipped(tmp_path):
    result = bpttlab_without_torch("all", "--out", str(tmp_path), "--no-pdf", script=SMALL_JOB_WITHOUT_TORCH)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stdout + result.stderr
    notes = [line for line in result.stdout.splitlines() if line.startswith("PyTorch is not installed")]
    assert notes and "pip install 'bpttlab[torch]'" in notes[0]
    report = (tmp_path / "REPORT.md").read_text()
    assert "Everything that ran passed. Skipped: the torch autograd checks, the torch nn module checks." \
        in report
    assert "| rnn | finite differences | 6 |" in report and "| passed |" in report
    assert "| rnn | torch autograd | 6 | — | 1e-12 | skipped |" in report
    assert "| lstm | torch nn module | 6 | — | 1e-12 | skipped |" in report
    rows = json.loads((tmp_path / "verification.json").read_text())
    statuses = {(r["check"], r["status"]) for r in rows}
    assert statuses == {("finite differences", "passed"), ("torch autograd", "skipped"),
                        ("torch nn module", "skipped")}
    assert all(r["max_rel"] is None and r["passed"] is False for r in rows if r["status"] == "skipped")
    assert {r["cell"] for r in rows} == set(SMALL_JOB_CELLS)
    assert (tmp_path / "decay" / "cells.en.png").stat().st_size > 10_000
    assert "- learning study: 1 cells (rnn), T 10, 20, 1 seed(s), 300 steps, numpy backend" in report
    written = sorted(p.name for p in (tmp_path / "sheets").glob("*.tex"))
    assert written == sorted(f"{s}.{lang}.{n}.tex" for s in SMALL_JOB_SHEETS for lang in LANGUAGES
                             for n in NOTATIONS)


def test_verify_json_marks_the_torch_checks_skipped():
    result = bpttlab_without_torch("verify", "--cells", "rnn", "--heads", "linear", "--loss-at", "last",
                                   "--json")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "PyTorch is not installed: skipped the torch autograd and torch nn module checks "
        "(to run them: pip install 'bpttlab[torch]')"]
    rows = json.loads(result.stdout)
    assert [(r["check"], r["status"]) for r in rows] == [
        ("finite differences", "passed"), ("torch autograd", "skipped"), ("torch nn module", "skipped")]


def test_the_table_counts_skipped_checks_apart():
    result = bpttlab_without_torch("verify", "--cells", "gru", "--heads", "sigmoid", "--loss-at", "every")
    assert result.returncode == 0
    assert "1 passed, 0 failed, 1 skipped" in result.stdout.splitlines()
    assert "torch autograd" in result.stdout and "skipped" in result.stdout


def test_asking_for_a_torch_check_exits_2_with_one_line():
    result = bpttlab_without_torch("verify", "--cells", "rnn", "--checks", "torch-autograd")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "bpttlab verify: error: the torch autograd check needs PyTorch, which is not installed: "
        "pip install 'bpttlab[torch]'"]


def test_the_benchmark_leaves_the_torch_columns_empty(monkeypatch):
    monkeypatch.setattr(engine_benchmark, "torch_available", lambda: False)
    rows = engine_benchmark.run_benchmark(("lstm",), ("tiny",), repeats=1, dtypes=(np.float64,),
                                          heads=("linear",), settle=0.0)
    assert [(r.cell, r.torch, r.torch_params) for r in rows] == [("lstm", None, None)]
    line = engine_benchmark.format_rows(rows).splitlines()[-2].split()
    assert line[:4] == ["lstm", "linear", "float64", "tiny"]
    assert line[5:7] == ["—", "—"] and line[8:10] == ["—", "—"]
    assert min(float(line[4]), float(line[7]), float(line[10])) > 0  # ours and the GEMM floor still measured
