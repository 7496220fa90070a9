"""A lecturer's second read of the course sheets (issue 13): the exercises' solutions print what a
step sends back as the sheet's own δh_{t-1}^{(t)} and the GRU Jacobian with its two W_hz terms merged,
as the cells' sections do; the notation key marks the sheet's own notation; the hello example's
zero column names its letter with a space after it; the sums of all later losses print the loss in
the sheet's notation."""

import re

import pytest

from bpttlab.derivations.cells import BUILT_IN
from bpttlab.reports.sheets.topics import exercises
from bpttlab.reports.sheets.writer import COMBINED, render_sheet


@pytest.mark.parametrize("notation", ["course", "dlbook"])
def test_step_solutions_name_what_the_step_sends_back_not_the_total(notation):
    steps = [e for e in exercises(BUILT_IN, notation) if e.kind == "step"]
    assert len(steps) == len(BUILT_IN)
    sent = {"course": r"h_{t-1}^{(t)}", "dlbook": r"\bm{h}^{(t-1 \leftarrow t)}"}[notation]
    for exercise in steps:
        left_sides = [line.split("&=")[0].strip() for line in exercise.solution.split("\\\\")]
        assert any(sent in side for side in left_sides), (exercise.cell, left_sides)
        total = {"course": r"\delta h_{t-1}", "dlbook": r"\delta \bm{h}^{(t-1)}"}[notation]
        assert total not in left_sides, exercise.cell  # the total is the head's term plus this one


def test_jacobian_solutions_merge_the_terms_on_one_matrix():
    for exercise in (e for e in exercises(BUILT_IN, "course") if e.kind == "jacobian"):
        for block in exercise.solution.split(r"\frac")[1:]:
            matrices = re.findall(r"\) (W_\{[^}]*\})", block)
            assert len(matrices) == len(set(matrices)), (exercise.cell, matrices)


@pytest.mark.parametrize(("lang", "course", "book"), [("en", "course", "dlbook"), ("id", "kuliah", "dlbook")])
def test_the_notation_key_marks_the_sheets_own_notation(lang, course, book):
    mark = {"en": "(this sheet)", "id": "(lembar ini)"}[lang]
    for notation, own, other in (("course", course, book), ("dlbook", book, course)):
        tex = render_sheet(COMBINED, lang, notation, worked=False)
        assert f"{own} {mark}" in tex and f"{other} {mark}" not in tex, notation


@pytest.mark.parametrize("lang", ["en", "id"])
def test_the_zero_column_letter_is_followed_by_a_space_and_later_losses_use_the_sheets_symbols(lang):
    tex = render_sheet("rnn", lang, "dlbook", worked=True)
    assert re.search(r"\\texttt\{o\}[a-z]", tex) is None
    assert r"\partial \ell_{t'}" not in tex and r"\partial L^{(u)}" in tex
