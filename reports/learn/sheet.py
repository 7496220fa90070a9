"""The learning study on the course sheet: from a learning study's folder (its ``learn.json``), the
context of the sheet's learning section — a row per course cell (runs solved per T), the success
figure drawn for those cells at print size in the sheet's language and notation, the study's sizes —
all numbers in the sheet's decimal mark; or None when the study does not meet the sheet's standard
(:data:`.standard.STANDARD`: the four course cells, at least three seeds, T up to at least 100), and
the sheet then leaves the section out. Only the standard's cells at their default settings reach the
sheet (the course sheet introduces no other). Nothing here is prose: the templates say what it means.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator

from bpttlab.derivations import CELLS
from bpttlab.derivations.printing.notations import notation as notation_of
from bpttlab.reports.atomic import write_bytes
from bpttlab.reports.decay.plots import OKABE_ITO, PRINT, Medium, cell_labels, decimal_axis, save_figure
from bpttlab.reports.learn.standard import STANDARD
from bpttlab.reports.sheets.languages import language
from bpttlab.reports.sheets.numbers import number

__all__ = ["LearningRow", "LearningSection", "learning_context", "success_figure"]


@dataclass(frozen=True)
class LearningRow:
    """One setting: its registered cell name (LaTeX-safe), ρ and clipping as math, the horizon
    ("23" or "> 199"), "solved/run" per T ("" when not run) and agreement with the horizon."""

    cell: str
    title: str  # the cell's registered title, and ρ and clipping where the setting changes them
    radius: str
    clipped: bool
    horizon: str
    solved: tuple[str, ...]
    consistent: bool
    steps: int | None = None  # the horizon in steps (None: beyond the measured length)
    most: tuple[int, ...] = ()  # the lengths most seeds solved
    some: tuple[int, ...] = ()  # the lengths some seeds, but not most, solved
    failed: int | None = None  # the first length most seeds did not solve (None: none)
    beyond: tuple[int, ...] = ()  # lengths beyond the horizon that most seeds solved
    within: tuple[int, ...] = ()  # lengths within the horizon that most seeds did not solve


@dataclass(frozen=True)
class LearningSection:
    success: str
    hello: str
    lengths: tuple[int, ...]
    seeds: int
    budget: int
    H: int
    batch: int
    lr: str
    clip: str
    baseline: str
    threshold: str
    rows: tuple[LearningRow, ...]
    agree: int
    hello_ello_at: int | None
    hello_steps: int
    hello_cell: str
    hello_H: int
    hello_lr: str


def _tex(text: str) -> str:
    """Registered names are identifiers; escape the underscore for \\texttt."""
    return text.replace("\\", "").replace("_", r"\_")


def _copy(source: Path, out: Path, name: str) -> str:
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    write_bytes(figures / name, source.read_bytes())
    return f"figures/{name}"


def _fractions(data: dict, key: str) -> list[float | None]:
    """The fraction of runs of setting ``key`` that succeeded at each length (None: none ran)."""
    found = []
    for T in data["config"]["lengths"]:
        ran = [r for r in data["runs"] if r["setting"] == key and r["T"] == T and r["status"] != "skipped"]
        found.append(sum(r["status"] == "solved" for r in ran) / len(ran) if ran else None)
    return found


def _reading(data: dict, key: str, horizon: dict) -> dict:
    """What the rows say against the horizon, by the verdicts' rule: a length counts as solved when
    most of its runs succeeded; the horizon reaches ``steps`` back (the measured length when beyond)."""
    most, some, failed = [], [], None
    for T, fraction in zip(data["config"]["lengths"], _fractions(data, key), strict=True):
        if fraction is not None and fraction > 0.5:
            most.append(T)
            continue
        if fraction:
            some.append(T)
        if failed is None:
            failed = T
    reach = horizon["T_measured"] if horizon["steps"] is None else horizon["steps"]
    ran = [T for T, f in zip(data["config"]["lengths"], _fractions(data, key), strict=True) if f is not None]
    return {"steps": horizon["steps"], "most": tuple(most), "some": tuple(some), "failed": failed,
            "beyond": tuple(T for T in most if T > reach),
            "within": tuple(T for T in ran if T not in most and T <= reach)}


def _course_settings(data: dict) -> list[dict]:
    """The standard's cells at their default settings (no radius, no clipping), in the standard's order."""
    by_cell = {s["cell"]: s for s in data["settings"] if s["radius"] is None and s["clip"] is None}
    return [by_cell[cell] for cell in STANDARD.cells if cell in by_cell]


def success_figure(data: dict, lang: str = "en", notation: str = "course", medium: Medium = PRINT) -> Figure:
    """The fraction of seeds that solved the adding problem against T, one line per course cell
    (labelled with its title), drawn from a study's ``learn.json`` at print size."""
    words = language(lang).figure_words("learning")
    lengths = data["config"]["lengths"]
    labels = cell_labels((s["cell"] for s in _course_settings(data)), lang)
    with matplotlib.rc_context(medium.style):
        figure = Figure(figsize=medium.size, layout="constrained")
        axes = figure.add_subplot()
        for i, setting in enumerate(_course_settings(data)):
            fractions = np.array([np.nan if f is None else f for f in _fractions(data, setting["key"])])
            axes.plot(lengths, fractions, marker="o", color=OKABE_ITO[i % len(OKABE_ITO)],
                      linestyle=("-", "--", "-.", ":")[i % 4], label=labels[setting["cell"]])
        axes.set_xscale("log")
        axes.xaxis.set_major_locator(FixedLocator(lengths))
        axes.xaxis.set_minor_locator(NullLocator())
        axes.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}"))
        axes.set_ylim(-0.05, 1.05)
        decimal_axis(axes.yaxis, words)
        axes.set_xlabel(words["length"].format(T=notation_of(notation).length))
        axes.set_ylabel(words["solved"])
        axes.grid(True, which="major", color="#dddddd", linewidth=0.8)
        axes.set_title(words["sizes"].format(seeds=len(data["config"]["seeds"])), loc="left",
                       fontsize=medium.small, color="#555555")
        figure.legend(loc="outside lower center", ncol=2, frameon=False)
    return figure


