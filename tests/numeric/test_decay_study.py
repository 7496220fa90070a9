"""The decay study (``numeric/decay/study.py``) recomputed from its definitions: each curve is the
log10 of the engine's norms per seed, summarised by the median and spread over seeds in log space and
fitted on the median; each bound check is Pascanu et al.'s bound with λ₁ = σ_max(W_hh) of that seed's
weights, kept within BOUND_TOLERANCE."""

import numpy as np
import pytest

from bpttlab.numeric.decay import study as decay
from bpttlab.numeric.decay.initialisation import decay_params
from bpttlab.numeric.decay.norms import bound_margin, fit_decay, gradient_norms
from bpttlab.numeric.decay.products import jacobian_products
from bpttlab.numeric.engine import build_engine

T, H, SEEDS = 12, 4, (0, 1, 2)


@pytest.fixture(scope="module")
def study():
    return decay.decay_study(T=T, H=H, seeds=SEEDS, radii=(0.5, 1.5), forget_biases=(0.0,), variants=())


def test_a_curve_is_the_median_and_spread_of_its_seeds_in_log_space():
    rows = np.array([[0.0, -1.0, -3.0], [0.0, -2.0, -2.0], [0.0, -4.0, -5.0], [0.0, -3.0, -9.0]])
    curve = decay.Curve("made up", "rnn", "dL/dh_k", {}, np.array([1, 2, 3]), (0, 1, 2, 3), rows)
    assert curve.median.tolist() == [0.0, -2.5, -4.0]  # not the mean (−2.5, −4.75)
    assert curve.low.tolist() == [0.0, -4.0, -9.0] and curve.high.tolist() == [0.0, -1.0, -2.0]
    assert curve.fit == fit_decay(curve.median, curve.steps)
    assert curve.seed_fits == tuple(fit_decay(row, curve.steps) for row in rows)


def test_the_cell_curves_are_the_engines_norms_per_seed(study):
    xs = np.random.default_rng(decay.INPUT_SEED).normal(size=(T, 1, decay.D))
    for curve in study.cells:
        engine = build_engine(curve.cell, decay.HEAD, "last")
        state = curve.what.removeprefix("dL/d").removesuffix("_k")
        for row, seed in zip(curve.log10_by_seed, SEEDS, strict=True):
            params = decay_params(engine, decay.D, H, decay.K, seed, **curve.setting)
            norms = gradient_norms(engine, params, xs, target_seed=seed)[state]
            assert np.array_equal(row, np.log10(norms)), (curve.label, seed)
    lstm = {c.label: c.setting for c in study.cells if c.cell == "lstm"}
    assert lstm == {"lstm": {"forget_bias": 1.0}, "lstm c": {"forget_bias": 1.0}}


def test_each_bound_check_uses_the_largest_singular_value_of_its_own_weights(study):
    xs = np.random.default_rng(decay.INPUT_SEED).normal(size=(T, 1, decay.D))
    engine = build_engine("rnn", decay.HEAD, "last")
    settings = {c.label: c.setting for c in study.radii}
    settings.update({f"lambda1={v:g}": {"singular_value": v} for v in decay.BOUND_CHECK_SINGULAR_VALUES})
    assert len(study.bound_checks) == len(settings) * len(SEEDS)
    for check in study.bound_checks:
        params = decay_params(engine, decay.D, H, decay.K, check.seed, **settings[check.label])
        lam = float(np.linalg.svd(params["W_hh"], compute_uv=False)[0])
        assert check.singular_value == pytest.approx(lam, rel=1e-12), check
        assert check.margin == bound_margin(jacobian_products(engine, params, xs), lam)


def test_a_bound_check_passes_up_to_the_rounding_tolerance_and_no_further():
    assert decay.BOUND_TOLERANCE == pytest.approx(np.log10(1 + 1e-12))
    assert decay.BoundCheck("kept", 0, 0.5, decay.BOUND_TOLERANCE).passed
    assert not decay.BoundCheck("broken", 0, 0.5, 2 * decay.BOUND_TOLERANCE).passed
    assert not decay.BoundCheck("broken", 0, 0.5, 0.05).passed


def test_the_study_passes_when_every_bound_check_does(study):
    assert study.passed and all(c.passed for c in study.bound_checks)
    broken = decay.BoundCheck("made up", 0, 0.5, 0.3)
    from dataclasses import replace
    assert not replace(study, bound_checks=(*study.bound_checks, broken)).passed
