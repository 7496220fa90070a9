"""How long the equation sheets take: every sheet (each registered cell, the combined course sheet
and the variants sheet) in both languages and both notations, ``.tex`` only and with PDFs (pdflatex
twice each). The first run in a process
includes deriving every cell, as a user's first ``bpttlab sheet`` does.

>>> rows = time_sheets(pdf=False)
>>> rows[0].what, rows[0].sheets
('.tex only', 64)
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bpttlab.derivations.printing.notations import NOTATIONS
from bpttlab.reports.sheets.writer import LANGUAGES, all_sheets, write_sheets

__all__ = ["SheetTiming", "format_sheet_timings", "time_sheets"]


@dataclass(frozen=True)
class SheetTiming:
    what: str
    sheets: int
    seconds: float


def _timed(pdf: bool) -> SheetTiming:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        written = write_sheets(out, all_sheets(), LANGUAGES, NOTATIONS, pdf=pdf)
        seconds = time.perf_counter() - started
    return SheetTiming("with PDFs" if pdf else ".tex only", len(written), seconds)


def time_sheets(pdf: bool = True) -> list[SheetTiming]:
    """Write every sheet once as ``.tex`` only, then (if ``pdf``) once more with PDFs."""
    return [_timed(False)] + ([_timed(True)] if pdf else [])


def format_sheet_timings(rows: Sequence[SheetTiming]) -> str:
    return "\n".join(f"{r.what:<10} {r.sheets:>3} sheets {r.seconds:7.2f} s" for r in rows)
