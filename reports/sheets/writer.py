"""Equation sheets: the templates in ``reports/sheets/templates`` filled with what :mod:`.context`
prints from the derivations, written as ``.tex`` and compiled to PDF.

One sheet per cell (every registered one, or any custom :class:`~bpttlab.derivations.Cell` or
``.cell`` path), the combined course sheet of the built-in cells and the sheet of the shipped
variants, in English or Indonesian, in the course's notation or the Deep Learning book's. The same
options always give the same bytes. A cell the templates have no prose for gets neutral prose written
from its equations; its title and names are escaped, since a ``.cell`` file may come from anyone.

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

from bpttlab.derivations import CELLS, HEADS, VARIANTS, Cell, resolve_cell
from bpttlab.derivations.cells import BUILT_IN
from bpttlab.derivations.printing.notations import NOTATIONS
from bpttlab.reports.atomic import write_text
from bpttlab.reports.sheets.context import cell_sheet, common_symbols, head_sheet, recurrences
from bpttlab.reports.sheets.decay_figure import DecayFigure, cell_decay_figures
from bpttlab.reports.sheets.formulas import DoubleSum
from bpttlab.reports.sheets.numbers import DECIMAL_MARKS, number
from bpttlab.reports.sheets.scalar_blocks import IMPORTS, scalar_blocks
from bpttlab.reports.sheets.topics import topics
from bpttlab.reports.sheets.worked_example import example_latex, hello_example

__all__ = [
    "COMBINED",
    "LANGUAGES",
    "SHEETS",
    "VARIANTS_SHEET",
    "Sheet",
    "all_sheets",
    "render_sheet",
    "sheet_name",
    "write_sheets",
]

LANGUAGES = ("en", "id")
COMBINED = "course"  # the course's sheet: the built-in cells
VARIANTS_SHEET = "variants"  # the shipped variants, each one's forward, backward step and Jacobian
TEMPLATES = Path(__file__).parent / "templates"


def all_sheets() -> tuple[str, ...]:
    """Every sheet by name: one per registered cell (those registered so far), then the combined
    course sheet and the variants sheet."""
    return (*CELLS, COMBINED, VARIANTS_SHEET)


#: The sheets of the cells registered at import, the combined sheet and the variants sheet.
SHEETS = all_sheets()


@dataclass(frozen=True)
class Sheet:
    """One written sheet: its ``.tex`` and, if compiled, its ``.pdf``."""

    name: str
    tex: Path
    pdf: Path | None


@cache
def _environment() -> jinja2.Environment:
    # LaTeX-safe delimiters: braces and % belong to LaTeX, so Jinja's own are renamed.
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        block_start_string=r"\BLOCK{", block_end_string="}",
        variable_start_string=r"\VAR{", variable_end_string="}",
        comment_start_string=r"\#{", comment_end_string="}",
        line_statement_prefix="%%", line_comment_prefix="%#",
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        autoescape=False, undefined=jinja2.StrictUndefined,
    )
    environment.filters.update(fill=_fill, listing=_listing, decimal=_decimal, bounds=_bounds, number=number)
    return environment


def _glossed(sheets: list) -> dict[str, tuple[str, ...]]:
    """For each neutral cell section, the terms it introduces first on the sheet ("gate", "matrix",
    "vector"): a translation writes their English names there, once per sheet."""
    seen: set[str] = set()
    glossed = {}
    for sheet in sheets:
        if sheet.prose:
            continue
        facts = sheet.facts
        present = {"gate": facts.gates, "matrix": facts.matrices, "vector": facts.vectors}
        terms = [term for term, items in present.items() if items and term not in seen]
        seen.update(terms)
        glossed[sheet.name] = tuple(terms)
    return glossed


def _fill(text: str, args: Iterable[tuple[str, str]]) -> str:
    """A role's text with each ``{key}`` replaced by its math (a neutral symbol-table row)."""
    for key, value in args:
        text = text.replace("{" + key + "}", value)
    return text


