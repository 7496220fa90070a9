"""The review of rendered pages (reports/sheets/review.py): it finds each kind of defect on a crafted
document, and finds none on the course sheet in both languages and on a sheet in the book's notation,
and on the variants sheet, as ``bpttlab sheet --decay-figures`` writes them (pdflatex and poppler
required)."""

from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.figure import Figure

from bpttlab.reports.sheets.pdflatex import compile_pdf
from bpttlab.reports.sheets.review import review
from bpttlab.reports.sheets.writer import COMBINED, VARIANTS_SHEET

PREAMBLE = r"""\documentclass[11pt,a4paper]{article}
\usepackage[margin=2cm]{geometry}\usepackage{amsmath,graphicx,longtable}
\begin{document}
"""
WORDS = "Every word of this paragraph is filler that runs on and on across the page without a stop "


def compiled(tmp_path: Path, body: str) -> Path:
    tex = tmp_path / "crafted.tex"
    tex.write_text(PREAMBLE + body + "\n\\end{document}\n", encoding="utf-8")
    return compile_pdf(tex)


@pytest.mark.parametrize(("sheet", "lang", "notation"),
                         [(COMBINED, "en", "course"), (COMBINED, "id", "course"), ("lstm", "en", "dlbook"),
                          (VARIANTS_SHEET, "id", "dlbook")])  # its 40-row symbol table floats whole
@pytest.mark.usefixtures("pdflatex", "pdftotext")
def test_the_sheets_pass_the_review(written_sheet, sheet, lang, notation):
    written = written_sheet(sheet, lang, notation, decay_figures=True)
    assert [str(finding) for finding in review(written.pdf)] == []


@pytest.mark.usefixtures("pdflatex", "pdftotext")
def test_the_review_finds_a_continuation_line_left_of_its_relation(tmp_path):
    pdf = compiled(tmp_path, r"\begin{align*} a_{long} + b_{long} &= c + d \\ + e + f & \end{align*}")
    assert [f.kind for f in review(pdf)] == ["operator left"]


@pytest.mark.usefixtures("pdflatex", "pdftotext")
def test_the_review_finds_a_label_too_small_to_print(tmp_path):
    figure = Figure(figsize=(6.7, 3))
    figure.add_subplot().set_title("tiny", fontsize=5)
    figure.savefig(tmp_path / "tiny.pdf")
    pdf = compiled(tmp_path, r"\includegraphics[width=\linewidth]{tiny.pdf}")
    assert "small label" in [f.kind for f in review(pdf)]


@pytest.mark.usefixtures("pdflatex", "pdftotext")
def test_the_review_finds_a_sentence_cut_by_a_float_and_a_short_page(tmp_path):
    filler = (WORDS * 9 + ".\n\n") * 6
    body = (filler + WORDS * 30 + r"\begin{figure}[t]\centering\rule{4cm}{6cm}\caption{A float.}\end{figure}"
            + WORDS * 40 + ".\n\n\\clearpage " + WORDS * 5 + ".\n\\newpage x")
    kinds = [f.kind for f in review(compiled(tmp_path, body))]
    assert "split sentence" in kinds


@pytest.mark.usefixtures("pdflatex", "pdftotext")
def test_the_review_finds_a_float_set_down_inside_a_sentence(tmp_path):
    body = (WORDS * 4 + r"\begin{table}[h]\centering\caption{A table.}\begin{tabular}{ll} a & b \\ c & d"
            r"\end{tabular}\end{table}" + WORDS * 4 + ".")
    assert [f.kind for f in review(compiled(tmp_path, body))] == ["split sentence"]


@pytest.mark.usefixtures("pdflatex", "pdftotext")
def test_the_review_finds_a_table_split_over_pages(tmp_path):
    rows = "".join(f"x & y & row {i} \\\\\n" for i in range(80))
    body = (r"\begin{longtable}{lll}\caption{A long table.}\\ symbol & space & meaning \\ \endhead " + rows
            + r"\end{longtable}")
    assert "split table" in [f.kind for f in review(compiled(tmp_path, body))]
