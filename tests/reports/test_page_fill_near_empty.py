"""A page the source ends on purpose (``\\clearpage`` before the solutions) is exempt from the fill
check, but not when it is nearly empty: the exercises spilling a line onto a page of their own is
what a reader sees as a blank page (issue 13, layout)."""

from bpttlab.reports.sheets.page_fill import MIN_FILL, NEAR_EMPTY, Page, under_filled


def test_a_forced_page_is_exempt_unless_it_is_nearly_empty():
    half = Page(1, (MIN_FILL + NEAR_EMPTY) / 2, "Exercises")
    spill = Page(2, NEAR_EMPTY / 4, "Exercise 9.")
    full = Page(3, 0.95, "Solutions")
    last = Page(4, 0.1, "Exercise 9 solution")
    assert under_filled((half, full, last)) == [half]
    assert under_filled((half, full, last), forced=frozenset({2})) == []  # half-full before \clearpage: fine
    assert under_filled((full, spill, last), forced=frozenset({3})) == [spill]  # nearly empty: flagged
    assert under_filled((full, spill, last)) == [spill]
