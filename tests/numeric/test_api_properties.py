"""Properties of the Python API on inputs a user may really pass (issue 6, hardening): random sizes,
dtypes and containers, length-1 sequences, pre-activations of ±1e3, magnitudes up to 1e300 and NaN/Inf.

The contract every test here checks: a call returns finite results — the loss, every gradient, the
states and outputs, in the dtype of ``xs`` (float32 in, float32 out; anything else computes in
float64) — or raises a ``ValueError`` whose message names the problem. Never another exception,
never a silent NaN or Inf, and not even a NumPy warning: :func:`attempt` turns warnings into errors
(but for NumPy's overflow warnings on inputs near 1e300, where only the outcome is judged).

Bad arguments (shapes, batches, targets, keys, dtypes, names) are in test_api_properties_bad_input.py,
which shares its helpers with this module through conftest.py. Hypothesis runs derandomized without a
database, so CI is deterministic; the example counts keep both files under a minute on two cores.
"""

import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import (
    HEAD_PARAMS,
    assert_saturated_gradients_right,
    attempt,
    build_problem,
    calls,
    named,
    param_names,
    properties,
    random_targets,
    rejected,
    rel_err,
    seeds,
    sizes_strategy,
    spec_shape,
)
from hypothesis import given
from hypothesis import strategies as st

from bpttlab.derivations import HEADS, LOSS_AT
from bpttlab.derivations.cells import BUILT_IN as CELLS
from bpttlab.derivations.cells import resolve_cell
from bpttlab.numeric import build_engine
from bpttlab.numeric.verify.torch_reference import _step, torch_loss_and_grads


def assert_finite_result(kind, result, dtype, engine, sizes):
    """The contract for a returned value: finite everywhere, in ``dtype``, with the documented shapes."""
    t, n, d, h, k = sizes
    lstm = engine.cell.name == "lstm"
    if kind == "forward":
        assert result.h.shape == (t, n, h) and result.h.dtype == dtype, (result.h.shape, result.h.dtype)
        assert np.all(np.isfinite(result.h)), "h"
        assert (result.c is not None) == lstm
        if lstm:
            assert result.c.shape == (t, n, h) and result.c.dtype == dtype and np.all(np.isfinite(result.c))
        if engine.head is None:
            assert result.y is None
        else:
            shape = (t, n, k) if engine.loss_at == "every" else (n, k)
            assert result.y.shape == shape and result.y.dtype == dtype, (result.y.shape, result.y.dtype)
            assert np.all(np.isfinite(result.y)), "y"
        return
    loss, grads = (result, None) if kind == "loss" else result
    assert isinstance(loss, float) and np.isfinite(loss), loss
    if grads is None:
        return
    expected = {*param_names(engine.cell.name, engine.head), "xs", "h0"} | ({"c0"} if lstm else set())
    assert set(grads) == expected, sorted(grads)
    for name, gradient in grads.items():
        shape = {"xs": (t, n, d), "h0": (n, h), "c0": (n, h)}.get(name) or spec_shape(name, d, h, k)
        assert gradient.shape == shape, (name, gradient.shape, shape)
        assert gradient.dtype == dtype, (name, gradient.dtype)
        assert np.all(np.isfinite(gradient)), name


def finite_or_rejected(engine, params, xs, targets, states, dtype, sizes, pattern=None, *,
                       overflow_warnings=False):
    """Every call returns a finite result or raises a ValueError matching ``pattern`` (with no
    pattern, nothing may be rejected); returns the outcomes (result or error) by call."""
    outcomes = {}
    for kind, call in calls(engine, params, xs, targets, states).items():
        outcome = outcomes[kind] = attempt(call, overflow_warnings=overflow_warnings)
        if isinstance(outcome, ValueError):
            assert pattern is not None, (kind, str(outcome))
            assert re.search(pattern, str(outcome)), (kind, pattern, str(outcome))
        else:
            assert_finite_result(kind, outcome, dtype, engine, sizes)
    return outcomes


def convert(value, kind):
    """``value`` (a float64 array) as ``kind``: a dtype name, or "list" (nested Python floats)."""
    return value.tolist() if kind == "list" else value.astype(kind)




