"""``bpttlab all``: every step runs and passes, REPORT.md links what was written and embeds the
verification table and the decay figure, and two runs write identical .tex, CSV and JSON."""

import json
from pathlib import Path

import pytest

from bpttlab.derivations import CELLS
from bpttlab.reports.cli.app import main
from bpttlab.reports.sheets.writer import all_sheets

DETERMINISTIC = (".tex", ".csv", ".json")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path, str]:
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    assert main(["all", "--out", str(first), "--no-pdf"]) == 0
    assert main(["all", "--out", str(second), "--no-pdf"]) == 0
    return first, second


def test_two_runs_write_identical_tex_csv_and_json(two_runs):
    first, second = two_runs
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.suffix in DETERMINISTIC)
    assert len([f for f in files if f.suffix == ".tex"]) == len(all_sheets()) * 4  # 2 languages, 2 notations
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


def test_nothing_is_left_half_written(two_runs):
    leftovers = [p for p in two_runs[0].rglob(".*") if p.is_file()]
    assert not leftovers


def test_verification_covers_every_registered_cell_and_passes(two_runs):
    results = json.loads((two_runs[0] / "verification.json").read_text())
    assert {r["cell"] for r in results} == set(CELLS)
    # Per cell × head × placement: finite differences and torch autograd, and PyTorch's nn module
    # for the three cells it has (rnn, lstm, gru_torch).
    assert len(results) == (2 * len(CELLS) + 3) * 6 and all(r["passed"] for r in results)
    modules = {r["cell"] for r in results if r["check"] == "torch nn module"}
    assert modules == {"rnn", "lstm", "gru_torch"}


def test_proofs_cover_every_registered_cell_with_every_head(two_runs):
    proofs = json.loads((two_runs[0] / "proofs.json").read_text())
    assert len(proofs) == 4 * len(CELLS) and all(p["passed"] for p in proofs)
    assert {p["proof"].split(" × ")[0] for p in proofs} == set(CELLS)
