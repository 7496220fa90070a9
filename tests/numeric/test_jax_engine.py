"""The JAX backend (issue 24): the same derived equations printed to ``jax.numpy``, two ``lax.scan``s
and one ``jit``; it must equal the NumPy engine, the reference, to 1e-12 relative in float64 for every
registered cell × head × loss placement and for cells written as equations, and to float32's
precision in float32, with ``wrt=`` and ``truncate=`` as in NumPy.

JAX is required here (the ``test`` extra installs it), as PyTorch is: these tests never skip. Each new
(cell, head, placement, dtype, shapes) compiles a program (about 0.3–1 s on two cores), so the float32
check takes every cell once, cycling through the six head × placement pairs.
"""

from __future__ import annotations

import itertools

import jax
import numpy as np
import pytest
from conftest import Sizes, build_problem, rel_err

from bpttlab.derivations import CELLS, HEADS, LOSS_AT, custom_cell
from bpttlab.numeric.engine import Engine, NumpyEngine, build_engine
from bpttlab.numeric.engine.jax_engine import JaxEngine

SIZES = Sizes(t=4, n=3, d=3, h=4, k=3)
#: float32 against the NumPy engine in float32 on the same inputs: a few hundred ε₃₂ (ε₃₂ = 1.2e-7) over
#: these short sequences; measured worst 2e-6.
FLOAT32_BAR = 2e-5


def _problem(engine: Engine, head: str, loss_at: str, seed: int = 0, sizes: Sizes = SIZES):
    return build_problem(engine.cell, head, loss_at, sizes=sizes, seed=seed,
                         shapes=engine.param_shapes(sizes.d, sizes.h, sizes.k))


def _pair(cell, head: str, loss_at: str) -> tuple[Engine, Engine]:
    return build_engine(cell, head, loss_at), build_engine(cell, head, loss_at, backend="jax")


def _assert_agree(ours, reference, bar: float, what: str) -> None:
    loss, grads = ours
    ref_loss, ref_grads = reference
    assert isinstance(loss, float)
    assert rel_err(loss, ref_loss) <= bar, (what, loss, ref_loss)
    assert list(grads) == list(ref_grads), what
    for name, value in ref_grads.items():
        assert grads[name].dtype == value.dtype and grads[name].shape == value.shape, (what, name)
        assert rel_err(grads[name], value) <= bar, (what, name, rel_err(grads[name], value))


PAIRS = list(itertools.product(HEADS, LOSS_AT))


def _float32(params: dict, xs: np.ndarray, targets: np.ndarray, initial: dict) -> tuple:
    def f32(values: dict) -> dict:
        return {k: v.astype(np.float32) for k, v in values.items()}

    return (f32(params), xs.astype(np.float32), targets.astype(np.float32) if targets.dtype.kind == "f"
            else targets, f32(initial))


@pytest.mark.parametrize("cell", CELLS)
def test_every_head_and_placement_equals_the_numpy_engine(cell):
    """float64 to 1e-12 for each of the six head × placement pairs, and float32 to float32's precision
    for one pair (a different one for each cell, so that every pair runs in float32 too). The seven
    programs, each the pure function ``loss_and_grads`` jits, are compiled as one XLA program: a third
    of the compile time of seven."""
    float32_pair = PAIRS[list(CELLS).index(cell) % len(PAIRS)]
    cases = [(head, loss_at, np.float64) for head, loss_at in PAIRS] + [(*float32_pair, np.float32)]
    problems, functions, arguments = [], [], []
    for head, loss_at, dtype in cases:
        numpy_engine, jax_engine = _pair(cell, head, loss_at)
        problem = tuple(_problem(numpy_engine, head, loss_at, seed=int(dtype == np.float32)))
        if dtype == np.float32:
            problem = _float32(*problem)
        params, xs, targets, initial = problem
        problems.append((numpy_engine, jax_engine, problem))
        functions.append(jax_engine.loss_and_grads_function(T=SIZES.t))
        arguments.append(jax_engine.arguments(params, xs, targets, initial=initial))
    outcomes = jax.jit(lambda every: [f(*a) for f, a in zip(functions, every, strict=True)])(arguments)
    for (head, loss_at, dtype), (numpy_engine, jax_engine, problem), outcome in zip(cases, problems, outcomes,
                                                                                   strict=True):
        params, xs, targets, initial = problem
        ours = jax_engine.results(*outcome)
        assert all(value.dtype == dtype for value in ours[1].values())
        bar = 1e-12 if dtype == np.float64 else FLOAT32_BAR
        _assert_agree(ours, numpy_engine.loss_and_grads(params, xs, targets, initial=initial), bar,
                      f"{cell}/{head}/{loss_at}/{dtype.__name__}")