def torch_forward_h(cell, params, xs, states):
    """h_1..h_T, (T, N, H), by the torch reference's step (torch ops written from the equations)."""
    p = {name: torch.tensor(value) for name, value in params.items()}
    n, h_size = xs.shape[1], p[next(name for name in p if name.startswith("W_h"))].shape[1]
    h = torch.tensor(states.get("h0", np.zeros((n, h_size))))
    c = torch.tensor(states.get("c0", np.zeros((n, h_size)))) if "c0" in resolve_cell(cell).initial else None
    hs = []
    for x in torch.tensor(xs):
        h, c = _step(cell, p, x, h, c)
        hs.append(h)
    return torch.stack(hs).numpy()


def torch_outcomes(cell, head, loss_at, params, xs, targets, states, dtype):
    """Whether forward, loss and loss_and_grads come out finite when the torch reference computes them
    in ``dtype`` (every array cast to it, as the engine's contract says: a value beyond the dtype's
    range becomes ±inf here)."""
    kind = torch.float32 if np.dtype(dtype) == np.float32 else torch.float64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # casting 1e300 to float32 on purpose
        p = {n: torch.tensor(np.asarray(v, dtype=dtype), dtype=kind, requires_grad=True)
             for n, v in params.items()}
        x = torch.tensor(np.asarray(xs, dtype=dtype), dtype=kind, requires_grad=True)
        n_batch, h_size = x.shape[1], p[next(n for n in p if n.startswith("W_h"))].shape[1]
        zeros = np.zeros((n_batch, h_size))
        initial = {label: torch.tensor(np.asarray(states.get(label, zeros), dtype=dtype), dtype=kind,
                                       requires_grad=True) for label in resolve_cell(cell).initial}
        if head in ("sigmoid", "linear"):
            targets = np.asarray(targets, dtype=dtype)
    h, c = initial["h0"], initial.get("c0")
    hs = []
    for x_t in x:
        h, c = _step(cell, p, x_t, h, c)
        hs.append(h)
    hs = torch.stack(hs)
    result = {"forward": bool(torch.isfinite(hs).all())}
    if head is None:
        return result
    y = hs if loss_at == "every" else hs[-1]
    s = y @ p["W_hy"].T + p["b_y"]
    result["forward"] &= bool(torch.isfinite(s).all())
    if head == "softmax":
        labels = torch.as_tensor(np.asarray(targets), dtype=torch.long).reshape(-1)
        loss = F.cross_entropy(s.reshape(-1, s.shape[-1]), labels, reduction="sum") / n_batch
    elif head == "sigmoid":
        y = torch.tensor(targets, dtype=kind)
        loss = F.binary_cross_entropy_with_logits(s, y, reduction="sum") / n_batch
    else:
        loss = 0.5 * ((s - torch.tensor(targets, dtype=kind)) ** 2).sum() / n_batch
    result["loss"] = bool(torch.isfinite(loss))
    loss.backward()
    grads = [t.grad for t in (*p.values(), x, *initial.values())]
    result["loss_and_grads"] = result["loss"] and all(bool(torch.isfinite(g).all()) for g in grads)
    return result


# ----------------------------------------------------------------- valid input, any container
@pytest.mark.parametrize("head", (None, *HEADS))
@properties(60)
@given(cell=st.sampled_from(CELLS), loss_at=st.sampled_from(LOSS_AT), sizes=sizes_strategy, seed=seeds,
       xs_kind=st.sampled_from(("float64", "float32", "list", "float16", "int64", "int8", "uint8")),
       params_kind=st.sampled_from(("float64", "float32", "list", "float16", "int64")),
       given_states=st.sampled_from(((), ("h0",), ("h0", "c0"), ("c0",))))