def _listing(items: Iterable[str], conjunction: str, serial: bool = False, math: bool = True,
             separator: str = ",") -> str:
    """Items as a list in prose: ``$a$``, ``$a$ and $b$``, ``$a$, $b$ and $c$`` (``serial``:
    ``$a$, $b$, and $c$``, the Indonesian way); ``math``: each item is math; ``separator``: ";"
    between items that are lists themselves (then always before the conjunction too)."""
    items = [f"${item}$" if math else item for item in items]
    if len(items) < 2:
        return "".join(items)
    if len(items) == 2 and separator == ",":
        return f" {conjunction} ".join(items)
    tail = separator if serial or separator != "," else ""
    return f"{separator} ".join(items[:-1]) + tail + f" {conjunction} " + items[-1]


def _bounds(bounded: Iterable[tuple[str, str]], mark: str) -> list[str]:
    """``f' \\le 0.25`` for each (function, bound) pair, in the language's decimal mark (math)."""
    return [f"{function}' \\le {_decimal(bound, mark)}" for function, bound in bounded]


def _decimal(text: str, mark: str) -> str:
    """A decimal number written with the language's mark, as math (``0{,}25`` in Indonesian)."""
    lang = next(lang for lang, decimal in DECIMAL_MARKS.items() if decimal == mark)
    return number(text, lang)


def _version() -> str:
    try:
        return version("bpttlab")
    except PackageNotFoundError:  # running from a checkout that is not installed
        return "(unreleased)"


Sheetlike = str | os.PathLike | Cell


def _cells_of(sheet: Sheetlike) -> tuple[str, tuple[Cell, ...]]:
    """(name, cells) of a sheet: a combined one, or one cell's by name, path or :class:`Cell`."""
    if isinstance(sheet, str) and sheet == COMBINED:
        return COMBINED, tuple(CELLS[name] for name in BUILT_IN)
    if isinstance(sheet, str) and sheet == VARIANTS_SHEET:
        return VARIANTS_SHEET, tuple(CELLS[name] for name in VARIANTS)
    try:
        cell = resolve_cell(sheet)
    except ValueError:
        if isinstance(sheet, str) and not sheet.endswith(".cell"):
            raise ValueError(f"unknown sheet {sheet!r}; valid: {', '.join(all_sheets())}, "
                             f"or a path to a .cell file") from None
        raise
    if not cell.name.isidentifier():  # it names the files: no path separators, nothing hidden
        raise ValueError(f"cell name {cell.name!r} is not an identifier; it names the sheet's files")
    return cell.name, (cell,)


def sheet_name(sheet: Sheetlike, lang: str, notation: str) -> str:
    """The file stem of a sheet: ``lstm.id.course`` (a cell given by path or as a Cell: its name)."""
    name = sheet if isinstance(sheet, str) and sheet in (COMBINED, VARIANTS_SHEET) else _cells_of(sheet)[0]
    return f"{name}.{lang}.{notation}"


def _check(lang: str, notation: str) -> None:
    for label, value, valid in (("language", lang, LANGUAGES), ("notation", notation, NOTATIONS)):
        if value not in valid:
            raise ValueError(f"unknown {label} {value!r}; valid: {', '.join(valid)}")


