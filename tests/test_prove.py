import dataclasses

import pytest
import sympy as sp

from bpttlab.derivations import CELLS, HEADS, H, delta, derive, prove
from bpttlab.derivations.cells import BUILT_IN
from bpttlab.derivations.symbols import ones, vector


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("head", HEADS)
def test_every_step_is_proven(cell, head):
    proof = prove(cell, head=head, kind=("step",))
    assert proof.passed, str(proof)
    assert {c.what for c in proof.checks} >= {"head δW_hy", "head → δh_t", "step δx_t"}


# The unrolled T = 3 proof of the whole recurrence: every built-in cell bare and with the sigmoid head
# at both loss placements, the RNN with every head, one gated cell with softmax, and the two shipped
# variants whose unrolled proof is quick (IndRNN 0.2 s, MGU 7 s). The LSTM variants' unrolled proofs
# take 100 s and more each at H = 1 (README); every registered cell's step proof runs above.
BPTT_CASES = (
    [(c, None, "every") for c in (*BUILT_IN, "indrnn", "mgu")]
    + [(c, "sigmoid", at) for c in BUILT_IN for at in ("every", "last")]
    + [("rnn", h, at) for h in ("softmax", "linear") for at in ("every", "last")]
    + [("lstm", "softmax", "last")]
)


@pytest.mark.parametrize(("cell", "head", "loss_at"), BPTT_CASES)
def test_bptt_recurrence_is_proven_against_the_unrolled_loss(cell, head, loss_at):
    proof = prove(cell, head=head, loss_at=loss_at, kind=("bptt",))
    assert proof.passed, str(proof)
    names = {c.what for c in proof.checks}
    assert {"BPTT ∂L/∂x_1", "BPTT ∂L/∂x_3", "BPTT ∂L/∂h_0"} <= names


def _mutate(d, part, name, rhs):
    equations = tuple(sp.Eq(eq.lhs, rhs, evaluate=False) if eq.lhs.name == name else eq
                      for eq in getattr(d, part))
    return dataclasses.replace(d, **{part: equations})


def test_a_wrong_local_derivative_fails_the_step_proof():
    d = derive("rnn", head="softmax")
    h = vector("h_t", H)
    # 1 − h_t where 1 − h_t² belongs
    wrong = _mutate(d, "step_backward", "δa_t", sp.HadamardProduct(delta(h), ones(H) - h))
    proof = prove("rnn", kind=("step",), derivation=wrong)
    failed = {c.what for c in proof.checks if not c.passed}
    # δa_t and everything computed from it; the head does not use it
    assert failed == {"step δa_t", "step δh_{t-1}", "step δx_t", "step δW_xh", "step δW_hh", "step δb_h"}


def test_a_missing_transpose_fails_the_bptt_proof():
    d = derive("rnn", head="linear")
    W_hh = sp.MatrixSymbol("W_hh", H, H)
    wrong = _mutate(d, "step_backward", "δh_{t-1}", W_hh * delta(vector("a_t", H)))
    proof = prove("rnn", kind=("bptt",), derivation=wrong)
    failed = {c.what for c in proof.checks if not c.passed}
    assert "BPTT ∂L/∂h_0" in failed and "BPTT ∂L/∂W_hh" in failed
    assert "BPTT ∂L/∂W_hy" not in failed  # the head does not go through δh_{t-1}


def test_a_wrong_jacobian_fails():
    d = derive("lstm")
    from types import MappingProxyType

    from sympy.matrices.expressions.diagonal import DiagMatrix

    jacobian = dict(d.jacobian)
    jacobian[("c_t", "c_{t-1}")] = DiagMatrix(vector("i_t", H))
    wrong = dataclasses.replace(d, jacobian=MappingProxyType(jacobian))
    proof = prove("lstm", kind=("step",), derivation=wrong)
    assert [c.what for c in proof.checks if not c.passed] == ["step ∂c_t/∂c_{t-1}"]


def test_a_wrong_head_gradient_fails():
    d = derive("rnn", head="softmax")
    wrong = _mutate(d, "head_backward", "δs_t", vector("ŷ_t", sp.Symbol("K", integer=True, positive=True)))
    assert not prove("rnn", kind=("step",), derivation=wrong).passed


def test_unknown_proof_kind_is_rejected():
    with pytest.raises(ValueError, match="step, bptt"):
        prove("rnn", kind=("numeric",))


def test_report_names_every_check():
    text = str(prove("rnn", head="linear", kind=("step",)))
    assert text.startswith("rnn × linear × loss at every: PROVEN")
    assert "step ∂h_t/∂h_{t-1}" in text
