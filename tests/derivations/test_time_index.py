"""at_step: a step-t expression at a concrete step or under another index letter."""

import re

import pytest
import sympy as sp

from bpttlab.derivations import carry, derive
from bpttlab.derivations.printing.latex_printer import latex
from bpttlab.derivations.printing.time_index import at_step, shift_name


@pytest.mark.parametrize(("name", "step", "expected"), [
    ("h_t", 3, "h_3"),
    ("h_{t-1}", 3, "h_2"),
    ("a_{f,t}", 3, "a_{f,3}"),
    ("δa_{f,t}", 3, "δa_{f,3}"),
    ("δh_t^{(t+1)}", 3, "δh_3^{(4)}"),
    ("h_{t-1}", 1, "h_0"),
    ("h_{t-1}", 10, "h_9"),
    ("h_t", 12, "h_{12}"),
    ("h_t", "j", "h_j"),
    ("h_{t-1}", "j", "h_{j-1}"),
    ("δh_t^{(t+1)}", "j", "δh_j^{(j+1)}"),
    ("h_{t-1}", "k+1", "h_k"),
    ("ℓ_t", "T", "ℓ_T"),
    ("h_T", 3, "h_T"),
    ("h_3", 5, "h_3"),
    ("h_j", 5, "h_j"),
    ("W_hh", 3, "W_hh"),
    ("b_hn", "j", "b_hn"),
])
def test_shift_name(name, step, expected):
    assert shift_name(name, step) == expected


def test_at_step_renames_symbols_inside_an_expression_and_keeps_shapes():
    d = derive("rnn", head=None)
    J = d.jacobian[("h_t", "h_{t-1}")]
    moved = at_step(J, 3)
    assert {s.name for s in moved.atoms(sp.MatrixSymbol)} == {"h_3", "W_hh"}
    assert moved.shape == J.shape
    assert {s.shape for s in moved.atoms(sp.MatrixSymbol)} == {s.shape for s in J.atoms(sp.MatrixSymbol)}
    assert latex(moved) == r"\operatorname{diag}(1 - h_3^{2}) W_{hh}"
    assert latex(at_step(J, "j"), "dlbook") == r"\operatorname{diag}(1 - (\bm{h}^{(j)})^{2}) \bm{W}"


def test_at_step_works_on_equations():
    eq = derive("lstm", head=None).step_backward[3]  # δa_{f,t} = δc_t ⊙ c_{t-1} ⊙ (1 − f_t) ⊙ f_t
    assert eq.lhs.name == "δa_{f,t}"
    moved = at_step(eq, 2)
    assert moved.lhs.name == "δa_{f,2}"
    assert {s.name for s in moved.rhs.atoms(sp.MatrixSymbol)} == {"δc_2", "c_1", "f_2"}


def test_the_chain_at_three_steps_runs_over_states():
    d = derive("rnn", head=None)
    h, h_prev = d.cell.states[0]
    factors = [(at_step(h, j).name, at_step(h_prev, j).name) for j in (3, 2)]
    assert factors == [("h_3", "h_2"), ("h_2", "h_1")]


def test_the_carry_moves_with_its_step():
    h = derive("rnn", head=None).cell.h
    assert at_step(carry(h), 2).name == "δh_2^{(3)}"
    assert latex(at_step(carry(h), 2), "dlbook") == r"\delta \bm{h}^{(2 \leftarrow 3)}"


@pytest.mark.parametrize(("step", "complaint"), [
    (-1, "step must be ≥ 0"),
    (2.5, "step must be a step number"),
    (True, "step must be a step number"),
    ("j+", "step: time index 'j\\+'"),
    ("jj", "step: time index 'jj'"),
])
def test_bad_steps_are_value_errors(step, complaint):
    with pytest.raises(ValueError, match=complaint):
        at_step(sp.MatrixSymbol("W_hh", 2, 2), step)


def test_a_step_before_the_first_is_a_value_error():
    with pytest.raises(ValueError, match=re.escape("step 0 puts 'h_{t-1}' at step -1")):
        at_step(sp.MatrixSymbol("h_{t-1}", 2, 1), 0)
