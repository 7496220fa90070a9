"""Equation sheets: ``templates/sheet.tex.j2`` laid out over an outline of parts, filled with what
:mod:`.context` prints from the derivations and with the words of a language (:mod:`.languages`),
written as ``.tex`` and compiled to PDF.

One sheet per cell (every registered one, or any custom :class:`~bpttlab.derivations.Cell` or
``.cell`` path), the combined course sheet of the built-in cells and the sheet of the shipped
variants, in any registered language and notation. The same options always give the same bytes.
A cell's step derivation is proven before any sheet prints it (:class:`ProofFailed` otherwise); a
user's title and names are escaped, since a ``.cell`` file may come from anyone.

>>> tex = render_sheet("rnn", lang="en", notation="course", worked=False)
>>> r"h_t &= \\tanh" in tex.replace("\\\\left(", "(")
True
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jinja2

from bpttlab.derivations import CELLS, VARIANTS, Cell, prove, resolve_cell
from bpttlab.derivations.cells import BUILT_IN
from bpttlab.derivations.printing.notations import notation as notation_of
from bpttlab.reports.atomic import write_text
from bpttlab.reports.sheets.bibliography import Citations
from bpttlab.reports.sheets.context import (
    CellSection,
    HeadSection,
    cell_section,
    head_sections,
    recurrences,
    sheet_symbols,
)
from bpttlab.reports.sheets.decay_figure import DecayFigure, cell_decay_figures
from bpttlab.reports.sheets.formulas import DoubleSum
from bpttlab.reports.sheets.languages import LANGUAGES, Language, language
from bpttlab.reports.sheets.notation_facts import gate_contrasts, notation_facts
from bpttlab.reports.sheets.scalar_blocks import IMPORTS, scalar_blocks
from bpttlab.reports.sheets.softmax_steps import steps_latex

__all__ = [
    "COMBINED",
    "LANGUAGES",
    "SHEETS",
    "VARIANTS_SHEET",
    "Part",
    "ProofFailed",
    "Sheet",
    "all_sheets",
    "outline",
    "render_sheet",
    "sheet_name",
    "write_sheets",
]

COMBINED = "course"  # the course's sheet: the built-in cells
VARIANTS_SHEET = "variants"  # the shipped variants, each one's forward, backward step and Jacobian
TEMPLATES = Path(__file__).parent / "templates"


class ProofFailed(ValueError):
    """A cell's step derivation did not prove exact: no sheet prints it."""


def all_sheets() -> tuple[str, ...]:
    """Every sheet by name: one per registered cell, then the combined course sheet and the variants
    sheet."""
    return (*CELLS, COMBINED, VARIANTS_SHEET)


#: The sheets of the cells registered at import, the combined sheet and the variants sheet.
SHEETS = all_sheets()


@dataclass(frozen=True)
class Sheet:
    """One written sheet: its ``.tex`` and, if compiled, its ``.pdf``."""

    name: str
    tex: Path
    pdf: Path | None


@dataclass(frozen=True)
class Part:
    """One part of a sheet's outline: ``kind`` (what the template lays out: "notation", "types",
    "cell_intro", "heads", "bptt", "decay", "worked", "cell", "variant", "table", "forget_bias",
    "clipping", "truncation", "learning", "errata", "definitions", "exercises", "references"), the
    cell it is about, if any, and the words key of its title in the introduction's list (empty: not
    listed there)."""

    kind: str
    cell: CellSection | None = None
    listed: str = ""
    level: str = "section"


@dataclass
class Glossary:
    """The technical terms a sheet has used so far: a language that glosses (Indonesian) writes the
    English term in parentheses the first time, and only then."""

    language: Language
    used: set[str] = field(default_factory=set)

    def term(self, key: str) -> str:
        try:
            entry = self.language.terms[key]
        except KeyError:
            raise ValueError(f"language {self.language.code!r} has no term {key!r}") from None
        if len(entry) < 2 or key in self.used:
            return entry[0]
        self.used.add(key)
        return f"{entry[0]} ({entry[1]})"

    def glossed(self, text: str) -> str:
        """``text`` (a registered title in prose) with each term it contains glossed where this is the
        term's first use: the longest terms first, so that a term inside a longer one is not glossed."""
        for key, entry in sorted(self.language.terms.items(), key=lambda item: -len(item[1][0])):
            if len(entry) < 2 or key in self.used or entry[0] not in text:
                continue
            at = text.index(entry[0])
            if "(" in text[at + len(entry[0]):at + len(entry[0]) + 2]:
                continue  # already followed by a parenthesis
            text = text[:at] + self.term(key) + text[at + len(entry[0]):]
        return text


