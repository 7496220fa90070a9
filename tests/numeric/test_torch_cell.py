"""The PyTorch reference for cells written as equations (numeric/verify/torch_cell.py): the engine's loss
and gradients agree with autograd on the equation text for every shipped variant, head and loss placement;
for cells nobody here has seen, written only through ``custom_cell``, the engine and the text's walker both
agree with PyTorch code written by hand; bad input is named."""

import numpy as np
import pytest
import torch
from conftest import Sizes, build_problem, rel_err, spec_shape

from bpttlab.derivations import HEADS, LOSS_AT
from bpttlab.derivations.cells import CELLS, VARIANTS, custom_cell
from bpttlab.numeric.engine import build_engine
from bpttlab.numeric.verify.torch_cell import torch_cell_loss_and_grads, torch_cell_state_grads

# D ≠ H, so that a weight applied to the wrong vector cannot pass
T, N, D, H, K = SIZES = Sizes(5, 3, 3, 4, 3)
SEED = 20240917
TOLERANCE = 1e-10


def problem(cell, head, loss_at, shapes, seed=SEED):
    """This module's problem: parameters uniform in ±1 in the engine's ``shapes`` (the cells here are
    not laid out as the built-in ones), its sizes and seed."""
    return build_problem(cell, head, loss_at, sizes=SIZES, seed=seed, scale=1.0, shapes=shapes)


def assert_agree(loss, grads, ref_loss, ref_grads, expected_keys, label):
    """Loss and every gradient (all of ``expected_keys``, nothing else) agree to TOLERANCE."""
    keys = set(expected_keys)
    assert all(np.any(ref_grads[k] != 0) for k in keys), "a gradient that is zero everywhere checks nothing"
    assert set(grads) == set(ref_grads) == keys, set(grads) ^ set(ref_grads) ^ keys
    errors = {"loss": rel_err(loss, ref_loss)} | {k: rel_err(grads[k], ref_grads[k]) for k in grads}
    bad = {name: f"{error:.2e}" for name, error in errors.items() if not error <= TOLERANCE}
    assert not bad, f"{label}: relative errors above {TOLERANCE}: {bad}"


# ------------------------------------------------------------------------------ the shipped variants


def test_the_variants_are_the_ones_this_module_was_written_for():
    assert set(VARIANTS) == {"lstm_peephole", "lstm_nig", "lstm_nfg", "lstm_nog", "lstm_niaf", "lstm_noaf",
                             "lstm_cifg", "lstm_fgr", "mgu", "indrnn"}


@pytest.mark.parametrize("loss_at", LOSS_AT)
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("name", VARIANTS)
def test_engine_matches_autograd_on_the_equation_text(name, head, loss_at):
    cell = CELLS[name]
    engine = build_engine(cell, head, loss_at)
    params, xs, targets, initial = problem(cell, head, loss_at, engine.param_shapes(D, H, K))
    if name == "indrnn":  # IndRNN's recurrence is per unit: keep most units on, so δ reaches h_prev
        params["b_h"] += 1.0
    loss, grads = engine.loss_and_grads(params, xs, targets, initial=initial)
    ref_loss, ref_grads = torch_cell_loss_and_grads(cell, head, loss_at, params, xs, targets, initial)
    keys = {*params, "xs", *cell.initial}
    assert_agree(loss, grads, ref_loss, ref_grads, keys, f"{name}/{head}/{loss_at}")
    for key, g in ref_grads.items():
        assert g.dtype == np.float64 and g.shape == grads[key].shape


@pytest.mark.parametrize("name", ["mgu", "lstm_peephole", "lstm_cifg", "lstm_fgr", "indrnn"])
def test_state_gradients_match_the_engines_backward_loop(name):
    cell = CELLS[name]
    engine = build_engine(cell, "softmax", "last")
    params, xs, targets, initial = problem(cell, "softmax", "last", engine.param_shapes(D, H, K))
    expected = torch_cell_state_grads(cell, "softmax", params, xs, targets, initial)
    _, deltas = engine.state_grads(params, xs, targets, initial=initial)
    keys = {1: ["h"], 2: ["c", "h"], 5: ["c", "f", "h", "i", "o"]}[len(cell.states)]
    assert sorted(expected) == sorted(deltas) == keys
    for key, value in expected.items():
        assert value.shape == (T, N, H)
        assert rel_err(deltas[key], value) <= TOLERANCE, key


