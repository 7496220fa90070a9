"""Property: for random sizes, heads, loss placements and data, the engine's gradients are the
derivatives of its own loss (central finite differences, float64)."""

import numpy as np
import pytest
from conftest import build_problem
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from bpttlab.derivations import HEADS, LOSS_AT
from bpttlab.derivations.cells import BUILT_IN as CELLS
from bpttlab.numeric import build_engine

EPS = 1e-6
ENTRIES = 2  # checked per array




sizes = st.integers(min_value=1, max_value=6)
# No "explain" phase: it re-runs a failing example about a hundred times under a tracer (seconds per test)
# only to annotate the report.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)


@pytest.mark.parametrize("cell", CELLS)
@settings(max_examples=25, deadline=None, database=None, phases=PHASES)
@given(t=sizes, n=sizes, d=sizes, h=sizes, k=sizes, head=st.sampled_from(tuple(HEADS)),
       loss_at=st.sampled_from(LOSS_AT), seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_gradients_are_central_differences_of_the_loss(cell, t, n, d, h, k, head, loss_at, seed):
    engine = build_engine(cell, head=head, loss_at=loss_at)
    params, xs, targets, states = build_problem(cell, head, loss_at, sizes=(t, n, d, h, k), seed=seed)
    arrays = {**params, "xs": xs, **states}
    rng = np.random.default_rng(seed + 1)

    def loss_and_grads(values):
        params = {name: value for name, value in values.items() if name not in ("xs", "h0", "c0")}
        states = {name: values[name] for name in ("h0", "c0") if name in values}
        return engine.loss_and_grads(params, values["xs"], targets, **states)

    loss, grads = loss_and_grads(arrays)
    assert np.isfinite(loss)
    assert set(grads) == set(arrays)
    for name, array in arrays.items():
        assert grads[name].shape == array.shape, name
        for flat in rng.choice(array.size, size=min(ENTRIES, array.size), replace=False):
            index = np.unravel_index(flat, array.shape)
            plus, minus = array.copy(), array.copy()
            plus[index] += EPS
            minus[index] -= EPS
            numeric = (loss_and_grads({**arrays, name: plus})[0]
                       - loss_and_grads({**arrays, name: minus})[0]) / (2 * EPS)
            analytic = grads[name][index]
            assert abs(analytic - numeric) <= 1e-7 + 1e-5 * abs(numeric), (name, index, analytic, numeric)
