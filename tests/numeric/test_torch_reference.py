"""The PyTorch reference: the hand-written cells agree with torch.nn's modules and with finite differences."""

import functools

import numpy as np
import pytest
import torch
from conftest import Sizes, build_problem, rel_err

from bpttlab.derivations import HEADS, LOSS_AT
from bpttlab.derivations.cells import BUILT_IN as CELLS
from bpttlab.numeric.verify.torch_reference import (
    param_names,
    torch_loss_and_grads,
    torch_module_loss_and_grads,
)

T, N, D, H, K = SIZES = Sizes(4, 3, 3, 4, 3)
SEED = 20240601
#: This module's problems: parameters uniform in ±1/√H, its sizes and seed.
problem = functools.partial(build_problem, sizes=SIZES, seed=SEED)


@pytest.mark.parametrize("loss_at", LOSS_AT)
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru_torch"])
def test_equations_match_torch_nn_modules(cell, head, loss_at):
    params, xs, targets, states = problem(cell, head, loss_at)
    loss, grads = torch_loss_and_grads(cell, head, loss_at, params, xs, targets, **states)
    m_loss, m_grads, hs = torch_module_loss_and_grads(cell, head, loss_at, params, xs, targets, **states)
    assert hs.shape == (T, N, H)
    assert rel_err(loss, m_loss) <= 1e-12
    expected = {*param_names(cell), "xs", "h0"} | ({"c0"} if cell == "lstm" else set())
    assert set(grads) == set(m_grads) == expected
    for name, g in grads.items():
        shape = xs.shape if name == "xs" else (N, H) if name in ("h0", "c0") else params[name].shape
        assert g.shape == m_grads[name].shape == shape
        assert g.dtype == m_grads[name].dtype == np.float64
        assert rel_err(g, m_grads[name]) <= 1e-12, name


def test_initial_states_default_to_zeros_and_still_get_gradients():
    params, xs, targets, _ = problem("lstm", "softmax", "every")
    zeros = {"h0": np.zeros((N, H)), "c0": np.zeros((N, H))}
    loss, grads = torch_loss_and_grads("lstm", "softmax", "every", params, xs, targets)
    z_loss, z_grads = torch_loss_and_grads("lstm", "softmax", "every", params, xs, targets, **zeros)
    assert loss == z_loss
    for name in ("h0", "c0"):
        assert grads[name].shape == (N, H)
        np.testing.assert_array_equal(grads[name], z_grads[name])
    assert np.any(grads["h0"] != 0)


def loss_only(cell, head, loss_at, arrays, targets):
    params = {k: v for k, v in arrays.items() if k not in ("xs", "h0", "c0")}
    states = {k: arrays.get(k) for k in ("h0", "c0")}
    return torch_loss_and_grads(cell, head, loss_at, params, arrays["xs"], targets, **states)[0]


def central_difference(cell, head, loss_at, arrays, targets, name, index, eps=1e-6):
    plus, minus = dict(arrays), dict(arrays)
    plus[name], minus[name] = arrays[name].copy(), arrays[name].copy()
    plus[name][index] += eps
    minus[name][index] -= eps
    step = plus[name][index] - minus[name][index]  # the step actually taken, ≈ 2 eps
    diff = loss_only(cell, head, loss_at, plus, targets) - loss_only(cell, head, loss_at, minus, targets)
    return diff / step


@pytest.mark.parametrize("loss_at", LOSS_AT)
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("cell", CELLS)
def test_gradients_match_central_differences(cell, head, loss_at):
    """Relative error <= 1e-6 with eps = 1e-6, at the two largest entries and one random entry of each array.

    A float64 loss L is only known to a few ulps, so a central difference carries an absolute error
    of about ε_mach |L| / eps (≈ 2e-9 here) whatever the gradient: the check allows ten times that on
    top of the relative 1e-6, which only matters for entries below ≈ 1e-2.
    """
    params, xs, targets, states = problem(cell, head, loss_at)
    arrays = {**params, "xs": xs, **{k: v for k, v in states.items() if v is not None}}
    loss, grads = torch_loss_and_grads(cell, head, loss_at, params, xs, targets, **states)
    eps = 1e-6
    noise = 10 * np.finfo(float).eps * abs(loss) / eps
    rng = np.random.default_rng(SEED + 1)
    for name, array in arrays.items():
        g = grads[name].ravel()
        picks = [*np.argsort(-np.abs(g))[:2], rng.integers(array.size)]
        for flat in picks:
            index = np.unravel_index(flat, array.shape)
            fd = central_difference(cell, head, loss_at, arrays, targets, name, index, eps)
            bound = 1e-6 * max(abs(fd), abs(g[flat])) + noise
            assert abs(fd - g[flat]) <= bound, (name, index, fd, g[flat], rel_err(fd, g[flat]))


def test_course_gru_follows_its_equations_in_numpy():
    """nn.GRU cannot check the reset-before GRU, so its loss is recomputed here with NumPy."""
    params, xs, targets, states = problem("gru", "linear", "every")
    p = params

    def sig(a):
        return 1 / (1 + np.exp(-a))

    h, expected = states["h0"], 0.0
    for x, y in zip(xs, targets, strict=True):
        z = sig(x @ p["W_xz"].T + h @ p["W_hz"].T + p["b_z"])
        r = sig(x @ p["W_xr"].T + h @ p["W_hr"].T + p["b_r"])
        n = np.tanh(x @ p["W_xn"].T + (r * h) @ p["W_hn"].T + p["b_n"])
        h = (1 - z) * h + z * n
        expected += 0.5 * np.sum((h @ p["W_hy"].T + p["b_y"] - y) ** 2) / N
    loss, _ = torch_loss_and_grads("gru", "linear", "every", params, xs, targets, **states)
    assert rel_err(loss, expected) <= 1e-12


def test_course_gru_and_torch_gru_differ():
    params, xs, targets, states = problem("gru_torch", "softmax", "every")
    params["b_hn"] = np.zeros(H)
    loss, _ = torch_loss_and_grads("gru", "softmax", "every", params, xs, targets, **states)
    t_loss, _ = torch_loss_and_grads("gru_torch", "softmax", "every", params, xs, targets, **states)
    assert abs(loss - t_loss) > 1e-3 * abs(loss)


def test_module_reference_has_no_reset_before_gru():
    params, xs, targets, states = problem("gru", "softmax", "every")
    with pytest.raises(ValueError, match="reset-before"):
        torch_module_loss_and_grads("gru", "softmax", "every", params, xs, targets, **states)


def test_module_reference_leaves_the_torch_rng_alone():
    params, xs, targets, states = problem("lstm", "linear", "last")
    before = torch.get_rng_state()
    torch_module_loss_and_grads("lstm", "linear", "last", params, xs, targets, **states)
    assert torch.equal(before, torch.get_rng_state())


def test_every_registered_head_has_a_torch_loss():
    """Each head's loss in PyTorch is an entry of TORCH_HEADS, keyed by the registry's names (no head
    is recognised by its name in the reference)."""
    from bpttlab.numeric.verify.torch_reference import TORCH_HEADS

    assert list(TORCH_HEADS) == list(HEADS)