# ------------------------------------------------------------------------------------- proofs
@cache
def _proof(cell: Cell) -> tuple[bool, str]:
    """(passed, what failed) of the cell's step proof. A proof that cannot even run has not proven
    anything: that is a failure too, named by what stopped it."""
    try:
        result = prove(cell, None, kind=("step",))
    except Exception as error:
        return False, f"the proof stopped: {type(error).__name__}: {error}"
    failed = [check.what for check in result.checks if not check.passed]
    return result.passed, ", ".join(failed)


def check_proven(cell: Cell) -> None:
    """Prove ``cell``'s step derivation (once per process); :class:`ProofFailed` names the cell and
    the checks that failed."""
    passed, failed = _proof(cell)
    if not passed:
        raise ProofFailed(f"cell {cell.name!r}: its step derivation did not prove exact ({failed}); "
                          "no sheet is written for it")


# ------------------------------------------------------------------------------------- words
def _say(context: jinja2.runtime.Context, key: str, **values: object) -> str:
    """The language's sentence ``key``, its ``\\VAR{…}`` filled from the sheet and ``values``."""
    lang: Language = context["lang"]
    return _word_template(lang.word(key)).render({**context.get_all(), **values})


@cache
def _word_template(text: str) -> jinja2.Template:
    return _environment().from_string(text)


def _name(context: jinja2.runtime.Context, key: str) -> str:
    """A value named by :mod:`.context` (``kind|key=value|…``) in words: "the forget gate"."""
    kind, *pairs = key.split("|")
    values = dict(pair.split("=", 1) for pair in pairs)
    if kind == "value.state":
        kind = "value.hidden" if values.get("index") == "0" else "value.cell_state"
    if kind == "value.candidate":
        kind = "value.candidate.hidden" if values.get("index") == "0" else "value.candidate.cell"
    return _say(context, kind, **values)


def _glossed(context: jinja2.runtime.Context, text: str) -> str:
    """A registered title in prose, each technical term in it glossed at its first use."""
    return context["glossary"].glossed(text)


def _gate_name(context: jinja2.runtime.Context, gate: tuple[str, str]) -> str:
    """A gate (its words key, its symbol) in words: "the forget gate $f_t$"."""
    key, symbol = gate
    return f"{_name(context, key)} ${symbol}$"


def _title_of(context: jinja2.runtime.Context, text: str) -> str:
    """A registered title (a cell's, a head's) in the sheet's language: the language's ``titles``
    words where it has them, else the title as written."""
    return context["lang"].title(text)


def _title(context: jinja2.runtime.Context, cell: CellSection) -> str:
    return _title_of(context, cell.title)


def _role(context: jinja2.runtime.Context, row: object) -> str:
    """A symbol-table row's meaning: the language's ``role.{kind}`` with the row's math."""
    values = dict(row.values)
    if "low" in values:
        closed = [part == "True" for part in values.pop("closed").split(",")]
        low, high = values.pop("low"), values.pop("high")
        values["range"] = context["lang"].interval(low, high, closed=tuple(closed))
    for key in ("name", "of", "gate"):
        if (key in values and "|" in values[key]) or (key in values and values[key].startswith("value.")):
            values[key] = _name(context, values[key])
    kind = row.kind
    if kind.startswith(("state", "previous_state")):
        kind += ".hidden" if values.get("index") == "0" else ".cell"
    return _say(context, f"role.{kind}", **values)


def _contents(context: jinja2.runtime.Context) -> str:
    """The parts the sheet's outline lists in its introduction, in the language's words."""
    items = [_say(context, part.listed, part=part) for part in context["outline"] if part.listed]
    return context["lang"].listing(items, math=False)


def _bounds(context: jinja2.runtime.Context, bounded: Iterable[tuple[str, object]]) -> list[str]:
    """``f' \\le 0.25`` for each (function, bound) pair, in the language's numbers."""
    return [f"{function}' \\le {_decimal(context, bound)}" for function, bound in bounded]