CELLS_AS_EQUATIONS = {
    "student_mgu": ("f_t = sigmoid(W_xf @ x_t + W_hf @ h_prev + b_f)\n"
                    "n_t = tanh(W_xn @ x_t + W_hn @ (f_t * h_prev) + b_n)\n"
                    "h_t = (1 - f_t) * h_prev + f_t * n_t", {"h_t": "h_prev"}),
    "residual_rnn": ("h_t = h_prev + tanh(W_xh @ x_t + W_hh @ h_prev + b_h)", {"h_t": "h_prev"}),
    "softplus_memory": ("c_t = 0.5 * c_prev + softplus(W_xc @ x_t + W_hc @ h_prev)\n"
                        "h_t = relu(W_xh @ x_t + b_h) * tanh(c_t)", {"h_t": "h_prev", "c_t": "c_prev"}),
    # values that depend on no sequence (the generator's E1, E2, E4, E5): one column or a number when
    # lambdified, given their (rows, N) by both engines
    "state_is_a_bias": ("c_t = b_e", {"c_t": "c_prev"}),
    "second_state_a_bias": ("s_t = tanh(s_prev)\nc_t = b_f", {"s_t": "s_prev", "c_t": "c_prev"}),
    "zero_state": ("m_t = c_prev / 2\ns_t = 0 * m_prev\nc_t = b_b",
                   {"m_t": "m_prev", "s_t": "s_prev", "c_t": "c_prev"}),
    "function_of_zero": ("h_t = tanh(W_xh @ x_t) * (W_h0 @ sigmoid(0 * b_b) + b_h)", {"h_t": "h_prev"}),
    "outer_product_with_a_bias": ("s_t = W_h0 @ (-b_f)\nh_t = tanh(W_xh @ x_t + W_hh @ h_prev + s_t)",
                                  {"h_t": "h_prev"}),
    "no_parameters": ("h_t = tanh(h_prev) + 0.5 * h_prev", {"h_t": "h_prev"}),
    # a second state nothing reads: δ of it carried back is a number, multiplied by W_h2ᵀ
    # δW_h1 = δc_t (¼ 1)ᵀ: equal columns, printed as one column
    "weight_times_a_constant": ("h_t = tanh(W_xh @ x_t + W_hh @ h_prev)\n"
                                "c_t = W_h1 @ (0.25 + b_a - b_a) * h_t",
                                {"h_t": "h_prev", "c_t": "c_prev"}),
    "unread_second_state": ("h_t = tanh(W_xh @ x_t + W_hh @ h_prev)\ny_t = W_h2 @ tanh(W_x2 @ x_t)",
                            {"h_t": "h_prev", "y_t": "y_prev"}),
}


@pytest.mark.parametrize("name", CELLS_AS_EQUATIONS)
def test_a_cell_written_as_equations_agrees_too(name):
    text, states = CELLS_AS_EQUATIONS[name]
    cell = custom_cell(name, text, states)
    for head, loss_at in (("softmax", "every"), ("linear", "last")):
        numpy_engine, jax_engine = _pair(cell, head, loss_at)
        params, xs, targets, initial = _problem(numpy_engine, head, loss_at, seed=2)
        _assert_agree(jax_engine.loss_and_grads(params, xs, targets, initial=initial),
                      numpy_engine.loss_and_grads(params, xs, targets, initial=initial), 1e-12, name)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru_torch", "lstm_fgr"])
