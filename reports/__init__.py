"""bpttlab.reports: equation sheets, decay figures, REPORT.md, benchmarks and the ``bpttlab`` command
line."""

from bpttlab.reports.cli import main
from bpttlab.reports.decay import decay_figures, write_decay
from bpttlab.reports.report import write_report
from bpttlab.reports.sheets import compile_pdf, render_sheet, write_sheets

__all__ = [
    "compile_pdf",
    "decay_figures",
    "main",
    "render_sheet",
    "write_decay",
    "write_report",
    "write_sheets",
]
