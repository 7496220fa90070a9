"""Each cell's section shows a decay figure of that cell alone (issue 13): drawn from the study's data
in the sheet's language and notation, captioned with the head, the loss, the sizes, the input, the
forget-gate bias where the cell has one and the measured fall of each of its curves."""

import re

import pytest

from bpttlab.derivations.cells import BUILT_IN
from bpttlab.reports.sheets.decay_figure import cell_decay_figures
from bpttlab.reports.sheets.writer import COMBINED


def test_each_cell_gets_its_own_curves(sheets_decay_folder, tmp_path):
    figures = cell_decay_figures(sheets_decay_folder, tmp_path, ("rnn", "lstm", "gru_torch", "mgu"), "id",
                                 "dlbook")
    counts = {name: len(f.curves) for name, f in figures.items()}
    assert counts == {"rnn": 1, "lstm": 2, "gru_torch": 1, "mgu": 1}
    assert [c.symbol for c in figures["lstm"].curves] == [r"\bm{h}^{(k)}", r"\bm{s}^{(k)}"]
    assert figures["lstm"].forget_bias == "1" and figures["rnn"].forget_bias == ""
    assert figures["lstm"].gate_at_bias == "0{,}73"  # σ(1), in the Indonesian decimal mark
    for name, figure in figures.items():
        assert figure.path == f"figures/decay_{name}.dlbook.id.pdf" and (tmp_path / figure.path).is_file()
        assert all("." not in c.factor and "." not in c.decades for c in figure.curves)


@pytest.mark.parametrize("lang", ["en", "id"])
def test_the_course_sheet_shows_one_figure_per_cell_in_its_section(written_sheet, lang):
    """Each cell's figure is called within that cell's part of the sheet: after its label, before the
    next cell's (the first cell's part runs through the general sections that use it)."""
    sheet = written_sheet(COMBINED, lang, "course", decay_figures=True, pdf=False)
    tex = sheet.tex.read_text()
    labels = [tex.index(rf"\label{{sec:{name}}}") for name in BUILT_IN] + [len(tex)]
    for name, start, end in zip(BUILT_IN, labels, labels[1:], strict=False):
        where = [m.start() for m in re.finditer(re.escape(f"figures/decay_{name}.course.{lang}.pdf"), tex)]
        assert len(where) == 1 and start < where[0] < end, name
    lstm = tex[labels[1]:labels[2]]
    caption = lstm[lstm.index(r"\caption", lstm.index("figures/decay_lstm.")):]
    assert "b_f = 1" in caption and "$h_k$" in caption and "$C_k$" in caption
    gru = tex[labels[2]:labels[3]]
    assert "b_f" not in gru.split("\\begin{figure}")[-1].split("\\end{figure}")[0]
