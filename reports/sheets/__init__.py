"""LaTeX equation sheets: context from the derivations, Jinja2 templates in English and Indonesian,
the course's worked example, latexify-py scalar blocks and a ``pdflatex`` runner."""

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
    "pdflatex_available",
    "render_sheet",
    "sheet_name",
    "write_sheets",
]
