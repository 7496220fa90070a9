"""‖∂h_T/∂h_k‖₂ from the derived step Jacobians: against torch.autograd.functional.jacobian of h_T with
respect to h_k, against an explicit product of full block step Jacobians, with subsets of k, over
long sequences whose products leave the float range, and with bad input."""

import numpy as np
import pytest
import sympy as sp
import torch
from conftest import Sizes, build_problem

from bpttlab.derivations import H as SYMBOLIC_H
from bpttlab.derivations import derive
from bpttlab.derivations.cells import BUILT_IN as CELLS
from bpttlab.numeric import build_engine, decay_params, jacobian_products, spaced_steps
from bpttlab.numeric.decay.products import spectral_norm
from bpttlab.numeric.engine.printer import EnginePrinter
from bpttlab.numeric.verify.torch_reference import _step

T, N, D, H, K = SIZES = Sizes(6, 2, 3, 4, 2)


def problem(cell):
    """The engine (linear head, loss at the last step) and this module's problem, unpacked as the decay
    API takes it."""
    engine = build_engine(cell, "linear", "last")
    params, xs, _, states = build_problem(cell, "linear", "last", sizes=SIZES, seed=11, scale=1.0,
                                          state_scale=1.0)
    return engine, params, xs, states["h0"], states.get("c0")


def torch_states(cell, params, xs, h0, c0, sample):
    """h_t, c_t (c_t None but for the LSTM) of one sequence, t = 0..T, by the torch-ops reference."""
    p = {name: torch.tensor(value) for name, value in params.items()}
    h = torch.tensor(h0[sample])
    c = None if c0 is None else torch.tensor(c0[sample])
    states = [(h, c)]
    for x in torch.tensor(xs[:, sample]):
        h, c = _step(cell, p, x, h, c)
        states.append((h, c))
    return p, states


def run_from(cell, p, xs, sample, k, h, c):
    """h_T from the states at step k (1-based), running steps k+1..T."""
    for x in torch.tensor(xs[k:, sample]):
        h, c = _step(cell, p, x, h, c)
    return h


@pytest.mark.parametrize("cell", CELLS)
def test_norms_equal_the_autograd_jacobian_of_h_T_with_respect_to_h_k(cell):
    engine, params, xs, h0, c0 = problem(cell)
    result = jacobian_products(engine, params, xs, h0, c0, sample=1)
    p, states = torch_states(cell, params, xs, h0, c0, sample=1)
    expected = []
    for k in range(1, T + 1):
        h_k, c_k = states[k]
        def h_T(h, k=k, c=c_k):
            return run_from(cell, p, xs, 1, k, h, c)

        jacobian = torch.autograd.functional.jacobian(h_T, h_k)
        expected.append(np.linalg.norm(jacobian.numpy(), 2))
    assert result.steps.tolist() == list(range(1, T + 1))
    assert np.max(np.abs(result.norms - expected) / np.array(expected)) <= 1e-10


def test_the_lstm_norm_is_the_h_block_of_the_product_of_full_block_jacobians():
    engine, params, xs, h0, c0 = problem("lstm")
    result = jacobian_products(engine, params, xs, h0, c0, sample=0)
    p, states = torch_states("lstm", params, xs, h0, c0, sample=0)
    x = torch.tensor(xs[:, 0])
    full = []  # ∂(h_t, c_t)/∂(h_{t-1}, c_{t-1}), 2H × 2H, for t = 2..T
    for t in range(2, T + 1):
        h, c = states[t - 1]
        def step(h, c, t=t):
            return _step("lstm", p, x[t - 1], h, c)

        blocks = torch.autograd.functional.jacobian(step, (h, c))
        full.append(np.block([[blocks[0][0].numpy(), blocks[0][1].numpy()],
                              [blocks[1][0].numpy(), blocks[1][1].numpy()]]))
    product, h_only = np.eye(2 * H), np.eye(H)
    expected, h_block_only = [1.0], [1.0]
    for jacobian in reversed(full):  # k = T-1 down to 1
        product = product @ jacobian
        h_only = h_only @ jacobian[:H, :H]
        expected.append(np.linalg.norm(product[:H, :H], 2))
        h_block_only.append(np.linalg.norm(h_only, 2))
    expected, h_block_only = np.array(expected[::-1]), np.array(h_block_only[::-1])
    assert np.max(np.abs(result.norms - expected) / expected) <= 1e-10
    assert np.max(np.abs(result.norms - h_block_only) / expected) > 1e-3  # the cell path matters


