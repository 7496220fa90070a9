"""The course's GRU (reset *before* the product, as in the course sheet "Penjelasan Matematika",
/work/shared/seeds/003) checked against references from outside the package: a NumPy forward and
backward written here by hand, and PyTorch's own ``torch.nn.GRU`` where the two cells coincide.

The cell, per sequence (row vectors x_t, h_{t−1}; the course writes W·[h_{t−1}, x_t], split here into
W_h· h_{t−1} + W_x· x_t)::

    z_t = σ(a_z),  a_z = W_xz x_t + W_hz h_{t−1} + b_z
    r_t = σ(a_r),  a_r = W_xr x_t + W_hr h_{t−1} + b_r
    u_t = r_t ⊙ h_{t−1}
    n_t = tanh(a_n),  a_n = W_xn x_t + W_hn u_t + b_n
    h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ n_t

Backward, derived on paper (δv means ∂L/∂v; σ′ = σ(1 − σ), tanh′ = 1 − tanh²). From h_t, which
enters the loss directly (through the head) and through h_{t+1}:

    δn_t   = δh_t ⊙ z_t                        δa_n = δn_t ⊙ (1 − n_t²)
    δz_t   = δh_t ⊙ (n_t − h_{t−1})            δa_z = δz_t ⊙ z_t ⊙ (1 − z_t)
    δu_t   = W_hnᵀ δa_n                        δr_t = δu_t ⊙ h_{t−1},  δa_r = δr_t ⊙ r_t ⊙ (1 − r_t)
    δh_{t−1} = δh_t ⊙ (1 − z_t) + δu_t ⊙ r_t + W_hzᵀ δa_z + W_hrᵀ δa_r   (+ the head's share at t−1)
    δx_t   = W_xzᵀ δa_z + W_xrᵀ δa_r + W_xnᵀ δa_n
    δW_x• += δa_• x_tᵀ,  δW_hz += δa_z h_{t−1}ᵀ,  δW_hr += δa_r h_{t−1}ᵀ,  δW_hn += δa_n u_tᵀ,  δb_• += δa_•

Head (linear, loss at every step, mean over the batch): ŷ_t = W_hy h_t + b_y,
L = (1/N) Σ_t ½‖ŷ_t − y_t‖², so δŷ_t = (ŷ_t − y_t)/N, δh_t += W_hyᵀ δŷ_t, δW_hy += δŷ_t h_tᵀ, δb_y += δŷ_t.

PyTorch's nn.GRU computes n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)) and h' = (1 − z) ⊙ n + z ⊙ h.
Two differences, each removable on paper: (1) its z is the course's 1 − z: σ(−a) = 1 − σ(a), so negating
W_xz, W_hz and b_z turns one into the other; (2) its reset acts after the product, r ⊙ (W_hn h), where
the course's acts before, W_hn (r ⊙ h): the two agree exactly when W_hn is diagonal (and b_hn = 0),
because diag(w)(r ⊙ h) = r ⊙ (diag(w) h). With a diagonal W_hn, the gradients agree too — but for W_hn
only on its diagonal (off it, ∂/∂W_hn[i,j] is δa_n[i] r[j] h[j] for the course, δa_n[i] r[i] h[j] for
PyTorch), and negated for the z-gate's parameters.
"""

import numpy as np
import pytest
import torch
from conftest import Sizes, build_problem, rel_err

from bpttlab.numeric import build_engine

SIZES = Sizes(t=5, n=3, d=3, h=4, k=2)
TOLERANCE = 1e-12


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def course_gru_by_hand(params, xs, targets, h0):
    """Loss and gradients of the course GRU with a linear head, loss at every step, by the equations
    and the backward pass of this module's docstring."""
    p = params
    n_batch = xs.shape[1]
    h, cache, loss = h0, [], 0.0
    for x, y in zip(xs, targets, strict=True):
        z = sigmoid(x @ p["W_xz"].T + h @ p["W_hz"].T + p["b_z"])
        r = sigmoid(x @ p["W_xr"].T + h @ p["W_hr"].T + p["b_r"])
        u = r * h
        n = np.tanh(x @ p["W_xn"].T + u @ p["W_hn"].T + p["b_n"])
        h_next = (1 - z) * h + z * n
        y_hat = h_next @ p["W_hy"].T + p["b_y"]
        loss += 0.5 * np.sum((y_hat - y) ** 2) / n_batch
        cache.append((x, h, z, r, u, n, h_next, (y_hat - y) / n_batch))
        h = h_next
    grads = {name: np.zeros_like(value) for name, value in p.items()}
    grads["xs"] = np.zeros_like(xs)
    carried = np.zeros_like(h0)
    for t in range(len(cache) - 1, -1, -1):
        x, h_prev, z, r, u, n, h_t, d_y = cache[t]
        grads["W_hy"] += d_y.T @ h_t
        grads["b_y"] += d_y.sum(axis=0)
        d_h = carried + d_y @ p["W_hy"]
        d_an = d_h * z * (1 - n**2)
        d_az = d_h * (n - h_prev) * z * (1 - z)
        d_u = d_an @ p["W_hn"]
        d_ar = d_u * h_prev * r * (1 - r)
        for gate, d_a in (("z", d_az), ("r", d_ar), ("n", d_an)):
            grads[f"W_x{gate}"] += d_a.T @ x
            grads[f"b_{gate}"] += d_a.sum(axis=0)
        grads["W_hz"] += d_az.T @ h_prev
        grads["W_hr"] += d_ar.T @ h_prev
        grads["W_hn"] += d_an.T @ u
        grads["xs"][t] = d_az @ p["W_xz"] + d_ar @ p["W_xr"] + d_an @ p["W_xn"]
        carried = d_h * (1 - z) + d_u * r + d_az @ p["W_hz"] + d_ar @ p["W_hr"]
    grads["h0"] = carried
    return loss, grads


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_course_gru_matches_the_hand_written_backward(seed):
    params, xs, targets, states = build_problem("gru", "linear", "every", sizes=SIZES, seed=seed, scale=1.0)
    loss, grads = build_engine("gru", "linear", "every").loss_and_grads(params, xs, targets, **states)
    ref_loss, ref_grads = course_gru_by_hand(params, xs, targets, states["h0"])
    assert rel_err(loss, ref_loss) <= TOLERANCE
    assert set(grads) == set(ref_grads)
    for name, gradient in grads.items():
        assert rel_err(gradient, ref_grads[name]) <= TOLERANCE, name


