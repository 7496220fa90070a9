"""``bpttlab sheet``: write the equation sheets (``.tex``, and PDF where pdflatex exists).

``--cell`` takes registered cell names, ``course`` (the combined sheet of the built-in cells),
``variants`` (the shipped variants), ``all`` (every one of those), or paths to ``.cell`` files; an
unknown name or a bad file exits with status 2 and one line naming it, a cell whose derivation does
not prove exact with status 1 and one line naming the cell and the check (no sheet is written for it).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bpttlab.derivations import CELLS, resolve_cell
from bpttlab.derivations.printing.notations import NOTATIONS
from bpttlab.reports.sheets.pdflatex import INSTALL_TEX, pdflatex_available
from bpttlab.reports.sheets.writer import (
    COMBINED,
    LANGUAGES,
    VARIANTS_SHEET,
    ProofFailed,
    all_sheets,
    write_sheets,
)

__all__ = ["build_parser", "expand_sheets", "run"]


def _choices(valid: tuple[str, ...]) -> list[str]:
    return [*valid, "all"]


def _expand(values: list[str], valid: tuple[str, ...]) -> tuple[str, ...]:
    return valid if "all" in values else tuple(dict.fromkeys(values))


def expand_sheets(values: list[str]) -> tuple[object, ...]:
    """The sheets ``--cell`` asks for: names as they are, ``all`` as every sheet, each path as the
    cell read from it. A ``ValueError`` names the first value that is neither."""
    sheets: list[object] = []
    for value in values:
        if value == "all":
            sheets += all_sheets()
        elif value in CELLS or value in (COMBINED, VARIANTS_SHEET):
            sheets.append(value)
        elif value.endswith(".cell") or "/" in value or "\\" in value or Path(value).is_file():
            sheets.append(resolve_cell(value))  # a bad file: its own one-line error
        else:
            raise ValueError(f"unknown cell {value!r}; valid: {', '.join(all_sheets())}, all, "
                             f"or a path to a .cell file")
    unique = {getattr(s, "name", s): s for s in sheets}  # a cell named twice is written once
    return tuple(unique.values())


def build_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``bpttlab sheet`` to ``parser``."""
    parser.add_argument("--cell", nargs="+", metavar="CELL", default=["all"],
                        help=f"cells to write a sheet for: registered names ({', '.join(CELLS)}), "
                             f"'{COMBINED}' (the combined sheet of the built-in cells), '{VARIANTS_SHEET}' "
                             f"(the shipped variants), 'all', or paths to .cell files (default: all)")
    parser.add_argument("--lang", nargs="+", choices=_choices(LANGUAGES), default=["all"],
                        help="en, id or all (default: all)")
    parser.add_argument("--notation", nargs="+", choices=_choices(NOTATIONS), default=["course"],
                        help="course (the course's W_hh, W_xh) or dlbook (Goodfellow's U, W, V); "
                             "default course")
    parser.add_argument("--out", default="build/sheets", help="output directory (default: build/sheets)")
    parser.add_argument("--decay-figures", metavar="DIR",
                        help="include the figures of a `bpttlab decay --out DIR` run: each cell's decay "
                             "section, and on the course sheet the clipping and truncation measurements")
    parser.add_argument("--pdf", action=argparse.BooleanOptionalAction, default=None,
                        help="compile with pdflatex (default: when pdflatex is installed)")


def run(args: argparse.Namespace) -> int:
    """Write the sheets; print one line per file."""
    try:
        sheets = expand_sheets(args.cell)
    except ValueError as error:
        message = " ".join(str(error).split())  # one line, whatever the file held
        print(f"bpttlab sheet: error: {message}", file=sys.stderr)
        return 2
    pdf = pdflatex_available() if args.pdf is None else args.pdf
    if args.pdf and not pdflatex_available():
        print(f"bpttlab sheet: pdflatex not found; {INSTALL_TEX}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        sheets = write_sheets(args.out, sheets, _expand(args.lang, LANGUAGES),
                              _expand(args.notation, NOTATIONS), pdf=pdf,
                              decay_figures=args.decay_figures)
    except ProofFailed as error:  # not a misuse: the derivation is wrong, and nothing is written
        print(f"bpttlab sheet: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    for sheet in sheets:
        print(f"wrote {sheet.tex}" + (f" and {sheet.pdf}" if sheet.pdf else ""))
    if not pdf:
        print(f"PDFs not compiled: {INSTALL_TEX}")
    print(f"{len(sheets)} sheets in {time.perf_counter() - start:.1f} s")
    return 0
