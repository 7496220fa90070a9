"""The pages of every kind of sheet, checked the way a reader looks at them (issue 13): no page before
the last stops short (under :data:`MIN_FILL` of the text block, except a page the source ends on
purpose), and no page opens with the continuation of an equation. Needs pdflatex and poppler-utils.
"""

import pytest

from bpttlab.reports.sheets.page_fill import (
    MIN_FILL,
    Page,
    continued,
    forced_pages,
    pages,
    under_filled,
)
from bpttlab.reports.sheets.pdflatex import compile_pdf
from bpttlab.reports.sheets.writer import COMBINED, VARIANTS_SHEET

# One sheet of each kind: the Elman RNN (with the worked example), the LSTM (two states), both GRUs,
# a cell with neutral prose, the combined course sheet and the variants sheet.
KINDS = ("rnn", "lstm", "gru", "gru_torch", "mgu", COMBINED, VARIANTS_SHEET)
# Both languages and both notations, two combinations per kind.
SETTINGS = (("en", "course"), ("id", "dlbook"))


@pytest.mark.parametrize(("lang", "notation"), SETTINGS)
@pytest.mark.parametrize("kind", KINDS)
def test_no_page_is_under_filled_and_none_opens_inside_an_equation(written_sheet, kind, lang, notation):
    """Each sheet with its cells' decay figures (conftest's sheets_decay_folder), compiled."""
    sheet = written_sheet(kind, lang, notation, decay_figures=True)
    measured = pages(sheet.pdf)
    forced = forced_pages(sheet.pdf.with_suffix(".log").read_text(errors="replace"))
    assert len(measured) >= 2
    short = under_filled(measured, forced=forced)
    assert short == [], f"{sheet.name}: pages below {MIN_FILL:.0%} full: {short}"
    assert continued(measured) == [], f"{sheet.name}: pages opening inside an equation"


def _compile(tmp_path, body: str):
    tex = tmp_path / "probe.tex"
    tex.write_text("\\documentclass[11pt,a4paper]{article}\\usepackage[margin=2cm]{geometry}"
                   "\\usepackage{amsmath}\\allowdisplaybreaks\\begin{document}" + body + "\\end{document}\n")
    return compile_pdf(tex, runs=1)


def test_a_half_empty_page_is_flagged_and_a_forced_one_is_not(tmp_path):
    text = "Words of a paragraph that fill a line or two of the page. " * 8
    half = text * 2 + "\\par\\vspace*{0pt}\\rule{1pt}{0.9\\textheight}\\par " + text  # the rule cannot fit
    pdf = _compile(tmp_path, half)
    measured = pages(pdf)
    assert len(measured) == 3 and measured[0].fill < MIN_FILL  # the rule and a line of text follow
    assert under_filled(measured) == [measured[0]]
    assert under_filled(measured, forced=frozenset({2})) == []  # the last page is never counted
    log = "bpttlab: forced page 2\nsomething else\nbpttlab: forced page 5\n"
    assert forced_pages(log) == frozenset({2, 5})


def test_a_page_that_opens_inside_a_broken_display_is_flagged(tmp_path):
    lines = " \\\\ ".join(f"&+ x_{{{i}}} + y_{{{i}}}" for i in range(90))
    pdf = _compile(tmp_path, "\\begin{align*} a " + lines + "\\end{align*}")
    measured = pages(pdf)
    assert len(measured) >= 2
    assert continued(measured) and all(page.first_line.startswith("+") for page in continued(measured))
    assert continued((Page(1, 1.0, "+ a"), Page(2, 1.0, "Text"), Page(3, 1.0, "− b"))) == [
        Page(3, 1.0, "− b")]