def test_initial_states_default_to_zeros_and_still_get_gradients():
    cell = CELLS["lstm_peephole"]
    engine = build_engine(cell, "linear", "every")
    params, xs, targets, _ = problem(cell, "linear", "every", engine.param_shapes(D, H, K))
    zeros = {"h_prev": np.zeros((N, H)), "c_prev": np.zeros((N, H))}
    loss, grads = torch_cell_loss_and_grads(cell, "linear", "every", params, xs, targets)
    z_loss, z_grads = torch_cell_loss_and_grads(cell, "linear", "every", params, xs, targets, zeros)
    assert loss == z_loss
    for label in ("h_prev", "c_prev"):
        np.testing.assert_array_equal(grads[label], z_grads[label])
        assert np.any(grads[label] != 0)


def test_the_comparison_catches_a_wrong_equation():
    """The engine of the MGU against the text of an MGU whose update gate is flipped: far apart."""
    mgu = CELLS["mgu"]
    flipped = custom_cell("mgu_flipped", mgu.source.replace("(1 - f_t) * h_prev + f_t * n_t",
                                                            "f_t * h_prev + (1 - f_t) * n_t"),
                          states={"h_t": "h_prev"})
    assert flipped.source != mgu.source
    engine = build_engine(mgu, "linear", "every")
    params, xs, targets, initial = problem(mgu, "linear", "every", engine.param_shapes(D, H, K))
    loss, grads = engine.loss_and_grads(params, xs, targets, initial=initial)
    ref_loss, ref_grads = torch_cell_loss_and_grads(flipped, "linear", "every", params, xs, targets, initial)
    assert rel_err(loss, ref_loss) > 1e-3
    assert all(rel_err(grads[k], ref_grads[k]) > 1e-3 for k in ("W_hn", "xs", "h_prev"))


# ------------------------------------------------------------------------------ cells nobody here has seen
# Each is written twice: as equations through custom_cell, and as plain PyTorch code by hand, on rows
# (N, H) with x @ W.T, the other layout from the walker's columns.

TWIN = custom_cell("twin", """
    r_t = sigmoid(W_xr @ x_t + W_hr @ h_prev + q * m_prev + b_r)
    m_t = r_t * m_prev + (1 - r_t) * tanh(W_xm @ x_t + b_m) / 2
    h_t = tanh(W_hh @ h_prev + m_t / 3 + b_h)
""", states={"h_t": "h_prev", "m_t": "m_prev"}, params=("q",), title="Two states, a peephole, a division")


def twin_step(p, x, h, m):
    r = torch.sigmoid(x @ p["W_xr"].T + h @ p["W_hr"].T + p["q"] * m + p["b_r"])
    m = r * m + (1 - r) * torch.tanh(x @ p["W_xm"].T + p["b_m"]) / 2
    return torch.tanh(h @ p["W_hh"].T + m / 3 + p["b_h"]), m


DAMPED = custom_cell("damped", """
    u_t = softplus(W_xu @ x_t + W_hu @ h_prev + b_u)
    v_t = exp(-u_t)
    h_t = v_t * h_prev - 0.5 * tanh(W_xh @ x_t + W_hh @ (v_t * h_prev) + b_h) + -b_s
""", states={"h_t": "h_prev"}, title="softplus, exp and unary minus")


def damped_step(p, x, h):
    u = torch.log1p(torch.exp(x @ p["W_xu"].T + h @ p["W_hu"].T + p["b_u"]))
    v = torch.exp(-u)
    return (v * h - 0.5 * torch.tanh(x @ p["W_xh"].T + (v * h) @ p["W_hh"].T + p["b_h"]) - p["b_s"],)


GATED_RELU = custom_cell("gated_relu", """
    g_t = sigmoid(W_xg @ x_t + W_hg @ h_prev + b_g)
    h_t = g_t * relu(W_xh @ x_t + W_hh @ h_prev + b_h) + (1 - g_t) * h_prev
""", states={"h_t": "h_prev"})


def gated_relu_step(p, x, h):
    g = torch.sigmoid(x @ p["W_xg"].T + h @ p["W_hg"].T + p["b_g"])
    return (g * torch.clamp(x @ p["W_xh"].T + h @ p["W_hh"].T + p["b_h"], min=0) + (1 - g) * h,)


UNSEEN = {"twin": (TWIN, twin_step), "damped": (DAMPED, damped_step),
          "gated_relu": (GATED_RELU, gated_relu_step)}
