"""docs/tutorial.ipynb: committed with its outputs (so it reads on GitHub), and it runs from top to bottom
without an error in under a minute, writing only into the folder it runs in."""

import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "tutorial.ipynb"
BAR_SECONDS = 60


def _code_cells(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _mime_types(cell) -> list[tuple[str, ...]]:
    """What each output of a cell is: a stream (consecutive chunks of one stream counted once, as the
    kernel splits them at random), or the MIME types of a result."""
    kinds: list[tuple[str, ...]] = []
    for output in cell.outputs:
        if output.output_type == "stream":
            kind = ("stream", output.name)
        else:
            kind = tuple(sorted(output.get("data", {})))
        if not kinds or kind != kinds[-1] or kind[0] != "stream":
            kinds.append(kind)
    return kinds


def test_the_committed_tutorial_has_its_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = _code_cells(nb)
    assert len(code) >= 8
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    assert all(cell.outputs for cell in code), "every code cell shows something"
    outputs = [output for cell in code for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    data = [output.get("data", {}) for output in outputs]
    latex = "".join(d.get("text/latex", "") for d in data)
    assert r"\odot" in latex and r"\sigma(" in latex and r"\boldsymbol{W}" in latex and r"\bm{" not in latex
    html = "".join(d.get("text/html", "") for d in data)
    assert "PROVEN" in html and "finite differences" in html and "FAILED" not in html
    assert sum("image/png" in d for d in data) == 1, "one figure"
    assert NOTEBOOK.stat().st_size < 200_000


def test_the_tutorial_runs_without_errors_in_under_a_minute(tmp_path):
    committed = nbformat.read(NOTEBOOK, as_version=4)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(tmp_path)}})
    started = time.perf_counter()
    client.execute()  # raises CellExecutionError at the first cell that fails
    seconds = time.perf_counter() - started
    assert seconds < BAR_SECONDS, f"the tutorial took {seconds:.1f} s (bar {BAR_SECONDS} s)"
    # The committed outputs are those of this notebook: same kinds of output, cell by cell.
    assert [_mime_types(c) for c in _code_cells(nb)] == [_mime_types(c) for c in _code_cells(committed)]
    # It wrote its sheet into the folder it ran in, and nothing else outside build/.
    assert (tmp_path / "build" / "tutorial" / "lstm.en.course.tex").is_file()
    assert {p.name for p in tmp_path.iterdir()} == {"build"}
