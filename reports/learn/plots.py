"""The learning study's figures (PNG and PDF, English and Indonesian labels, decimal comma in
Indonesian): ``success`` — the fraction of seeds that solved the adding problem against T, a panel
per setting, the decay horizon at initialisation dashed on the same axis; ``loss`` — the evaluation
MSE against the optimizer step, a panel per T; ``hello`` — the course's hello model's training loss.

>>> WORDS["id"]["solved"]
'proporsi seed acak yang berhasil'
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from bpttlab.derivations import CELLS
from bpttlab.numeric.training import ADDING_BASELINE
from bpttlab.reports.decay.plots import DPI, OKABE_ITO, cell_labels, decimal_axis, decimal_text
from bpttlab.reports.learn.hello import HelloCurve
from bpttlab.reports.learn.study import Setting, Study
from bpttlab.reports.sheets.languages import FigureWords, language

__all__ = ["FIGURES", "WORDS", "hello_figure", "learn_figures", "setting_label", "setting_title"]

FIGURES = ("success", "loss")
#: Language code → the figures' words (the ``study`` family of reports/sheets/words/*.toml).
WORDS = FigureWords("study")
_STYLE = {"font.size": 11, "axes.titlesize": 11, "axes.labelsize": 11, "legend.fontsize": 9,
          "lines.linewidth": 1.8, "axes.spines.top": False, "axes.spines.right": False}


def _words(lang: str) -> dict[str, str]:
    if lang not in WORDS:
        raise ValueError(f"lang must be one of {', '.join(WORDS)}, got {lang!r}")
    return WORDS[lang]


def _seeds(n: int, words: dict[str, str]) -> str:
    return words["seeds_one" if n == 1 else "seeds_many"].format(n=n)


def setting_label(setting: Setting, words: dict[str, str]) -> str:
    """The cell's label, its registered title in the figure's language (unambiguous among all
    registered cells), with ρ and the clipping threshold θ where the setting changes them."""
    name = cell_labels([*CELLS, setting.cell], words["code"])[setting.cell]
    if setting.radius is not None:
        name += ", " + words["radius"].format(radius=decimal_text(setting.radius, words, 3))
    if setting.clip is not None:
        name += ", " + words["clipped"].format(theta=decimal_text(setting.clip, words, 3))
    return name


def setting_title(setting: Setting, words: dict[str, str]) -> str:
    """A panel's title: the same as its legend label (the sheets' names, never a code identifier)."""
    return setting_label(setting, words)


def _success(study: Study, words: dict[str, str]) -> Figure:
    rows_of = study.settings
    columns = 3  # a panel's title is a registered title, long enough to need a third of the width
    rows = math.ceil(len(rows_of) / columns)
    figure = Figure(figsize=(13.0, 2.5 * rows + 0.8), dpi=DPI, layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False, sharex=True, sharey=True)
    lengths = np.array(study.config.lengths)
    finite = [h.steps for h in study.horizons.values() if h.steps is not None]
    low, high = min(lengths.min(), *finite) / 1.3, max(lengths.max(), *finite) * 1.3  # every horizon shows
    for axes, setting in zip(grid.flat, rows_of, strict=False):
        fractions, skipped = [], []
        for T in lengths:
            runs = study.of(setting.key, int(T))
            ran = [o for o in runs if o.status != "skipped"]
            fractions.append(np.mean([o.status == "solved" for o in ran]) if ran else np.nan)
            skipped.append(not ran)
        fractions = np.array(fractions, dtype=float)
        axes.plot(lengths, fractions, "o-", color=OKABE_ITO[0])
        if any(skipped):
            axes.plot(lengths[np.array(skipped)], np.zeros(sum(skipped)), "x", color="#888888",
                      label=words["skipped"])
        horizon = study.horizons[setting.key]
        if horizon.steps is not None:
            axes.axvline(horizon.steps, color=OKABE_ITO[1], linestyle="--", linewidth=1.6)
            axes.text(horizon.steps, 1.1, f" {horizon.steps}", color=OKABE_ITO[1], ha="left", va="center",
                      fontsize=9)
        else:  # beyond the measured steps: an arrow to the right
            text = words["horizon_beyond"].format(T=horizon.T_measured - 1)
            axes.annotate(text, xy=(1.0, 0.5), xycoords="axes fraction", xytext=(0.72, 0.5),
                          textcoords="axes fraction", ha="right", va="center", color=OKABE_ITO[1], fontsize=9,
                          arrowprops={"arrowstyle": "->", "color": OKABE_ITO[1]})
        axes.set_title(setting_title(setting, words), loc="left", fontsize=10)
        axes.set_xscale("log")
        axes.set_xlim(low, high)
        axes.xaxis.set_major_locator(FixedLocator(lengths))
        axes.xaxis.set_minor_locator(NullLocator())
        axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axes.set_ylim(-0.08, 1.18)
        axes.set_yticks([0, 0.5, 1])
        decimal_axis(axes.yaxis, words, 3)
        axes.grid(True, color="#eeeeee")
    for axes in grid.flat[len(rows_of):]:
        axes.set_visible(False)
    figure.supylabel(words["solved"])
    figure.supxlabel(words["T"])
    grid.flat[0].plot([], [], "--", color=OKABE_ITO[1], label=words["horizon"])
    figure.legend(*grid.flat[0].get_legend_handles_labels(), loc="outside lower right", frameon=False,
                  ncols=2)
    figure.suptitle(words["success_title"].format(baseline=decimal_text(ADDING_BASELINE, words, 3),
                                                  budget=language(words["code"]).grouped(study.config.budget),
                                                  seeds=_seeds(len(study.config.seeds), words)),
                    x=0.01, ha="left")
    return figure


def _loss(study: Study, words: dict[str, str]) -> Figure:
    lengths = study.config.lengths
    seed = study.config.seeds[0]
    columns = min(2, len(lengths))  # two panels a row: legible at text width
    rows = math.ceil(len(lengths) / columns)
    figure = Figure(figsize=(4.6 * columns + 0.4, 3.0 * rows + 1.4), dpi=DPI, layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False, sharey=True, sharex=True)
    styles = ("-", "--", ":", "-.")
    handles = {}
    for axes, T in zip(grid.flat, lengths, strict=False):
        for i, setting in enumerate(study.settings):
            run = next(o for o in study.of(setting.key, T) if o.seed == seed)
            if not run.evaluations:
                continue
            steps, errors = zip(*run.evaluations, strict=True)
            line, = axes.plot(steps, errors, styles[(i // len(OKABE_ITO)) % len(styles)],
                              color=OKABE_ITO[i % len(OKABE_ITO)], linewidth=1.4)
            handles[setting.key] = (line, setting_label(setting, words))
        axes.axhline(ADDING_BASELINE, color="#888888", linestyle=":", linewidth=1.2)
        axes.axhline(0.1 * ADDING_BASELINE, color="#000000", linestyle="--", linewidth=1.0)
        axes.set_yscale("log")
        axes.set_title(f"T = {T}", loc="left")
        axes.grid(True, color="#eeeeee")
    for axes in grid.flat[len(lengths):]:
        axes.set_visible(False)
    for axes in grid[-1]:
        axes.set_xlabel(words["step"])
    figure.supylabel(words["mse"])
    baseline_label = words["baseline"].format(baseline=decimal_text(ADDING_BASELINE, words, 3))
    baseline = grid.flat[0].plot([], [], ":", color="#888888", label=baseline_label)[0]
    solved_below = words["threshold"].format(threshold=decimal_text(0.1 * ADDING_BASELINE, words, 3))
    threshold = grid.flat[0].plot([], [], "--", color="#000000", label=solved_below)[0]
    lines = [h for h, _ in handles.values()] + [baseline, threshold]
    labels = [name for _, name in handles.values()] + [baseline.get_label(), threshold.get_label()]
    figure.legend(lines, labels, loc="outside lower center", frameon=False, ncols=2)
    figure.suptitle(words["loss_title"].format(seed=seed), x=0.01, ha="left")
    return figure


def learn_figures(study: Study, lang: str = "en") -> dict[str, Figure]:
    """The figures keyed by :data:`FIGURES`, labelled in ``lang``."""
    words = _words(lang)
    with matplotlib.rc_context(_STYLE):
        return {"success": _success(study, words), "loss": _loss(study, words)}


def hello_figure(curve: HelloCurve, lang: str = "en") -> Figure:
    """The hello model's loss against the step, the step from which it reads "ello" marked."""
    words = _words(lang)
    with matplotlib.rc_context(_STYLE):
        figure = Figure(figsize=(6.4, 4.0), dpi=DPI, layout="constrained")
        axes = figure.add_subplot()
        steps = np.arange(1, len(curve.losses) + 1)
        axes.plot(steps, curve.losses, color=OKABE_ITO[0])
        if curve.ello_at is not None:
            axes.axvline(curve.ello_at, color=OKABE_ITO[1], linestyle="--", linewidth=1.4,
                         label=words["ello"].format(step=curve.ello_at))
            axes.legend(frameon=False, loc="upper right")
        axes.set_yscale("log")
        axes.set_xlabel(words["step"])
        axes.set_ylabel(words["hello_loss"])
        name = cell_labels([curve.cell], lang)[curve.cell]
        axes.set_title(words["hello_title"].format(cell=name, H=curve.H, lr=decimal_text(curve.lr, words, 3)),
                       loc="left")
        decimal_axis(axes.yaxis, words, 2)
        axes.yaxis.set_minor_formatter(FuncFormatter(lambda _v, _: ""))
        axes.grid(True, color="#eeeeee")
        return figure