def test_valid_input_gives_finite_results_in_the_dtype_of_xs(head, cell, loss_at, sizes, seed, xs_kind,
                                                             params_kind, given_states):
    """Arrays of any real dtype or nested lists, for xs, the parameters, h0 and c0 (each given or
    left to default to zeros) and the targets: results are finite and in the float dtype of the
    float32/float64 arrays among xs, the parameters and the initial states (float64 if none is one);
    one float32 and one float64 among them is refused, naming both (issue 21, point 4)."""
    params, xs, targets, states = build_problem(cell, head, loss_at, sizes=sizes, seed=seed)
    if xs_kind in ("int64", "int8", "uint8"):
        xs = np.round(np.abs(xs) * 3)  # small non-negative integers, exact in every integer dtype
    params = {name: convert(value * 3 if params_kind == "int64" else value, params_kind)
              for name, value in params.items()}
    xs = convert(xs, xs_kind)
    states_kind = xs_kind if xs_kind in ("list", "float32") else "float64"
    states = {name: convert(value, states_kind) for name, value in states.items() if name in given_states}
    if xs_kind == "list" and targets is not None:
        targets = targets.tolist()
    engine = build_engine(cell, head, loss_at)
    floats = {kind for kind in (xs_kind, params_kind, states_kind if states else None)
              if kind in ("float32", "float64")}
    if len(floats) == 2:
        for call in calls(engine, params, xs, targets, states).values():
            rejected(call, r"is float(32|64) but .* is float(32|64): give xs, the parameters and the initial "
                           r"states one float dtype")
        return
    dtype = np.dtype(floats.pop() if floats else np.float64)
    outcomes = finite_or_rejected(engine, params, xs, targets, states, dtype, sizes)
    # The values, not only their finiteness and dtype: every container and dtype gives the numbers the
    # float64 arrays holding the same values give, by an outside reference (torch autograd on torch ops).
    as64 = {name: np.asarray(value, dtype=np.float64) for name, value in params.items()}
    xs64 = np.asarray(xs, dtype=np.float64)
    states64 = {name: np.asarray(value, dtype=np.float64) for name, value in states.items()}
    tolerance = 1e-4 if dtype == np.float32 else 1e-10
    if head is None:
        expected_h = torch_forward_h(cell, as64, xs64, states64)
        assert rel_err(outcomes["forward"].h, expected_h) <= tolerance
        return
    t_loss, t_grads = torch_loss_and_grads(cell, head, loss_at, as64, xs64, np.asarray(targets), **states64)
    for loss in (outcomes["loss"], outcomes["loss_and_grads"][0]):
        assert rel_err(loss, t_loss) <= tolerance, (xs_kind, params_kind, loss, t_loss)
    for name, gradient in outcomes["loss_and_grads"][1].items():
        assert rel_err(gradient, t_grads[name]) <= tolerance * 10, (xs_kind, params_kind, name)


