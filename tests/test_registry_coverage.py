"""Every registered cell is covered everywhere: verification, proofs, sheets, the decay study and the
proof benchmark all iterate over the one registry, so a cell registered by a user is covered too (the
recipe of CONTRIBUTING.md, "Adding a cell")."""

import pytest

import bpttlab.derivations.proof as proof
import bpttlab.numeric.verify.gradients as verify
import bpttlab.reports.cli.main_job as main_job
from bpttlab.derivations import CELLS, HEADS, LOSS_AT, custom_cell, register, unregister
from bpttlab.numeric.decay.study import decay_study
from bpttlab.reports.benchmarks.derive import bench_step_proofs
from bpttlab.reports.sheets.writer import all_sheets


@pytest.fixture
def extra_cell():
    """A cell registered for this test only."""
    cell = custom_cell("student_cell", "h_t = tanh(W_xh @ x_t + W_hh @ (h_prev * h_prev) + b_h)",
                       {"h_t": "h_prev"})
    try:
        yield register(cell)
    finally:
        unregister(cell.name)


def test_verify_iterates_over_the_registry(monkeypatch):
    seen = []
    monkeypatch.setattr(verify, "_verify_one",
                        lambda cell, head, at, *_rest: seen.append((cell.name, head, at)) or [])
    verify.verify_gradients()
    assert seen == [(c, h, at) for c in CELLS for h in HEADS for at in LOSS_AT]


def test_the_main_jobs_proofs_iterate_over_the_registry(monkeypatch, tmp_path):
    seen = []

    class Passed:
        def __init__(self, cell, head):
            self.name, self.passed, self.checks = f"{cell} × {head}", True, ()

    monkeypatch.setattr(main_job, "prove",
                        lambda cell, head, *_args, **_kwargs: seen.append((cell, head)) or Passed(cell, head))
    main_job._proofs(tmp_path, main_job.Step("proofs"))
    assert seen == [(c, h) for c in CELLS for h in (None, *HEADS)]


def test_every_registered_cell_has_a_sheet():
    assert set(CELLS) <= set(all_sheets())


def test_every_registered_cell_is_in_the_decay_study():
    study = decay_study(T=6, H=2, seeds=(0,), radii=(0.5,), forget_biases=(1.0,))
    assert {c.cell for c in (*study.cells, *study.variants)} == set(CELLS)


@pytest.mark.usefixtures("extra_cell")
def test_a_cell_registered_by_a_user_is_covered_too(monkeypatch):
    seen = []
    monkeypatch.setattr(verify, "_verify_one", lambda cell, *_rest: seen.append(cell.name) or [])
    verify.verify_gradients(heads=("linear",), loss_at=("last",))
    assert "student_cell" in seen and "student_cell" in all_sheets()
    study = decay_study(T=6, H=2, seeds=(0,), radii=(0.5,), forget_biases=(1.0,))
    assert "student_cell" in {c.cell for c in study.variants}


class _Passed:
    def __init__(self, cell, head):
        self.name, self.passed, self.checks = f"{cell} × {head}", True, ()


@pytest.mark.usefixtures("extra_cell")
def test_a_cell_registered_by_a_user_is_proven_and_benchmarked(monkeypatch, tmp_path):
    seen = []
    fake = lambda cell, head=None, *_a, **_k: seen.append((cell, head)) or _Passed(cell, head)  # noqa: E731
    monkeypatch.setattr(main_job, "prove", fake)
    monkeypatch.setattr(proof, "prove", fake)
    main_job._proofs(tmp_path, main_job.Step("proofs"))
    assert [(c, h) for c, h in seen if c == "student_cell"] == [("student_cell", h) for h in (None, *HEADS)]
    seen.clear()
    assert "student_cell" in bench_step_proofs()
    assert [(c, h) for c, h in seen if c == "student_cell"] == [("student_cell", h) for h in HEADS]


def test_a_built_in_or_shipped_cell_cannot_be_unregistered():
    for name in ("lstm", "mgu"):
        refusal = f"^the cell '{name}' is built in or shipped and cannot be unregistered$"
        with pytest.raises(ValueError, match=refusal):
            unregister(name)
        assert name in CELLS
