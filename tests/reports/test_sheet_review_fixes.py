"""A lecturer's reads of the course sheets: the notation key marks the sheet's own notation and lists
every registered notation; the hello example's zero column names its letter with a space after it;
the sums of all later losses print the loss in the sheet's notation; the chain rule at T = 3 is said
to be the many-to-one case (δh_1 = J_2ᵀ J_3ᵀ δh_3 holds for L = ℓ_3 only); the bound writes the
activation's own derivative, diag(φ′(a_j)), not tanh's diag(1 − h²); the types of RNN are four."""

import re

import pytest

from bpttlab.derivations.printing.notations import NOTATIONS
from bpttlab.reports.sheets.writer import COMBINED, render_sheet, words_in


@pytest.mark.parametrize(("lang", "course", "book"), [("en", "course", "Deep Learning book"),
                                                      ("id", "kuliah", "buku Deep Learning")])
def test_the_notation_key_marks_the_sheets_own_notation(lang, course, book):
    mark = {"en": "(this sheet)", "id": "(lembar ini)"}[lang]
    for notation, own, other in (("course", course, book), ("dlbook", book, course)):
        tex = render_sheet(COMBINED, lang, notation, worked=False)
        assert f"{own} {mark}" in tex and f"{other} {mark}" not in tex, notation
        key = tex[tex.index(r"\label{tab:key}"):tex.index(r"\end{tabular}", tex.index(r"\label{tab:key}"))]
        assert key.count(r"\\") == 1 + 12 and len(NOTATIONS) == 2  # a column per registered notation


@pytest.mark.parametrize("lang", ["en", "id"])
def test_the_zero_column_letter_is_followed_by_a_space_and_later_losses_use_the_sheets_symbols(lang):
    tex = " ".join(render_sheet("rnn", lang, "dlbook", worked=True).split())
    assert re.search(r"\\texttt\{o\}[a-z]", tex) is None
    assert r"\partial \ell_{t'}" not in tex and r"\partial L^{(u)}" in tex


@pytest.mark.parametrize("lang", ["en", "id"])
def test_the_chain_at_three_steps_is_the_many_to_one_case(rendered_sheet, lang):
    for cell in ("rnn", "lstm"):
        tex = " ".join(rendered_sheet(cell, lang, "course").split())
        assert {"en": "many-to-one", "id": "banyak-ke-satu"}[lang] in tex
        assert r"\left( \frac{\partial \ell_3}{\partial h_1} \right)^{\!\top}" in tex \
            or r"(\partial \ell_3 / \partial h_1)^{\top}" in tex
        assert r"\delta h_1 &= \left(" not in tex  # the old, false δh₁ for a loss at every step


def test_the_bound_writes_the_activations_own_derivative(rendered_sheet):
    tex = rendered_sheet("rnn", "en", "course")
    assert r"\operatorname{diag}\bigl(\tanh'(a_j)\bigr)" in tex
    assert r"\operatorname{diag}(1 - h_j^{2})" not in tex
    assert "sufficient, not necessary" in tex and "cannot learn" not in tex


@pytest.mark.parametrize("lang", ["en", "id"])
def test_the_course_names_four_types_of_rnn(rendered_sheet, lang):
    prose = words_in(rendered_sheet(COMBINED, lang, "course"))
    said = {"en": "The course names four types", "id": "membedakan empat jenis"}[lang]
    assert said in " ".join(prose.split())
    assert "five ways" not in prose and "lima cara" not in prose