@pytest.mark.parametrize("cell", CELLS)
@properties(25)
@given(head=st.sampled_from(tuple(HEADS)), loss_at=st.sampled_from(LOSS_AT), sizes=sizes_strategy, seed=seeds)
def test_float32_results_agree_with_float64(cell, head, loss_at, sizes, seed):
    """float32 in, float32 out — and the float32 numbers are the float64 ones, rounded."""
    params, xs, targets, states = build_problem(cell, head, loss_at, sizes=sizes, seed=seed)
    engine = build_engine(cell, head, loss_at)
    loss64, grads64 = engine.loss_and_grads(params, xs, targets, **states)
    as32 = {name: value.astype(np.float32) for name, value in params.items()}
    loss32, grads32 = attempt(lambda: engine.loss_and_grads(
        as32, xs.astype(np.float32), targets, **{k: v.astype(np.float32) for k, v in states.items()}))
    assert abs(loss32 - loss64) <= 1e-4 * (1 + abs(loss64)), (loss32, loss64)
    for name, gradient in grads64.items():
        assert grads32[name].dtype == np.float32, name
        scale = float(np.max(np.abs(gradient)))
        assert np.max(np.abs(grads32[name] - gradient)) <= 1e-3 * scale + 1e-5, name


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("head", HEADS)
def test_a_sequence_of_length_one_works_and_both_placements_agree_on_it(cell, head):
    """T = 1: the loss at every step *is* the loss at the last step, so loss and gradients coincide."""
    params, xs, _, states = build_problem(cell, head, "every", sizes=(1, 3, 2, 3, 2), seed=1)
    targets = random_targets(np.random.default_rng(2), head, "last", 1, 3, 2)
    every = attempt(lambda: build_engine(cell, head, "every").loss_and_grads(params, xs, targets[None],
                                                                            **states))
    last = attempt(lambda: build_engine(cell, head, "last").loss_and_grads(params, xs, targets, **states))
    assert_finite_result("loss_and_grads", every, np.float64, build_engine(cell, head), (1, 3, 2, 3, 2))
    assert every[0] == pytest.approx(last[0], rel=1e-12)
    for name, gradient in every[1].items():
        np.testing.assert_allclose(gradient, last[1][name], rtol=1e-10, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("head", (None, *HEADS))
def test_an_empty_sequence_is_a_value_error_naming_xs(cell, head):
    params, xs, targets, states = build_problem(cell, head, "every", sizes=(2, 3, 2, 3, 2), seed=3)
    engine = build_engine(cell, head, "every")
    empty_targets = None if targets is None else targets[:0]
    for kind, call in calls(engine, params, xs[:0], empty_targets, states).items():
        message = rejected(call, named("xs"))
        assert "T" in message or "empty" in message, (kind, message)


# ----------------------------------------------------------------- pre-activations of ±1e3
def first_preactivation(engine, params, xs, states):
    """The first pre-activation of step 1 (a_t, a_{i,t} or a_{z,t}), (H, N): affine in the
    parameters, xs and h0 at that step, so scaling them scales it exactly."""
    name = next(eq.lhs.name for eq in engine.derivation.cell.equations)
    return engine.forward(params, xs, **states).stored[name][:, 0]


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("route", ("parameters", "inputs"))
@properties(25)
@given(cell=st.sampled_from(CELLS), loss_at=st.sampled_from(LOSS_AT), sizes=sizes_strategy, seed=seeds,
       sign=st.sampled_from((1.0, -1.0)), dtype=st.sampled_from((np.float32, np.float64)))
def test_pre_activations_of_1e3_give_torchs_loss_and_gradients(head, route, cell, loss_at, sizes, seed, sign,
                                                                dtype):
    """Saturated gates, a saturated tanh and logits of ±1e3: nothing overflows, nothing is rejected.
    The cell's pre-activations reach ±1e3 either through its parameters (every W and b scaled) or
    through its inputs (xs, h0, c0 and the biases scaled); the head's logits reach ±1e3 through W_hy
    and b_y."""
    params, xs, targets, states = build_problem(cell, head, loss_at, sizes=sizes, seed=seed)
    engine = build_engine(cell, head, loss_at)
    factor = sign * 1e3 / np.max(np.abs(first_preactivation(engine, params, xs, states)))
    if route == "parameters":
        params = {n: v * factor if n not in HEAD_PARAMS else v for n, v in params.items()}
    else:
        params = {n: v * factor if n.startswith("b_") and n != "b_y" else v for n, v in params.items()}
        xs, states = xs * factor, {n: v * factor for n, v in states.items()}
    reached = np.max(np.abs(first_preactivation(engine, params, xs, states)))
    assert reached == pytest.approx(1e3, rel=1e-9)  # the premise, checked
    h = engine.forward(params, xs, **states).h
    logits = (h if loss_at == "every" else h[-1]) @ params["W_hy"].T + params["b_y"]
    head_factor = 1e3 / np.max(np.abs(logits))
    params = {**params, "W_hy": params["W_hy"] * head_factor, "b_y": params["b_y"] * head_factor}

    cast = {n: v.astype(dtype) for n, v in params.items()}
    states = {n: v.astype(dtype) for n, v in states.items()}
    outcomes = finite_or_rejected(engine, cast, xs.astype(dtype), targets, states, np.dtype(dtype), sizes)
    y = outcomes["forward"].y
    if head != "linear":
        assert np.all((y >= 0) & (y <= 1)), "probabilities"
    # Finite is not enough: the loss and, in float64, every gradient are torch autograd's on the same
    # saturated problem (float32 is held to its loss: see test_engine's saturation test for why).
    as64 = ({n: v.astype(np.float64) for n, v in cast.items()}, xs.astype(dtype).astype(np.float64), targets)
    states64 = {n: v.astype(np.float64) for n, v in states.items()}
    loss, grads = outcomes["loss_and_grads"]
    if dtype == np.float64:
        assert_saturated_gradients_right(loss, grads, cell, head, loss_at, *as64, states64)
    else:
        t_loss, _ = torch_loss_and_grads(cell, head, loss_at, *as64, **states64)
        assert rel_err(loss, t_loss) <= 1e-4, (loss, t_loss)


# ----------------------------------------------------------------- magnitudes up to 1e300
HUGE = (1e300, -1e300, 1e200, -1e200, 1e38, 3.5e38, -3.5e38, float(np.finfo(np.float64).max))
ROLES = ("W_hy", "b_y", "targets", "xs", "h0", "c0", "a cell parameter")


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("loss_at", LOSS_AT)
@pytest.mark.parametrize("dtype, scale", [(np.float64, 1e300), (np.float32, 1e30)])
def test_a_loss_that_overflows_is_a_value_error_not_inf(cell, loss_at, dtype, scale):
    """A linear head with W_hy ≈ 1e300: ŷ ≈ 1e300 is still finite, so forward returns it; the
    squared error (≈ 1e600) is not, so the loss and the gradients are refused, not returned as Inf."""
    params, xs, targets, states = build_problem(cell, "linear", loss_at, sizes=(3, 2, 2, 3, 2), seed=4)
    params = {n: (v * scale if n == "W_hy" else v).astype(dtype) for n, v in params.items()}
    xs, states = xs.astype(dtype), {n: v.astype(dtype) for n, v in states.items()}
    engine = build_engine(cell, "linear", loss_at)
    forward = attempt(lambda: engine.forward(params, xs, **states), overflow_warnings=True)
    assert_finite_result("forward", forward, dtype, engine, (3, 2, 2, 3, 2))
    for call in (lambda: engine.loss(params, xs, targets, **states),
                 lambda: engine.loss_and_grads(params, xs, targets, **states)):
        rejected(call, r"\bloss\b.*overflowed|overflowed.*\bloss\b", overflow_warnings=True)


@pytest.mark.parametrize("head", (None, *HEADS))
@pytest.mark.parametrize("dtype", (np.float32, np.float64))
@properties(40)
@given(cell=st.sampled_from(CELLS), loss_at=st.sampled_from(LOSS_AT), sizes=sizes_strategy, seed=seeds,
       value=st.sampled_from(HUGE), whole=st.booleans(), data=st.data())
def test_huge_values_give_finite_results_or_a_value_error_that_says_so(head, dtype, cell, loss_at, sizes,
                                                                       seed, value, whole, data):
    """One entry (or a whole array scaled to that size) anywhere: in a parameter, xs, h0, c0, or the
    targets of the linear head. Either it still computes — tanh and σ saturate, the stable softmax and
    softplus do not overflow — or the ValueError says "too large" (for the dtype) or "overflowed"."""
    params, xs, targets, states = build_problem(cell, head, loss_at, sizes=sizes, seed=seed)
    arrays = {**params, "xs": xs, **states}
    if head == "linear":
        arrays["targets"] = targets
    name = data.draw(st.sampled_from(ROLES), label="role")  # the head's arrays as often as the cell's
    if name not in arrays:
        cell_params = [n for n in params if n not in HEAD_PARAMS]
        name = data.draw(st.sampled_from(cell_params), label="cell parameter")
    array = arrays[name].astype(np.float64)
    if whole:
        array = array / np.max(np.abs(array)) * value
    else:
        array.flat[data.draw(st.integers(0, array.size - 1), label="entry")] = value
    arrays[name] = array
    # Everything in the computation's dtype but the huge array, given as nested lists (a float32 array
    # cannot hold 1e300, and a float64 one beside float32 arrays would be refused as a mixed dtype).
    given_as = {n: (v.tolist() if n == name else v.astype(dtype)) for n, v in arrays.items()}
    computed_in = np.dtype(dtype)
    engine = build_engine(cell, head, loss_at)
    outcomes = finite_or_rejected(engine, {n: given_as[n] for n in params}, given_as["xs"],
                                  given_as.get("targets", targets), {n: given_as[n] for n in states},
                                  computed_in, sizes, pattern=r"too large|overflowed", overflow_warnings=True)
    # Which of the two is pinned. A value beyond the computation's dtype is refused by contract (by
    # every call that takes the array: forward takes no targets). Otherwise an outside computation
    # decides: the torch reference on the same values in the same dtype. Where it is finite the engine
    # must compute (a refusal there is a false alarm); where not, it must refuse (a finite answer there
    # can only be wrong).
    if np.max(np.abs(array)) > np.finfo(computed_in).max:
        expected = {kind: kind == "forward" and name == "targets" for kind in outcomes}
    else:
        expected = torch_outcomes(cell, head, loss_at, {n: given_as[n] for n in params}, given_as["xs"],
                                  given_as.get("targets", targets), {n: given_as[n] for n in states},
                                  computed_in)
    got = {kind: not isinstance(outcome, ValueError) for kind, outcome in outcomes.items()}
    assert got == expected, (name, value, whole, {k: str(v)[:80] for k, v in outcomes.items()})


@pytest.mark.parametrize("head", (None, *HEADS))
@properties(30)
@given(cell=st.sampled_from(CELLS), loss_at=st.sampled_from(LOSS_AT), sizes=sizes_strategy, seed=seeds,
       magnitude=st.floats(3.5e38, 1e308), sign=st.sampled_from((1, -1)), data=st.data())
def test_a_value_too_large_for_float32_is_named(head, cell, loss_at, sizes, seed, magnitude, sign, data):
    """In a float32 computation (xs float32), a parameter, h0, c0 or float target given as numbers beyond
    float32's range would become Inf when cast: the message names the array and says so."""
    params, xs, targets, states = build_problem(cell, head, loss_at, sizes=sizes, seed=seed)
    arrays = {**params, **states}
    if head in ("sigmoid", "linear"):
        arrays["targets"] = targets
    name = data.draw(st.sampled_from(sorted(arrays)), label="array")
    huge = arrays[name].copy()
    huge.flat[data.draw(st.integers(0, huge.size - 1), label="entry")] = sign * magnitude
    arrays = {n: huge.tolist() if n == name else value.astype(np.float32) for n, value in arrays.items()}
    engine = build_engine(cell, head, loss_at)
    bad_params, bad_states = {n: arrays[n] for n in params}, {n: arrays[n] for n in states}
    for kind, call in calls(engine, bad_params, xs.astype(np.float32), arrays.get("targets", targets),
                            bad_states).items():
        if kind == "forward" and name == "targets":
            continue  # forward takes no targets
        message = rejected(call, named(name))
        assert "too large for float32" in message, (kind, message)


# ----------------------------------------------------------------- NaN and ±Inf anywhere
@pytest.mark.parametrize("head", (None, *HEADS))
@properties(50)
@given(cell=st.sampled_from(CELLS), loss_at=st.sampled_from(LOSS_AT), sizes=sizes_strategy, seed=seeds,
       value=st.sampled_from((np.nan, np.inf, -np.inf)),
       container=st.sampled_from(("float64", "float32", "list")), data=st.data())
def test_nan_or_inf_anywhere_is_a_value_error_naming_the_array(head, cell, loss_at, sizes, seed, value,
                                                               container, data):
    params, xs, targets, states = build_problem(cell, head, loss_at, sizes=sizes, seed=seed)
    arrays = {**params, "xs": xs, **states}
    if head in ("sigmoid", "linear"):
        arrays["targets"] = targets
    name = data.draw(st.sampled_from(sorted(arrays)), label="array")
    arrays[name] = arrays[name].copy()
    arrays[name].flat[data.draw(st.integers(0, arrays[name].size - 1), label="entry")] = value
    arrays = {n: convert(v, container) for n, v in arrays.items()}
    engine = build_engine(cell, head, loss_at)
    bad_params, bad_states = {n: arrays[n] for n in params}, {n: arrays[n] for n in states}
    bad_targets = arrays.get("targets", targets)
    for kind, call in calls(engine, bad_params, arrays["xs"], bad_targets, bad_states).items():
        if kind == "forward" and name == "targets":
            continue  # forward takes no targets
        message = rejected(call, named(name))
        assert "NaN" in message, (kind, message)


# ----------------------------------------------------------------- init_params and param_shapes
@pytest.mark.parametrize("cell", CELLS)
@properties(30)
@given(head=st.sampled_from((None, *HEADS)),
       sizes=st.tuples(*(st.integers(1, 6) for _ in "DHK")), size_type=st.sampled_from((int, np.int64)),
       seed=seeds, dtype=st.sampled_from((np.float32, np.float64, "float32", np.dtype("float64"))),
       forget_bias=st.floats(-10, 10))
def test_init_params_has_the_documented_shapes_bounds_and_dtype(cell, head, sizes, size_type, seed, dtype,
                                                                forget_bias):
    d, h, k = (size_type(n) for n in sizes)
    engine = build_engine(cell, head)
    params = attempt(lambda: engine.init_params(d, h, k, seed=seed, dtype=dtype, forget_bias=forget_bias))
    assert not isinstance(params, ValueError), params
    names = [p for p in param_names(cell) if head is not None or p not in HEAD_PARAMS]
    assert list(params) == names
    assert engine.param_shapes(d, h, k) == {n: spec_shape(n, *sizes) for n in names}
    bound = 1 / np.sqrt(sizes[1])
    for name, value in params.items():
        assert value.shape == spec_shape(name, *sizes) and value.dtype == np.dtype(dtype), name
        centre = forget_bias if name == "b_f" else 0.0
        assert np.all(np.abs(value - centre) <= bound * (1 + 1e-6) + 1e-6 * abs(centre)), name
    again = engine.init_params(d, h, k, seed=seed, dtype=dtype, forget_bias=forget_bias)
    for name, value in params.items():
        np.testing.assert_array_equal(again[name], value, err_msg=name)
