"""The rewrites the sheets print instead of the derivation's own forms (issue 13) are the same
mathematics: terms of a Jacobian that end in the same matrix merged (the GRU's two W_hz terms), and
the backward step listed in the forward's order, each line after the lines it reads."""

import pytest
import sympy as sp

from bpttlab.derivations import CELLS, derive
from bpttlab.derivations.explicit import explicit
from bpttlab.derivations.symbols import D, H
from bpttlab.reports.sheets.context import cell_sheet, combined, forward_order


@pytest.mark.parametrize("cell_name", list(CELLS))
def test_merged_jacobian_terms_equal_the_derived_blocks(cell_name):
    d = derive(cell_name, head=None)
    for key, J in d.jacobian.items():
        env: dict = {}
        difference = explicit(combined(J), {H: 2, D: 2}, env) - explicit(J, {H: 2, D: 2}, env)
        assert sp.simplify(difference) == sp.zeros(2, 2), key


def test_the_course_grus_update_gate_weights_appear_once():
    value = cell_sheet("gru", "course").jacobians[0].value
    assert value.count("W_{hz}") == 1
    assert r"\operatorname{diag}(z_t \odot (1 - z_t) \odot (\tilde{h}_t - h_{t-1})) W_{hz}" in value


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