def _decimal(context: jinja2.runtime.Context, value: object) -> str:
    """A number given exactly (a SymPy rational, an int) as a decimal in the language's mark."""
    return context["lang"].number(f"{float(value):g}")


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
    contextual = {"say": _say, "name": _name, "title": _title, "title_of": _title_of, "role": _role,
                  "bounds": _bounds, "decimal": _decimal, "contents": _contents}
    environment.globals.update({key: jinja2.pass_context(function) for key, function in contextual.items()})
    environment.filters.update(title_of=jinja2.pass_context(_title_of),
                               texttt=lambda text: rf"\texttt{{{text}}}", math=lambda text: f"${text}$",
                               factor=lambda text: rf"\times {text}",
                               gate_name=jinja2.pass_context(_gate_name),
                               glossed=jinja2.pass_context(_glossed),
                               upper_first=lambda text: text[:1].upper() + text[1:])
    return environment


def _check(lang: str, notation: str) -> None:
    language(lang)
    notation_of(notation)


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


def outline(kind: str, sections: list[CellSection], *, worked: bool, topics: bool) -> tuple[Part, ...]:
    """The parts of a sheet in the course's order: the notation, (on the course sheet) the types of
    recurrent networks and the unrolled graph, the first cell's forward step, the heads, BPTT on that
    cell, its gradient decay, the worked example, every further cell whole, the course's further
    topics, the scalar definitions, exercises and references."""
    if kind == "variants":
        return (Part("notation"), *(Part("variant", s) for s in sections), Part("references"))
    first, *rest = sections
    parts = [Part("notation")]
    if topics:
        parts.append(Part("types", listed="part.types"))
    own = "part.cell_intro" if topics else "part.own_cell"
    parts += [Part("cell_intro", first, listed=own), Part("heads", first, listed="part.heads"),
              Part("bptt", first, listed="part.bptt"), Part("decay", first, listed="part.decay")]
    if worked:
        parts.append(Part("worked", first, listed="part.worked"))
    parts += [Part("cell", s, listed="part.cell") for s in rest]
    if topics:
        parts += [Part("table", listed="part.table"), Part("forget_bias"),
                  Part("clipping", listed="part.clipping"),
                  Part("truncation", listed="part.truncation"), Part("learning", listed="part.learning"),
                  Part("errata", listed="part.errata")]
    parts.append(Part("definitions"))
    if topics:
        parts.append(Part("exercises", listed="part.exercises"))
    parts.append(Part("references"))
    return tuple(parts)


def _titled(heads: tuple[HeadSection, ...], words: Language) -> tuple[HeadSection, ...]:
    """``heads``, each with its title in ``words`` (a registered head is listed by title on every sheet,
    so a language without one fails here, in one line, rather than print the English title)."""
    for section in heads:
        if f"titles.{section.title}" not in words.words:
            raise ValueError(f"language {words.code!r} has no title for the head {section.name!r}: add "
                             f"{section.title!r} to [words.titles] in its words file ({words.code}.toml)")
    return heads