PARAMS = {"twin": ("W_xr", "W_xm", "W_hr", "W_hh", "q", "b_r", "b_m", "b_h"),
          "damped": ("W_xu", "W_xh", "W_hu", "W_hh", "b_u", "b_h", "b_s"),
          "gated_relu": ("W_xg", "W_xh", "W_hg", "W_hh", "b_g", "b_h")}


def hand_loss(head, loss_at, p, hs, targets):
    """The heads by hand: cross-entropy of the softmax, binary cross-entropy on logits, ½‖ŷ − y‖²;
    summed over steps (or the last) and outputs, mean over the batch."""
    s = (hs if loss_at == "every" else hs[-1]) @ p["W_hy"].T + p["b_y"]
    if head == "softmax":
        y = torch.as_tensor(targets, dtype=torch.long)
        total = -torch.log_softmax(s, dim=-1).gather(-1, y[..., None]).sum()
    elif head == "sigmoid":
        y = torch.as_tensor(targets, dtype=torch.float64)
        total = (torch.logaddexp(s, torch.zeros_like(s)) - y * s).sum()
    else:
        total = 0.5 * ((s - torch.as_tensor(targets, dtype=torch.float64)) ** 2).sum()
    return total / hs.shape[1]


def hand_loss_and_grads(cell, step, head, loss_at, params, xs, targets, initial):
    leaves = {name: torch.tensor(v, dtype=torch.float64, requires_grad=True)
              for name, v in {**params, "xs": xs, **initial}.items()}
    states = tuple(leaves[label] for label in cell.initial)
    hs = []
    for x in leaves["xs"]:
        states = step(leaves, x, *states)
        hs.append(states[0])
    loss = hand_loss(head, loss_at, leaves, torch.stack(hs), targets)
    loss.backward()
    return loss.item(), {name: t.grad.numpy() for name, t in leaves.items()}


def unseen_problem(name, head, loss_at):
    cell = UNSEEN[name][0]
    shapes = {p: spec_shape(p, D, H, K) for p in (*PARAMS[name], "W_hy", "b_y")}  # the documented shapes
    return cell, problem(cell, head, loss_at, shapes, seed=SEED + len(name))


@pytest.mark.parametrize("name", UNSEEN)
def test_unseen_cells_parse_with_the_parameters_written(name):
    cell = UNSEEN[name][0]
    assert sorted(p.name for p in cell.params) == sorted(PARAMS[name])
    assert build_engine(cell, "linear").param_shapes(D, H, K) == {
        p: spec_shape(p, D, H, K) for p in (*PARAMS[name], "W_hy", "b_y")}


@pytest.mark.parametrize("loss_at", LOSS_AT)
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("name", UNSEEN)
def test_unseen_cells_match_pytorch_written_by_hand(name, head, loss_at):
    cell, (params, xs, targets, initial) = unseen_problem(name, head, loss_at)
    step = UNSEEN[name][1]
    hand = hand_loss_and_grads(cell, step, head, loss_at, params, xs, targets, initial)
    keys = {*params, "xs", *cell.initial}
    engine = build_engine(cell, head, loss_at)
    engine_result = engine.loss_and_grads(params, xs, targets, initial=initial)
    assert_agree(*engine_result, *hand, keys, f"engine {name}/{head}/{loss_at}")
    walker = torch_cell_loss_and_grads(cell, head, loss_at, params, xs, targets, initial)
    assert_agree(*walker, *hand, keys, f"walker {name}/{head}/{loss_at}")


def test_the_unseen_cells_exercise_what_they_are_for():
    """Non-trivial problems: relu both on and off, softplus away from its linear regime, both states used."""
    cell, (params, xs, _, initial) = unseen_problem("gated_relu", "linear", "every")
    hs = build_engine(cell, "linear").forward(params, xs, initial=initial).h
    previous = np.concatenate([initial["h_prev"][None], hs[:-1]])
    pre = xs @ params["W_xh"].T + previous @ params["W_hh"].T + params["b_h"]
    assert 0.2 < np.mean(pre > 0) < 0.8
    cell, (params, xs, _, initial) = unseen_problem("damped", "linear", "every")
    hs = build_engine(cell, "linear").forward(params, xs, initial=initial).h
    previous = np.concatenate([initial["h_prev"][None], hs[:-1]])
    pre = xs @ params["W_xu"].T + previous @ params["W_hu"].T + params["b_u"]
    assert np.max(np.abs(pre)) > 1 and np.max(np.abs(pre)) < 20
    arguments = unseen_problem("twin", "linear", "every")[1]
    _, grads = torch_cell_loss_and_grads(TWIN, "linear", "every", *arguments)
    assert np.all(grads["q"] != 0) and np.any(grads["m_prev"] != 0)


