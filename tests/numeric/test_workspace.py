"""The engine's working arrays, kept between calls (``numeric/engine/workspace.py``): reused, never
handed out, never shared between threads.

N = 1 matters: a (T, 1, H) transpose of a (T, H, 1) buffer counts as contiguous, so a result made with
``np.ascontiguousarray`` would be a view of the workspace and change under the next call.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import Sizes, build_problem

from bpttlab.derivations.cells import CELLS
from bpttlab.numeric.engine import build_engine

SIZES = Sizes(t=5, n=1, d=3, h=4, k=3)
OTHER = Sizes(t=6, n=2, d=3, h=4, k=3)


def _problem(engine, sizes: Sizes, seed: int, dtype: type = np.float64):
    params, xs, targets, states = build_problem(engine.cell, "softmax", sizes=sizes, seed=seed,
                                                shapes=engine.param_shapes(sizes.d, sizes.h, sizes.k))
    params = {name: value.astype(dtype) for name, value in params.items()}
    return params, xs.astype(dtype), targets, {name: value.astype(dtype) for name, value in states.items()}


def _copies(results: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: value.copy() for name, value in results.items()}


def _same_bytes(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes()
                                        for k in a)


@pytest.mark.parametrize("cell", CELLS)
def test_results_outlive_later_calls_and_repeat_bit_for_bit(cell: str) -> None:
    engine = build_engine(cell, head="softmax")
    params, xs, targets, states = _problem(engine, SIZES, seed=1)
    loss, grads = engine.loss_and_grads(params, xs, targets, initial=states)
    _, deltas = engine.state_grads(params, xs, targets, initial=states)
    forward = engine.forward(params, xs, initial=states)
    kept = _copies(grads), _copies(deltas), _copies(forward.states)

    # the same sizes with other values, other sizes, another dtype: each fills the kept arrays anew
    other = _problem(engine, SIZES, seed=2)
    engine.loss_and_grads(other[0], other[1], other[2], initial=other[3])
    engine.state_grads(other[0], other[1], other[2], initial=other[3])
    for sizes, dtype in ((OTHER, np.float64), (SIZES, np.float32)):
        p, x, y, s = _problem(engine, sizes, seed=3, dtype=dtype)
        engine.loss_and_grads(p, x, y, initial=s)

    assert _same_bytes(grads, kept[0]), "a gradient changed under a later call"
    assert _same_bytes(deltas, kept[1]), "a state gradient changed under a later call"
    assert _same_bytes(forward.states, kept[2]), "a forward state changed under a later call"
    again_loss, again = engine.loss_and_grads(params, xs, targets, initial=states)
    assert again_loss == loss and _same_bytes(again, kept[0]), "not the same bytes from reused arrays"
    assert _same_bytes(engine.state_grads(params, xs, targets, initial=states)[1], kept[1])


def test_the_arrays_are_kept_and_reused() -> None:
    engine = build_engine("lstm", head="softmax")
    engine.release_memory()
    params, xs, targets, states = _problem(engine, OTHER, seed=1)
    engine.loss_and_grads(params, xs, targets, initial=states)
    kept = engine._workspaces.nbytes
    assert kept > xs.nbytes * 4  # gates, states and deltas of every step
    with engine._workspaces.lend() as workspace:
        arrays = dict(workspace._arrays)
    engine.loss_and_grads(params, xs, targets, initial=states)
    with engine._workspaces.lend() as workspace:
        assert {k: id(v) for k, v in workspace._arrays.items()} == {k: id(v) for k, v in arrays.items()}
    engine.release_memory()
    assert engine._workspaces.nbytes == 0


def test_calls_from_threads_get_workspaces_of_their_own() -> None:
    engine = build_engine("gru_torch", head="softmax")
    problems = [_problem(engine, OTHER, seed=seed) for seed in range(6)]
    serial = [engine.loss_and_grads(p, x, y, initial=s) for p, x, y, s in problems]
    with ThreadPoolExecutor(max_workers=3) as pool:
        threaded = list(pool.map(lambda problem: engine.loss_and_grads(
            problem[0], problem[1], problem[2], initial=problem[3]), problems * 4))
    for (loss, grads), (expected_loss, expected) in zip(threaded, serial * 4, strict=True):
        assert loss == expected_loss and _same_bytes(grads, expected)
