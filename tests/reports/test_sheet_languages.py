"""The sheets in each language and notation, read back from their PDF text as the English course sheets
are in test_sheet.py: the Indonesian sheets show the same equations, their own headings and no English
ones, and a decimal comma; the dlbook sheets print Goodfellow's symbols and none of the course's (and the
course sheets none of dlbook's), for every sheet the package writes."""

import re

import pytest
from conftest import hello_reference

from bpttlab.derivations import CELLS
from bpttlab.derivations.printing.notations import notation
from bpttlab.reports.sheets.pdflatex import overfull_boxes, pdf_text
from bpttlab.reports.sheets.worked_example import hello_example
from bpttlab.reports.sheets.writer import SHEETS

#: What the English LSTM sheet's PDF is checked for (test_sheet.py): the Indonesian one must show it too.
LSTM_TEXT = ("Ct = ft ⊙ Ct−1 + it ⊙ C̃t", "ht = ot ⊙ tanh(Ct )", "= diag(ft )", "diag(fj )",
             "af,t = Wf [ht−1 ; xt ] + bf = Whf ht−1 + Wxf xt + bf", "Wf = [Whf Wxf ]")
ENGLISH_HEADINGS = ("Forward", "Backward", "Backpropagation", "Symbols", "Outputs", "Worked example",
                    "Step Jacobians", "Vanishing", "Scalar definitions", "Output layer", "loss")


@pytest.fixture(scope="module")
def indonesian(written_sheet, pdflatex, pdftotext):  # noqa: ARG001 (fixtures requested for their check that the tools are installed)
    """The LSTM sheet (course notation) and the RNN sheet (dlbook notation), in Indonesian, compiled
    (conftest's written_sheet)."""
    written = {}
    for sheet, notation_name in (("lstm", "course"), ("rnn", "dlbook")):
        result = written_sheet(sheet, "id", notation_name)
        assert result.pdf is not None, f"{sheet}.id.{notation_name} did not compile"
        log = result.tex.with_suffix(".log")
        assert log.is_file() and not overfull_boxes(log.read_text(errors="replace"))
        written[sheet] = (result.tex.read_text(encoding="utf-8"), pdf_text(result.pdf))
    return written


def test_the_indonesian_lstm_sheet_shows_the_equations_of_the_english_one(indonesian):
    _, text = indonesian["lstm"]
    for line in LSTM_TEXT:
        assert line in text, f"{line!r} missing from the Indonesian LSTM sheet"
    for symbol in ("⊙", "σ", "tanh", "diag", "δ", "∂L/∂W", "h⊤"):
        assert symbol in text, symbol


@pytest.mark.parametrize("sheet", ["lstm", "rnn"])
def test_the_indonesian_pdfs_have_their_own_headings_and_no_english_ones(indonesian, sheet):
    tex, text = indonesian[sheet]
    headings = re.findall(r"\\(?:sub)*section\*?\{([^{}$\\]+)\}", tex)  # the plain-text headings
    assert len(headings) >= 5, headings
    flat = " ".join(text.split())
    for heading in headings:
        assert " ".join(heading.split()) in flat, f"heading {heading!r} not in the PDF text"
    printed_headings = [line.strip() for line in text.splitlines() if re.match(r"\s*\d+(\.\d+)*\s+\S", line)]
    for word in ENGLISH_HEADINGS:
        assert not any(word in line for line in printed_headings), (word, printed_headings)


def test_the_indonesian_worked_example_writes_a_decimal_comma(indonesian):
    _, text = indonesian["rnn"]
    text = text.split("import torch")[0]  # the PyTorch snippet is Python: decimal points
    loss = round(hello_reference(hello_example().params).loss, 3)
    assert f"L = {loss:.3f}".replace(".", ",") in text
    assert f"{loss:.3f}" not in text
    numbers = re.findall(r"(?<![\d.,])-?\d+[.,]\d{3}(?![\d.,])", text)
    assert numbers and all("," in n for n in numbers), [n for n in numbers if "." in n][:5]


