"""Properties of the Python API on bad arguments (issue 6, hardening): mismatched batches, targets out
of range or of the wrong kind, missing, extra or misshapen parameters, arrays of the wrong dtype, bad
sizes and options for ``init_params``, unknown names for ``build_engine``, ``derive``, ``prove`` and
``verify_gradients``. Each is a ``ValueError`` whose message names the culprit — never another
exception (a list is not hashable, so a cached function would say TypeError), never a result.

Helpers and settings are shared with test_api_properties.py (the valid-input half) through conftest.py.
"""

import math
import re

import numpy as np
import pytest
from conftest import (
    build_problem,
    calls,
    named,
    properties,
    rejected,
    seeds,
    sizes_strategy,
)
from hypothesis import assume, given
from hypothesis import strategies as st

from bpttlab.derivations import HEADS, LOSS_AT, derive, prove
from bpttlab.derivations.cells import BUILT_IN as CELLS
from bpttlab.numeric import build_engine, verify_gradients


# ----------------------------------------------------------------- batches and lengths that disagree
@pytest.mark.parametrize("which", ("targets", "h0", "c0"))
@properties(40)
@given(head=st.sampled_from(tuple(HEADS)), loss_at=st.sampled_from(LOSS_AT), sizes=sizes_strategy, seed=seeds,
       cell=st.sampled_from(CELLS), other=st.integers(0, 6))
def test_a_batch_size_that_differs_from_xs_is_named(which, head, loss_at, sizes, seed, cell, other):
    cell = "lstm" if which == "c0" else cell
    n = sizes[1]
    assume(other != n)
    params, xs, targets, states = build_problem(cell, head, loss_at, sizes=sizes, seed=seed)
    if which == "targets":
        targets = np.resize(targets, (*targets.shape[:-2], other, *targets.shape[-1:])
                            if head != "softmax" else (*targets.shape[:-1], other))
    else:
        states[which] = np.resize(states[which], (other, sizes[3]))
    engine = build_engine(cell, head, loss_at)
    for kind, call in calls(engine, params, xs, targets, states).items():
        if kind == "forward" and which == "targets":
            continue  # forward takes no targets
        rejected(call, named(which))


@properties(30)
@given(cell=st.sampled_from(CELLS), head=st.sampled_from(tuple(HEADS)), sizes=sizes_strategy, seed=seeds,
       steps=st.integers(0, 6))
def test_targets_for_another_number_of_steps_are_named(cell, head, sizes, seed, steps):
    assume(steps != sizes[0])
    params, xs, targets, states = build_problem(cell, head, "every", sizes=sizes, seed=seed)
    targets = np.resize(targets, (steps, *targets.shape[1:]))
    engine = build_engine(cell, head, "every")
    rejected(lambda: engine.loss_and_grads(params, xs, targets, **states), named("targets"))
    rejected(lambda: engine.loss(params, xs, targets, **states), named("targets"))


@properties(30)
@given(cell=st.sampled_from(CELLS), head=st.sampled_from((None, *HEADS)), sizes=sizes_strategy, seed=seeds,
       features=st.integers(1, 6))
def test_xs_with_another_number_of_features_than_the_input_weights(cell, head, sizes, seed, features):
    assume(features != sizes[2])
    params, xs, targets, states = build_problem(cell, head, "every", sizes=sizes, seed=seed)
    xs = np.resize(xs, (*xs.shape[:2], features))
    engine = build_engine(cell, head, "every")
    for call in calls(engine, params, xs, targets, states).values():
        rejected(call, r"(?<!\w)(xs|W_x\w+)(?!\w)")


# ----------------------------------------------------------------- targets
@properties(60)
@given(cell=st.sampled_from(CELLS), loss_at=st.sampled_from(LOSS_AT), sizes=sizes_strategy, seed=seeds,
       data=st.data(), kind=st.sampled_from(("int64", "int32", "list")))
def test_class_indices_outside_0_to_k_minus_1_are_refused(cell, loss_at, sizes, seed, data, kind):
    k = sizes[4]
    params, xs, targets, states = build_problem(cell, "softmax", loss_at, sizes=sizes, seed=seed)
    bad = data.draw(st.one_of(st.integers(k, k + 10**6), st.integers(-(10**6), -1)), label="class")
    targets = targets.copy()
    targets.flat[data.draw(st.integers(0, targets.size - 1), label="entry")] = bad
    targets = targets.tolist() if kind == "list" else targets.astype(kind)
    engine = build_engine(cell, "softmax", loss_at)
    message = rejected(lambda: engine.loss_and_grads(params, xs, targets, **states), named("targets"))
    assert f"0..{k - 1}" in message, message


