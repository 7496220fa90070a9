"""The judgement of ``verify_gradients``, at its edges: an engine slightly wrong (just over the bar) in
one entry of ONE quantity — a bias, ``xs``, an initial state, the last parameter in order — fails every
check, naming that quantity, while at 0.99× the bar it passes; zero against zero is agreement (a
gradient that is identically zero, against finite differences' rounding noise); and every failing row
names its quantity in the table, the JSON and REPORT.md."""

import json

import numpy as np
import pytest
from conftest import BARS

from bpttlab.derivations import custom_cell
from bpttlab.numeric.engine import build_engine
from bpttlab.numeric.verify import gradients as verify
from bpttlab.reports.cli.verify import format_table, results_json
from bpttlab.reports.report import _verification_table


class Perturbed:
    """The real engine, its gradient of ``quantity`` moved by ``factor`` · ``bar`` · max|gradient| in its
    last entry (not the first); its loss (what finite differences read) untouched."""

    def __init__(self, engine, quantity: str, factor: float, bar: float):
        self.engine, self.quantity, self.factor, self.bar = engine, quantity, factor, bar

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def loss_and_grads(self, *args, **kwargs):
        loss, grads = self.engine.loss_and_grads(*args, **kwargs)
        grads = {name: np.array(value, copy=True) for name, value in grads.items()}
        moved = grads[self.quantity]
        moved.flat[-1] += self.factor * self.bar * np.max(np.abs(moved))
        return loss, grads


def verified(monkeypatch, make_engine, check: str, cell="rnn", head="linear", loss_at="last"):
    monkeypatch.setattr(verify, "build_engine", make_engine)
    [result] = verify.verify_gradients(cells=(cell,), heads=(head,), loss_at=(loss_at,), checks=(check,))
    return result


# rnn × linear: parameters W_xh, W_hh, b_h, W_hy, b_y (b_y last), then xs and the initial state h0
QUANTITIES = ["b_h", "xs", "h0", "b_y"]


def test_the_quantities_are_a_bias_the_inputs_an_initial_state_and_the_last_parameter():
    engine = build_engine("rnn", "linear", "last")
    assert list(engine.derivation.params)[-1] == "b_y"
    assert engine.cell.initial == ("h0",)


@pytest.mark.parametrize("check", verify.CHECKS)
@pytest.mark.parametrize("quantity", QUANTITIES)
def test_just_over_the_bar_in_one_quantity_fails_naming_it_and_just_under_passes(monkeypatch, check,
                                                                                 quantity):
    bar = BARS[check]
    for factor, status in ((0.99, "passed"), (1.01, "failed")):
        def perturbed(*args, f=factor):
            return Perturbed(build_engine(*args), quantity, f, bar)

        result = verified(monkeypatch, perturbed, check)
        assert result.status == status, (factor, result)
        assert result.quantity == quantity, result
        assert result.max_rel == pytest.approx(factor * bar, rel=1e-3), result
        if status == "failed":
            assert f"in {quantity}" in str(result)


def test_the_judgement_is_the_stated_bar_on_each_quantity():
    """Comparison's verdict, on numbers made up around each bar: relative error ≤ bar passes."""
    for check, bar in BARS.items():
        ours = {"W": np.ones((2, 2)), "b": np.full(2, 1e-3)}
        for factor, passed in ((0.99, True), (1.01, False)):
            theirs = {"W": np.ones((2, 2)), "b": np.array([1e-3, 1e-3 * (1 + factor * bar)])}
            floor = verify.resolution(check, 1.0, 1e-3)
            max_abs, max_rel, quantity = verify.worst_error(ours, theirs, bar, floor)
            result = verify.Comparison("c", "h", "last", check, max_abs, max_rel, bar, quantity=quantity)
            assert result.passed is passed and quantity == "b", (check, factor)
            assert max_rel == pytest.approx(factor * bar / (1 + factor * bar), rel=1e-9)