def test_the_derived_jacobian_is_what_gets_evaluated():
    jacobian = derive("rnn", None).jacobian[("h_t", "h_{t-1}")]
    assert EnginePrinter().doprint(jacobian) == "(1.0 - h_t**2)*(W_hh)"
    W, h = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.5], [0.25]])
    function = sp.lambdify([sp.MatrixSymbol("h_t", 2, 1), sp.MatrixSymbol("W_hh", 2, 2)],
                           jacobian.subs({SYMBOLIC_H: 2}), printer=EnginePrinter)
    assert np.allclose(function(h, W), np.diag(1 - h[:, 0] ** 2) @ W)


def test_a_subset_of_steps_gives_the_same_values_there():
    engine, params, xs, h0, _ = problem("gru")
    every = jacobian_products(engine, params, xs, h0)
    some = jacobian_products(engine, params, xs, h0, steps=[4, 1, 2])
    assert some.steps.tolist() == [1, 2, 4, T]  # sorted, and k = T always
    assert np.array_equal(some.log10_norms, every.log10_norms[some.steps - 1])


def test_products_far_below_the_float_range_stay_finite_and_keep_the_bound():
    engine = build_engine("rnn", "linear", "last")
    params = decay_params(engine, 2, 6, 1, seed=0, singular_value=0.1)
    result = jacobian_products(engine, params, np.zeros((500, 1, 2)))
    assert np.all(np.isfinite(result.log10_norms))
    assert result.log10_norms[0] < -400  # 1e-400 is no float64; its log is
    assert np.all(result.log10_norms <= (result.T - result.steps) * -1.0 + 1e-9)
    assert result.norms[0] == 0.0 and result.norms[-1] == 1.0


def test_spectral_norm_and_spaced_steps():
    matrix = np.random.default_rng(0).normal(size=(7, 5))
    assert spectral_norm(matrix) == pytest.approx(np.linalg.svd(matrix, compute_uv=False)[0], rel=1e-13)
    assert spectral_norm(matrix.T) == pytest.approx(spectral_norm(matrix), rel=1e-13)
    steps = spaced_steps(1000)
    assert steps[0] == 1 and steps[-1] == 1000 and 50 <= steps.size <= 64 and np.all(np.diff(steps) > 0)
    assert spaced_steps(3).tolist() == [1, 2, 3]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"sample": 2}, r"sample must be an integer in 0\.\.1"),
    ({"steps": [0, 2]}, r"steps must lie in 1\.\.6"),
    ({"steps": [1.5]}, "integers"),
    ({"steps": []}, "non-empty"),
])
def test_bad_arguments_raise_value_error(kwargs, message):
    engine, params, xs, h0, _ = problem("rnn")
    with pytest.raises(ValueError, match=message):
        jacobian_products(engine, params, xs, h0, **kwargs)


def test_bad_input_is_reported_by_the_engine_and_spaced_steps():
    engine, params, xs, _, _ = problem("rnn")
    with pytest.raises(ValueError, match="xs must have shape"):
        jacobian_products(engine, params, xs[0])
    with pytest.raises(ValueError, match="T must be a positive integer"):
        spaced_steps(0)
    with pytest.raises(ValueError, match="count must be an integer"):
        spaced_steps(10, 1)
