""""One step in words" says what the cell's equations say: what a gate reads is followed through the
values it is computed from; how the gates make a state is told only in the words that are true of that
state's terms (kept whole, scaled by a keep gate, a candidate added), else the equation is shown alone;
and one gate is one gate in both languages. Found by the cell generator: a gate read through an
intermediate printed "reads $$" (LaTeX refused it), and a state that never reads its previous value was
said to keep it whole."""

import pytest
import sympy as sp

from bpttlab.derivations import CELLS, custom_cell
from bpttlab.reports.sheets.context import combination, gate_reads
from bpttlab.reports.sheets.writer import LANGUAGES, render_sheet

GENERATED = """
    v_t = 1.5e2 - (a_prev)
    y_t = sigmoid(((b_e) * (v_t)) / 10)
    a_t = (2 + (b_d) - 2 + (b_d)) - ((y_t) * (b_b) + W_h0 @ y_t)
"""


def one_state(name: str, text: str, **kwargs):
    return custom_cell(name, text, {"a_t": "a_prev"}, **kwargs)


def symbol(cell, name: str) -> sp.MatrixSymbol:
    return next(s for s in (cell.x, *cell.previous_states, *cell.params, *(eq.lhs for eq in cell.equations))
                if s.name == name)


def test_a_gate_reads_what_its_argument_is_computed_from():
    cell = one_state("g", GENERATED)
    order = (cell.x, *cell.previous_states)
    assert gate_reads(cell, symbol(cell, "y_t"), order) == cell.previous_states
    alone = one_state("p", "y_t = sigmoid(b_e)\na_t = y_t * tanh(W_xa @ x_t) + a_prev")
    assert gate_reads(alone, symbol(alone, "y_t"), order) == (symbol(alone, "b_e"),)
    lstm = CELLS["lstm"]
    f = symbol(lstm, "f_t")
    assert gate_reads(lstm, f, (lstm.x, *lstm.previous_states)) == (lstm.x, symbol(lstm, "h_{t-1}"))


@pytest.mark.parametrize(("text", "variant"), [
    ("y_t = sigmoid(W_xy @ x_t)\na_t = a_prev + y_t * tanh(W_xa @ x_t)", "write"),
    ("y_t = sigmoid(W_xy @ x_t)\na_t = 0.5 * a_prev + y_t * tanh(W_xa @ x_t)", "other"),
    ("y_t = sigmoid(W_xy @ x_t)\na_t = y_t * tanh(W_xa @ x_t) + tanh(W_aa @ a_prev)", "other"),
    ("f_t = sigmoid(W_xf @ x_t)\na_t = f_t * a_prev + tanh(W_xa @ x_t)", "keep"),
    ("f_t = sigmoid(W_xf @ x_t)\na_t = f_t * a_prev", "other"),
    (GENERATED, "other"),
])
def test_how_the_gates_make_a_state_is_read_from_its_terms(text, variant):
    cell = one_state("c", text)
    keep = [g for g in cell.params + tuple(eq.lhs for eq in cell.equations) if g.name == "f_t"]
    write = [g for g in (eq.lhs for eq in cell.equations) if g.name == "y_t"]
    assert combination(cell, cell.new_states[0], keep, write) == variant


def test_the_lstm_keeps_and_writes():
    lstm = CELLS["lstm"]
    c_t = next(s for s in lstm.new_states if s.name == "c_t")
    assert combination(lstm, c_t, [symbol(lstm, "f_t")], [symbol(lstm, "i_t")]) == "both"


THROUGH = """
    v_t = 1.5e2 - (a_prev)
    y_t = sigmoid(((b_e) * (v_t)) / 10)
    a_t = a_prev + y_t * tanh(W_xa @ x_t)
"""


@pytest.mark.parametrize("lang", tuple(LANGUAGES))
def test_the_generated_cell_is_told_truthfully_in_every_language(lang):
    """The generator's cell: y_t multiplies a parameter (b_b), which is no candidate, so no step is told
    as writing one; nothing is kept whole; one gate is one gate."""
    tex = " ".join(render_sheet(one_state("g", GENERATED), lang, "course").split())
    assert "$$" not in tex and "$b_b$ to write" not in tex and "kandidat $b_b$" not in tex
    assert "kept whole" not in tex and "dipertahankan utuh" not in tex
    one_gate = {"en": "Its one gate, $y_t$, takes values", "id": "Satu-satunya gerbang pada sel ini, $y_t$,"}
    assert one_gate[lang] in tex


@pytest.mark.parametrize("lang", tuple(LANGUAGES))
def test_a_gate_read_through_an_intermediate_is_told_what_it_reads(lang):
    tex = " ".join(render_sheet(one_state("t", THROUGH), lang, "course").split())
    reads = {"en": r"$y_t$ reads $a_{t-1}$", "id": r"$y_t$ membaca $a_{t-1}$"}
    kept = {"en": "which is kept whole", "id": "yang dipertahankan utuh"}
    assert reads[lang] in tex and kept[lang] in tex  # a_t = a_{t-1} + y_t ⊙ tanh(…): kept whole is true
