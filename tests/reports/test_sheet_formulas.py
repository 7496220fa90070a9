"""The general formulas printed around the derived equations, evaluated as printed against the engine.

* Truncated BPTT (issue 23, point 1): the cut recurrence the course sheet prints, evaluated block by
  block with k₁ not dividing T, gives the engine's ``loss_and_grads(truncate=(k1, k2))``; the
  indicator of the old sheets, [t > e − k₁], counted the losses of the shorter last block twice.
* The double sum of the full gradient (point 2) is each cell's own: over its states and their block
  Jacobian, equal to the engine's gradient, and naming no parameter the cell does not have.
* One δ convention (point 3): a parameter's δ without the step superscript is the whole gradient, so
  no sheet writes it equal to one step's term, and every head's ∂L/∂W = Σ_t δW^{(t)} is printed.
"""

import functools
import re

import numpy as np
import pytest
import sympy as sp
from conftest import rel_err

from bpttlab.derivations import CELLS, HEADS, delta, derive
from bpttlab.derivations.cells import BUILT_IN
from bpttlab.derivations.printing.latex_printer import latex
from bpttlab.derivations.printing.notations import NOTATIONS
from bpttlab.numeric import build_engine
from bpttlab.reports.sheets.formulas import TRUNCATED, DoubleSum, Reading, TruncatedRecurrence, e, t
from bpttlab.reports.sheets.writer import COMBINED, LANGUAGES, VARIANTS_SHEET

#: The built-in cells and two variants with three states or a peephole: the formulas for any cell.
FORMULA_CELLS = (*BUILT_IN, "lstm_fgr", "lstm_peephole")
STEPS, K1, K2 = 7, 3, 4  # k₁ does not divide T: the last block (steps 7) is shorter


def problem(cell: str, seed: int = 3):
    engine = build_engine(cell, "softmax", "every")
    params = engine.init_params(D=3, H=4, K=3, seed=seed)
    rng = np.random.default_rng(seed)
    return engine, params, rng.normal(size=(STEPS, 1, 3)), rng.integers(0, 3, size=(STEPS, 1))


def worst(formula: dict, engine: dict) -> float:
    return max(rel_err(np.reshape(formula[name], engine[name].shape), engine[name]) for name in formula)


@pytest.mark.parametrize("cell", FORMULA_CELLS)
def test_the_printed_truncated_recurrence_is_the_engines_truncated_gradient(cell):
    engine, params, xs, ys = problem(cell)
    reading = Reading(cell, "softmax", params, xs, ys)
    for k1, k2 in ((K1, K2), (K1, K1), (2, 5), (1, 3)):
        cut = engine.loss_and_grads(params, xs, ys, truncate=(k1, k2))[1]
        assert worst(reading.truncated(TRUNCATED, k1, k2), cut) < 1e-12, (k1, k2)


def test_the_old_indicator_counts_the_shorter_last_blocks_losses_twice():
    engine, params, xs, ys = problem("rnn")
    old = TruncatedRecurrence(indicator=sp.StrictGreaterThan(t, e - K1))  # [t > e − k₁]
    cut = engine.loss_and_grads(params, xs, ys, truncate=(K1, K2))[1]
    assert worst(Reading("rnn", "softmax", params, xs, ys).truncated(old, K1, K2), cut) > 0.01
    assert [old.counts(step, 6, 7) for step in (5, 6, 7)] == [True, True, True]  # 5 and 6: block 6's


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_course_sheet_prints_the_indicator_that_was_evaluated(rendered_sheet, lang):
    tex = rendered_sheet(COMBINED, lang, "course")
    display = re.search(r"\\begin\{align\*\}\s*\\delta h_t\^\{\[e\]\} &= \[\\,(.*?)\\,\]", tex)
    assert display is not None and display.group(1) == TRUNCATED.indicator_latex()
    assert TRUNCATED.lowest_latex() in tex
    assert "t > e - k_1" not in tex


@pytest.mark.parametrize("cell", FORMULA_CELLS)
def test_the_printed_double_sum_is_the_engines_gradient(cell):
    engine, params, xs, ys = problem(cell, seed=5)
    full = engine.loss_and_grads(params, xs, ys)[1]
    terms = Reading(cell, "softmax", params, xs, ys).double_sum()
    assert set(terms) == {p.name for p in CELLS[cell].params}
    assert worst(terms, full) < 1e-12