def render_sheet(sheet: Sheetlike, lang: str = "en", notation: str = "course", *, worked: bool | None = None,
                 decay_figures: dict[str, DecayFigure] | None = None, learning: object = None,
                 decay_folder: str | os.PathLike | None = None, relative_to: str | os.PathLike | None = None
                 ) -> str:
    """The LaTeX source of one sheet. ``sheet`` is a registered cell's name, a ``.cell`` path, a
    :class:`~bpttlab.derivations.Cell`, ``"course"`` for the built-in cells or ``"variants"`` for
    the shipped variants; ``worked`` adds the "hello" example (default: on the course's RNN and the
    combined sheet); ``decay_figures`` maps a cell's name to its gradient-decay figure
    (:func:`.decay_figure.cell_decay_figures`), shown in that cell's section; ``learning`` the
    learning study's section (:func:`bpttlab.reports.learn.sheet.learning_context`), before the
    scalar definitions. The course sheet also shows the topics of :func:`.topics.topics`, with the
    clipping and truncation numbers and figures of the ``bpttlab decay`` folder ``decay_folder``
    (figure paths relative to ``relative_to``, the folder of the ``.tex``)."""
    name, cells = _cells_of(sheet)
    _check(lang, notation)
    sheets = [cell_sheet(c, notation) for c in cells]
    compact = name == VARIANTS_SHEET
    if worked is None:
        worked = name == COMBINED or (len(sheets) == 1 and sheets[0].prose == "rnn")
    double_sum = DoubleSum.of(cells[0])
    context = {
        "double_sum": {"display": double_sum.latex(notation), "coupled": double_sum.coupled,
                       "states": ", ".join(sheets[0].sym["outputs"].split(", "))},
        "version": _version(),
        "notation": notation,
        "sheet_cell": sheets[0] if name not in (COMBINED, VARIANTS_SHEET) else None,
        "compact": compact,
        "gloss": _glossed(sheets),
        "sym": common_symbols(notation),
        "heads": [head_sheet(h, notation) for h in HEADS],
        "recurrence": recurrences(notation),
        "cells": sheets,
        "worked": (example_latex(hello_example(), notation=notation, lang=lang)
                   if worked and not compact else None),
        "scalars": scalar_blocks(),
        "imports": IMPORTS,
        "decay_figures": decay_figures or {},
        "learning": learning,
        "combined": name == COMBINED,
        "topics": topics(cells, notation, lang, decay_folder, relative_to) if name == COMBINED else None,
    }
    return _environment().get_template(f"sheet.{lang}.tex.j2").render(context)


def write_sheets(out: str | os.PathLike, sheets: Iterable[Sheetlike] = SHEETS,
                 langs: Iterable[str] = LANGUAGES,
                 notations: Iterable[str] = ("course",), *, pdf: bool = True,
                 decay_figures: str | os.PathLike | None = None,
                 learn_figures: str | os.PathLike | None = None) -> list[Sheet]:
    """Write every requested sheet into ``out`` (created if missing), compiling each to PDF if ``pdf``.
    ``decay_figures`` is a folder written by ``bpttlab decay``: from its ``decay.json`` each cell's
    section gets a figure of that cell's curves (drawn into ``out``/figures, in the sheet's language
    and notation). ``learn_figures`` is a folder written by ``bpttlab learn``: the course sheet gains
    its section (figures copied into ``out``/figures)."""
    from bpttlab.reports.sheets.pdflatex import compile_pdf

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for sheet in sheets:
        if not (isinstance(sheet, str) and sheet in (COMBINED, VARIANTS_SHEET)):
            sheet = _cells_of(sheet)[1][0]  # a .cell file is read once
        for lang in langs:
            for notation in notations:
                name = sheet_name(sheet, lang, notation)
                tex = out / f"{name}.tex"
                figures = None
                if decay_figures is not None and sheet != VARIANTS_SHEET:  # no decay section there
                    cells = tuple(c.name for c in _cells_of(sheet)[1])
                    figures = cell_decay_figures(decay_figures, out, cells, lang, notation)
                learning = None
                if learn_figures is not None and sheet == COMBINED:  # the course sheet only
                    from bpttlab.reports.learn.sheet import learning_context  # it imports sheets.numbers

                    learning = learning_context(learn_figures, out, lang)
                write_text(tex, render_sheet(sheet, lang, notation, decay_figures=figures, learning=learning,
                                             decay_folder=decay_figures, relative_to=out))
                written.append(Sheet(name, tex, compile_pdf(tex) if pdf else None))
    return written
