"""The sentence about a cell's direct gradient path agrees with the path printed above it (issue 13).

For every registered cell and both languages, the sheet's sentence names a gate and the value at
which the direct path survives. That claim is checked against the derivation itself, not against
the code that wrote the sentence: the state's step Jacobian is evaluated (one unit) with every
parameter zero (weight matrices, peephole vectors), which leaves only the direct path, and with the
gate at the claimed value it must be the identity, and at the other value zero.
"""

import re

import pytest
import sympy as sp

from bpttlab.derivations import CELLS, derive
from bpttlab.derivations.explicit import explicit
from bpttlab.derivations.printing.latex_printer import gates, latex
from bpttlab.derivations.symbols import D, H
from bpttlab.reports.sheets.writer import render_sheet

# "when $z_t$ stays close to $0$," / "selama $z_t$ tetap dekat dengan\n$0$,"
SENTENCES = {
    "en": re.compile(r"when \$(?P<gate>[^$]+)\$ stays close to \$(?P<value>[01])\$,?\s+the\s+product"),
    "id": re.compile(r"selama \$(?P<gate>[^$]+)\$ tetap dekat dengan\s+\$(?P<value>[01])\$,"
                     r"\s+hasil\s+kalinya"),
}
# The display of the path: "\frac{\partial C_t}{\partial C_{t-1}} &= \operatorname{diag}(f_t), & \left.…"
PATH = re.compile(r"\\frac\{\\partial (?P<new>[^{}]+)\}\{\\partial (?P<previous>[^{}]*(?:\{[^{}]*\})?)\} &= "
                  r"(?P<term>[^\n]*?), &\s*\\left\.")


def direct_path_value(cell_name: str, new: str, previous: str, gate: str, value: int) -> sp.Expr:
    """One entry of the step Jacobian ∂new/∂previous with all parameters zero and ``gate`` at ``value``."""
    d = derive(cell_name, head=None)
    cell = d.cell
    states = {latex(s): s.name for s in (*cell.new_states, *cell.previous_states)}
    J = d.jacobian[(states[new], states[previous])]
    env = {p.name: sp.zeros(1, 1) for p in cell.params}  # no weights, no peepholes: the direct path
    env[gate] = sp.ImmutableMatrix([[value]])
    return sp.simplify(explicit(J, {H: 1, D: 1}, env)[0, 0])


@pytest.mark.parametrize("lang", ["en", "id"])
@pytest.mark.parametrize("cell_name", list(CELLS))
def test_the_sentence_names_the_gate_and_value_of_the_printed_direct_path(cell_name, lang):
    tex = render_sheet(cell_name, lang, "course", worked=False)
    claims = SENTENCES[lang].findall(tex)
    path = PATH.search(tex)
    cell_gates = {latex(sp.MatrixSymbol(g, H, 1)): g for g in gates(CELLS[cell_name])}
    if not claims:  # no gate sentence: then the printed path must not be a single gate's diagonal
        assert path is None or not any(re.fullmatch(rf"\\operatorname{{diag}}\((1 - )?{re.escape(g)}\)"
                                                    r"( \+ \\dots)?", path["term"]) for g in cell_gates)
        return
    assert path is not None, "a sentence about a direct path, but no path printed"
    assert len(claims) == 1
    gate_tex, value = claims[0]
    assert gate_tex in cell_gates, f"{gate_tex} is not one of the cell's gates {list(cell_gates)}"
    survives, fades = int(value), 1 - int(value)
    gate = cell_gates[gate_tex]
    assert direct_path_value(cell_name, path["new"], path["previous"], gate, survives) == 1
    assert direct_path_value(cell_name, path["new"], path["previous"], gate, fades) == 0


def test_the_two_grus_survive_at_opposite_values():
    """The course's GRU keeps h_{t-1} with 1 − z (survives at z ≈ 0), PyTorch's with z (z ≈ 1)."""
    found = {}
    for name in ("gru", "gru_torch", "lstm"):
        match = SENTENCES["en"].search(render_sheet(name, "en", "course", worked=False))
        found[name] = (match["gate"], match["value"])
    assert found == {"gru": ("z_t", "0"), "gru_torch": ("z_t", "1"), "lstm": ("f_t", "1")}
