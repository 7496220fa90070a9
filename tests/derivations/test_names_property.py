"""No name crashes the notations: any identifier (several underscores, digits, non-ASCII letters, 80
characters: a cell built in Python may use them), and every name the toolkit derives from it (its
pre-activation, previous state, gradient, carried gradient, the name at another step), prints in both
notations as ASCII LaTeX with balanced braces. A cell written as equations takes ASCII identifiers
only: custom cells built from any such names render full sheets, one of them compiles, and a name
that is not ASCII is refused at its line."""

import keyword
import re
import unicodedata

import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bpttlab.derivations import custom_cell
from bpttlab.derivations.heads import head_parameter_names
from bpttlab.derivations.printing.escape import check_text, escape_text
from bpttlab.derivations.printing.latex_printer import latex
from bpttlab.derivations.printing.notations import NOTATIONS, notation, parse_name
from bpttlab.derivations.printing.time_index import shift_name
from bpttlab.reports.sheets.pdflatex import pdf_text
from bpttlab.reports.sheets.writer import LANGUAGES, render_sheet, write_sheets

ASCII = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,79}", fullmatch=True)
UNICODE = st.text(st.characters(categories=("Lu", "Ll", "Lo", "Lm", "Nd", "Mn", "Pc")), min_size=1,
                  max_size=30).map(lambda s: unicodedata.normalize("NFKC", s)).filter(str.isidentifier)
PIECES = st.lists(st.sampled_from(["h", "W", "b", "a", "p", "t", "T", "j", "k", "1", "23", "prev", "état",
                                   "α", "x", "f", "gate", "_", "__", "ŷ", "ℓ", "δ", "c", "g", "n"]),
                  min_size=1, max_size=6).map("".join).filter(str.isidentifier)
# As a cell file's names reach the toolkit: Python's parser normalises identifiers to NFKC (ℓ → l).
IDENTIFIERS = st.one_of(ASCII, UNICODE, PIECES).map(lambda s: unicodedata.normalize("NFKC", s)).filter(
    str.isidentifier)


def derived(name: str) -> list[str]:
    """The names the toolkit makes from a user's identifier."""
    names = [name, "δ" + name, f"a_{{{name}}}", f"{name}_t", f"{name}_{{t-1}}", f"a_{{{name},t}}",
             f"δ{name}_t^{{(t+1)}}", f"δ{name}^{{(t+1)}}", f"δa_{{{name},t}}"]
    for step in (3, "j", "k", "T"):
        names += [shift_name(n, step) for n in names[3:7]]
    return names


def balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += (char == "{") - (char == "}")
        if depth < 0:
            return False
    return depth == 0


@settings(max_examples=300, deadline=None)
@given(IDENTIFIERS)
def test_every_identifier_prints_in_both_notations(name):
    for which in NOTATIONS:
        for n in derived(name):
            parsed = parse_name(n)
            assert parsed.raw() == n or parse_name(parsed.raw()) == parsed
            printed = notation(which).latex(n)
            assert printed.isascii() and balanced(printed), (n, printed)
            assert printed and "δ" not in printed and not re.search(r"(?<!\\)[_^]{2}", printed)
            notation(which).latex(n, r"\top")  # a transpose merges into the name's own superscript
    symbol = sp.MatrixSymbol(name, 3, 1)
    assert latex(sp.HadamardProduct(symbol, symbol) + sp.HadamardPower(symbol, 2), "dlbook").isascii()


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")), max_size=60))
def test_every_printable_title_is_escaped_to_ascii(title):
    escaped = escape_text(title)
    assert escaped.isascii() and balanced(escaped.replace(r"\{", "").replace(r"\}", ""))


@given(st.text(min_size=1, max_size=20).filter(
    lambda s: any(unicodedata.category(c).startswith("C") or unicodedata.category(c) in ("Zl", "Zp")
                  for c in s)))
def test_control_characters_are_refused_in_one_line(text):
    with pytest.raises(ValueError) as error:
        check_text(text, "cell title")
    assert "\n" not in str(error.value) and "U+" in str(error.value)


def usable(names: list[str]) -> bool:
    """Names a cell may take for its values (custom_cell's own rules; Python's keywords, True among
    them, are no names)."""
    return (len(set(names)) == len(names)
            and not any(n in ("x_t", *head_parameter_names()) or n.startswith(("W_", "b_"))
                        or keyword.iskeyword(n) for n in names))


CELL_NAMES = st.tuples(ASCII, ASCII, ASCII, ASCII, ASCII, st.booleans())


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(CELL_NAMES, st.text(st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")),
                           max_size=40))
def test_custom_cells_of_any_names_render_full_sheets(names, title):
    state, previous, gate, vector, weight, timed = names
    state = f"{state}_t" if timed else state
    assume(usable([state, previous, gate, vector]) and f"a_{{{gate}}}" != state
           and not {f"W_{weight}", f"W_h{weight}", f"b_{weight}"} & set(head_parameter_names()))
    cell = custom_cell(
        "c_" + "".join(ch for ch in weight if ch.isascii() and ch.isalnum())[:20],
        f"{gate} = sigmoid(W_{weight} @ x_t + {vector} * {previous} + b_{weight})\n"
        f"{state} = {gate} * tanh(W_h{weight} @ {previous}) + (1 - {gate}) * {previous}",
        states={state: previous}, params=[vector], title=title or None)
    for lang in LANGUAGES:
        for which in NOTATIONS:
            tex = render_sheet(cell, lang, which)
            assert tex.isascii()  # every name and the title reached LaTeX escaped
            assert ("parameter vector" if lang == "en" else "vektor parameter") in tex


def test_a_cell_of_awkward_names_compiles(tmp_path):
    cell = custom_cell(
        "awkward",
        "s_t = sigmoid(W_x_state_2 @ x_t + p_1_q * zustand_prev + b_gate)\n"
        "Omega_very_long_intermediate_name_number_1 = tanh(W_h__ @ (s_t * zustand_prev))\n"
        "zustand_t = (1 - s_t) * zustand_prev + s_t * Omega_very_long_intermediate_name_number_1\n"
        "y_t = relu(W_zz @ zustand_t + u)",  # a second state by relu (its step proof once failed)
        states={"zustand_t": "zustand_prev", "y_t": "y_prev"}, params=["p_1_q", "u"],
        title="Zustände & état: a cell with 状态")
    written = write_sheets(tmp_path, [cell], ("en",), NOTATIONS, pdf=True)
    text = unicodedata.normalize("NFC", " ".join(pdf_text(written[0].pdf).split()))
    assert "Zustände & état: a cell with U+72B6U+6001" in text
    assert "zustand" in text and "Omega" in text
    assert pdf_text(written[1].pdf)


@pytest.mark.parametrize(("equations", "culprit"), [
    ("h_t = tanh(W_xh @ x_t + W_hh @ état_prev)", "état_prev"),  # a letter outside ASCII
    ("h_t = tanh(W_xh @ x_t + W_хh @ h_prev)", "W_хh"),  # a Cyrillic х beside the Latin one
    ("ｈ_t = tanh(W_xh @ x_t)", "ｈ_t"),  # full-width: Python would read it as h_t
])
def test_a_name_that_is_not_ascii_is_refused_at_its_line(equations, culprit):
    with pytest.raises(ValueError, match=f"x.cell:4: the name '{culprit}' is not ASCII"):
        custom_cell("c", "\n" * 3 + equations, {"h_t": "h_prev"}, where="x.cell")
