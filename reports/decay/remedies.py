"""The two remedies the course names, measured and drawn: gradient clipping (figure ``clip``) and
truncated BPTT (figure ``trunc``), each with its numbers as JSON (``clip.json``, ``trunc.json``),
labelled in English or Indonesian (decimal comma in Indonesian, on the axes too).

``clip``: for an RNN with spectral radius 3, the global norm ‖g‖ of the gradient (before clipping)
and the loss per update, trained by SGD with and without clipping; ``trunc``: the relative error
‖g_{k₂} − g‖/‖g‖ of the truncated gradient against k₂, median over seeds with the min–max band, for
each built-in cell.

>>> WORDS["id"]["k2"]
'panjang pemotongan $k_2$'
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator

from bpttlab.derivations.printing.notations import notation as notation_of
from bpttlab.numeric.decay.clipping import ClipDemo, ClipRun
from bpttlab.numeric.decay.truncation import SCHEMES, TRUNCATION_HEAD, TruncationCurve, TruncationStudy
from bpttlab.reports.atomic import write_text
from bpttlab.reports.decay.plots import (
    DPI,
    OKABE_ITO,
    SLIDE,
    Medium,
    cell_labels,
    decimal_axis,
    decimal_text,
    save_figure,
)
from bpttlab.reports.sheets.languages import FigureWords

__all__ = ["DRAW", "WORDS", "clip_figure", "clip_from_json", "clip_json", "trunc_figure", "trunc_from_json",
           "trunc_json", "write_remedies"]

#: Each language's words for these figures: read from its record (reports/sheets/words/{lang}.toml,
#: ``[figures.remedies]``), so that every registered language has them.
WORDS = FigureWords("remedies")


def _words(lang: str, notation: str = "course") -> dict[str, str]:
    """The figure words of ``lang``, with the sequence's length written as ``notation`` writes it."""
    if lang not in WORDS:
        raise ValueError(f"lang must be one of {', '.join(WORDS)}, got {lang!r}")
    length = notation_of(notation).length  # a ValueError for an unknown notation
    if length == "T":
        return WORDS[lang]
    words = dict(WORDS[lang])
    for key, text in words.items():
        for course, written in (("$L/T$", f"$L/{length}$"), ("T = {T}", f"${length}$ = {{T}}"),
                                ("$k_2$ = T", f"$k_2$ = ${length}$")):
            text = text.replace(course, written)
        words[key] = text
    return words


def _figure(medium: Medium = SLIDE) -> Figure:
    figure = Figure(figsize=medium.size, dpi=DPI, layout="constrained")
    figure.get_layout_engine().set(rect=(0, 0.04, 1, 0.96))  # room for the sizes in small print below
    return figure


def _note(legend: object, text: str, medium: Medium) -> None:
    """The figure's sizes in small grey print, as the title of its legend (so that nothing overlaps)."""
    legend.set_title(text, prop={"size": medium.small})
    legend.get_title().set_color("#555555")


