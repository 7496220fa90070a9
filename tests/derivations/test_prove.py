import dataclasses
from itertools import cycle

import pytest
import sympy as sp

from bpttlab.derivations import CELLS, HEADS, H, delta, derive, prove
from bpttlab.derivations.symbols import ones, vector


# The cell's step proof does not depend on the head, nor the head's on the cell (beyond h_t): each
# registered cell is proven once, the heads taking turns, so that every head meets several cells.
@pytest.mark.parametrize(("cell", "head"), list(zip(CELLS, cycle(HEADS))))
def test_every_step_is_proven(cell, head):
    proof = prove(cell, head=head, kind=("step",))
    assert proof.passed, str(proof)
    assert {c.what for c in proof.checks} >= {"head δW_hy", "head → δh_t", "step δx_t"}


# The unrolled proofs and the mutations they catch: test_prove_unrolled.py.


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
    # each check is local (the equations it reads take δa_t as given), so the mistake is named where it is
    assert failed == {"step δa_t"}


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
    K = sp.Symbol("K", integer=True, positive=True)
    wrong = _mutate(d, "head_backward", "δa_{y,t}", vector("ŷ_t", K))
    assert not prove("rnn", kind=("step",), derivation=wrong).passed


def test_unknown_proof_kind_is_rejected():
    with pytest.raises(ValueError, match="step, bptt"):
        prove("rnn", kind=("numeric",))


def test_report_names_every_check():
    text = str(prove("rnn", head="linear", kind=("step",)))
    assert text.startswith("rnn × linear × loss at every: PROVEN")
    assert "step ∂h_t/∂h_{t-1}" in text