NOT_CLASS_INDICES = ("float64", "float32", "non-integral", "bool", "complex128", "object", "str", "ragged")


def not_class_indices(targets, kind):
    """Class indices (an int array) turned into something that is not: ``kind`` is a dtype or one of
    "non-integral", "bool", "ragged"."""
    if kind == "non-integral":
        return targets + 0.5
    if kind == "bool":
        return targets % 2 == 0
    if kind == "ragged":
        return [[0], [0, 1]]
    return targets.astype(kind)


@pytest.mark.parametrize("kind", NOT_CLASS_INDICES)
@properties(10)
@given(cell=st.sampled_from(CELLS), loss_at=st.sampled_from(LOSS_AT), sizes=sizes_strategy, seed=seeds)
def test_class_indices_that_are_not_integers_are_refused(kind, cell, loss_at, sizes, seed):
    """Even 1.0 is refused: a float class index is almost always a mix-up with float targets."""
    params, xs, targets, states = build_problem(cell, "softmax", loss_at, sizes=sizes, seed=seed)
    targets = not_class_indices(targets, kind)
    engine = build_engine(cell, "softmax", loss_at)
    rejected(lambda: engine.loss_and_grads(params, xs, targets, **states), named("targets"))


@properties(40)
@given(cell=st.sampled_from(CELLS), loss_at=st.sampled_from(LOSS_AT), sizes=sizes_strategy, seed=seeds,
       data=st.data(),
       outside=st.one_of(st.floats(1, 1e300, exclude_min=True), st.floats(-1e300, 0, exclude_max=True)))
def test_sigmoid_targets_outside_0_1_are_refused(cell, loss_at, sizes, seed, data, outside):
    """Binary cross-entropy is a cross-entropy for targets in [0, 1] only: the engine documents
    (numeric/engine/validate.py, check_targets) that sigmoid targets are probabilities, and refuses others."""
    params, xs, targets, states = build_problem(cell, "sigmoid", loss_at, sizes=sizes, seed=seed)
    targets.flat[data.draw(st.integers(0, targets.size - 1), label="entry")] = outside
    engine = build_engine(cell, "sigmoid", loss_at)
    message = rejected(lambda: engine.loss_and_grads(params, xs, targets, **states), named("targets"))
    assert "[0, 1]" in message, message


@properties(30)
@given(cell=st.sampled_from(CELLS), loss_at=st.sampled_from(LOSS_AT), sizes=sizes_strategy, seed=seeds,
       kind=st.sampled_from(("0 and 1 as floats", "0 and 1 as integers", "uniform")))
def test_sigmoid_targets_in_0_1_including_the_ends_are_accepted(cell, loss_at, sizes, seed, kind):
    params, xs, targets, states = build_problem(cell, "sigmoid", loss_at, sizes=sizes, seed=seed)
    if kind != "uniform":
        targets = np.round(targets)
        targets = targets.astype(np.int64) if kind.endswith("integers") else targets
    loss, grads = build_engine(cell, "sigmoid", loss_at).loss_and_grads(params, xs, targets, **states)
    assert math.isfinite(loss) and loss > 0
    assert all(np.all(np.isfinite(g)) for g in grads.values())


@pytest.mark.parametrize("cell", CELLS)
def test_a_bare_cell_has_no_loss_and_says_which_heads_would(cell):
    params, xs, targets, states = build_problem(cell, None, "every", sizes=(2, 2, 2, 2, 2), seed=0)
    engine = build_engine(cell)
    for call in (lambda: engine.loss(params, xs, targets, **states),
                 lambda: engine.loss_and_grads(params, xs, targets, **states)):
        rejected(call, r"head.*softmax.*sigmoid.*linear")


# ----------------------------------------------------------------- parameters: keys, shapes, dtypes
@properties(80)
@given(cell=st.sampled_from(CELLS), head=st.sampled_from((None, *HEADS)), sizes=sizes_strategy, seed=seeds,
       data=st.data())
def test_every_missing_parameter_is_named(cell, head, sizes, seed, data):
    params, xs, targets, states = build_problem(cell, head, "every", sizes=sizes, seed=seed)
    missing = data.draw(st.sets(st.sampled_from(sorted(params)), min_size=1), label="missing")
    params = {n: v for n, v in params.items() if n not in missing}
    for call in calls(build_engine(cell, head, "every"), params, xs, targets, states).values():
        message = rejected(call, "missing")
        for name in missing:
            assert re.search(named(name), message), (name, message)


keys = st.one_of(st.text(max_size=8), st.integers(), st.none(), st.tuples(st.integers()),
                 st.sampled_from(("w_xh", "W_XH", "W_xh ", "b_hn", "W_hy", "b_y", "h0", "xs")))


