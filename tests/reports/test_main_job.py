"""``bpttlab all``: every step runs and passes, REPORT.md links what was written and embeds the
verification table and the decay figure, and two runs write identical .tex, CSV and JSON.

The job runs here on a cross-section of the registry (the four built-in cells and one shipped variant;
the sheets of two cells, the combined and the variants sheets) and with small training and decay
studies, twice: what is tested is the job — its steps, files, report and determinism. That it covers
every registered cell is test_registry_coverage.py's (its loops run over the registry); that every cell
passes its proofs and checks is test_prove.py's and test_verify.py's."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BARS, run_small_job, small_job_subset

from bpttlab.derivations import CELLS, HEADS, LOSS_AT
from bpttlab.derivations.printing.notations import NOTATIONS
from bpttlab.numeric.verify import CHECKS
from bpttlab.reports.sheets.writer import LANGUAGES

DETERMINISTIC = (".tex", ".csv", ".json")
SUBSET, SHEETS = small_job_subset()


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path]:
    """The job twice: the second in a process of its own, beside the first (two cores, half the wait)."""
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    tests = Path(__file__).resolve().parents[1]
    other = subprocess.Popen([sys.executable, "-c", "import sys; from conftest import run_small_job; "
                              "sys.exit(run_small_job(sys.argv[1]))", str(second)],
                             cwd=tests, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert run_small_job(str(first)) == 0
    finally:
        output, _ = other.communicate(timeout=600)
    assert other.returncode == 0, output[-3000:]
    return first, second


def test_two_runs_write_identical_tex_csv_and_json(two_runs):
    first, second = two_runs
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.suffix in DETERMINISTIC)
    assert len([f for f in files if f.suffix == ".tex"]) == len(SHEETS) * len(LANGUAGES) * len(NOTATIONS)
    assert {f.name for f in files} >= {"decay.csv", "decay.json", "verification.json", "proofs.json"}
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.suffix in DETERMINISTIC)
    different = [f for f in files if (first / f).read_bytes() != (second / f).read_bytes()]
    assert not different


def test_report_links_every_data_file_and_embeds_table_and_figure(two_runs):
    out = two_runs[0]
    report = (out / "REPORT.md").read_text()
    assert report.startswith("# bpttlab report\n\nEverything passed.")
    assert "![gradient norms against the step](decay/cells.en.png)" in report
    assert (out / "decay" / "cells.en.png").is_file()
    assert "| lstm | torch nn module | 6 |" in report
    for name in ("proofs.json", "verification.txt", "decay/decay.csv"):
        assert f"]({name})" in report and (out / name).is_file()
    assert "](sheets/lstm.id.course.tex)" in report
    assert "PDFs not compiled" in report


def test_report_says_when_how_and_where_it_ran_and_what_each_result_means(two_runs):
    report = (two_runs[0] / "REPORT.md").read_text()
    run = next(line for line in report.splitlines() if line.startswith("Run of "))
    assert re.fullmatch(rf"Run of `bpttlab all --out {re.escape(str(two_runs[0]))} --no-pdf` on "
                        r"\d{4}-\d\d-\d\d \d\d:\d\d UTC with bpttlab [\w.]+ "
                        r"\((commit [0-9a-f]+.*|not from a git checkout)\), Python [\d.]+, numpy .*, "
                        r"on .+, \d+ cores\.", run)
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in report.splitlines()
            if line.startswith("| ") and line.count(" | ") == 4}
    for step in ("proofs", "verify", "decay", "learn", "sheets"):
        _, result, meaning, seconds, files = rows[step]
        assert result == "ok" and meaning and re.fullmatch(r"\d+\.\d s", seconds), rows[step]
        assert files.strip(" |"), f"{step}: empty files cell"
    assert "Pascanu" in rows["decay"][2] and "ello" in rows["learn"][2]


def test_nothing_is_left_half_written(two_runs):
    leftovers = [p for p in two_runs[0].rglob(".*") if p.is_file()]
    assert not leftovers


def test_verification_covers_the_cells_and_passes_under_the_stated_bars(two_runs):
    results = json.loads((two_runs[0] / "verification.json").read_text())
    assert {r["cell"] for r in results} == set(SUBSET)
    # Per cell × head × placement: finite differences and torch autograd, and PyTorch's nn module
    # for the cells torch.nn has (those whose record names a torch_module).
    with_module = {name for name in SUBSET if CELLS[name].torch_module}
    per_case = {name: len(CHECKS) - (name not in with_module) for name in SUBSET}
    assert len(results) == sum(per_case.values()) * len(HEADS) * len(LOSS_AT)
    assert all(r["passed"] and r["max_rel"] <= BARS[r["check"]] for r in results)  # the stated bars
    modules = {r["cell"] for r in results if r["check"] == "torch nn module"}
    assert modules == with_module


def test_proofs_cover_the_cells_with_every_head(two_runs):
    proofs = json.loads((two_runs[0] / "proofs.json").read_text())
    assert len(proofs) == len(SUBSET) * (1 + len(HEADS)) and all(p["passed"] for p in proofs)  # bare + heads
    assert {p["proof"].split(" × ")[0] for p in proofs} == set(SUBSET)
