"""The decay fit on curves that are not straight lines: its slope is NumPy's least-squares line over
the range its docstring states (every finite value, k = T back to the farthest step given), and its
horizon the first step back that is below the drop, on curves that wiggle, bend and underflow."""

import numpy as np
import pytest

from bpttlab.numeric.decay.norms import HORIZON_DROP, fit_decay
from bpttlab.numeric.decay.products import spaced_steps

T = 40
K = np.arange(1, T + 1)
BACK = T - K
RNG = np.random.default_rng(7)

CURVES = {  # log10 norms at k = 1..T, none of them a straight line
    "bending": -0.002 * BACK**2 - 0.05 * BACK,
    "kinked": np.where(BACK < 10, -0.5 * BACK, -5.0 - 0.01 * (BACK - 10)),
    "noisy": -0.1 * BACK + RNG.normal(scale=0.3, size=T),
    "growing then fading": np.log10(1.0 + BACK) - 0.03 * BACK**1.5,
}


def reference_slope(steps: np.ndarray, values: np.ndarray) -> float:
    finite = np.isfinite(values)
    return float(np.polyfit((steps[-1] - steps)[finite], values[finite], 1)[0])


@pytest.mark.parametrize("name", CURVES)
def test_the_slope_is_the_least_squares_line_over_every_value(name):
    values = CURVES[name]
    assert fit_decay(values).slope == pytest.approx(reference_slope(K, values), rel=1e-12, abs=1e-15)
    # and it is not the fit over a shorter range: leaving out the farthest point (or k = T) changes it
    assert abs(fit_decay(values).slope - reference_slope(K[1:], values[1:])) > 1e-4
    assert abs(fit_decay(values).slope - reference_slope(K[:-1], values[:-1])) > 1e-4


@pytest.mark.parametrize("name", CURVES)
def test_the_slope_over_sampled_steps_uses_those_steps(name):
    steps = spaced_steps(T, count=9)
    values = CURVES[name][steps - 1]
    assert steps[-1] == T and len(steps) < T
    expected = reference_slope(steps, values)
    assert fit_decay(values, steps).slope == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_underflowed_norms_are_left_out_of_the_fit_and_only_they_are():
    values = CURVES["bending"].copy()
    values[:5] = -np.inf  # the five farthest norms underflowed to 0
    values[12] = -np.inf
    fit = fit_decay(values)
    assert fit.slope == pytest.approx(reference_slope(K, values), rel=1e-12)
    assert abs(fit.slope - reference_slope(K, CURVES["bending"])) > 1e-3


def test_the_horizon_is_the_first_step_back_below_the_drop_on_a_wiggling_curve():
    drop = np.log10(HORIZON_DROP)  # −6
    values = np.zeros(T)
    values[T - 1 - 7] = drop - 0.1   # 7 steps back: below
    values[T - 1 - 3] = drop         # 3 steps back: exactly at the drop, not below it
    values[T - 1 - 12] = drop - 3.0  # farther and lower: not the first
    assert fit_decay(values).horizon == 7
    values[T - 1 - 5] = drop - 1e-9
    assert fit_decay(values).horizon == 5
    assert fit_decay(values + 4.0).horizon == 5  # measured from the value at k = T, whatever it is
    values[-1] = 2.0  # a higher reference: now 3 steps back is below it too
    assert fit_decay(values).horizon == 3


def test_the_horizon_over_sampled_steps_is_the_first_sampled_one_below():
    values = -0.26 * BACK  # −5.98 at 23 steps back, −6.24 at 24
    steps = np.array([1, 5, 10, 19, 25, 30, 40])  # 39, 35, 30, 21, 15, 10 and 0 steps back
    assert fit_decay(values).horizon == 24  # every step: the first below −6
    assert fit_decay(values[steps - 1], steps).horizon == 30  # the first sampled one below


def test_no_horizon_without_a_finite_reference_or_a_value_below():
    assert fit_decay(np.zeros(T)).horizon is None
    values = CURVES["bending"].copy()
    values[-1] = -np.inf
    assert fit_decay(values).horizon is None
