"""LaTeX equation sheets: context from the derivations, Jinja2 templates in English and Indonesian,
the course's worked example, latexify-py scalar blocks, a ``pdflatex`` runner, numbers in each
language's decimal mark and the page-fill check of a compiled sheet."""

from bpttlab.reports.sheets.numbers import number
from bpttlab.reports.sheets.page_fill import continued, pages, under_filled
from bpttlab.reports.sheets.pdflatex import LatexError, compile_pdf, pdflatex_available
from bpttlab.reports.sheets.writer import (
    COMBINED,
    LANGUAGES,
    SHEETS,
    Sheet,
    render_sheet,
    sheet_name,
    write_sheets,
)

__all__ = [
    "COMBINED",
    "LANGUAGES",
    "SHEETS",
    "LatexError",
    "Sheet",
    "compile_pdf",
    "continued",
    "number",
    "pages",
    "pdflatex_available",
    "render_sheet",
    "sheet_name",
    "under_filled",
    "write_sheets",
]
