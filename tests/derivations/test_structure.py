"""The cell-structure knowledge of derivations/structure.py, tested without LaTeX: the rewrites the
sheets print instead of the derivation's own forms are the same mathematics (terms of a Jacobian that
end in the same matrix merged, the backward step in the forward's order); every gate of every cell has
a role read from its equations; gates are the registry's (0, 1) activations, never a name; the
parameter count is the engine's and, for a cell PyTorch computes, ``sum(p.numel())`` of its module."""

import numpy as np
import pytest
import sympy as sp

from bpttlab.derivations import CELLS, custom_cell, derive
from bpttlab.derivations.explicit import explicit
from bpttlab.derivations.structure import (
    ROLES,
    combined,
    direct_path,
    facts,
    forget_gate,
    forward_order,
    gate_roles,
    gates,
    is_bias,
    operands,
    parameter_count,
    roles,
)
from bpttlab.derivations.symbols import D, H
from bpttlab.numeric import build_engine


@pytest.mark.parametrize("cell_name", list(CELLS))
def test_merged_jacobian_terms_equal_the_derived_blocks(cell_name):
    d = derive(cell_name, head=None)
    for key, J in d.jacobian.items():
        env: dict = {}
        difference = explicit(combined(J), {H: 2, D: 2}, env) - explicit(J, {H: 2, D: 2}, env)
        assert sp.simplify(difference) == sp.zeros(2, 2), key


@pytest.mark.parametrize("cell_name", list(CELLS))
def test_the_backward_step_keeps_every_line_after_what_it_reads(cell_name):
    d = derive(cell_name, head=None)
    ordered = forward_order(d)
    assert sorted(eq.lhs.name for eq in ordered) == sorted(eq.lhs.name for eq in d.step_backward)
    defined = {eq.lhs for eq in d.step_backward}
    seen = set()
    for eq in ordered:
        assert not (eq.rhs.atoms(sp.MatrixSymbol) & defined) - seen, eq.lhs
        seen.add(eq.lhs)


def test_the_lstm_backward_lists_its_gates_in_the_forward_order():
    names = [eq.lhs.name for eq in forward_order(derive("lstm", head=None))][:5]
    assert names == ["δc_t", "δa_{i,t}", "δa_{f,t}", "δa_{g,t}", "δa_{o,t}"]


@pytest.mark.parametrize("cell_name", list(CELLS))
def test_every_gate_has_a_role_and_every_symbol_one_kind(cell_name):
    c = CELLS[cell_name]
    found = gate_roles(c)
    assert {r.gate for r in found} == set(gates(c)), cell_name
    assert all(r.kind in ROLES for r in found)
    symbols = [r.symbol for r in roles(c)]
    assert len(symbols) == len(set(symbols))
    assert set(symbols) >= {c.x, *c.params, *(eq.lhs for eq in c.equations)}


def test_the_roles_of_the_course_cells_are_read_from_their_equations():
    kinds = {name: [(r.gate.name, r.kind) for r in gate_roles(CELLS[name])]
             for name in ("lstm", "gru", "gru_torch")}
    assert kinds["lstm"] == [("f_t", "keep"), ("i_t", "write"), ("o_t", "read")]
    assert kinds["gru"] == [("r_t", "reset"), ("z_t", "update")]
    resets = {name: next(r for r in gate_roles(CELLS[name]) if r.kind == "reset").after_product
              for name in ("gru", "gru_torch")}
    updates = {name: next(r for r in gate_roles(CELLS[name]) if r.kind == "update").weights_new
               for name in ("gru", "gru_torch")}
    assert resets == {"gru": False, "gru_torch": True} and updates == {"gru": True, "gru_torch": False}


def test_a_gate_is_any_activation_whose_values_lie_in_0_1(monkeypatch):
    """Whether a value is a gate is read from the activation registry's range, never from a name: give
    tanh the range (0, 1) and the Elman RNN's h_t is a gate; give σ another and the LSTM has none."""
    from dataclasses import replace

    from bpttlab.derivations import activations

    assert [g.name for g in gates(CELLS["lstm"])] == ["i_t", "f_t", "o_t"] and not gates(CELLS["rnn"])
    registry = dict(activations.ACTIVATIONS)
    swapped = {"tanh": sp.Interval.open(0, 1), "sigmoid": sp.Interval.open(-1, 1)}
    for name, interval in swapped.items():
        monkeypatch.setitem(activations.ACTIVATIONS._records, name, replace(registry[name], range=interval))
    assert [g.name for g in gates(CELLS["rnn"])] == ["h_t"]
    assert [g.name for g in gates(CELLS["lstm"])] == ["g_t"]


def test_biases_vectors_and_the_forget_gate():
    peephole = CELLS["lstm_peephole"]
    found = facts(peephole)
    assert [p.name for p in found.vectors] == ["p_i", "p_f", "p_o"]
    assert not any(is_bias(peephole, p) for p in found.vectors)
    assert forget_gate(peephole) == ("b_f", "f_t") and forget_gate(CELLS["gru"]) is None
    assert direct_path(CELLS["lstm_nfg"]).identity


@pytest.mark.parametrize("cell_name", list(CELLS))
def test_the_parameter_count_is_the_engines(cell_name):
    count = parameter_count(CELLS[cell_name])
    engine = build_engine(cell_name)
    shapes = engine.param_shapes(D=8, H=32)
    assert count.at(8, 32) == sum(int(np.prod(shape)) for shape in shapes.values())


def test_pytorchs_count_is_what_its_module_holds():
    import torch

    for name in CELLS:
        module_name = CELLS[name].torch_module
        count = parameter_count(CELLS[name])
        if module_name is None:
            assert count.torch_at(8, 32) is None
            continue
        module = getattr(torch.nn, module_name)(8, 32)
        assert count.torch_at(8, 32) == sum(p.numel() for p in module.parameters()), name


def test_each_weight_acts_on_the_product_after_it():
    """W_a (W_b v) is one product W_a W_b v to SymPy, and W (W v) is W² v: each weight still has its
    operand (the sheet's symbol table says what it multiplies; an empty one printed "on $$")."""
    chain = custom_cell("chain", "h_t = tanh(W_h0 @ (W_h1 @ h_prev) + W_xh @ x_t)", {"h_t": "h_prev"})
    W_xh, W_h1, W_h0 = chain.params
    h_prev, x = chain.states[0][1], chain.x
    assert operands(chain) == {W_h0: (W_h1 * h_prev,), W_h1: (h_prev,), W_xh: (x,)}
    square = custom_cell("square", "h_t = tanh(W_hh @ (W_hh @ h_prev) + W_xh @ x_t)", {"h_t": "h_prev"})
    W_hh = next(p for p in square.params if p.name == "W_hh")
    assert operands(square)[W_hh] == (W_hh * square.states[0][1],)
