"""The worked example of the RNN sheet, number by number and in its place: each vector and matrix is
found by the symbol that defines it (``h_2 &= …``, ``\\delta W_{hh} &= …`` in the course's notation;
``\\bm{h}^{(2)}``, ``\\delta \\bm{W}`` in dlbook's), and must be the value of that quantity at that step,
rounded to the sheet's three decimals — not merely appear somewhere on the sheet. The expected values
come from torch autograd on the equations (conftest.hello_reference), not from the engine. Indonesian
sheets write a decimal comma (``0{,}215``) and English ones a decimal point, never the other."""

import re

import numpy as np
import pytest
from conftest import hello_reference

from bpttlab.derivations.printing.notations import NOTATIONS
from bpttlab.reports.sheets.worked_example import hello_example
from bpttlab.reports.sheets.writer import LANGUAGES

#: How each notation writes the example's quantities: per step (t = 1..4) and for the parameters.
SYMBOLS = {
    "course": {"a": "a_{t}", "h": "h_{t}", "y_hat": r"\hat{y}_{t}", "step_losses": r"\ell_{t}",
               "W_xh": r"\delta W_{xh}", "W_hh": r"\delta W_{hh}", "W_hy": r"\delta W_{hy}",
               "b_h": r"\delta b_h", "b_y": r"\delta b_y"},
    "dlbook": {"a": r"\bm{a}^{(t)}", "h": r"\bm{h}^{(t)}", "y_hat": r"\hat{\bm{y}}^{(t)}",
               "step_losses": "L^{(t)}", "W_xh": r"\delta \bm{U}", "W_hh": r"\delta \bm{W}",
               "W_hy": r"\delta \bm{V}", "b_h": r"\delta \bm{b}", "b_y": r"\delta \bm{c}"},
}
PMATRIX = re.compile(r"\\begin\{pmatrix\}(.*?)\\end\{pmatrix\}", re.DOTALL)
DISPLAY = re.compile(r"\\begin\{(align\*?|equation\*?|gather\*?|multline\*?)\}(.*?)\\end\{\1\}", re.DOTALL)
BRACKETS = re.compile(r"\\\[(.*?)\\\]", re.DOTALL)
NUMBER = r"-?\d+(?:\.\d+|\{,\}\d+)?"


def step_symbol(template: str, t: int) -> str:
    """The symbol at step t: subscripts of one digit lose their braces, as LaTeX writes them."""
    return template.replace("_{t}", f"_{t}").replace("(t)", f"({t})")


def number(text: str, lang: str) -> float:
    if lang == "id":
        assert not re.search(r"\d\.\d", text), f"a decimal point in the Indonesian sheet: {text!r}"
        text = text.replace("{,}", ".")
    else:
        assert "{,}" not in text, f"a decimal comma in the English sheet: {text!r}"
    return float(text)


def worked_section(tex: str) -> str:
    start = tex.index(r"\section{", tex.index(r"\texttt{hello}") - 200)
    end = tex.find(r"\section{", start + 1)
    return tex[start:end if end > 0 else None]


def definitions(section: str, lang: str) -> dict[str, tuple[list[np.ndarray], str]]:
    """Every definition ``S &= …`` or ``S = …`` in the displayed math of the section: symbol →
    (its matrices in order, the text after the symbol), with matrices swapped for placeholders so
    that the ``&`` between their entries does not split a cell."""
    matrices: list[np.ndarray] = []

    def hold(match: re.Match) -> str:
        rows = [[number(v.strip(), lang) for v in row.split("&")] for row in match[1].split(r"\\")]
        matrices.append(np.array(rows))
        return f"⟨{len(matrices) - 1}⟩"

    flat = PMATRIX.sub(hold, section)
    displays = [m[2] for m in DISPLAY.finditer(flat)] + [m[1] for m in BRACKETS.finditer(flat)]
    found: dict[str, tuple[list[np.ndarray], str]] = {}
    for cell in re.split(r"&(?!=)|\\\\|\n", "\n".join(displays)):
        match = re.match(r"\s*(.+?)\s*&?= (.*)$", cell)
        if not match:
            continue
        symbol, rest = match[1], match[2]
        held = [matrices[int(k)] for k in re.findall(r"⟨(\d+)⟩", rest)]
        assert symbol not in found, f"{symbol} is defined twice in the worked example"
        found[symbol] = (held, rest)
    return found


CASES = [(lang, notation) for lang in LANGUAGES for notation in NOTATIONS]


@pytest.fixture(scope="module")
def reference():
    return hello_reference(hello_example().params)


@pytest.mark.parametrize(("lang", "notation"), CASES)
def test_each_number_of_the_worked_example_is_in_its_place(rendered_sheet, lang, notation, reference):
    found = definitions(worked_section(rendered_sheet("rnn", lang, notation)), lang)
    symbols = SYMBOLS[notation]
    for quantity in ("a", "h", "y_hat"):
        for t in range(1, 5):
            symbol = step_symbol(symbols[quantity], t)
            assert symbol in found, f"{symbol} is not defined in the worked example"
            shown = found[symbol][0][-1].ravel()  # the value, after any sum written out before it
            np.testing.assert_array_equal(shown, np.round(getattr(reference, quantity)[t - 1], 3),
                                          err_msg=f"{symbol} ({lang}, {notation})")
    for t in range(1, 5):
        symbol = step_symbol(symbols["step_losses"], t)
        last = re.findall(NUMBER, found[symbol][1])[-1]
        assert number(last, lang) == np.round(reference.step_losses[t - 1], 3), symbol
    for name in ("W_xh", "W_hh", "W_hy", "b_h", "b_y"):
        symbol = symbols[name]
        (shown,) = found[symbol][0]
        expected = np.round(reference.grads[name], 3)
        np.testing.assert_array_equal(shown.reshape(expected.shape), expected, err_msg=symbol)


@pytest.mark.parametrize(("lang", "notation"), CASES)
def test_the_total_loss_is_stated_in_the_languages_decimal_notation(rendered_sheet, lang, notation,
                                                                    reference):
    section = worked_section(rendered_sheet("rnn", lang, notation))
    stated = re.findall(rf"\$L = ({NUMBER})\$", section)
    assert stated, "the total loss L is not stated"
    assert {number(value, lang) for value in stated} == {round(reference.loss, 3)}