@pytest.mark.parametrize("notation", NOTATIONS)
@pytest.mark.parametrize("cell", FORMULA_CELLS)
def test_each_sheet_prints_its_own_cells_double_sum(rendered_sheet, cell, notation):
    printed = DoubleSum.of(cell).latex(notation)
    assert printed in rendered_sheet(cell, "en", notation)
    c = CELLS[cell]
    for symbol in c.params:  # a generic θ, no parameter of any cell (the old sheet's W)
        assert latex(symbol, notation) not in printed.split("&=")[1]
    own = {latex(s, notation).split("^")[0].split("_")[0] for s in c.new_states}
    assert all(letter in printed for letter in own)


def test_the_course_sheets_double_sum_is_the_elman_rnns(rendered_sheet):
    assert DoubleSum.of(BUILT_IN[0]).latex("course") in rendered_sheet(COMBINED, "en", "course")


# --------------------------------------------------------------------------- one δ convention
STEP_INDEX = re.compile(r"_t\b|_\{[^{}]*\bt\b[^{}]*\}|\^\{\(t[^)]*\)|_\{t[-+]")


def parameter_deltas(notation: str) -> set[str]:
    """δ of every parameter of every cell and head, as the sheets print it: the whole gradient."""
    params = {p for c in CELLS.values() for p in c.params}
    params |= {p for head in HEADS for p in derive("rnn", head).head.params}
    return {latex(delta(p), notation) for p in params}


@pytest.mark.parametrize("notation", NOTATIONS)
@pytest.mark.parametrize("sheet", [*BUILT_IN, COMBINED, VARIANTS_SHEET])
def test_a_parameters_delta_is_never_one_steps_term(rendered_sheet, sheet, notation):
    totals = parameter_deltas(notation)
    tex = rendered_sheet(sheet, "en", notation)
    for line in re.split(r"\\\\\n|\n", tex):
        for part in line.split(" & "):
            lhs, _, rhs = part.partition("&=")
            if lhs.strip() in totals:
                assert not STEP_INDEX.search(rhs), f"{sheet}: {lhs.strip()} = {rhs.strip()}"


@pytest.mark.parametrize("notation", NOTATIONS)
def test_every_heads_gradient_is_the_sum_of_its_step_terms(rendered_sheet, notation):
    tex = rendered_sheet("rnn", "en", notation)
    for head in HEADS:
        for p in derive("rnn", head).head.params:
            term = latex(sp.MatrixSymbol(f"δ{p.name}^{{(t)}}", *p.shape), notation)
            assert f"\\partial L / \\partial {latex(p, notation)} &= \\textstyle\\sum_" in tex
            assert term in tex


@pytest.mark.parametrize("cell", FORMULA_CELLS)
def test_the_products_order_the_sheet_states_is_the_one_that_gives_the_gradient(cell):
    """Finding 7: the sheet says the factor of j = t stands leftmost. Summed in that order the double
    sum is the engine's gradient (above); in the reverse order the step Jacobians do not commute, and
    the sum is another number."""
    engine, params, xs, ys = problem(cell, seed=5)
    full = engine.loss_and_grads(params, xs, ys)[1]
    reading = Reading(cell, "softmax", params, xs, ys)

    def summed(descending: bool) -> dict[str, np.ndarray]:
        total = {p.name: 0.0 for p in CELLS[cell].params}
        for last in range(1, reading.steps + 1):
            for k in range(last, 0, -1):
                factors = [reading.jacobian(j) for j in range(k + 1, last + 1)]
                if descending:
                    factors = factors[::-1]  # j = t leftmost, j = k + 1 rightmost
                product = functools.reduce(np.matmul, factors, np.eye(len(reading.loss_gradient(last))))
                row = product.T @ reading.loss_gradient(last)
                for name, term in reading.parameter_terms(k, row).items():
                    total[name] = total[name] + term
        return total

    assert worst(summed(True), full) < 1e-12
    assert worst(summed(False), full) > 1e-6
    for lang, words in (("en", "the factor of $j = t$ stands\nleftmost"),
                        ("id", "faktor untuk $j = t$ berada paling\nkiri")):
        assert words in LANGUAGES[lang].word("bptt.double_sum.outro")
