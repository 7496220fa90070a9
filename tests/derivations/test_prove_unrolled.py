"""The unrolled proofs at H = D = K = 2: every registered cell, every head and loss placement on the
built-in cells, and the mutations they must catch."""

import dataclasses
from itertools import cycle, product

import pytest
import sympy as sp

import bpttlab.derivations.polynomial as polynomial
from bpttlab.derivations import (
    CELLS,
    HEADS,
    LOSS_AT,
    D,
    Elementwise,
    H,
    K,
    bptt_steps,
    delta,
    derive,
    prove,
)
from bpttlab.derivations.cells import BUILT_IN
from bpttlab.derivations.names import shift_name
from bpttlab.derivations.proof import bptt_sizes

UNROLLED = {"BPTT ∂L/∂x_1", "BPTT ∂L/∂x_3", "BPTT ∂L/∂h_0"}


@pytest.mark.parametrize("cell", CELLS)
def test_every_registered_cell_is_proven_unrolled(cell):
    """The cell's own recurrence over T = bptt_steps steps, read out by a fixed linear loss at t = T.
    (Every registered cell × head × placement is timed in the README; about two minutes in all.)"""
    d = derive(cell, None)
    proof = prove(cell, head=None, kind=("bptt",))
    assert proof.passed, str(proof)
    steps = bptt_steps(d)
    assert {c.what for c in proof.checks} == (
        {f"BPTT ∂L/∂x_{t}" for t in range(1, steps + 1)} | {f"BPTT ∂L/∂{p.name}" for p in d.cell.params}
        | {f"BPTT ∂L/∂{prev.name.replace('{t-1}', '0')}" for prev in d.cell.previous_states})
    assert all(c.entries > 0 for c in proof.checks)


def test_each_built_in_cell_is_proven_with_the_default_arguments():
    """``prove(cell)``: the step proofs and the unrolled proof with softmax, the loss at every step."""
    for cell in BUILT_IN:
        proof = prove(cell)
        assert proof.passed, str(proof)
        names = {c.what for c in proof.checks}
        assert UNROLLED | {"BPTT ∂L/∂W_hy", "BPTT ∂ℓ_1/∂a_{y,1}", "BPTT ∂ℓ_3/∂a_{y,3}", "step δx_t"} <= names


# Every other head × placement, spread over the built-in cells (softmax × every is proven above).
DEFAULT = (next(iter(HEADS)), LOSS_AT[0])
OTHER_HEADS = [(cell, head, at) for cell, (head, at) in
               zip(cycle(BUILT_IN), [c for c in product(HEADS, LOSS_AT) if c != DEFAULT])]


@pytest.mark.parametrize(("cell", "head", "loss_at"), OTHER_HEADS)
def test_every_head_and_placement_is_proven_unrolled(cell, head, loss_at):
    proof = prove(cell, head=head, loss_at=loss_at, kind=("bptt",))
    assert proof.passed, str(proof)
    logits = derive(cell, head).head.logits.name  # a_{y,t}, or ŷ_t for the linear head
    with_loss = {c.what for c in proof.checks if c.what.startswith("BPTT ∂ℓ_")}
    assert with_loss == {f"BPTT ∂ℓ_{t}/∂{shift_name(logits, t)}"
                         for t in ((1, 2, 3) if loss_at == "every" else (3,))}


def test_the_unrolled_sizes_are_two_and_the_steps_three_unless_the_state_is_wide():
    assert bptt_sizes() == {D: 2, H: 2, K: 2}
    for c in CELLS:
        d = derive(c, None)
        assert bptt_steps(d) == (3 if len(d.cell.states) <= 2 else 2)


def test_a_proof_too_large_to_expand_is_a_clear_error(monkeypatch):
    """Past polynomial.TERMS terms the unrolled proof stops with an error naming the steps, rather
    than filling the memory (lstm_fgr × softmax at T = 3 would need more than 8 GB)."""
    monkeypatch.setattr(polynomial, "TERMS", 10)
    with pytest.raises(ValueError, match=r"steps=3: the unrolled proof of rnn is too large to expand"):
        prove("rnn", kind=("bptt",), steps=3)