@properties(80)
@given(cell=st.sampled_from(CELLS), head=st.sampled_from((None, *HEADS)), sizes=sizes_strategy, seed=seeds,
       extra=keys, value=st.sampled_from((np.zeros(3), 1.0, "text", None)))
def test_an_extra_parameter_is_named(cell, head, sizes, seed, extra, value):
    params, xs, targets, states = build_problem(cell, head, "every", sizes=sizes, seed=seed)
    assume(extra not in params)
    params[extra] = value
    for call in calls(build_engine(cell, head, "every"), params, xs, targets, states).values():
        message = rejected(call, "unknown parameter")
        assert repr(extra) in message, (extra, message)


@properties(200)
@given(cell=st.sampled_from(CELLS), head=st.sampled_from((None, *HEADS)), sizes=sizes_strategy, seed=seeds,
       data=st.data(), shape=st.lists(st.integers(0, 6), max_size=3).map(tuple), ragged=st.booleans())
def test_a_parameter_of_the_wrong_shape_is_named(cell, head, sizes, seed, data, shape, ragged):
    """Any other shape, rank 0 to 3, empty axes included, or a ragged nested list: the message names
    that parameter (for W_hy against b_y, which disagree on K, it names both)."""
    params, xs, targets, states = build_problem(cell, head, "every", sizes=sizes, seed=seed)
    name = data.draw(st.sampled_from(sorted(params)), label="parameter")
    if ragged:
        params[name] = [[0.0] * 2, [0.0] * 3]
    else:
        assume(shape != params[name].shape)
        params[name] = np.zeros(shape)
    for call in calls(build_engine(cell, head, "every"), params, xs, targets, states).values():
        rejected(call, named(name))


BAD_DTYPES = ("bool", "complex128", "object", "str", "datetime64[s]")


def as_bad_dtype(array, dtype):
    return array.astype(dtype) if dtype != "datetime64[s]" else np.zeros(array.shape, dtype)


@pytest.mark.parametrize("dtype", BAD_DTYPES)
@properties(40)
@given(cell=st.sampled_from(CELLS), head=st.sampled_from((None, *HEADS)), loss_at=st.sampled_from(LOSS_AT),
       sizes=sizes_strategy, seed=seeds, data=st.data())
def test_an_array_of_a_dtype_that_is_not_real_numbers_is_named(dtype, cell, head, loss_at, sizes, seed,
                                                               data):
    """Booleans, complex numbers, Python objects, strings and dates are refused wherever they appear:
    in a parameter, xs, h0, c0 or the float targets."""
    params, xs, targets, states = build_problem(cell, head, loss_at, sizes=sizes, seed=seed)
    arrays = {**params, "xs": xs, **states}
    if head in ("sigmoid", "linear"):
        arrays["targets"] = targets
    name = data.draw(st.sampled_from(sorted(arrays)), label="array")
    arrays[name] = as_bad_dtype(arrays[name], dtype)
    engine = build_engine(cell, head, loss_at)
    bad_params, bad_states = {n: arrays[n] for n in params}, {n: arrays[n] for n in states}
    bad_targets = arrays.get("targets", targets)
    for kind, call in calls(engine, bad_params, arrays["xs"], bad_targets, bad_states).items():
        if kind == "forward" and name == "targets":
            continue
        rejected(call, named(name))


@properties(30)
@given(params=st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.floats(), max_size=3),
                        st.tuples(st.text(max_size=3)), st.just(np.zeros((2, 2)))),
       cell=st.sampled_from(CELLS), head=st.sampled_from((None, *HEADS)))
def test_params_that_are_not_a_dict_are_refused(params, cell, head):
    _, xs, targets, states = build_problem(cell, head, "every", sizes=(2, 2, 2, 2, 2), seed=0)
    for call in calls(build_engine(cell, head, "every"), params, xs, targets, states).values():
        rejected(call, named("params"))


# ----------------------------------------------------------------- init_params and param_shapes
BAD_SIZES = st.one_of(st.integers(max_value=0), st.floats(allow_nan=True), st.text(max_size=3),
                      st.booleans(), st.lists(st.integers(1, 3), min_size=1, max_size=2),
                      st.just(np.float64(3.0)), st.just(np.array(3)), st.just(None))
