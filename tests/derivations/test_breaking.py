"""Line breaking of long printed sums (derivations/printing/breaking.py): every line of every cell's
Jacobian blocks fits the display, and no short piece is left on a line of its own between two full
ones (the old sheets broke the GRU's ∂h/∂h after "W^h (", leaving diag(r) alone)."""

from functools import partial

import pytest

from bpttlab.derivations import CELLS, derive
from bpttlab.derivations.printing.breaking import BREAK, LINE_WIDTH, broken, lines, visible_width
from bpttlab.derivations.printing.latex_printer import gates, latex
from bpttlab.derivations.printing.notations import NOTATIONS
from bpttlab.derivations.structure import combined


@pytest.mark.parametrize("notation", NOTATIONS)
@pytest.mark.parametrize("cell", list(CELLS))
def test_every_broken_line_fits_and_none_but_the_last_is_short(cell, notation):
    d = derive(cell, head=None)
    show = partial(latex, notation=notation, gates=gates(d.cell))
    for key, J in d.jacobian.items():
        printed = broken(combined(J), show).split(BREAK)
        widths = [visible_width(line) for line in printed]
        assert all(w <= LINE_WIDTH or len(printed) == 1 for w in widths), (key, widths)
        assert all(w >= 0.3 * LINE_WIDTH for w in widths[:-1]), (key, widths, printed)


def test_the_least_squared_slack_beats_filling_greedily():
    # greedy would give [A + B, C alone, D]; the balanced setting never leaves the short C alone
    parts = ["x" * 20, "+ " + "y" * 20, "+ z", "+ " + "w" * 40]
    found = lines(parts, width=visible_width("x" * 44))
    assert all(line.strip() not in ("+ z",) for line in found[:-1]), found