def clip_figure(demo: ClipDemo, lang: str = "en", notation: str = "course", medium: Medium = SLIDE) -> Figure:
    """Two panels side by side: ‖g‖ per update (log scale, θ dashed) and the loss per update; the
    length written T, or τ in the book's ``notation``."""
    words = _words(lang, notation)
    with matplotlib.rc_context(medium.style):
        figure = _figure(medium)
        norms, losses = figure.subplots(1, 2)
        updates = np.arange(1, len(demo.plain.losses) + 1)
        threshold = decimal_text(round(demo.threshold, 1), words)
        for run, colour in zip(demo.runs, OKABE_ITO, strict=False):
            label = words["plain"] if run.threshold is None else words["clipped"].format(threshold=threshold)
            norms.plot(updates, run.grad_norms, color=colour, label=label)
            losses.plot(updates, run.losses, color=colour, label=label)
        norms.axhline(demo.threshold, color="#555555", linestyle="--", linewidth=1.4)
        norms.text(updates[0], demo.threshold, words["threshold"], ha="left", va="bottom", color="#555555",
                   bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
        norms.set_yscale("log")
        norms.set_ylabel(words["norm"])
        losses.set_yscale("log")
        losses.set_ylabel(words["loss"])
        for axes in (norms, losses):
            axes.set_xlabel(words["update"])
            axes.set_xlim(1, updates[-1])
            axes.grid(True, which="major", color="#dddddd", linewidth=0.8)
            decimal_axis(axes.xaxis, words)
        losses.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        losses.yaxis.set_minor_formatter(FuncFormatter(lambda _value, _: ""))
        decimal_axis(losses.yaxis, words)
        # one legend under both panels (the same two runs in each), the sizes as its title on a slide
        legend = figure.legend(*norms.get_legend_handles_labels(), loc="outside lower center", ncol=2,
                               frameon=False)
        title = words["clip_title"].format(radius=decimal_text(demo.radius, words))
        figure.suptitle(title, x=0.01, ha="left")
        if medium.notes:
            _note(legend, words["clip_sizes"].format(T=demo.T, H=demo.H, batch=demo.batch,
                                                     rate=decimal_text(demo.learning_rate, words),
                                                     seed=demo.seed), medium)
    return figure


def trunc_figure(study: TruncationStudy, lang: str = "en", notation: str = "course",
                 medium: Medium = SLIDE) -> Figure:
    """The relative error against k₂ for each cell (log–log), median with the min–max band, one panel
    per scheme (k₁ = k₂, then k₁ = 1); the points where it is exactly 0 are not drawn."""
    words = _words(lang, notation)
    with matplotlib.rc_context(medium.style):
        figure = _figure(medium)
        figure.get_layout_engine().set(wspace=0.08)  # the panels' end ticks ("100", "1") apart
        panels = figure.subplots(1, len(SCHEMES), sharey=True)
        # the cells' titles in the figure's language, never code names
        labels = cell_labels((curve.cell for curve in study.curves), words["code"])
        colours = {cell: OKABE_ITO[i % len(OKABE_ITO)] for i, cell in enumerate(labels)}
        for axes, k1 in zip(panels, SCHEMES, strict=True):
            for curve in (c for c in study.curves if c.k1 == k1):
                low, high = curve.errors.min(axis=0), curve.errors.max(axis=0)
                shown = curve.median > 0
                colour = colours[curve.cell]
                axes.fill_between(curve.k2s[high > 0], np.maximum(low, np.finfo(float).tiny)[high > 0],
                                  high[high > 0], color=colour, alpha=0.2, linewidth=0)
                axes.plot(curve.k2s[shown], curve.median[shown], color=colour, label=labels[curve.cell])
            axes.set_xscale("log")
            axes.set_yscale("log")
            axes.set_xlim(1, study.T)
            axes.set_xlabel(words["k2"])
            axes.set_title(words["k1_equal" if k1 == "k2" else "k1_one"], loc="left",
                           fontsize=medium.style["legend.fontsize"])
            axes.grid(True, which="major", color="#dddddd", linewidth=0.8)
            decimal_axis(axes.xaxis, words)
        panels[0].set_ylabel(words["error"])
        panels[0].set_ylim(bottom=1e-12)
        legend = figure.legend(*panels[-1].get_legend_handles_labels(), loc="outside lower center", ncol=2,
                               frameon=False)
        figure.suptitle(words["trunc_title"], x=0.01, ha="left")
        if medium.notes:
            _note(legend, words["trunc_sizes"].format(T=study.T, H=study.H, seeds=len(study.seeds)), medium)
    return figure


def _float(value: float) -> float | None:
    return float(f"{value:.10g}") if np.isfinite(value) else None


def clip_json(demo: ClipDemo) -> str:
    """The settings and, per run, ‖g‖ before clipping and L/T at every update."""
    data = {"cell": demo.cell, "head": "softmax", "loss_at": "every", "T": demo.T, "H": demo.H, "K": demo.K,
            "batch": demo.batch, "spectral_radius": demo.radius, "learning_rate": demo.learning_rate,
            "threshold": demo.threshold, "seed": demo.seed,
            "task": "one-hot random symbols; the target at step t is the symbol at step t-1",
            "runs": [{"label": run.label, "threshold": run.threshold,
                      "grad_norm": [_float(v) for v in run.grad_norms],
                      "loss_per_step": [_float(v) for v in run.losses]} for run in demo.runs]}
    return json.dumps(data, indent=1, allow_nan=False) + "\n"


def trunc_json(study: TruncationStudy) -> str:
    """The sizes and, per cell, the relative error at every k₂ for every seed, and their median."""
    data = {"T": study.T, "H": study.H, "head": TRUNCATION_HEAD, "loss_at": "every",
            "seeds": list(study.seeds),
            "error": "||g_k2 - g|| / ||g|| over all parameters",
            "schemes": "k1 = k2 (blocks), k1 = 1 (every loss k2 steps back)",
            "curves": [{"cell": curve.cell, "k1": curve.k1, "setting": curve.setting,
                        "k2": curve.k2s.tolist(),
                       "median": [_float(v) for v in curve.median],
                       "by_seed": {str(seed): [_float(v) for v in row]
                                   for seed, row in zip(curve.seeds, curve.errors, strict=True)}}
                      for curve in study.curves]}
    return json.dumps(data, indent=1, allow_nan=False) + "\n"


def clip_from_json(text: str) -> ClipDemo:
    """The demonstration as :func:`clip_json` wrote it."""
    data = json.loads(text)
    runs = tuple(ClipRun(run["label"], run["threshold"], np.array(run["grad_norm"], dtype=float),
                         np.array(run["loss_per_step"], dtype=float)) for run in data["runs"])
    return ClipDemo(data["cell"], data["T"], data["H"], data["K"], data["batch"], data["spectral_radius"],
                    data["learning_rate"], data["threshold"], data["seed"], runs)


def trunc_from_json(text: str) -> TruncationStudy:
    """The study as :func:`trunc_json` wrote it."""
    data = json.loads(text)
    seeds = tuple(data["seeds"])
    curves = tuple(TruncationCurve(entry["cell"], entry["k1"], entry["setting"], np.array(entry["k2"]), seeds,
                                   np.array([entry["by_seed"][str(seed)] for seed in seeds], dtype=float))
                   for entry in data["curves"])
    return TruncationStudy(data["T"], data["H"], seeds, curves)


#: How each remedy's figure is drawn from its JSON.
DRAW = {"clip": lambda text, lang, notation="course", medium=SLIDE:
            clip_figure(clip_from_json(text), lang, notation, medium),
        "trunc": lambda text, lang, notation="course", medium=SLIDE:
            trunc_figure(trunc_from_json(text), lang, notation, medium)}


def write_remedies(out: Path, demo: ClipDemo, study: TruncationStudy, langs: tuple[str, ...]) -> list[Path]:
    """``clip.json``, ``trunc.json`` and the figures ``clip.{lang}`` and ``trunc.{lang}`` (PNG, PDF)."""
    written = []
    for name, text in (("clip.json", clip_json(demo)), ("trunc.json", trunc_json(study))):
        write_text(out / name, text)
        written.append(out / name)
    for lang in langs:
        written += save_figure(clip_figure(demo, lang), out / f"clip.{lang}")
        written += save_figure(trunc_figure(study, lang), out / f"trunc.{lang}")
    return written
