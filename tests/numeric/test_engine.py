"""The NumPy engine lambdified from the derivations: shapes, agreement with the PyTorch reference,
dtypes, caching, initialisation, numerical stability, short sequences, and that its formulas really
are the derived equations."""

import dataclasses
import functools
import warnings

import numpy as np
import pytest
import sympy as sp
from conftest import Sizes, assert_saturated_gradients_right, build_problem, param_names, rel_err, spec_shape

from bpttlab.derivations import HEADS, LOSS_AT, derive
from bpttlab.derivations.cells import BUILT_IN as CELLS
from bpttlab.numeric import build_engine
from bpttlab.numeric.engine import NumpyEngine
from bpttlab.numeric.verify.torch_reference import (
    torch_loss_and_grads,
    torch_module_loss_and_grads,
)

T, N, D, H, K = SIZES = Sizes(4, 3, 3, 4, 3)
SEED = 20240611
#: This module's problems: parameters uniform in ±1, its sizes and seed.
problem = functools.partial(build_problem, sizes=SIZES, seed=SEED, scale=1.0)


def expected_grad_names(cell, head="linear"):
    return {*param_names(cell, head), "xs", "h0"} | ({"c0"} if cell == "lstm" else set())


def head_outputs(head, params, h):
    """ŷ from the hidden states h (..., H), written directly."""
    s = h @ params["W_hy"].T + params["b_y"]
    if head == "linear":
        return s
    if head == "sigmoid":
        return 1 / (1 + np.exp(-s))
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ----------------------------------------------------------------- forward
@pytest.mark.parametrize("loss_at", LOSS_AT)
@pytest.mark.parametrize("head", (None, *HEADS))
@pytest.mark.parametrize("cell", CELLS)
def test_forward_shapes_and_head_outputs(cell, head, loss_at):
    engine = build_engine(cell, head=head, loss_at=loss_at)
    params, xs, _, states = problem(cell, head, loss_at)
    result = engine.forward(params, xs, **states)
    assert result.h.shape == (T, N, H)
    assert result.h.dtype == np.float64
    if cell == "lstm":
        assert result.c.shape == (T, N, H)
        assert result.c.dtype == np.float64
    else:
        assert result.c is None
    if head is None:
        assert result.y is None
        return
    expected_shape = (T, N, K) if loss_at == "every" else (N, K)
    assert result.y.shape == expected_shape
    assert result.y.dtype == np.float64
    h = result.h if loss_at == "every" else result.h[-1]
    np.testing.assert_allclose(result.y, head_outputs(head, params, h), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru_torch"])
def test_forward_states_match_torch_nn_modules(cell):
    params, xs, targets, states = problem(cell, "linear", "every")
    hs = torch_module_loss_and_grads(cell, "linear", "every", params, xs, targets, **states)[2]
    cell_params = {k: v for k, v in params.items() if k not in ("W_hy", "b_y")}
    result = build_engine(cell, head=None).forward(cell_params, xs, **states)
    assert rel_err(result.h, hs) <= 1e-12
    if cell == "lstm":  # h_t = o_t ⊙ tanh(c_t) with o_t in (0, 1): |h_t| < |tanh(c_t)|
        assert np.all(np.abs(result.h) <= np.abs(np.tanh(result.c)))


def test_forward_rnn_follows_its_recurrence():
    params, xs, _, states = problem("rnn", None, "every")
    result = build_engine("rnn").forward(params, xs, **states)
    h = states["h0"]
    for t in range(T):
        h = np.tanh(xs[t] @ params["W_xh"].T + h @ params["W_hh"].T + params["b_h"])
        np.testing.assert_allclose(result.h[t], h, rtol=1e-13, atol=1e-15)


# ----------------------------------------------------------------- against PyTorch
@pytest.mark.parametrize("loss_at", LOSS_AT)
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("cell", CELLS)
def test_loss_and_gradients_match_torch(cell, head, loss_at):
    params, xs, targets, states = problem(cell, head, loss_at)
    loss, grads = build_engine(cell, head=head, loss_at=loss_at).loss_and_grads(params, xs, targets, **states)
    t_loss, t_grads = torch_loss_and_grads(cell, head, loss_at, params, xs, targets, **states)
    assert isinstance(loss, float)
    assert rel_err(loss, t_loss) <= 1e-12
    assert set(grads) == expected_grad_names(cell) == set(t_grads)
    for name, g in grads.items():
        assert g.shape == t_grads[name].shape, name
        assert g.dtype == np.float64, name
        assert rel_err(g, t_grads[name]) <= 1e-12, (name, rel_err(g, t_grads[name]))
    assert np.max(np.abs(grads["h0"])) > 0  # the initial state really is part of the computation


@pytest.mark.parametrize("cell", CELLS)
def test_loss_and_grads_leaves_its_inputs_alone(cell):
    params, xs, targets, states = problem(cell, "sigmoid", "every")
    before = {k: v.copy() for k, v in {**params, "xs": xs, "targets": targets, **states}.items()}
    build_engine(cell, head="sigmoid").loss_and_grads(params, xs, targets, **states)
    after = {**params, "xs": xs, "targets": targets, **states}
    for name, value in before.items():
        np.testing.assert_array_equal(after[name], value, err_msg=name)


@pytest.mark.parametrize("cell", CELLS)
def test_missing_initial_states_are_zeros(cell):
    params, xs, targets, states = problem(cell, "softmax", "every")
    engine = build_engine(cell, head="softmax")
    zeros = {name: np.zeros_like(value) for name, value in states.items()}
    loss, grads = engine.loss_and_grads(params, xs, targets)
    z_loss, z_grads = engine.loss_and_grads(params, xs, targets, **zeros)
    assert loss == z_loss
    assert set(grads) == set(z_grads) == expected_grad_names(cell)
    for name in grads:
        np.testing.assert_array_equal(grads[name], z_grads[name], err_msg=name)
    t_loss, t_grads = torch_loss_and_grads(cell, "softmax", "every", params, xs, targets)
    assert rel_err(loss, t_loss) <= 1e-12
    assert rel_err(grads["h0"], t_grads["h0"]) <= 1e-12


# ----------------------------------------------------------------- dtypes
@pytest.mark.parametrize("loss_at", LOSS_AT)
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("cell", CELLS)
def test_float32_in_float32_out_close_to_float64(cell, head, loss_at):
    engine = build_engine(cell, head=head, loss_at=loss_at)
    params, xs, targets, states = problem(cell, head, loss_at)

    def f32(a):
        return a.astype(np.float32) if a.dtype.kind == "f" else a

    params32 = {k: f32(v) for k, v in params.items()}
    states32 = {k: f32(v) for k, v in states.items()}
    xs32, targets32 = f32(xs), f32(targets)
    # The float64 run on exactly the same (float32-rounded) numbers.
    params64 = {k: v.astype(np.float64) for k, v in params32.items()}
    states64 = {k: v.astype(np.float64) for k, v in states32.items()}
    targets64 = targets32.astype(np.float64) if head != "softmax" else targets32

    loss32, grads32 = engine.loss_and_grads(params32, xs32, targets32, **states32)
    loss64, grads64 = engine.loss_and_grads(params64, xs32.astype(np.float64), targets64, **states64)
    assert rel_err(loss32, loss64) <= 1e-4
    assert set(grads32) == set(grads64) == expected_grad_names(cell)
    for name, g in grads32.items():
        assert g.dtype == np.float32, (name, g.dtype)
        assert grads64[name].dtype == np.float64, name
        assert rel_err(g, grads64[name]) <= 1e-4, (name, rel_err(g, grads64[name]))

    out32 = engine.forward(params32, xs32, **states32)
    out64 = engine.forward(params64, xs32.astype(np.float64), **states64)
    for name in ("h", "c", "y"):
        a, b = getattr(out32, name), getattr(out64, name)
        if b is None:
            assert a is None
            continue
        assert a.dtype == np.float32, name
        assert rel_err(a, b) <= 1e-4, name


# ----------------------------------------------------------------- caching
@pytest.mark.parametrize("cell", CELLS)
def test_build_engine_is_cached(cell):
    first = build_engine(cell, head="softmax", loss_at="last")
    assert build_engine(cell, head="softmax", loss_at="last") is first
    assert build_engine(cell, head="linear", loss_at="last") is not first
    assert build_engine(cell, head="softmax", loss_at="every") is not first


def test_build_engine_cache_ignores_how_the_arguments_are_spelled():
    engine = build_engine("rnn", "softmax")
    assert build_engine("rnn", head="softmax") is engine
    assert build_engine("rnn", "softmax", "every") is engine
    assert build_engine(cell="rnn", head="softmax", loss_at="every") is engine


# ----------------------------------------------------------------- parameters
@pytest.mark.parametrize("head", (None, "softmax"))
@pytest.mark.parametrize("cell", CELLS)
def test_param_shapes_and_init_params_follow_the_documented_shapes(cell, head):
    d, h, k = 3, 5, 2
    engine = build_engine(cell, head=head)
    expected = {name: spec_shape(name, d, h, k) for name in param_names(cell, head)}
    kwargs = {"K": k} if head else {}
    assert engine.param_shapes(d, h, **kwargs) == expected
    params = engine.init_params(d, h, seed=1, **kwargs)
    assert {name: p.shape for name, p in params.items()} == expected
    assert all(p.dtype == np.float64 for p in params.values())
    params32 = engine.init_params(d, h, seed=1, dtype=np.float32, **kwargs)
    assert all(p.dtype == np.float32 for p in params32.values())


@pytest.mark.parametrize("d, h, k", [(1, 4, 3), (3, 1, 3), (3, 4, 1), (1, 1, 1)])
def test_param_shapes_keep_weights_two_dimensional_when_a_size_is_one(d, h, k):
    for cell in CELLS:
        engine = build_engine(cell, head="linear")
        expected = {name: spec_shape(name, d, h, k) for name in param_names(cell)}
        assert engine.param_shapes(d, h, k) == expected, cell
        assert {n: p.shape for n, p in engine.init_params(d, h, k).items()} == expected, cell


@pytest.mark.parametrize("d, h", [(1, 4), (3, 1)])
def test_a_single_input_or_hidden_unit_matches_torch(d, h):
    params, xs, targets, states = problem("rnn", "linear", "every",
                                          sizes=dataclasses.replace(SIZES, d=d, h=h))
    loss, grads = build_engine("rnn", head="linear").loss_and_grads(params, xs, targets, **states)
    t_loss, t_grads = torch_loss_and_grads("rnn", "linear", "every", params, xs, targets, **states)
    assert rel_err(loss, t_loss) <= 1e-12
    for name in t_grads:
        assert rel_err(grads[name], t_grads[name]) <= 1e-12, name


@pytest.mark.parametrize("h", [1, 3, 4, 16])
@pytest.mark.parametrize("cell", CELLS)
def test_init_params_uniform_within_one_over_sqrt_h(cell, h):
    engine = build_engine(cell, head="sigmoid")
    bound = 1 / np.sqrt(h)
    params = engine.init_params(20, h, 12, seed=3)
    values = np.concatenate([p.ravel() for p in params.values()])
    assert np.all(np.abs(values) <= bound)
    # Spread over the whole interval, not a narrower one (e.g. ±1/H).
    assert values.min() < -0.9 * bound and values.max() > 0.9 * bound
    assert abs(values.mean()) < 0.1 * bound
    assert len(np.unique(values)) == values.size


@pytest.mark.parametrize("cell", CELLS)
def test_init_params_is_reproducible_by_seed(cell):
    engine = build_engine(cell, head="linear")
    a = engine.init_params(3, 4, 2, seed=7)
    b = engine.init_params(3, 4, 2, seed=7)
    c = engine.init_params(3, 4, 2, seed=8)
    assert set(a) == set(b) == set(c)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
        assert not np.array_equal(a[name], c[name]), name


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forget_bias_shifts_only_b_f_by_exactly_its_value(dtype):
    engine = build_engine("lstm", head="softmax")
    p0 = engine.init_params(3, 4, 2, seed=5, dtype=dtype, forget_bias=0.0)
    p1 = engine.init_params(3, 4, 2, seed=5, dtype=dtype, forget_bias=1.0)
    assert set(p0) == set(p1)
    for name in p0:
        assert p1[name].dtype == dtype, name
        if name == "b_f":
            np.testing.assert_array_equal(p1[name], p0[name] + dtype(1))
            np.testing.assert_allclose(p1[name] - p0[name], 1.0, rtol=0, atol=np.finfo(dtype).eps)
        else:
            np.testing.assert_array_equal(p1[name], p0[name], err_msg=name)


@pytest.mark.parametrize("cell", ["rnn", "gru", "gru_torch"])
def test_forget_bias_is_a_no_op_without_a_forget_gate(cell):
    engine = build_engine(cell, head="softmax")
    p0 = engine.init_params(3, 4, 2, seed=5)
    p1 = engine.init_params(3, 4, 2, seed=5, forget_bias=1.0)
    for name in p0:
        np.testing.assert_array_equal(p1[name], p0[name], err_msg=name)


# ----------------------------------------------------------------- stability
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scaled", ["params", "xs"])
@pytest.mark.parametrize("loss_at", LOSS_AT)
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("cell", CELLS)
def test_huge_pre_activations_stay_finite_without_warnings(cell, head, loss_at, scaled, dtype):
    engine = build_engine(cell, head=head, loss_at=loss_at)
    params, xs, targets, states = problem(cell, head, loss_at)
    if scaled == "params":
        params = {k: v * 1000 for k, v in params.items()}
    else:
        xs = xs * 1000
    params = {k: v.astype(dtype) for k, v in params.items()}
    xs, states = xs.astype(dtype), {k: v.astype(dtype) for k, v in states.items()}
    if head != "softmax":
        targets = targets.astype(dtype)
    # Underflow is not an error: σ(−1000) ≈ 5e-435 is below the smallest float64, so 0 is its correctly
    # rounded value and NumPy ignores underflow by default. Overflow, 0/0, log 0 and NaN must not occur.
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        result = engine.forward(params, xs, **states)
        loss, grads = engine.loss_and_grads(params, xs, targets, **states)
    # The test really is in saturation: first-step pre-activations W_xg x_1 + W_hg h_0 + b_g reach hundreds.
    first = [xs[0] @ params[w].T + states["h0"] @ params["W_h" + w[3:]].T + params["b_" + w[3:]]
             for w in params if w.startswith("W_x")]
    assert max(np.max(np.abs(a)) for a in first) > 300
    assert np.isfinite(loss)
    assert np.all(np.isfinite(result.y)) and np.all(np.isfinite(result.h))
    assert set(grads) == expected_grad_names(cell)
    for name, g in grads.items():
        assert g.dtype == dtype, name
        assert np.all(np.isfinite(g)), name
    # Finite is not enough: the loss and every gradient must still be right (a clipped softmax, or a
    # wrong σ′, would be finite but wrong), against torch autograd.
    if dtype == np.float64:
        assert_saturated_gradients_right(loss, grads, cell, head, loss_at, params, xs, targets, states)
    else:
        # float32 is held to its loss only: inputs of 1e3 leave pre-activations near the gates' working
        # range with absolute errors ≈ 1e-4, and gradients of 1e-190 underflow to 0, both rightly; the
        # float32 gradients are held to float64 on unsaturated problems (test_float32_in_float32_out_…).
        as64 = {k: v.astype(np.float64) for k, v in params.items()}
        t_loss, _ = torch_loss_and_grads(cell, head, loss_at, as64, xs.astype(np.float64), targets,
                                         **{k: v.astype(np.float64) for k, v in states.items()})
        assert rel_err(loss, t_loss) <= 1e-4


# ----------------------------------------------------------------- short sequences
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("cell", CELLS)
def test_a_single_step_sequence(cell, head):
    every, last = (build_engine(cell, head=head, loss_at=at) for at in LOSS_AT)
    params, xs, targets, states = problem(cell, head, "every", sizes=dataclasses.replace(SIZES, t=1))
    result = every.forward(params, xs, **states)
    assert result.h.shape == (1, N, H)
    assert result.y.shape == (1, N, K)
    loss, grads = every.loss_and_grads(params, xs, targets, **states)
    t_loss, t_grads = torch_loss_and_grads(cell, head, "every", params, xs, targets, **states)
    assert rel_err(loss, t_loss) <= 1e-12
    assert grads["xs"].shape == (1, N, D)
    for name in t_grads:
        assert rel_err(grads[name], t_grads[name]) <= 1e-12, name
    # With one step, the loss at every step is the loss at the last one.
    l_loss, l_grads = last.loss_and_grads(params, xs, targets[0], **states)
    assert rel_err(l_loss, loss) <= 1e-14
    for name in grads:
        assert rel_err(l_grads[name], grads[name]) <= 1e-14, name


@pytest.mark.parametrize("cell", CELLS)
def test_a_single_step_single_sequence(cell):
    params, xs, targets, states = problem(cell, "softmax", "last", sizes=dataclasses.replace(SIZES, t=1, n=1))
    engine = build_engine(cell, head="softmax", loss_at="last")
    loss, grads = engine.loss_and_grads(params, xs, targets, **states)
    t_loss, t_grads = torch_loss_and_grads(cell, "softmax", "last", params, xs, targets, **states)
    assert rel_err(loss, t_loss) <= 1e-12
    for name in t_grads:
        assert grads[name].shape == t_grads[name].shape, name
        assert rel_err(grads[name], t_grads[name]) <= 1e-12, name


# ----------------------------------------------------------------- the engine is the derivation
def test_engine_evaluates_the_derived_equations():
    d = derive("rnn", "linear")
    [(index, original)] = [(i, eq) for i, eq in enumerate(d.step_backward) if eq.lhs.name == "δa_t"]
    (delta_h,) = [s for s in original.rhs.atoms(sp.MatrixSymbol) if s.name == "δh_t"]
    step = list(d.step_backward)
    step[index] = sp.Eq(original.lhs, delta_h, evaluate=False)  # drop the tanh′ factor
    mutated = dataclasses.replace(d, step_backward=tuple(step))
    assert d.step_backward[index].rhs != delta_h  # the cached derivation itself is untouched

    params, xs, targets, states = problem("rnn", "linear", "every")
    loss, grads = NumpyEngine(d).loss_and_grads(params, xs, targets, **states)
    m_loss, m_grads = NumpyEngine(mutated).loss_and_grads(params, xs, targets, **states)
    # The unmutated derivation is right by an outside measure (autograd on torch ops), not by agreeing
    # with the engine that build_engine makes from the same derivation.
    t_loss, t_grads = torch_loss_and_grads("rnn", "linear", "every", params, xs, targets, **states)
    assert rel_err(loss, t_loss) <= 1e-12
    assert set(grads) == set(t_grads)
    for name in grads:
        assert rel_err(grads[name], t_grads[name]) <= 1e-12, name

    # Same forward pass and head, different recurrence.
    assert m_loss == loss
    for name in ("W_hy", "b_y"):
        np.testing.assert_array_equal(m_grads[name], grads[name], err_msg=name)
    assert rel_err(m_grads["W_hh"], t_grads["W_hh"]) > 1e-2

    # What the mutated equations say, computed by hand (rows are samples): δa_t = δh_t.
    h = build_engine("rnn", head="linear").forward(params, xs, **states).h
    h_prev = np.concatenate([states["h0"][None], h[:-1]])
    y_hat = h @ params["W_hy"].T + params["b_y"]
    from_head = (y_hat - targets) @ params["W_hy"] / N
    expected = {"W_xh": 0, "W_hh": 0, "b_h": 0, "xs": np.zeros_like(xs)}
    carried = np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        da = from_head[t] + carried
        expected["W_xh"] = expected["W_xh"] + da.T @ xs[t]
        expected["W_hh"] = expected["W_hh"] + da.T @ h_prev[t]
        expected["b_h"] = expected["b_h"] + da.sum(axis=0)
        expected["xs"][t] = da @ params["W_xh"]
        carried = da @ params["W_hh"]
    expected["h0"] = carried
    for name, value in expected.items():
        assert rel_err(m_grads[name], value) <= 1e-12, name