# ----------------------------------------------------------------- zero against zero
def test_zero_against_noise_within_the_resolution_agrees_and_beyond_it_does_not():
    bar, floor = BARS["finite differences"], verify.resolution("finite differences", 2.0, 1e-3)
    assert floor == pytest.approx(verify.FD_ROUNDING * 2.0**-52 * 2.0 / 1e-3)
    zeros = {"W_zz": np.zeros((2, 2))}
    for noise, passed in ((0.5 * floor, True), (0.99 * floor, True), (1.5 * floor, False)):
        reference = {"W_zz": np.array([[0.0, noise], [-noise / 3, 0.0]])}
        max_abs, max_rel, quantity = verify.worst_error(zeros, reference, bar, floor)
        assert (max_rel <= bar) is passed and quantity == "W_zz" and max_abs == noise
    # an engine that says zero where the reference has a gradient above the resolution fails
    max_abs, max_rel, _ = verify.worst_error(zeros, {"W_zz": np.full((2, 2), 10 * floor)}, bar, floor)
    assert max_rel == pytest.approx(10 * bar)
    # against PyTorch both sides are exact: zero against zero is 0, anything else fails
    torch_floor = verify.resolution("torch autograd", 2.0, 1e-3)
    assert verify.worst_error(zeros, {"W_zz": np.zeros((2, 2))}, 1e-12, torch_floor)[1] == 0.0
    assert verify.worst_error({"W_zz": np.full((2, 2), 1e-14)}, zeros, 1e-12, torch_floor)[1] > 1e-12


def test_a_difference_within_the_resolution_agrees_on_a_small_gradient_that_is_not_zero():
    """A bias under a saturated softmax: terms of size 1 cancel to 4.9e-8, and the two sides' rounding
    (5.6e-17, within u · Σ|terms|) is 1.1e-9 of it. The check cannot resolve that difference, so the
    quantity agrees; just beyond the resolution it fails, and a quantity above resolution / bar is held
    to the bar relative to itself, as before."""
    bar, floor = BARS["torch autograd"], verify.resolution("torch autograd", 90.575, 0.0)
    small = np.array([4.88663424e-08, -4.88663424e-08])
    for difference, passed in ((5.6e-17, True), (0.99 * floor, True), (1.01 * floor, False)):
        moved = small + np.array([difference, 0.0])
        _, max_rel, quantity = verify.worst_error({"b_y": moved}, {"b_y": small}, bar, floor)
        assert (max_rel <= bar) is passed and quantity == "b_y", (difference, max_rel)
        assert max_rel == pytest.approx(bar * difference / floor, rel=1e-6)
    large = np.array([-1.0, 2.0]) * floor / bar  # its scale is above resolution / bar: relative as before
    for factor, passed in ((0.99, True), (1.01, False)):
        moved = large + np.array([0.0, factor * bar * large[1]])
        _, max_rel, _ = verify.worst_error({"W": moved}, {"W": large}, bar, floor)
        assert (max_rel <= bar) is passed and max_rel == pytest.approx(factor * bar, rel=1e-9)


def test_every_check_has_a_resolution_and_an_unknown_one_is_named():
    for name, check in verify.CHECK_TABLE.items():
        assert verify.resolution(name, 1.0, 1e-3) == pytest.approx(
            check.rounding * 2.0**-52 / (1e-3 if check.steps else 1.0))
        assert verify.BARS[name] == check.bar and (name in verify.TORCH_CHECKS) is check.needs_torch
    with pytest.raises(ValueError, match="check: expected one of finite differences"):
        verify.resolution("eyeballing", 1.0, 1e-3)


ROUNDING_CELLS = {  # the documented measurement: gradients that are identically zero (W_hh, b_z, h_prev)
    "cancelled": "h_t = tanh(W_xh @ x_t + W_hh @ (h_prev - h_prev) + b_h)",
    "cancelled_bias": "h_t = tanh(W_xh @ x_t + W_zz @ h_prev - W_zz @ h_prev + b_h + b_z - b_z)",
    "unread": "h_t = tanh(W_xh @ x_t + b_h)",
}


