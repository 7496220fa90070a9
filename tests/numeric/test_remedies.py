"""The two remedies the sheets measure, recomputed here from their documented definitions: gradient
clipping (``numeric/decay/clipping.py``: ‖g‖ recorded before clipping, the loss per step, the update with
the clipped gradient) and truncated BPTT (``numeric/decay/truncation.py``: ‖g_{k₂} − g‖/‖g‖ for each
scheme, from the engine's own truncation)."""

import numpy as np
import pytest

from bpttlab.numeric.decay import clipping, truncation
from bpttlab.numeric.decay.clipping import clipping_demo
from bpttlab.numeric.decay.initialisation import decay_params
from bpttlab.numeric.decay.truncation import truncation_study
from bpttlab.numeric.engine import build_engine
from bpttlab.numeric.training.clipping import clip_global_norm, global_norm

SMALL = dict(steps=3, T=8, H=8, K=3, batch=4, radius=3.0, learning_rate=0.3, threshold=1.0, seed=2)


@pytest.fixture(scope="module")
def demo():
    return clipping_demo(**SMALL)


def _start(demo):
    """The demonstration's engine, first parameters and task, as its docstring defines them."""
    engine = build_engine(clipping.CLIP_CELL, "softmax", "every")
    params = decay_params(engine, demo.K, demo.H, demo.K, demo.seed, radius=demo.radius)
    symbols = np.random.default_rng(demo.seed + 1).integers(0, demo.K, size=(demo.T, demo.batch))
    return engine, params, np.eye(demo.K)[symbols], np.roll(symbols, 1, axis=0)


def test_both_runs_start_from_the_same_gradient_recorded_before_clipping(demo):
    engine, params, xs, targets = _start(demo)
    loss, grads = engine.loss_and_grads(params, xs, targets, wrt=list(params))
    norm = global_norm(grads)
    assert demo.plain.grad_norms[0] == demo.clipped.grad_norms[0] == pytest.approx(norm, rel=1e-12)
    assert demo.clipped.grad_norms[0] > 2 * demo.threshold  # it does explode here: clipping acts
    # the loss is per step: L/T, the mean cross-entropy of one step
    assert demo.plain.losses[0] == demo.clipped.losses[0] == pytest.approx(loss / demo.T, rel=1e-12)


def test_the_clipped_run_updates_with_the_clipped_gradient(demo):
    engine, params, xs, targets = _start(demo)
    grads = engine.loss_and_grads(params, xs, targets, wrt=list(params))[1]
    scale = demo.threshold / (global_norm(grads) + 1e-6)  # torch's clip_grad_norm_, as documented
    stepped = {n: params[n] - demo.learning_rate * scale * grads[n] for n in params}  # SGD, no momentum
    loss, grads = engine.loss_and_grads(stepped, xs, targets, wrt=list(stepped))
    assert demo.clipped.losses[1] == pytest.approx(loss / demo.T, rel=1e-9)
    assert demo.clipped.grad_norms[1] == pytest.approx(global_norm(grads), rel=1e-9)
    assert demo.plain.losses[1] != pytest.approx(demo.clipped.losses[1], rel=1e-6)


def test_clipping_scales_to_the_threshold_only_above_it():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    for threshold in (0.5, 1.0, 4.999):
        clipped, norm = clip_global_norm(grads, threshold)
        assert norm == 5.0 and global_norm(clipped) == pytest.approx(threshold, rel=1e-6)
        assert clipped["a"][0] / clipped["b"][0, 0] == pytest.approx(0.75)  # the direction is kept
    for threshold in (5.01, 100.0):
        clipped, _ = clip_global_norm(grads, threshold)
        assert all(np.array_equal(clipped[k], grads[k]) for k in grads)


T_TRUNC, H_TRUNC, SEEDS = 8, 4, (0, 1)


@pytest.fixture(scope="module")
def study():
    return truncation_study(cells=("rnn", "lstm"), T=T_TRUNC, H=H_TRUNC, seeds=SEEDS, k2s=(1, 2, 3, 5, 8))


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_each_truncation_error_is_the_relative_distance_to_the_full_gradient(study, cell):
    """‖g_{k₂} − g‖ / ‖g‖ over all parameters, recomputed from the engine's truncate= for each scheme."""
    engine = build_engine(cell, truncation.TRUNCATION_HEAD, "every")
    xs = np.random.default_rng(truncation.INPUT_SEED).normal(size=(T_TRUNC, 1, truncation.D))
    setting = {"forget_bias": 1.0} if engine.cell.forget_gate_bias else {}
    curves = {curve.k1: curve for curve in study.curves if curve.cell == cell}
    assert set(curves) == {"k2", 1}
    for row, seed in enumerate(SEEDS):
        params = decay_params(engine, truncation.D, H_TRUNC, truncation.K, seed, **setting)
        targets = np.random.default_rng(seed).integers(0, truncation.K, size=(T_TRUNC, 1))
        full = engine.loss_and_grads(params, xs, targets, wrt=list(params))[1]
        for k1, curve in curves.items():
            for column, k2 in enumerate(curve.k2s.tolist()):
                cut = engine.loss_and_grads(params, xs, targets, wrt=list(params),
                                            truncate=(k2, k2) if k1 == "k2" else (1, k2))[1]
                expected = global_norm({n: cut[n] - full[n] for n in full}) / global_norm(full)
                assert curve.errors[row, column] == pytest.approx(expected, rel=1e-12, abs=1e-300)
    # the schemes differ where the cut matters: every loss reaching back k₂ steps is not the blocks of k₂
    assert not np.allclose(curves[1].errors[:, 1], curves["k2"].errors[:, 1])


def test_k1_equal_one_is_measured_up_to_half_the_length_and_from_the_full_length_on(study):
    by_scheme = {curve.k1: curve.k2s.tolist() for curve in study.curves if curve.cell == "rnn"}
    assert by_scheme == {"k2": [1, 2, 3, 5, 8], 1: [1, 2, 3, 8]}