def test_wrt_and_truncate_as_in_numpy(cell):
    """Truncated BPTT (a window of one step; overlapping windows; k2 past T, which is full BPTT) and
    fewer gradients, each the program ``loss_and_grads`` jits for those options (compiled together)."""
    numpy_engine, jax_engine = _pair(cell, "linear", "every")
    sizes = Sizes(t=7, n=2, d=3, h=4, k=2)
    params, xs, targets, initial = _problem(numpy_engine, "linear", "every", seed=3, sizes=sizes)
    options = ({"truncate": (2, 3)}, {"truncate": 1, "wrt": ["xs", next(iter(params))]},
               {"truncate": (2, 9), "wrt": ["W_hy", numpy_engine.cell.initial[-1]]})
    functions = [jax_engine.loss_and_grads_function(**o, T=sizes.t) for o in options]
    arguments = jax_engine.arguments(params, xs, targets, initial=initial)
    outcomes = jax.jit(lambda a: [f(*a) for f in functions])(arguments)
    for chosen, outcome in zip(options, outcomes, strict=True):
        _assert_agree(jax_engine.results(*outcome),
                      numpy_engine.loss_and_grads(params, xs, targets, initial=initial, **chosen), 1e-12,
                      f"{cell} {chosen}")


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_forward_loss_and_state_grads_as_in_numpy(cell):
    numpy_engine, jax_engine = _pair(cell, "softmax", "last")
    params, xs, targets, initial = _problem(numpy_engine, "softmax", "last", seed=4)
    ours, reference = (e.forward(params, xs, initial=initial) for e in (jax_engine, numpy_engine))
    assert rel_err(ours.y, reference.y) <= 1e-12 and rel_err(ours.h, reference.h) <= 1e-12
    assert sorted(ours.stored) == sorted(reference.stored) and sorted(ours.states) == sorted(reference.states)
    for name, value in reference.stored.items():
        assert rel_err(ours.stored[name], value) <= 1e-12, name
    assert rel_err(jax_engine.loss(params, xs, targets, initial=initial),
                   numpy_engine.loss(params, xs, targets, initial=initial)) <= 1e-12
    loss, deltas = jax_engine.state_grads(params, xs, targets, initial=initial)
    ref_loss, ref_deltas = numpy_engine.state_grads(params, xs, targets, initial=initial)
    assert rel_err(loss, ref_loss) <= 1e-12 and sorted(deltas) == sorted(ref_deltas)
    assert all(rel_err(deltas[k], ref_deltas[k]) <= 1e-12 for k in ref_deltas)
    cell_params = {k: v for k, v in params.items() if k not in ("W_hy", "b_y")}
    bare = build_engine(cell, backend="jax").forward(cell_params, xs, initial=initial)
    assert bare.y is None and rel_err(bare.h, reference.h) <= 1e-12


def test_both_backends_offer_the_engine_interface_and_are_cached():
    numpy_engine, jax_engine = _pair("rnn", "linear", "every")
    assert isinstance(numpy_engine, NumpyEngine) and isinstance(jax_engine, JaxEngine)
    assert isinstance(numpy_engine, Engine) and isinstance(jax_engine, Engine)
    assert (numpy_engine.backend, jax_engine.backend) == ("numpy", "jax")
    assert build_engine("rnn", "linear", backend="jax") is jax_engine
    with pytest.raises(ValueError, match=r"^unknown backend 'torch'; valid backends: numpy, jax$"):
        build_engine("rnn", "linear", backend="torch")


def test_bad_input_is_refused_as_by_the_numpy_engine():
    numpy_engine, jax_engine = _pair("lstm", "softmax", "every")
    params, xs, targets, initial = _problem(numpy_engine, "softmax", "every")
    bad = [({**params, "W_hi": params["W_hi"][:, :2]}, xs, targets),
           (params, xs.astype(np.float32), targets),
           (params, xs, targets + 5)]
    for p, x, y in bad:
        messages = []
        for engine in (numpy_engine, jax_engine):
            with pytest.raises(ValueError) as error:
                engine.loss_and_grads(p, x, y, initial=initial)
            messages.append(str(error.value))
        assert messages[0] == messages[1]


def test_float64_is_refused_when_jax_is_set_to_float32():
    """JAX would silently compute float32 with jax_enable_x64 off: the engine refuses instead."""
    numpy_engine, jax_engine = _pair("rnn", "linear", "every")
    params, xs, targets, initial = _problem(numpy_engine, "linear", "every")
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(ValueError, match=r"^float64 on the JAX backend needs jax_enable_x64, which is"):
            jax_engine.loss_and_grads(params, xs, targets, initial=initial)
    finally:
        jax.config.update("jax_enable_x64", True)
    assert jax_engine.loss_and_grads(params, xs, targets, initial=initial)[1]["W_hh"].dtype == np.float64


def test_an_overflow_is_reported_not_returned():
    numpy_engine, jax_engine = _pair("rnn", "linear", "every")
    params, xs, targets, initial = _problem(numpy_engine, "linear", "every")
    huge = {**params, "W_hy": params["W_hy"] * 1e300}
    for engine in (numpy_engine, jax_engine):
        with pytest.raises(ValueError, match="overflowed"), np.errstate(over="ignore"):
            engine.loss_and_grads(huge, xs, targets, initial=initial)