def _mutate(d, part, name, rhs):
    equations = tuple(sp.Eq(eq.lhs, rhs, evaluate=False) if eq.lhs.name == name else eq
                      for eq in getattr(d, part))
    return dataclasses.replace(d, **{part: equations})


def _untransposed(d):
    """``d`` with one recurrent weight in δh_{t-1} used untransposed (W instead of Wᵀ), and its name."""
    c = d.cell
    target = delta(c.previous_states[0])
    rhs = next(eq.rhs for eq in d.step_backward if eq.lhs == target)
    square = sorted((t for t in rhs.atoms(sp.Transpose) if t.arg in c.params and t.arg.shape == (H, H)),
                    key=str)
    weight = square[0].arg
    return _mutate(d, "step_backward", target.name, rhs.xreplace({weight.T: weight})), weight.name


@pytest.mark.parametrize("cell", BUILT_IN)
def test_a_missing_transpose_fails_the_unrolled_proof_only_where_h_is_two(cell):
    """W used for Wᵀ in δh_{t-1}: a 1×1 matrix is its own transpose, so at H = 1 the unrolled proof
    cannot see the mistake; at H = D = 2 it fails, on the gradients that flow back through h_{t-1}."""
    wrong, weight = _untransposed(derive(cell, None))
    at_two = prove(cell, kind=("bptt",), derivation=wrong)
    failed = {c.what for c in at_two.checks if not c.passed}
    assert {"BPTT ∂L/∂h_0", "BPTT ∂L/∂x_1", f"BPTT ∂L/∂{weight}"} <= failed, str(at_two)
    assert "BPTT ∂L/∂x_3" not in failed  # x_T reaches the loss without crossing a step back
    at_one = prove(cell, kind=("bptt",), derivation=wrong, sizes={D: 1, H: 1, K: 1})
    assert at_one.passed, str(at_one)


@pytest.mark.parametrize("head", HEADS)
def test_a_wrong_head_gradient_fails_the_unrolled_proof(head):
    d = derive(BUILT_IN[0], head=head, loss_at="last")
    hd = d.head
    wrong = _mutate(d, "head_backward", delta(hd.logits).name, hd.prediction)  # ŷ_t for ŷ_t − y_t
    failed = {c.what for c in prove(d.cell, kind=("bptt",), derivation=wrong).checks if not c.passed}
    assert failed == {f"BPTT ∂ℓ_3/∂{shift_name(hd.logits.name, 3)}"}


def _tanh_squared_dropped(d):
    """``d`` with 1 − y_t for 1 − y_t² in the delta of the first tanh's pre-activation."""
    c = d.cell
    y, a = next((eq.lhs, eq.rhs.arg) for eq in c.equations
                if isinstance(eq.rhs, Elementwise) and eq.rhs.name == "tanh" and eq.rhs.arg in c.named_deltas)
    rhs = next(eq.rhs for eq in d.step_backward if eq.lhs == delta(a))
    wrong = rhs.xreplace({sp.HadamardPower(y, 2): y})
    assert wrong != rhs
    return _mutate(d, "step_backward", delta(a).name, wrong)


@pytest.mark.parametrize("cell", BUILT_IN)
def test_a_wrong_local_derivative_fails_the_unrolled_proof(cell):
    proof = prove(cell, kind=("bptt",), derivation=_tanh_squared_dropped(derive(cell, None)))
    failed = {c.what for c in proof.checks if not c.passed}
    assert {"BPTT ∂L/∂h_0", "BPTT ∂L/∂x_1"} <= failed, str(proof)


def test_bad_sizes_are_rejected():
    with pytest.raises(ValueError, match="sizes must map D, H and K"):
        prove("rnn", kind=("bptt",), sizes={H: 2})
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        prove("rnn", kind=("bptt",), steps=0)