BAD_OPTIONS = {
    "seed": st.one_of(st.integers(max_value=-1), st.floats(), st.text(max_size=3), st.booleans(), st.none(),
                      st.lists(st.integers(0, 3), min_size=1, max_size=2)),
    "dtype": st.sampled_from((int, bool, complex, object, str, np.int32, np.float16, np.complex64, "float16",
                              "int64", "not a dtype", np.dtype("U3"))),
    "forget_bias": st.one_of(st.sampled_from((math.nan, math.inf, -math.inf, "1", None, True)),
                             st.lists(st.floats(-1, 1), min_size=1, max_size=2)),
}


@properties(120)
@given(cell=st.sampled_from(CELLS), head=st.sampled_from((None, *HEADS)), which=st.sampled_from("DHK"),
       bad=BAD_SIZES, method=st.sampled_from(("init_params", "param_shapes")))
def test_a_size_that_is_not_a_positive_integer_is_named(cell, head, which, bad, method):
    assume(not (which == "K" and head is None))  # a bare cell has no K (K=None is right for it)
    sizes = {"D": 3, "H": 4, "K": 2, which: bad}
    engine = build_engine(cell, head)
    rejected(lambda: getattr(engine, method)(**sizes), named(which))


@pytest.mark.parametrize("option", sorted(BAD_OPTIONS))
@properties(40)
@given(cell=st.sampled_from(CELLS), head=st.sampled_from((None, *HEADS)), data=st.data())
def test_a_bad_init_option_is_named(option, cell, head, data):
    bad = data.draw(BAD_OPTIONS[option], label=option)
    engine = build_engine(cell, head)
    rejected(lambda: engine.init_params(3, 4, 2, **{option: bad}), named(option))


def test_a_forget_bias_too_large_for_float32_is_named():
    engine = build_engine("lstm", "softmax")
    rejected(lambda: engine.init_params(3, 4, 2, dtype=np.float32, forget_bias=1e39), named("forget_bias"))
    assert engine.init_params(3, 4, 2, dtype=np.float64, forget_bias=1e39)["b_f"].dtype == np.float64


# ----------------------------------------------------------------- names
NAMES = {"cell": CELLS, "head": HEADS, "loss_at": LOSS_AT}
NEAR_MISSES = ("RNN", "Softmax", " rnn", "lstm ", "gru-torch", "EVERY", "first", "tanh")
bad_names = st.one_of(st.text(max_size=10), st.integers(), st.floats(), st.none(),
                      st.lists(st.sampled_from((*CELLS, *HEADS)), max_size=2),
                      st.tuples(st.sampled_from(CELLS)),
                      st.sampled_from(NEAR_MISSES))


@properties(200)
@given(function=st.sampled_from(("build_engine", "derive", "prove")), which=st.sampled_from(sorted(NAMES)),
       bad=bad_names)
def test_an_unknown_cell_head_or_loss_placement_is_named(function, which, bad):
    assume(not (which == "head" and bad is None))  # None is the bare cell
    assume(not (isinstance(bad, str) and bad in NAMES[which]))
    arguments = {"cell": "rnn", "head": "softmax", "loss_at": "every", which: bad}
    call = {"build_engine": lambda: build_engine(arguments["cell"], arguments["head"], arguments["loss_at"]),
            "derive": lambda: derive(arguments["cell"], arguments["head"], arguments["loss_at"]),
            "prove": lambda: prove(arguments["cell"], arguments["head"], arguments["loss_at"])}[function]
    label = {"cell": "cell", "head": "head", "loss_at": "loss placement"}[which]
    rejected(call, rf"unknown {label}")


# ----------------------------------------------------------------- verify_gradients
TINY = {"cells": ("rnn",), "heads": ("linear",), "loss_at": ("last",), "T": 1, "N": 1, "D": 1, "H": 1, "K": 1}


@pytest.mark.parametrize("argument, bad", [
    ("cells", ("cnn",)), ("cells", "rnn"), ("cells", 5), ("cells", [["rnn"]]), ("heads", ("tanh",)),
    ("loss_at", ("first",)), ("T", 0), ("N", -1), ("D", 2.5), ("K", True), ("seed", -1), ("seed", "0"),
    ("eps", 0.0), ("eps", math.nan), ("progress", 5),
])
def test_verify_gradients_names_a_bad_argument(argument, bad):
    """Only a few examples: each would otherwise run a (tiny) verification; a missing check shows as
    an accepted call, a TypeError or ZeroDivisionError, or a ValueError that does not name it."""
    label = {"cells": "cell", "heads": "head", "loss_at": "loss placement"}.get(argument, argument)
    rejected(lambda: verify_gradients(**{**TINY, argument: bad}), f"{named(argument)}|{named(label)}")


def test_verify_gradients_accepts_the_tiny_problem_the_bad_ones_start_from():
    results = verify_gradients(**TINY)
    assert results and all(r.passed for r in results), results

