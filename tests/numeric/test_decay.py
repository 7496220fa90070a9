"""Gradient-decay analysis: ‖∂L/∂h_k‖ from the engine's backward loop against PyTorch autograd on the
states, Pascanu et al.'s bound on measured Jacobian products, what the decay fit says about spectral
radius and forget-gate bias, the controlled initialisation, and bad input."""

import numpy as np
import pytest
from conftest import Sizes, build_problem, rel_err

from bpttlab.derivations.cells import BUILT_IN as CELLS
from bpttlab.numeric import (
    JacobianNorms,
    bound_margin,
    build_engine,
    decay_params,
    fit_decay,
    gradient_norms,
    jacobian_products,
    largest_singular_value,
    scale_recurrent_weight,
    spectral_radius,
)
from bpttlab.numeric.decay.norms import random_targets
from bpttlab.numeric.decay.study import BOUND_TOLERANCE, BoundCheck, decay_study
from bpttlab.numeric.verify.torch_reference import torch_state_grads

T, N, D, H, K = SIZES = Sizes(7, 2, 3, 5, 2)


def problem(cell, head="linear"):
    """The engine (loss at the last step) and this module's problem, unpacked as the decay API takes it."""
    engine = build_engine(cell, head, "last")
    params, xs, _, states = build_problem(cell, head, "last", sizes=SIZES, seed=3, scale=1.0)
    return engine, params, xs, states["h0"], states.get("c0")


@pytest.mark.parametrize("head", ["linear", "softmax"])
@pytest.mark.parametrize("cell", CELLS)
def test_gradient_norms_match_torch_autograd_on_the_states(cell, head):
    engine, params, xs, h0, c0 = problem(cell, head)
    targets = random_targets(engine, N, K, seed=5)
    norms = gradient_norms(engine, params, xs, targets, h0, c0)
    expected = torch_state_grads(cell, head, params, xs, targets, h0, c0)
    assert sorted(norms) == sorted(expected) == (["c", "h"] if cell == "lstm" else ["h"])
    for state, grads in expected.items():
        torch_norms = np.sqrt((grads**2).sum(axis=(1, 2)))
        assert norms[state].shape == (T,)
        # step by step: the norms decay along the sequence, and each must be right, not only the largest
        assert max(rel_err(a, b) for a, b in zip(norms[state], torch_norms, strict=True)) <= 1e-10, state
    _, deltas = engine.state_grads(params, xs, targets, h0, c0)  # the vectors themselves, not just norms
    for state, grads in expected.items():
        assert np.max(np.abs(deltas[state] - grads)) <= 1e-10 * np.max(np.abs(grads))


def test_without_targets_the_target_is_seeded_and_random():
    engine, params, xs, h0, _ = problem("gru")
    drawn = gradient_norms(engine, params, xs, h0=h0, target_seed=7)["h"]
    given = gradient_norms(engine, params, xs, random_targets(engine, N, K, seed=7), h0)["h"]
    other = gradient_norms(engine, params, xs, h0=h0, target_seed=8)["h"]
    assert np.array_equal(drawn, given)
    assert not np.allclose(drawn, other)


def test_state_grads_and_loss_and_grads_share_the_backward_loop():
    engine, params, xs, h0, c0 = problem("lstm")
    targets = random_targets(engine, N, K, seed=1)
    loss, deltas = engine.state_grads(params, xs, targets, h0, c0)
    loss_again, grads = engine.loss_and_grads(params, xs, targets, h0, c0)
    assert loss == loss_again
    # δc_0 = f_1 ⊙ δc_1, what step 1 sends back to c0, is loss_and_grads' c0 gradient
    f_1 = engine.forward(params, xs, h0, c0).stored["f_t"][:, 0].T
    assert np.allclose(grads["c0"], f_1 * deltas["c"][0], rtol=1e-12, atol=0)


@pytest.mark.parametrize("singular_value", [0.5, 0.9, 0.99])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pascanu_bound_holds_on_every_measured_norm(singular_value, seed):
    engine = build_engine("rnn", "linear", "last")
    params = decay_params(engine, D=4, H=16, K=2, seed=seed, singular_value=singular_value)
    lam = largest_singular_value(params["W_hh"])
    xs = np.random.default_rng(seed).normal(size=(60, 1, 4)) * 0.3  # small inputs: tanh' near 1
    norms = jacobian_products(engine, params, xs)  # every k, exact spectral norms
    assert norms.steps.tolist() == list(range(1, 61))
    bound = (norms.T - norms.steps) * np.log10(lam)
    assert np.all(norms.log10_norms <= bound + BOUND_TOLERANCE)
    assert bound_margin(norms, lam) <= BOUND_TOLERANCE
    assert bound_margin(norms, lam) > -1.0  # the bound is close here, not vacuous


def test_a_norm_above_the_bound_fails_the_check():
    above = JacobianNorms(T=3, steps=np.arange(1, 4), log10_norms=np.log10([0.26, 0.5, 1.0]))
    margin = bound_margin(above, 0.5)  # 0.26 > 0.5² = 0.25
    assert margin == pytest.approx(np.log10(0.26 / 0.25))
    assert not BoundCheck("made up", 0, 0.5, margin).passed
    assert BoundCheck("kept", 0, 0.5, bound_margin(above, 0.51)).passed


def test_the_rnn_decays_faster_at_spectral_radius_one_half_than_at_nine_tenths():
    engine = build_engine("rnn", "linear", "last")
    xs = np.random.default_rng(0).normal(size=(60, 1, 4))
    for seed in range(3):
        slopes = {}
        for radius in (0.5, 0.9):
            params = decay_params(engine, 4, 16, 2, seed, radius=radius)
            gradient = fit_decay(np.log10(gradient_norms(engine, params, xs, target_seed=seed)["h"]))
            jacobian = jacobian_products(engine, params, xs)
            slopes[radius] = (gradient.slope, fit_decay(jacobian.log10_norms, jacobian.steps).slope)
        assert slopes[0.5][0] < slopes[0.9][0] < 0
        assert slopes[0.5][1] < slopes[0.9][1] < 0


