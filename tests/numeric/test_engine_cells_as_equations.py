"""The engine on cells written as equations whose shapes the stacking rewrite does not expect (issue 21,
point 5): a first state whose line applies a function inside a larger expression — a residual RNN,
h_t = h_prev + tanh(…), and a sum of two activations — has no named delta for the backward loop. The
engine used to crash there (``TypeError: 'NoneType' object is not callable``); it must give the
gradients PyTorch autograd gives on the same equation text, for every head and placement, with
``wrt=`` and ``truncate=`` as for any cell."""

import numpy as np
import pytest
from conftest import Sizes, build_problem, rel_err

from bpttlab.derivations import HEADS, LOSS_AT, custom_cell
from bpttlab.numeric.engine import build_engine
from bpttlab.numeric.verify.torch_cell import torch_cell_loss_and_grads

SIZES = Sizes(t=5, n=2, d=3, h=4, k=2)

CELLS_AS_EQUATIONS = {
    "residual_rnn": "h_t = h_prev + tanh(W_xh @ x_t + W_hh @ h_prev + b_h)",
    "two_tanh_rnn": "h_t = tanh(W_xh @ x_t) + tanh(W_hh @ h_prev)",
    "scaled_residual": ("a_t = W_xh @ x_t + W_hh @ h_prev + b_h\n"
                        "h_t = 0.5 * h_prev + sigmoid(a_t) * tanh(a_t)"),
    "residual_lstm_like": ("c_t = c_prev + sigmoid(W_xc @ x_t + W_hc @ h_prev) * tanh(W_xg @ x_t)\n"
                           "h_t = h_prev + tanh(c_t)"),
}


def _cell(name: str):
    text = CELLS_AS_EQUATIONS[name]
    states = {"h_t": "h_prev", **({"c_t": "c_prev"} if "c_t" in text else {})}
    return custom_cell(name, text, states)


def _problem(engine, head: str, loss_at: str, seed: int = 0):
    return build_problem(engine.cell, head, loss_at, sizes=SIZES, seed=seed,
                         shapes=engine.param_shapes(SIZES.d, SIZES.h, SIZES.k))


@pytest.mark.parametrize("loss_at", LOSS_AT)
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("name", CELLS_AS_EQUATIONS)
def test_the_engine_runs_them_and_agrees_with_autograd(name, head, loss_at):
    cell = _cell(name)
    engine = build_engine(cell, head, loss_at)
    params, xs, targets, initial = _problem(engine, head, loss_at)
    loss, grads = engine.loss_and_grads(params, xs, targets, initial=initial)
    ref_loss, ref_grads = torch_cell_loss_and_grads(cell, head, loss_at, params, xs, targets, initial)
    assert rel_err(loss, ref_loss) <= 1e-12
    assert set(grads) == set(ref_grads) == {*params, "xs", *cell.initial}
    for key, value in ref_grads.items():
        assert rel_err(grads[key], value) <= 1e-12, (name, head, loss_at, key)


@pytest.mark.parametrize("name", CELLS_AS_EQUATIONS)
def test_state_grads_wrt_and_truncation_work_on_them(name):
    engine = build_engine(_cell(name), "linear", "every")
    params, xs, targets, initial = _problem(engine, "linear", "every", seed=1)
    loss, full = engine.loss_and_grads(params, xs, targets, initial=initial)
    _, deltas = engine.state_grads(params, xs, targets, initial=initial)
    assert deltas["h"].shape == (SIZES.t, SIZES.n, SIZES.h) and np.all(np.isfinite(deltas["h"]))
    _, some = engine.loss_and_grads(params, xs, targets, initial=initial, wrt=["xs"])
    assert list(some) == ["xs"] and np.array_equal(some["xs"], full["xs"])
    _, cut = engine.loss_and_grads(params, xs, targets, initial=initial, truncate=(2, SIZES.t))
    assert all(np.array_equal(cut[key], full[key]) for key in full)
    _, short = engine.loss_and_grads(params, xs, targets, initial=initial, truncate=1, wrt=list(params))
    assert all(np.all(np.isfinite(value)) for value in short.values()) and loss > 0


ZERO_GRADIENTS = {
    "cancelling_bias": ("h_t = tanh(W_xh @ x_t + W_hh @ h_prev + b_h + b_z - b_z)", "b_z"),
    "cancelling_weight": ("h_t = tanh(W_xh @ x_t + W_zz @ (h_prev - h_prev) + W_hh @ h_prev)", "W_zz"),
    "input_never_read": ("h_t = tanh(W_hh @ h_prev + b_h)", "xs"),
    "state_never_read": ("h_t = tanh(W_xh @ x_t + b_h)", "h_prev"),
}


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize("name", ZERO_GRADIENTS)
def test_a_gradient_derived_as_zero_is_zeros_of_its_shape(name, backend):
    """A parameter that cancels, an input or a state the cell never reads: the derivation gives a zero
    gradient, and the engine returns zeros shaped like the quantity (it used to return the scalar 0, or
    crash), as autograd on the equation text does."""
    text, zero = ZERO_GRADIENTS[name]
    cell = custom_cell(name, text, {"h_t": "h_prev"})
    engine = build_engine(cell, "linear", "every", backend=backend)
    params, xs, targets, initial = _problem(engine, "linear", "every")
    loss, grads = engine.loss_and_grads(params, xs, targets, initial=initial)
    ref_loss, ref_grads = torch_cell_loss_and_grads(cell, "linear", "every", params, xs, targets, initial)
    assert rel_err(loss, ref_loss) <= 1e-12
    expected_shape = {**{k: v.shape for k, v in params.items()}, "xs": xs.shape,
                      "h_prev": initial["h_prev"].shape}
    for key, value in grads.items():
        assert value.shape == expected_shape[key] and value.dtype == np.float64, key
        reference = ref_grads.get(key)
        assert rel_err(value, np.zeros_like(value) if reference is None else reference) <= 1e-12, key
    assert not np.any(grads[zero])
