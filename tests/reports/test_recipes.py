"""The recipes of CONTRIBUTING.md, followed in temporary registrations: a third notation (the symbols of
Dive into Deep Learning) and a German language with a few words of its own. Each time a rendered sheet
compiles, and no sentence on it is about another entry: the d2l sheet does not say it follows the
course or the book, the German sheet writes German numbers and says nothing in the words it replaced
in English (pdflatex required)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bpttlab.derivations.printing.notations import (
    NOTATIONS,
    CourseNotation,
    Name,
    Typeset,
    register_notation,
    unregister_notation,
)
from bpttlab.reports.sheets.languages import LANGUAGES, load_language, register_language, unregister_language
from bpttlab.reports.sheets.pdflatex import overfull_boxes, pdf_text
from bpttlab.reports.sheets.writer import COMBINED, render_sheet, write_sheets


class DiveIntoDeepLearning(CourseNotation):
    """d2l's letters: a step's values capitalised (H_t, X_t, I_t, C̃_t …), as its minibatch matrices are;
    the output weights W_{hq}."""

    name = "d2l"
    concatenated_weights = False

    def _value(self, name: Name) -> Typeset:
        typeset = super()._value(name)
        body = typeset.body
        if len(body) == 1 and body.islower():
            body = body.upper()
        return replace(typeset, body=body)

    def _parameter(self, name: Name) -> Typeset:
        typeset = super()._parameter(name)
        return replace(typeset, sub=typeset.sub.replace("y", "q"))


D2L_WORDS = {
    "notation.d2l.name": "d2l",
    "notation.d2l.intro": "The notation follows \\emph{Dive into Deep Learning}: capital letters for a "
                          "step's values.",
}


@pytest.fixture
def d2l():
    """The recipe: a Notation subclass, registered, with its words in every language."""
    saved = dict(LANGUAGES)
    register_notation(DiveIntoDeepLearning())
    for lang in saved.values():
        register_language(replace(lang, words={**lang.words, **D2L_WORDS}), replace=True)
    try:
        yield "d2l"
    finally:
        unregister_notation("d2l")
        for lang in saved.values():
            register_language(lang, replace=True)


@pytest.mark.usefixtures("pdflatex")
def test_a_third_notation_is_one_registration_and_its_words(d2l, tmp_path):
    assert "d2l" in NOTATIONS
    (sheet,) = write_sheets(tmp_path, ["lstm"], ["en"], [d2l], pdf=True)
    tex = sheet.tex.read_text(encoding="utf-8")
    assert "Dive into Deep Learning" in tex
    assert "follows the course" not in tex and "Goodfellow" not in tex  # no sentence about another notation
    assert r"H_t &= O_t \odot \tanh(C_t)" in tex and r"\bm{" not in tex
    assert not overfull_boxes(sheet.tex.with_suffix(".log").read_text(errors="replace"))
    course = render_sheet(COMBINED, "en", "course", worked=False)
    start = course.index(r"\label{tab:key}")
    key = course[start:course.index(r"\end{tabular}", start)]
    assert "d2l" in key and "$H_t$" in key  # the notation key gains its column


GERMAN = {
    "heading.notation": "Notation",
    "heading.forward": "Vorwärtsschritt",
    "heading.heads": "Ausgaben und Verluste",
    "title.cell": r"Backpropagation durch die Zeit: \VAR{title(first)}",
    "and": "und",
}


@pytest.fixture
def german(tmp_path):
    """The recipe: the English words file copied, its [language] table made German, a few words
    translated, the file loaded and registered."""
    english = Path(__file__).parents[2] / "reports" / "sheets" / "words" / "en.toml"
    text = english.read_text(encoding="utf-8")
    text = text.replace('code = "en"', 'code = "de"').replace('name = "English"', 'name = "Deutsch"')
    text = text.replace('babel = "english"', 'babel = "provide=*,german"')
    text = text.replace('decimal_mark = "."', 'decimal_mark = ","').replace(
        'thousands_separator = ","', 'thousands_separator = "."').replace(
        'interval_separator = ","', 'interval_separator = ";"')
    path = tmp_path / "de.toml"
    path.write_text(text, encoding="utf-8")
    lang = load_language(path)
    register_language(replace(lang, words={**lang.words, **GERMAN}))
    try:
        yield "de"
    finally:
        unregister_language("de")


@pytest.mark.usefixtures("pdflatex")
def test_a_german_language_is_a_words_file(german, tmp_path):
    (sheet,) = write_sheets(tmp_path, ["rnn"], [german], ["course"], pdf=True)
    text = " ".join(pdf_text(sheet.pdf).split())
    assert "Backpropagation durch die Zeit: Elman RNN" in text and "Ausgaben und Verluste" in text
    assert "Forward pass" not in text and "Outputs and losses" not in text  # replaced, nowhere in English
    tex = sheet.tex.read_text(encoding="utf-8")
    assert "0{,}5" in tex or "0{,}1" in tex  # German numbers: the decimal comma
    worked = tex[tex.index(r"\texttt{hello}"):tex.index("import torch")]
    assert not __import__("re").search(r"\d\.\d{3}", worked)  # and never a decimal point there
