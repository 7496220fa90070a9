"""The engine's phase marks (``Engine.timing_phases``, read by ``bpttlab bench``): every phase of a
call is timed, the phases add up to no more than the call, and nothing is marked outside the block."""

import time

import numpy as np
import pytest

from bpttlab.derivations import CELLS
from bpttlab.numeric.engine import PHASES, build_engine


def _problem(engine, K: int) -> tuple[dict, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    params = engine.init_params(D=3, H=2, K=K, seed=0)
    targets = rng.integers(0, K, (4, 2)) if engine.head.name == "softmax" else rng.normal(size=(4, 2, K))
    return params, rng.normal(size=(4, 2, 3)), targets


@pytest.mark.parametrize("cell", CELLS)
def test_every_phase_of_a_call_is_timed_within_the_call(cell):
    engine = build_engine(cell, head="softmax")
    params, xs, targets = _problem(engine, K=3)
    with engine.timing_phases() as seconds:
        started = time.perf_counter()
        engine.loss_and_grads(params, xs, targets)
        wall = time.perf_counter() - started
    assert list(seconds) == list(PHASES)
    assert all(s > 0 for s in seconds.values()), seconds
    assert sum(seconds.values()) <= wall


def test_calls_outside_the_block_are_not_timed_and_results_do_not_change():
    engine = build_engine("lstm", head="linear")
    params, xs, targets = _problem(engine, K=1)
    with engine.timing_phases() as seconds:
        timed = engine.loss_and_grads(params, xs, targets, truncate=2)
    recorded = dict(seconds)
    untimed = engine.loss_and_grads(params, xs, targets, truncate=2)
    assert seconds == recorded and engine._clock is None
    assert timed[0] == untimed[0]
    assert all(np.array_equal(timed[1][name], untimed[1][name]) for name in timed[1])


def test_the_clock_goes_with_an_error():
    engine = build_engine("rnn", head="linear")
    params = engine.init_params(D=2, H=3, K=1)
    with pytest.raises(ValueError, match="W_xh"), engine.timing_phases():
        engine.loss_and_grads(params, np.ones((4, 1, 5)), np.zeros((4, 1, 1)))
    assert engine._clock is None