def test_the_indonesian_dlbook_sheet_shows_goodfellows_symbols_in_its_pdf(indonesian):
    _, text = indonesian["rnn"]
    assert "a(t) = W h(t−1) + U x(t) + b" in text and "h(t) = tanh(a(t) )" in text
    assert "Whh" not in text and "Wxh" not in text and "ht−1" not in text


def course_only_symbols():
    """The course's spelling of every parameter, state and intermediate of the registered cells where
    dlbook spells it otherwise (W_{hh} against \\bm{W}, h_{t-1} against \\bm{h}^{(t-1)}, …), from the
    notations themselves; one- and two-letter spellings are left out (they occur inside others)."""
    course, dlbook = notation("course"), notation("dlbook")
    names = {str(p) for c in CELLS.values() for p in c.params} | {"W_hy", "b_y"}
    names |= {eq.lhs.name for c in CELLS.values() for eq in c.equations}
    names |= {"h_{t-1}", "c_{t-1}"}
    spelled = {course.latex(n) for n in names if course.latex(n) != dlbook.latex(n)}
    return {s for s in spelled if len(s) > 3}


def without_the_notation_key(tex):
    """The sheet without its table of every notation side by side (which names the course's symbols
    on purpose)."""
    key_table = r"\\begin\{table\}(?:(?!\\end\{table\}).)*?tab:key.*?\\end\{table\}"
    return re.sub(key_table, "", tex, flags=re.DOTALL)


@pytest.mark.parametrize("lang", ["en", "id"])
@pytest.mark.parametrize("sheet", SHEETS)
def test_dlbook_sheets_print_no_course_symbols_and_course_sheets_no_dlbook_ones(rendered_sheet, sheet, lang):
    dlbook_tex = without_the_notation_key(rendered_sheet(sheet, lang, "dlbook"))
    found = sorted(s for s in course_only_symbols() if s in dlbook_tex)
    where = [line.strip()[:90] for line in dlbook_tex.splitlines() if any(s in line for s in found)]
    assert not found, f"course symbols in the dlbook {sheet} sheet: {found[:8]}, in {where[:3]}"
    course_tex = without_the_notation_key(rendered_sheet(sheet, lang, "course"))
    assert r"\bm{" not in course_tex, "dlbook's bold symbols in a course sheet"


@pytest.mark.parametrize("sheet", ["course", "lstm", "gru"])
def test_the_indonesian_sheets_gloss_the_courses_terms_once_at_their_first_use(rendered_sheet, sheet):
    """BPTT, the vanishing gradient and the gate names: the English term in parentheses once, no later
    than the first time the prose of the sheet's sections uses the Indonesian one (headings, the notation
    key's table and the introduction's list of parts name them without a gloss), and never again."""
    from bpttlab.reports.sheets.languages import LANGUAGES

    terms = LANGUAGES["id"].terms
    tex = " ".join(rendered_sheet(sheet, "id", "course").split(r"\maketitle", 1)[1].split()).lower()
    key_table = re.search(r"\\begin\{table\}((?!\\end\{table\}).)*tab:key.*?\\end\{table\}", tex)
    if key_table:
        tex = tex.replace(key_table.group(0), "")
    sections = tex.index(r"\section")
    tex = re.sub(r"\\(sub)*section\*?(\[[^]]*\])?\{[^}]*\}", "", tex)  # headings name, the prose glosses
    wanted = ("bptt", "forget_gate", "input_gate", "output_gate", "update_gate", "vanishing", "hidden_state",
              "many_to_many", "finite_difference", "unrolled", "cross_entropy")
    glossed = 0
    for key in wanted:
        word, english = (part.lower() for part in terms[key])
        gloss = f"{word} ({english})"
        if word not in tex[sections:]:
            continue
        glossed += 1
        assert tex.count(gloss) == 1, (key, tex.count(gloss))
        assert tex.index(gloss) <= tex.index(word, sections), key  # the first use carries the gloss
    assert glossed >= (len(wanted) if sheet == "course" else 1)
    assert "dibentangkan" not in tex and "pengurai sandi" not in tex  # the course's terms: dibuka, dekoder