def test_the_hand_written_backward_is_the_derivative_of_its_loss():
    """The reference checks itself against central differences, so it cannot be wrong the same way
    as the engine and still agree with it."""
    params, xs, targets, states = build_problem("gru", "linear", "every", sizes=SIZES, seed=5, scale=1.0)
    _, grads = course_gru_by_hand(params, xs, targets, states["h0"])
    arrays = {**params, "xs": xs, "h0": states["h0"]}
    rng = np.random.default_rng(0)
    eps = 1e-6
    for name, array in arrays.items():
        for flat in rng.choice(array.size, size=min(3, array.size), replace=False):
            index = np.unravel_index(flat, array.shape)
            plus, minus = array.copy(), array.copy()
            plus[index] += eps
            minus[index] -= eps

            def loss_with(value, name=name):
                changed = {**arrays, name: value}
                p = {k: v for k, v in changed.items() if k not in ("xs", "h0")}
                return course_gru_by_hand(p, changed["xs"], targets, changed["h0"])[0]

            numeric = (loss_with(plus) - loss_with(minus)) / (2 * eps)
            assert abs(grads[name][index] - numeric) <= 1e-7 * max(1.0, abs(numeric)), (name, index)


def test_course_gru_matches_torch_nn_gru_with_z_flipped_and_a_diagonal_w_hn():
    params, xs, targets, states = build_problem("gru", "linear", "every", sizes=SIZES, seed=7, scale=1.0)
    params["W_hn"] = np.diag(np.diag(params["W_hn"]))  # where the reset's placement does not matter
    loss, grads = build_engine("gru", "linear", "every").loss_and_grads(params, xs, targets, **states)

    t = SIZES
    gru = torch.nn.GRU(t.d, t.h, dtype=torch.float64)
    p = params
    with torch.no_grad():  # nn.GRU stacks its gates as (r, z, n)
        gru.weight_ih_l0.copy_(torch.tensor(np.vstack([p["W_xr"], -p["W_xz"], p["W_xn"]])))
        gru.weight_hh_l0.copy_(torch.tensor(np.vstack([p["W_hr"], -p["W_hz"], p["W_hn"]])))
        gru.bias_ih_l0.copy_(torch.tensor(np.concatenate([p["b_r"], -p["b_z"], p["b_n"]])))
        gru.bias_hh_l0.zero_()
    head_w = torch.tensor(p["W_hy"], requires_grad=True)
    head_b = torch.tensor(p["b_y"], requires_grad=True)
    x = torch.tensor(xs, requires_grad=True)
    h0 = torch.tensor(states["h0"][None], requires_grad=True)
    hs, _ = gru(x, h0)
    y_hat = hs @ head_w.T + head_b
    t_loss = 0.5 * ((y_hat - torch.tensor(targets)) ** 2).sum() / t.n
    t_loss.backward()

    assert rel_err(loss, t_loss.item()) <= TOLERANCE
    w_ih, w_hh, b_ih = (g.grad.numpy() for g in (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0))
    rows = {gate: slice(i * t.h, (i + 1) * t.h) for i, gate in enumerate("rzn")}
    sign = {"r": 1, "z": -1, "n": 1}
    expected = {"W_hy": head_w.grad.numpy(), "b_y": head_b.grad.numpy(), "xs": x.grad.numpy(),
                "h0": h0.grad.numpy()[0]}
    for gate in "rzn":
        expected[f"W_x{gate}"] = sign[gate] * w_ih[rows[gate]]
        expected[f"b_{gate}"] = sign[gate] * b_ih[rows[gate]]
        if gate != "n":
            expected[f"W_h{gate}"] = sign[gate] * w_hh[rows[gate]]
    for name, value in expected.items():
        assert rel_err(grads[name], value) <= TOLERANCE, name
    np.testing.assert_allclose(np.diag(grads["W_hn"]), np.diag(w_hh[rows["n"]]), rtol=1e-11, atol=1e-15)
    assert rel_err(grads["W_hn"], w_hh[rows["n"]]) > 1e-3  # off the diagonal the placements differ