def learning_context(folder: str | os.PathLike, out: str | os.PathLike, lang: str,
                     notation: str = "course") -> LearningSection | None:
    """The section's context for a sheet written into ``out`` in ``lang`` and ``notation``, from the
    study in ``folder`` (the success figure is drawn into ``out``/figures); None when the study does
    not meet the sheet's standard."""
    folder, out = Path(folder), Path(out)
    data_path = folder / "learn.json"
    if not data_path.exists():
        raise ValueError(f"learning figures: {data_path} not found; run `bpttlab learn --out {folder}` first")
    data = json.loads(data_path.read_text(encoding="utf-8"))
    if not STANDARD.met(data):
        return None
    config = data["config"]
    rows = []
    for setting in _course_settings(data):
        solved = []
        for T in config["lengths"]:
            ran = [r for r in data["runs"] if r["setting"] == setting["key"] and r["T"] == T
                   and r["status"] != "skipped"]
            solved.append(f"{sum(r['status'] == 'solved' for r in ran)}/{len(ran)}" if ran else "")
        horizon = data["horizons"][setting["key"]]
        rows.append(LearningRow(_tex(setting["cell"]), CELLS[setting["cell"]].title, "", False,
                                horizon["text"].replace(">", "$>$"), tuple(solved),
                                data["verdicts"][setting["key"]]["consistent"],
                                **_reading(data, setting["key"], horizon)))
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    stem = figures / f"learn-success.{notation}.{lang}"
    save_figure(success_figure(data, lang, notation), stem, (".pdf",))
    hello = data["hello"]
    return LearningSection(
        success=f"figures/{stem.name}.pdf",
        hello=(_copy(folder / f"hello.{lang}.pdf", out, f"learn-hello.{lang}.pdf")
               if (folder / f"hello.{lang}.pdf").is_file() else ""),
        lengths=tuple(config["lengths"]), seeds=len(config["seeds"]), budget=config["budget"], H=config["H"],
        batch=config["batch_size"], lr=number(config["lr"], lang), clip=number(config["clip"], lang),
        baseline=number(data["task"]["baseline_mse"], lang, 3),
        threshold=number(data["task"]["solved_below_mse"], lang, 4),
        rows=tuple(rows), agree=sum(r.consistent for r in rows), hello_ello_at=hello["ello_from_step"],
        hello_steps=len(hello["losses"]), hello_cell=_tex(hello["cell"]), hello_H=hello["H"],
        hello_lr=number(hello["lr"], lang))