def test_the_stated_rounding_of_finite_differences_is_measured_and_the_resolution_keeps_a_margin():
    """FD_ROUNDING_MEASURED recomputed: finite differences of gradients that are identically zero stay
    within it (in u·max(|L|, 1)/ε); FD_ROUNDING is at least ten times that and at most twenty times."""
    u, eps, worst = 2.0**-52, 1e-3, 0.0
    for name, text in ROUNDING_CELLS.items():
        cell = custom_cell(name, text, {"h_t": "h_prev"})
        zero = {"W_hh", "b_z", "W_zz", "h_prev"}
        for head in ("softmax", "sigmoid", "linear"):
            for loss_at in ("every", "last"):
                engine = build_engine(cell, head, loss_at)
                for seed in range(3):
                    problem = verify._problem(engine, {"T": 4, "N": 3, "D": 3, "H": 4, "K": 3}, seed)
                    loss = engine.loss(problem["params"], problem["xs"], problem["targets"],
                                       initial=problem["initial"])
                    numeric = verify._finite_differences(engine, problem, eps)
                    noise = max(float(np.max(np.abs(numeric[q]))) for q in zero & set(numeric))
                    worst = max(worst, noise * eps / (u * max(abs(loss), 1.0)))
    assert 0 < worst <= verify.FD_ROUNDING_MEASURED
    assert 10 * verify.FD_ROUNDING_MEASURED <= verify.FD_ROUNDING <= 20 * verify.FD_ROUNDING_MEASURED


def test_a_gradient_of_the_wrong_shape_fails_naming_it():
    """A scalar 0.0 where a (2, 2) gradient belongs would broadcast into a difference of 0: refused."""
    _, max_rel, quantity = verify.worst_error({"W": np.float64(0.0)}, {"W": np.zeros((2, 2))}, 1e-7, 1e-12)
    assert quantity == "W" and max_rel == float("inf")


ZERO_CELLS = {  # gradients that are identically zero (W_hh, h_prev), as issue 21 met them
    "cancelled": "h_t = tanh(W_xh @ x_t + W_hh @ (h_prev - h_prev) + b_h)",
    "cancelled_twice": "h_t = tanh(W_xh @ x_t + W_hh @ h_prev - W_hh @ h_prev + b_h)",
}


@pytest.mark.parametrize("name", ZERO_CELLS)
def test_a_correct_cell_with_an_identically_zero_gradient_passes_every_check(name):
    cell = custom_cell(name, ZERO_CELLS[name], {"h_t": "h_prev"})
    results = verify.verify_gradients(cells=(cell,), heads=("softmax", "linear"), loss_at=("every", "last"))
    assert results.passed, "\n".join(map(str, results))
    assert {r.check for r in results} == {"finite differences", "torch autograd"}


# ----------------------------------------------------------------- the quantity in every output
FAILED = verify.Comparison("rnn", "linear", "last", "torch autograd", 3e-9, 2e-9, 1e-12, quantity="b_h")
PASSED = verify.Comparison("rnn", "linear", "last", "finite differences", 1e-12, 1e-10, 1e-7, quantity="W_hh")


def test_a_failing_row_names_its_quantity_in_the_table_the_json_and_the_report():
    table = format_table([PASSED, FAILED])
    row = next(line for line in table.splitlines() if "torch autograd" in line)
    assert " b_h " in row and row.endswith("NO")
    assert [r["quantity"] for r in json.loads(results_json([PASSED, FAILED]))] == ["W_hh", "b_h"]
    report = "\n".join(_verification_table([PASSED, FAILED]))
    assert "| rnn | torch autograd | 1 | 2.0e-09 (b_h) | 1e-12 | **failed** |" in report
    assert "b_h" in verify.Verification([FAILED])._repr_markdown_()
