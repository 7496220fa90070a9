"""``loss_and_grads(..., wrt=..., truncate=...)``: fewer gradients, and truncated BPTT as a cut recurrence.

Truncated BPTT(k1, k2) is checked against its definition, computed another way: every k1 steps the
losses of those k1 steps are sent back k2 steps. That is the *full* BPTT gradient of a window of k2
steps, started from the forward state at the window's first step (taken as a constant), with the losses
before the last k1 steps of the window switched off. A linear head's squared error is switched off at a
step by making the target the prediction there (ŷ − y = 0), so every window is an ordinary engine call
on a shorter sequence, and the windows' gradients add up to the truncated one.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import Sizes, build_problem, rel_err

from bpttlab.derivations.cells import CELLS
from bpttlab.numeric.engine import build_engine

SIZES = Sizes(t=7, n=2, d=3, h=4, k=2)


def _problem(engine, head: str, seed: int):
    return build_problem(engine.cell, head, sizes=SIZES, seed=seed,
                         shapes=engine.param_shapes(SIZES.d, SIZES.h, SIZES.k))


def _by_windows(engine, problem, k1: int, k2: int) -> dict[str, np.ndarray]:
    """TBPTT(k1, k2) from its definition: one full-BPTT call per window on a shorter sequence."""
    params, xs, targets, states = problem
    T = xs.shape[0]
    forward = engine.forward(params, xs, initial=states)
    predictions = forward.y
    total: dict[str, np.ndarray] = {}
    for end in [*range(k1, T, k1), T]:
        start, first = max(end - k2, 0), max(end - k1, 0) if end % k1 == 0 else (end // k1) * k1
        window_targets = targets[start:end].copy()
        window_targets[: first - start] = predictions[start:first]  # no loss before `first`
        initial = states if start == 0 else {label: forward.states[new.name][start - 1]
                                             for label, new in zip(engine.cell.initial,
                                                                   engine.cell.new_states, strict=True)}
        _, grads = engine.loss_and_grads(params, xs[start:end], window_targets, initial=initial,
                                         wrt=list(params))
        for name, value in grads.items():
            total[name] = total.get(name, 0) + value
    return total


@pytest.mark.parametrize("cell", CELLS)
def test_truncation_is_the_definition_and_full_when_k2_reaches_t(cell):
    engine = build_engine(cell, "linear")
    problem = _problem(engine, "linear", seed=3)
    params, xs, targets, states = problem
    _, full = engine.loss_and_grads(params, xs, targets, initial=states)
    for k2 in (SIZES.t, SIZES.t + 5):  # k2 ≥ T: full BPTT, bit for bit
        _, cut = engine.loss_and_grads(params, xs, targets, initial=states, truncate=(2, k2))
        assert all(np.array_equal(cut[name], full[name]) for name in full), (cell, k2)
    for k1, k2 in ((1, 1), (2, 2), (3, 3), (2, 3), (2, 5), (3, 4)):
        _, cut = engine.loss_and_grads(params, xs, targets, initial=states, truncate=(k1, k2),
                                       wrt=list(params))
        expected = _by_windows(engine, problem, k1, k2)
        for name in params:
            assert rel_err(cut[name], expected[name]) < 1e-12, (cell, k1, k2, name)


def test_short_truncation_changes_the_recurrent_gradient_by_a_stated_amount():
    """An RNN with recurrent weights of spectral radius 0.9 over 7 steps: cutting the recurrence every
    step (k = 1) keeps only each step's own term of ∂L/∂W_hh, which moves it by 53 % (the suite's
    relative error: largest entry-wise change over the largest entry); every 3 steps, still by 30 %."""
    engine = build_engine("rnn", "linear")
    problem = build_problem("rnn", "linear", sizes=SIZES, seed=3)
    params, xs, targets, states = problem
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(SIZES.h, SIZES.h)))
    params = {**params, "W_hh": 0.9 * q}
    _, full = engine.loss_and_grads(params, xs, targets, initial=states)
    moved = {k: rel_err(engine.loss_and_grads(params, xs, targets, initial=states, truncate=k)[1]["W_hh"],
                        full["W_hh"]) for k in (1, 3)}
    assert moved[1] == pytest.approx(0.53, abs=0.01) and moved[3] == pytest.approx(0.30, abs=0.01), moved


@pytest.mark.parametrize("cell", CELLS)
def test_wrt_computes_only_what_is_asked_and_the_same_values(cell):
    engine = build_engine(cell, "softmax")
    problem = _problem(engine, "softmax", seed=1)
    params, xs, targets, states = problem
    loss, full = engine.loss_and_grads(params, xs, targets, initial=states)
    for wanted in (list(params), ["xs"], [engine.cell.initial[-1]], [next(iter(params)), "xs"]):
        partial_loss, partial = engine.loss_and_grads(params, xs, targets, initial=states, wrt=wanted)
        assert sorted(partial) == sorted(wanted) and partial_loss == loss
        assert all(np.array_equal(partial[name], full[name]) for name in wanted), (cell, wanted)


@pytest.mark.parametrize(("options", "message"), [
    ({"wrt": ["W_zz"]}, r"wrt: unknown name 'W_zz'; rnn's gradients are W_xh, .*xs, h0"),
    ({"wrt": []}, r"wrt: no names given"),
    ({"wrt": 3}, r"wrt must be gradient names"),
    ({"truncate": 0}, r"truncate must be a positive integer k or a pair \(k1, k2\).*got 0"),
    ({"truncate": (3, 2)}, r"with k2 ≥ k1, got \(3, 2\)"),
    ({"truncate": 2.5}, r"truncate must be .* got 2.5"),
    ({"truncate": True}, r"truncate must be .* got True"),
])
def test_bad_options_are_named(options, message):
    engine = build_engine("rnn", "linear")
    params, xs, targets, states = build_problem("rnn", "linear", sizes=SIZES)
    with pytest.raises(ValueError, match=message):
        engine.loss_and_grads(params, xs, targets, initial=states, **options)
