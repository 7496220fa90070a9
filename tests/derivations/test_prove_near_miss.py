"""Near misses: a derivation wrong in ONE entry that is not the first, at H = D = K = 2, fails the step
proof and the unrolled proof, and only the checks of the quantity that is wrong. Every entry of every
identity is compared; a checker that looked at the first entry, or all but the last, would pass these.

The wrong entry is planted with a node of this module's own, ``OneEntry(v, i, j)`` (v's entry (i, j),
zero elsewhere), registered in the evaluation table as any new node type would be."""

import dataclasses
from types import MappingProxyType

import pytest
import sympy as sp

from bpttlab.derivations import derive, prove
from bpttlab.derivations.explicit import Evaluation, evaluate
from bpttlab.derivations.names import shift_name


class OneEntry(sp.MatrixExpr):
    """``expr``'s entry (i, j) in place (i, j), zero everywhere else."""

    def __new__(cls, expr: sp.MatrixExpr, i: int, j: int):
        return super().__new__(cls, expr, sp.Integer(i), sp.Integer(j))

    @property
    def shape(self):
        return self.args[0].shape


@evaluate.register(OneEntry)
def _one_entry(expr: OneEntry, ev: Evaluation) -> sp.ImmutableMatrix:
    value, (i, j) = ev(expr.args[0]), (int(n) for n in expr.args[1:])
    return sp.ImmutableMatrix(*value.shape, lambda r, c: value[r, c] if (r, c) == (i, j) else 0)


def entries(shape: tuple) -> list[tuple[int, int]]:
    """Every entry but the first, at H = D = K = 2."""
    rows, cols = (1 if n == 1 else 2 for n in shape)
    return [(i, j) for i in range(rows) for j in range(cols) if (i, j) != (0, 0)]


def near_miss(d, part: str, name: str, entry: tuple[int, int]):
    """``d`` with the equation for ``name`` in ``part`` doubled in one entry."""
    def wrong(eq):
        return sp.Eq(eq.lhs, eq.rhs + OneEntry(eq.rhs, *entry), evaluate=False) if eq.lhs.name == name else eq
    equations = tuple(wrong(eq) for eq in getattr(d, part))
    assert equations != tuple(getattr(d, part)), name
    return dataclasses.replace(d, **{part: equations})


def failed(proof) -> set[str]:
    return {c.what for c in proof.checks if not c.passed}


D_RNN = derive("rnn", "softmax", "every")
# (equation, where it lives, the step check and the unrolled checks it must fail)
CELL_GRADIENTS = [("δb_h", {"BPTT ∂L/∂b_h"}), ("δW_hh", {"BPTT ∂L/∂W_hh"}), ("δW_xh", {"BPTT ∂L/∂W_xh"})]
CASES = [(name, entry, unrolled) for name, unrolled in CELL_GRADIENTS
         for entry in entries(dict(D_RNN.params)[name[1:]])]


@pytest.mark.parametrize(("name", "entry", "unrolled"), CASES)
def test_a_parameter_gradient_wrong_in_one_entry_fails_both_proofs_there_only(name, entry, unrolled):
    wrong = near_miss(D_RNN, "step_backward", name, entry)
    assert failed(prove("rnn", kind=("step",), derivation=wrong)) == {f"step {name}"}
    assert failed(prove("rnn", kind=("bptt",), derivation=wrong)) == unrolled


def test_a_recurrent_delta_wrong_in_its_second_entry_fails_both_proofs():
    """δh_{t-1} wrong in entry 1 only: its own step check fails (each step check is local), and every
    gradient that crosses a step back is wrong in the unrolled proof; x_3 and the head's do not."""
    wrong = near_miss(D_RNN, "step_backward", "δh_{t-1}", (1, 0))
    assert failed(prove("rnn", kind=("step",), derivation=wrong)) == {"step δh_{t-1}"}
    unrolled = failed(prove("rnn", kind=("bptt",), derivation=wrong))
    assert {"BPTT ∂L/∂h_0", "BPTT ∂L/∂x_1", "BPTT ∂L/∂x_2", "BPTT ∂L/∂W_hh", "BPTT ∂L/∂b_h"} <= unrolled
    assert not unrolled & {"BPTT ∂L/∂x_3", "BPTT ∂L/∂W_hy", "BPTT ∂L/∂b_y", "BPTT ∂ℓ_3/∂a_{y,3}"}


@pytest.mark.parametrize("entry", [(0, 1), (1, 0), (1, 1)])
def test_a_head_gradient_wrong_in_one_entry_fails_both_proofs(entry):
    wrong = near_miss(D_RNN, "head_backward", "δW_hy", entry)
    assert failed(prove("rnn", kind=("step",), derivation=wrong)) == {"head δW_hy"}
    assert failed(prove("rnn", kind=("bptt",), derivation=wrong)) == {"BPTT ∂L/∂W_hy"}


def test_the_logits_delta_wrong_in_its_second_entry_fails_both_proofs():
    wrong = near_miss(D_RNN, "head_backward", "δa_{y,t}", (1, 0))
    assert "head δa_{y,t}" in failed(prove("rnn", kind=("step",), derivation=wrong))
    unrolled = failed(prove("rnn", kind=("bptt",), derivation=wrong))
    assert {f"BPTT ∂ℓ_{t}/∂{shift_name('a_{y,t}', t)}" for t in (1, 2, 3)} <= unrolled


@pytest.mark.parametrize("entry", [(0, 1), (1, 0), (1, 1)])
def test_a_step_jacobian_wrong_in_one_entry_fails(entry):
    d = derive("gru", None)
    jacobian = dict(d.jacobian)
    block = jacobian[("h_t", "h_{t-1}")]
    jacobian[("h_t", "h_{t-1}")] = block + OneEntry(block, *entry)
    wrong = dataclasses.replace(d, jacobian=MappingProxyType(jacobian))
    assert failed(prove("gru", kind=("step",), derivation=wrong)) == {"step ∂h_t/∂h_{t-1}"}


def test_a_carried_state_wrong_in_its_second_entry_fails_both_proofs():
    """The LSTM's δc_{t-1}, which the next step back carries: wrong in entry 1 only."""
    d = derive("lstm", None)
    wrong = near_miss(d, "step_backward", "δc_{t-1}", (1, 0))
    assert failed(prove("lstm", kind=("step",), derivation=wrong)) == {"step δc_{t-1}"}
    assert {"BPTT ∂L/∂c_0", "BPTT ∂L/∂x_1"} <= failed(prove("lstm", kind=("bptt",), derivation=wrong))
