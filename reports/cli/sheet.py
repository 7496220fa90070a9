"""``bpttlab sheet``: write the equation sheets (``.tex``, and PDF where pdflatex exists)."""

from __future__ import annotations

import argparse
import sys
import time

from bpttlab.derivations import CELLS
from bpttlab.derivations.printing.notations import NOTATIONS
from bpttlab.reports.sheets.pdflatex import INSTALL_TEX, pdflatex_available
from bpttlab.reports.sheets.writer import COMBINED, LANGUAGES, write_sheets

__all__ = ["build_parser", "run"]


def _choices(valid: tuple[str, ...]) -> list[str]:
    return [*valid, "all"]


def _expand(values: list[str], valid: tuple[str, ...]) -> tuple[str, ...]:
    return valid if "all" in values else tuple(dict.fromkeys(values))


def build_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``bpttlab sheet`` to ``parser``."""
    parser.add_argument("--cell", nargs="+", choices=_choices((*CELLS, COMBINED)), default=["all"],
                        help=f"cells to write a sheet for; '{COMBINED}' is the combined sheet (default: all)")
    parser.add_argument("--lang", nargs="+", choices=_choices(LANGUAGES), default=["all"],
                        help="en, id or all (default: all)")
    parser.add_argument("--notation", nargs="+", choices=_choices(NOTATIONS), default=["course"],
                        help="course (the course's W_hh, W_xh) or dlbook (Goodfellow's U, W, V); "
                             "default course")
    parser.add_argument("--out", default="build/sheets", help="output directory (default: build/sheets)")
    parser.add_argument("--decay-figures", metavar="DIR",
                        help="include the figure of a `bpttlab decay --out DIR` run in the decay section")
    parser.add_argument("--pdf", action=argparse.BooleanOptionalAction, default=None,
                        help="compile with pdflatex (default: when pdflatex is installed)")


def run(args: argparse.Namespace) -> int:
    """Write the sheets; print one line per file."""
    pdf = pdflatex_available() if args.pdf is None else args.pdf
    if args.pdf and not pdflatex_available():
        print(f"bpttlab sheet: pdflatex not found; {INSTALL_TEX}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    sheets = write_sheets(args.out, _expand(args.cell, (*CELLS, COMBINED)), _expand(args.lang, LANGUAGES),
                          _expand(args.notation, NOTATIONS), pdf=pdf,
                          decay_figures=args.decay_figures)
    for sheet in sheets:
        print(f"wrote {sheet.tex}" + (f" and {sheet.pdf}" if sheet.pdf else ""))
    if not pdf:
        print(f"PDFs not compiled: {INSTALL_TEX}")
    print(f"{len(sheets)} sheets in {time.perf_counter() - start:.1f} s")
    return 0
