"""``log10_bound``: Pascanu et al.'s bound λ₁^{T−k} on ‖∂h_T/∂h_k‖₂ for the tanh RNN, in log10 — its
values written out, its agreement with ``bound_margin``, that measured Jacobian products of a tanh RNN
keep it (|tanh′| ≤ 1, so each step Jacobian diag(1 − h_t²) W_hh has norm at most λ₁ = ‖W_hh‖₂), and
bad input."""

import numpy as np
import pytest
from conftest import build_problem

from bpttlab.numeric import (
    bound_margin,
    build_engine,
    jacobian_products,
    largest_singular_value,
    scale_recurrent_weight,
)
from bpttlab.numeric.decay import log10_bound


@pytest.mark.parametrize("lam", [0.1, 0.5, 1.0, 2.0, 37.5])
def test_the_bound_is_lambda_to_the_distance_in_log10(lam):
    T = 7
    steps = np.arange(1, T + 1)
    expected = [np.log10(lam ** (T - k)) for k in steps]
    np.testing.assert_allclose(log10_bound(T, steps, lam), expected, rtol=1e-13, atol=1e-13)
    assert log10_bound(T, steps, lam)[-1] == 0  # at k = T the bound is 1


def test_the_bound_stays_finite_where_the_power_underflows():
    """λ₁ = 1e-3 over 400 steps: λ₁^{T−k} = 1e-1197 is not a float64, its log10 is."""
    bound = log10_bound(400, np.array([1, 200, 400]), 1e-3)
    np.testing.assert_allclose(bound, [-1197.0, -600.0, 0.0], rtol=1e-13)


def test_bound_margin_is_the_largest_excess_over_the_bound():
    engine = build_engine("rnn", "linear", "last")
    params, xs, _, states = build_problem("rnn", "linear", "last", sizes=(12, 1, 3, 5, 2), seed=4, scale=1.0)
    norms = jacobian_products(engine, params, xs, states["h0"])
    lam = largest_singular_value(params["W_hh"])
    before = norms.steps < norms.T
    excess = norms.log10_norms[before] - log10_bound(norms.T, norms.steps[before], lam)
    assert bound_margin(norms, lam) == pytest.approx(float(np.max(excess)), abs=1e-12)


@pytest.mark.parametrize("radius", [0.5, 1.0, 3.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_measured_tanh_rnn_products_keep_the_bound(radius, seed):
    engine = build_engine("rnn", "linear", "last")
    params, xs, _, states = build_problem("rnn", "linear", "last", sizes=(15, 1, 3, 6, 2), seed=seed)
    params = scale_recurrent_weight(params, radius=radius)
    norms = jacobian_products(engine, params, xs, states["h0"])
    lam = largest_singular_value(params["W_hh"])
    bound = log10_bound(norms.T, norms.steps, lam)
    assert np.all(norms.log10_norms <= bound + 1e-9), (norms.log10_norms - bound).max()
    # and not vacuously: somewhere the measured norm is within a few decades of the bound
    assert np.max(norms.log10_norms[:-1] - bound[:-1]) > -3 * norms.T


@pytest.mark.parametrize("lam", [0.0, -0.5, float("nan"), float("inf")])
def test_a_singular_value_that_is_not_positive_and_finite_is_a_value_error(lam):
    with pytest.raises(ValueError, match="largest_singular_value must be a positive number"):
        log10_bound(5, np.arange(1, 6), lam)