def test_the_lstm_holds_its_gradient_longer_with_forget_bias_three():
    engine = build_engine("lstm", "linear", "last")
    xs = np.random.default_rng(0).normal(size=(80, 1, 4))
    for seed in range(3):
        fits = {}
        for bias in (0.0, 3.0):
            params = decay_params(engine, 4, 16, 2, seed, forget_bias=bias)
            fits[bias] = fit_decay(np.log10(gradient_norms(engine, params, xs, target_seed=seed)["h"]))
        assert fits[0.0].horizon is not None and fits[0.0].horizon < 60
        assert fits[3.0].horizon is None or fits[3.0].horizon > 2 * fits[0.0].horizon
        assert fits[3.0].slope > fits[0.0].slope + 0.1


def test_the_study_reports_the_same_ordering_and_passes_its_bound_checks():
    study = decay_study(T=40, H=8, seeds=(0, 1, 2), radii=(0.5, 0.9), forget_biases=(0.0, 3.0))
    radius = {c.setting["radius"]: c.fit.slope for c in study.radii}
    bias = {c.setting["forget_bias"]: c.fit.slope for c in study.forget_biases}
    assert radius[0.5] < radius[0.9] and bias[0.0] < bias[3.0]
    assert study.passed and len(study.bound_checks) == 3 * (2 + 2)
    always = sorted(c.singular_value for c in study.bound_checks if c.label.startswith("lambda1"))
    assert always == pytest.approx([0.5] * 3 + [0.9] * 3, rel=1e-12)


def test_fit_decay_slope_and_horizon():
    log10 = np.array([-9.0, -7.0, -5.0, -3.0, -1.0, 1.0])  # ×100 per step, reference 10 at k = T
    fit = fit_decay(log10)
    assert fit.slope == pytest.approx(-2.0) and fit.factor_per_step == pytest.approx(0.01)
    assert fit.horizon == 4  # 1e-5 < 1e-6 · 10 first at four steps back
    assert fit_decay(np.zeros(5)).horizon is None
    underflowed = fit_decay(np.array([-np.inf, -7.0, -5.0, -3.0, -1.0, 1.0]))
    assert underflowed.slope == pytest.approx(-2.0) and underflowed.horizon == 4
    sampled = fit_decay(np.array([-9.0, -1.0, 1.0]), steps=[1, 5, 6])
    assert sampled.slope == pytest.approx(-2.0) and sampled.horizon == 5


def test_controlled_initialisation_is_exact():
    engine = build_engine("rnn", "linear", "last")
    params = engine.init_params(3, 12, 2, seed=4)
    radius = spectral_radius(scale_recurrent_weight(params, radius=1.5)["W_hh"])
    assert radius == pytest.approx(1.5, rel=1e-12)
    scaled = scale_recurrent_weight(params, singular_value=0.7)
    assert largest_singular_value(scaled["W_hh"]) == pytest.approx(0.7, rel=1e-12)
    assert np.array_equal(scaled["W_xh"], params["W_xh"]) and scaled["W_hh"] is not params["W_hh"]
    lstm = decay_params(build_engine("lstm", "linear", "last"), 3, 12, 2, seed=4, forget_bias=3.0)
    assert np.all(lstm["b_f"] == 3.0)


def rnn(loss_at="last"):
    return build_engine("rnn", "linear", loss_at)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: gradient_norms(rnn("every"), {}, np.zeros((3, 1, 2))), "loss_at='last'"),
    (lambda: gradient_norms(rnn(), {}, np.zeros((3, 2))), "xs must have shape"),
    (lambda: gradient_norms(rnn(), {"W_xh": np.zeros((2, 2))}, np.zeros((3, 1, 2))), "W_hy"),
    (lambda: scale_recurrent_weight({"W_hh": np.eye(2)}, radius=1, singular_value=1), "exactly one"),
    (lambda: scale_recurrent_weight({"W_hh": np.eye(2)}, radius=-1), "radius must be a positive"),
    (lambda: scale_recurrent_weight({"W_hh": np.ones((2, 3))}, radius=1), r"square matrix \(H, H\)"),
    (lambda: decay_params(build_engine("gru", "linear", "last"), 2, 3, 1, radius=0.5), "rnn's W_hh"),
    (lambda: decay_params(rnn(), 2, 3, 1, forget_bias=1), "lstm's b_f"),
    (lambda: decay_params(build_engine("lstm", "linear", "last"), 2, 3, 1, forget_bias="3"), "finite number"),
    (lambda: fit_decay([1.0]), "at least 2 values"),
    (lambda: fit_decay([1.0, np.nan]), "NaN"),
    (lambda: fit_decay([1.0, 2.0], steps=[2, 1]), "increasing"),
    (lambda: bound_margin(np.zeros(3), 0.5), "JacobianNorms"),
    (lambda: decay_study(T=1), "T must be an integer ≥ 2"),
    (lambda: decay_study(T=5, H=0), "H must be a positive integer"),
    (lambda: decay_study(T=5, seeds=()), "seeds must be"),
    (lambda: decay_study(T=5, radii=(0.5, -1)), "radii must be"),
    (lambda: decay_study(T=5, forget_biases="1"), "forget_biases must be"),
    (lambda: decay_study(T=5, cells=("rnn", "transformer")), "unknown cell 'transformer'"),
])
def test_bad_arguments_raise_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
