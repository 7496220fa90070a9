"""The equation sheets: every sheet renders in every language × notation, and compiles with
pdflatex, cleanly, in one of them (each combination is compiled for several sheets; all 64 PDFs take
about a minute, see the report of ``bpttlab bench``); the PDF shows the key symbols; the Indonesian
sheets have no English headings; the same options give the same bytes. Golden files: test_golden.py."""

import re

import pytest

from bpttlab.derivations import CELLS
from bpttlab.derivations.printing.escape import escape_text
from bpttlab.derivations.printing.notations import NOTATIONS
from bpttlab.reports.sheets.pdflatex import overfull_boxes, pdf_text
from bpttlab.reports.sheets.writer import (
    COMBINED,
    LANGUAGES,
    SHEETS,
    VARIANTS_SHEET,
    render_sheet,
    sheet_name,
    write_sheets,
)

COMBOS = [(s, lang, n) for s in SHEETS for lang in LANGUAGES for n in NOTATIONS]
# The one language × notation each sheet is compiled in, rotating so that each is compiled for four
# sheets; the LSTM and the combined sheet are compiled in English and the course's notation, which the
# tests of their text read.
PAIRS = [(lang, n) for n in NOTATIONS for lang in LANGUAGES]
COMPILED = {s: PAIRS[i % len(PAIRS)] for i, s in enumerate(SHEETS)} | {"lstm": ("en", "course"),
                                                                       COMBINED: ("en", "course")}
COMPILED_COMBOS = [(s, lang, n) for s, (lang, n) in COMPILED.items()]


@pytest.fixture(scope="module")
def written(written_sheet, pdflatex, pdftotext) -> dict[str, object]:  # noqa: ARG001 (fixtures requested for their check that the tools are installed)
    """Every sheet, compiled once in its language × notation of COMPILED (conftest's written_sheet)."""
    sheets = [written_sheet(sheet, lang, notation) for sheet, (lang, notation) in COMPILED.items()]
    return {s.name: s for s in sheets}


@pytest.mark.parametrize(("sheet", "lang", "notation"), COMBOS)
def test_every_sheet_renders(rendered_sheet, sheet, lang, notation):
    tex = rendered_sheet(sheet, lang, notation)
    assert "\\documentclass" in tex and tex.rstrip().endswith("\\end{document}")
    assert "\\VAR{" not in tex and "\\BLOCK{" not in tex


def test_each_language_and_notation_is_compiled_for_several_sheets():
    assert set(COMPILED) == set(SHEETS)
    for pair in PAIRS:
        assert sum(p == pair for p in COMPILED.values()) >= 3, pair


def headings(tex: str) -> list[str]:
    return re.findall(r"\\(?:sub)*section\*?\{(.+)\}", tex)


@pytest.mark.parametrize(("sheet", "lang", "notation"), COMPILED_COMBOS)
def test_every_sheet_compiles_without_overfull_boxes(written, sheet, lang, notation):
    result = written[sheet_name(sheet, lang, notation)]
    assert result.pdf is not None and result.pdf.read_bytes().startswith(b"%PDF")
    log = result.tex.with_suffix(".log")
    assert log.is_file(), f"no pdflatex log beside {result.tex.name}: nothing to check the layout with"
    # TeX reports every box more than \hfuzz = 0.1 pt too wide, in text or in display math: none at all.
    boxes = overfull_boxes(log.read_text(errors="replace"))
    assert not boxes, f"overfull boxes: {[(b.points, b.lines, b.in_display_math) for b in boxes]}"


@pytest.mark.parametrize("sheet", [s for s in SHEETS if COMPILED[s][1] == "course"])
def test_pdf_text_shows_the_key_symbols(written, sheet):
    text = pdf_text(written[sheet_name(sheet, *COMPILED[sheet])].pdf)
    symbols = ("⊙", "σ", "tanh", "diag", "δ") + (("∂L/∂W", "h⊤") if sheet != VARIANTS_SHEET else ())
    for symbol in symbols:
        assert symbol in text, f"{symbol!r} missing from the text of the {sheet} sheet"
    assert "mapsto" not in text and "∘" not in text


def test_lstm_sheet_shows_the_cell_path_and_the_gates(written):
    text = pdf_text(written[sheet_name("lstm", "en", "course")].pdf)
    assert "= diag(ft )" in text  # ∂C_t/∂C_{t-1}, the derived Jacobian block
    assert "diag(fj )" in text  # the product along the direct path
    assert "Ct = ft ⊙ Ct−1 + it ⊙ C̃t" in text
    assert "ht = ot ⊙ tanh(Ct )" in text


@pytest.mark.parametrize("notation", NOTATIONS)
@pytest.mark.parametrize("sheet", SHEETS)
def test_indonesian_sheets_have_no_english_headings(rendered_sheet, sheet, notation):
    english = set(headings(rendered_sheet(sheet, "en", notation)))
    indonesian = headings(rendered_sheet(sheet, "id", notation))
    assert indonesian and english
    titles = {escape_text(CELLS[name].title) for name in CELLS}  # a cell's own title is not translated
    shared = [h for h in indonesian
              if h in english and not h.startswith(("LSTM", "\\VAR")) and h not in titles]
    assert not shared, f"English headings in the Indonesian sheet: {shared}"
    for word in ("Forward", "Backward", "Symbols", "Outputs", "Worked example", "Step Jacobians",
                 "Vanishing", "Scalar definitions", "Backpropagation"):
        assert not any(word in h for h in indonesian), word


def test_same_options_give_the_same_bytes(tmp_path):
    first = write_sheets(tmp_path / "a", ("lstm", COMBINED), ("id",), ("dlbook",), pdf=False)
    second = write_sheets(tmp_path / "b", ("lstm", COMBINED), ("id",), ("dlbook",), pdf=False)
    for a, b in zip(first, second, strict=True):
        assert a.tex.read_bytes() == b.tex.read_bytes()
    assert render_sheet("gru", "en", "course") != render_sheet("gru", "en", "dlbook")


def test_chain_rule_runs_over_states_not_outputs(rendered_sheet):
    tex = rendered_sheet("rnn", "en", "course")
    chain = tex[tex.index("The step Jacobian"):tex.index("A bound on the gradient")]
    assert r"\frac{\partial h_3}{\partial h_2}" in chain and r"\frac{\partial h_2}{\partial h_1}" in chain
    assert r"\hat{y}_2" not in chain and r"\hat{y}_3" not in chain


def test_course_notation_states_the_concatenated_form(written):
    text = pdf_text(written[sheet_name("lstm", "en", "course")].pdf)
    assert "af,t = Wf [ht−1 ; xt ] + bf = Whf ht−1 + Wxf xt + bf" in text
    assert "Wf = [Whf Wxf ]" in text
    tex = written[sheet_name("lstm", "en", "course")].tex.read_text()
    assert "W_h y" not in tex and "W_-" not in tex and "W_{hy}" in tex


def test_unknown_options_are_value_errors():
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        render_sheet("rnn", "fr")
    with pytest.raises(ValueError, match="unknown sheet 'transformer'"):
        render_sheet("transformer")
    with pytest.raises(ValueError, match="unknown notation"):
        render_sheet("rnn", "en", "physics")


def test_every_cell_has_a_sheet():
    assert set(SHEETS) == {*CELLS, COMBINED, VARIANTS_SHEET}