def render_sheet(sheet: Sheetlike, lang: str = "en", notation: str = "course", *, worked: bool | None = None,
                 decay_figures: dict[str, DecayFigure] | None = None, learning: object = None,
                 decay_folder: str | os.PathLike | None = None, relative_to: str | os.PathLike | None = None
                 ) -> str:
    """The LaTeX source of one sheet. ``sheet`` is a registered cell's name, a ``.cell`` path, a
    :class:`~bpttlab.derivations.Cell`, ``"course"`` for the built-in cells or ``"variants"`` for
    the shipped variants; ``worked`` adds the "hello" example (default: where the sheet's first cell
    is the example's); ``decay_figures`` maps a cell's name to its gradient-decay figure
    (:func:`.decay_figure.cell_decay_figures`); ``learning`` the learning study's section
    (:func:`bpttlab.reports.learn.sheet.learning_context`, None where its data does not meet the
    sheet's standard). The course sheet also shows the topics of :func:`.topics.topics`, with the
    numbers and figures of the ``bpttlab decay`` folder ``decay_folder`` (figure paths relative to
    ``relative_to``, the folder of the ``.tex``). Raises :class:`ProofFailed` for a cell whose step
    derivation does not prove exact."""
    from bpttlab.reports.sheets.topics import topics as course_topics
    from bpttlab.reports.sheets.worked_example import EXAMPLE_CELL, example_latex, hello_example

    name, cells = _cells_of(sheet)
    _check(lang, notation)
    for c in cells:
        check_proven(c)
    words = language(lang)
    kind = "course" if name == COMBINED else "variants" if name == VARIANTS_SHEET else "cell"
    sections = [cell_section(c, notation) for c in cells]
    first = cells[0]
    if worked is None:
        worked = kind != "variants" and first == CELLS[EXAMPLE_CELL]
    parts = outline(kind, sections, worked=worked, topics=kind == "course")
    double_sum = DoubleSum.of(first)
    context = {
        "lang": words,
        "glossary": Glossary(words),
        "term": None,
        "notation": notation_of(notation),
        "kind": kind,
        "outline": parts,
        "listed": [part for part in parts if part.listed],
        "sections": sections,
        "first": sections[0],
        "sym": sheet_symbols(notation, first) if kind != "variants" else sheet_symbols(notation),
        "heads": _titled(head_sections(notation, first), words),
        "recurrence": recurrences(notation, first),
        "double_sum": {"display": double_sum.latex(notation), "coupled": double_sum.coupled},
        "worked": (example_latex(hello_example(), notation=notation, lang=lang) if worked else None),
        "scalars": scalar_blocks(),
        "softmax": steps_latex(notation),
        "imports": IMPORTS,
        "decay_figures": decay_figures or {},
        "learning": learning,
        "topics": (course_topics(cells, notation, lang, decay_folder, relative_to) if kind == "course"
                   else None),
    }
    context["term"] = context["glossary"].term
    context["contrasts"] = gate_contrasts(sections)
    context["own_names"] = notation_facts(sections, context["sym"]["W_out"], context["sym"]["h_t"])
    citations = Citations(words.word("et_al"), words.word("and"))
    context.update(cite=citations.cite, citep=citations.citep, cited=citations.entries)
    return _environment().get_template("sheet.tex.j2").render(context)


def write_sheets(out: str | os.PathLike, sheets: Iterable[Sheetlike] = SHEETS,
                 langs: Iterable[str] = tuple(LANGUAGES), notations: Iterable[str] = ("course",), *,
                 pdf: bool = True, decay_figures: str | os.PathLike | None = None,
                 learn_figures: str | os.PathLike | None = None) -> list[Sheet]:
    """Write every requested sheet into ``out`` (created if missing), compiling each to PDF if ``pdf``.
    ``decay_figures`` is a folder written by ``bpttlab decay``: from its ``decay.json`` each cell's
    section gets a figure of that cell's curves (drawn into ``out``/figures, in the sheet's language
    and notation). ``learn_figures`` is a folder of the learning study: the course sheet shows its
    section if the data meet the sheet's standard (:mod:`bpttlab.reports.learn.standard`)."""
    from bpttlab.reports.sheets.pdflatex import compile_pdf

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for sheet in sheets:
        if not (isinstance(sheet, str) and sheet in (COMBINED, VARIANTS_SHEET)):
            sheet = _cells_of(sheet)[1][0]  # a .cell file is read once
        for c in _cells_of(sheet)[1]:
            check_proven(c)
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
                    from bpttlab.reports.learn.sheet import learning_context  # it imports the sheets' numbers

                    learning = learning_context(learn_figures, out, lang, notation)
                write_text(tex, render_sheet(sheet, lang, notation, decay_figures=figures, learning=learning,
                                             decay_folder=decay_figures, relative_to=out))
                try:
                    written.append(Sheet(name, tex, compile_pdf(tex) if pdf else None))
                except Exception:
                    tex.unlink(missing_ok=True)  # never a .tex without its PDF (its log stays beside)
                    raise
    return written


def words_in(tex: str) -> str:
    """The prose of a rendered sheet without its math and commands (for tests that read sentences)."""
    text = re.sub(r"\\begin\{(align\*|gather\*|tikzpicture|lstlisting)\}.*?\\end\{\1\}", " ", tex, flags=re.S)
    return re.sub(r"\$[^$]*\$", " ", text)
