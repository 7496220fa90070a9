"""Equation sheets: the templates in ``reports/sheets/templates`` filled with what :mod:`.context`
prints from the derivations, written as ``.tex`` and compiled to PDF.

One sheet per cell and one combined course sheet, in English or Indonesian, in the course's
notation or the Deep Learning book's. The same options always give the same bytes.

>>> tex = render_sheet("rnn", lang="en", notation="course", worked=False)
>>> r"h_t &= \\tanh" in tex.replace("\\\\left(", "(")
True
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import jinja2

from bpttlab.derivations import CELLS, HEADS
from bpttlab.derivations.printing.notations import NOTATIONS
from bpttlab.reports.atomic import write_text
from bpttlab.reports.sheets.context import cell_sheet, common_symbols, head_sheet, recurrences
from bpttlab.reports.sheets.scalar_blocks import scalar_blocks
from bpttlab.reports.sheets.worked_example import example_latex, hello_example

__all__ = ["COMBINED", "LANGUAGES", "SHEETS", "Sheet", "render_sheet", "sheet_name", "write_sheets"]

LANGUAGES = ("en", "id")
COMBINED = "course"  # the sheet with every cell
SHEETS = (*CELLS, COMBINED)
TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Sheet:
    """One written sheet: its ``.tex`` and, if compiled, its ``.pdf``."""

    name: str
    tex: Path
    pdf: Path | None


@cache
def _environment() -> jinja2.Environment:
    # LaTeX-safe delimiters: braces and % belong to LaTeX, so Jinja's own are renamed.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        block_start_string=r"\BLOCK{", block_end_string="}",
        variable_start_string=r"\VAR{", variable_end_string="}",
        comment_start_string=r"\#{", comment_end_string="}",
        line_statement_prefix="%%", line_comment_prefix="%#",
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        autoescape=False, undefined=jinja2.StrictUndefined,
    )


def _version() -> str:
    try:
        return version("bpttlab")
    except PackageNotFoundError:  # running from a checkout that is not installed
        return "(unreleased)"


def sheet_name(sheet: str, lang: str, notation: str) -> str:
    """The file stem of a sheet: ``lstm.id.course``."""
    return f"{sheet}.{lang}.{notation}"


def _check(sheet: str, lang: str, notation: str) -> None:
    for label, value, valid in (("sheet", sheet, SHEETS), ("language", lang, LANGUAGES),
                                ("notation", notation, NOTATIONS)):
        if value not in valid:
            raise ValueError(f"unknown {label} {value!r}; valid: {', '.join(valid)}")


def render_sheet(sheet: str, lang: str = "en", notation: str = "course", *, worked: bool | None = None,
                 decay_figure: str | None = None) -> str:
    """The LaTeX source of one sheet. ``sheet`` is a cell name or ``"course"`` for all cells;
    ``worked`` adds the "hello" example (default: on the RNN and the combined sheet);
    ``decay_figure`` is a path, relative to the ``.tex``, of the gradient-decay plot to include."""
    _check(sheet, lang, notation)
    cells = list(CELLS) if sheet == COMBINED else [sheet]
    if worked is None:
        worked = sheet in ("rnn", COMBINED)
    context = {
        "version": _version(),
        "notation": notation,
        "sheet_cell": None if sheet == COMBINED else sheet,
        "sym": common_symbols(notation),
        "heads": [head_sheet(h, notation) for h in HEADS],
        "recurrence": recurrences(notation),
        "cells": [cell_sheet(c, notation) for c in cells],
        "worked": example_latex(hello_example(), notation=notation) if worked else None,
        "scalars": scalar_blocks(),
        "decay_figure": decay_figure,
    }
    return _environment().get_template(f"sheet.{lang}.tex.j2").render(context)


def write_sheets(out: str | os.PathLike, sheets: Iterable[str] = SHEETS, langs: Iterable[str] = LANGUAGES,
                 notations: Iterable[str] = ("course",), *, pdf: bool = True,
                 decay_figures: str | os.PathLike | None = None) -> list[Sheet]:
    """Write every requested sheet into ``out`` (created if missing), compiling each to PDF if ``pdf``.
    ``decay_figures`` is a folder written by ``bpttlab decay``: its ``cells.{lang}.pdf`` goes into
    the decay section of the sheets in that language."""
    from bpttlab.reports.sheets.pdflatex import compile_pdf

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for sheet in sheets:
        for lang in langs:
            for notation in notations:
                name = sheet_name(sheet, lang, notation)
                tex = out / f"{name}.tex"
                figure = None
                if decay_figures is not None:
                    found = Path(decay_figures) / f"cells.{lang}.pdf"
                    if not found.is_file():
                        raise ValueError(f"no decay figure {found}; "
                                         f"run `bpttlab decay --out {decay_figures}` first")
                    figure = Path(os.path.relpath(found, out)).as_posix()
                write_text(tex, render_sheet(sheet, lang, notation, decay_figure=figure))
                written.append(Sheet(name, tex, compile_pdf(tex) if pdf else None))
    return written
