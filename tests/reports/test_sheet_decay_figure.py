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
    sheet = written_sheet(COMBINED, lang, "course", decay_figures=True, pdf=False)
    tex = sheet.tex.read_text()
    sections = re.split(r"\\section", tex)
    for name in BUILT_IN:
        own = [s for s in sections if f"figures/decay_{name}.course.{lang}.pdf" in s]
        assert len(own) == 1, name
        assert re.search(rf"\\label{{sec:{name}}}", own[0]), f"{name}'s figure outside its section"
    lstm = next(s for s in sections if "figures/decay_lstm." in s)
    assert ("b_f = 1" in lstm) and ("two curves" in lstm if lang == "en" else "dua kurva" in lstm)
    gru = next(s for s in sections if "figures/decay_gru." in s)
    assert "b_f" not in gru.split("\\begin{figure}")[1]