def test_state_gradients_of_an_unseen_two_state_cell():
    cell, (params, xs, targets, initial) = unseen_problem("twin", "sigmoid", "last")
    expected = torch_cell_state_grads(cell, "sigmoid", params, xs, targets, initial)
    _, deltas = build_engine(cell, "sigmoid", "last").state_grads(params, xs, targets, initial=initial)
    assert sorted(expected) == sorted(deltas) == ["h", "m"]
    for key in expected:
        assert rel_err(deltas[key], expected[key]) <= TOLERANCE, key
    # every step: the last step's δh is the head's alone, and the loss reaches all earlier steps
    assert np.all(np.abs(expected["h"]).sum(axis=(1, 2)) > 0)


def test_a_cell_file_gives_the_same_reference(tmp_path):
    path = tmp_path / "twin.cell"
    path.write_text("# the two-state test cell\nname: twin\nstates: h_t <- h_prev, m_t <- m_prev\nparams: q\n"
                    + TWIN.source + "\n", encoding="utf-8")
    _, (params, xs, targets, initial) = unseen_problem("twin", "softmax", "every")
    from_text = torch_cell_loss_and_grads(TWIN, "softmax", "every", params, xs, targets, initial)
    from_file = torch_cell_loss_and_grads(path, "softmax", "every", params, xs, targets, initial)
    assert from_text[0] == from_file[0]
    for key, value in from_text[1].items():
        np.testing.assert_array_equal(value, from_file[1][key])


# ------------------------------------------------------------------------------ bad input


def mgu_problem():
    cell = CELLS["mgu"]
    engine = build_engine(cell, "softmax", "every")
    return cell, problem(cell, "softmax", "every", engine.param_shapes(D, H, K))


def test_a_missing_parameter_is_named():
    cell, (params, xs, targets, initial) = mgu_problem()
    del params["W_hn"]
    with pytest.raises(ValueError, match=r"missing parameter\(s\) for mgu: W_hn$"):
        torch_cell_loss_and_grads(cell, "softmax", "every", params, xs, targets, initial)
    with pytest.raises(ValueError, match="W_hn"):
        torch_cell_state_grads(cell, "softmax", params, xs, targets[-1], initial)
    params = dict(mgu_problem()[1].params)
    del params["b_y"]
    with pytest.raises(ValueError, match=r"missing parameter\(s\) for mgu: b_y$"):
        torch_cell_loss_and_grads(cell, "softmax", "every", params, xs, targets, initial)


@pytest.mark.parametrize(("change", "message"), [
    (lambda a: a["params"].update(W_xq=np.zeros((H, D))), r"unknown parameter\(s\) for mgu: 'W_xq'"),
    (lambda a: a["params"].update(b_f=np.zeros(H + 1)), r"parameter b_f has shape \(5,\), expected \(4,?\)"),
    (lambda a: a["params"].update(W_xf=np.zeros((H, H))),
     r"parameter W_xf has shape \(4, 4\), expected \(4, 3\)"),
    (lambda a: a.update(initial={"h0": np.zeros((N, H))}),
     "unknown state 'h0'; mgu's initial states are h_prev"),
    (lambda a: a.update(initial={"h_prev": np.zeros((N + 1, H))}), r"h_prev has shape \(4, 4\), expected"),
    (lambda a: a.update(xs=np.zeros((T, N))), r"xs must have shape \(T, N, D\)"),
    (lambda a: a.update(head="tanh"), "unknown head 'tanh'; valid: softmax, sigmoid, linear"),
    (lambda a: a.update(loss_at="first"), "unknown loss_at 'first'"),
    (lambda a: a.update(targets=np.full((T, N), K)), "class targets must lie in 0..2"),
    (lambda a: a.update(cell="lstm"), "lstm is built in .*torch_reference.torch_loss_and_grads"),
    (lambda a: a.update(cell="elman"), "unknown cell 'elman'"),
])
def test_bad_input_is_named(change, message):
    cell, (params, xs, targets, initial) = mgu_problem()
    arguments = {"cell": cell, "head": "softmax", "loss_at": "every", "params": params, "xs": xs,
                 "targets": targets, "initial": initial}
    change(arguments)
    with pytest.raises(ValueError, match=message):
        torch_cell_loss_and_grads(**arguments)
