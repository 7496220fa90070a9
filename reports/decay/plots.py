"""The three gradient-decay figures, drawn from a :class:`bpttlab.numeric.decay.study.DecayStudy`.

1. ``cells``: ‖∂L/∂h_k‖ against k for the RNN, LSTM and GRU on one input sequence;
2. ``radii``: ‖∂h_T/∂h_k‖₂ of the RNN for each spectral radius of W_hh, each with Pascanu et al.'s
   bound λ₁^{T−k} dashed in its colour (λ₁ the largest over the seeds, so it bounds every seed);
3. ``forget_bias``: ‖∂L/∂h_k‖ of the LSTM for each forget-gate bias.

:func:`cell_figure` draws one cell's curves alone (from a study's ``decay.json``, :func:`curves_of`),
with the states named in a sheet's notation (``h_k``, ``C_k``; the book's ``h^{(k)}``, ``s^{(k)}``
and τ): the figure of that cell's section of an equation sheet.

Every curve is the median over the seeds with the min–max band shaded; the legend gives the fitted
factor per step. Colours are the Okabe–Ito palette (safe for colour-blind readers), lines and type
are sized for a slide, and all words come from one small table per language (``en``, ``id``). The
figures are plain :class:`matplotlib.figure.Figure` objects drawn by Agg, without pyplot and without
touching the global backend; the PDFs carry no creation date.

>>> WORDS["id"]["step"]
'langkah $k$'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from bpttlab.derivations import CELLS
from bpttlab.derivations.printing.notations import NOTATIONS
from bpttlab.derivations.printing.notations import notation as notation_of
from bpttlab.derivations.printing.time_index import shift_name
from bpttlab.numeric.decay.norms import log10_bound
from bpttlab.numeric.decay.study import Curve, DecayStudy
from bpttlab.reports.atomic import atomic_path
from bpttlab.reports.sheets.languages import LANGUAGES, FigureWords

__all__ = [
    "DPI",
    "FIGURES",
    "LANGUAGES",
    "OKABE_ITO",
    "PIXELS",
    "PRINT",
    "SLIDE",
    "WORDS",
    "Medium",
    "cell_figure",
    "cell_labels",
    "cells_figure",
    "curves_of",
    "decay_figures",
    "forget_bias_figure",
    "radii_figure",
    "save_figure",
]

#: Okabe & Ito (2008): blue, vermillion, bluish green, reddish purple, orange, sky blue, black.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
FIGURES = ("cells", "radii", "forget_bias", "variants")
SIZE_INCHES, DPI = (10.0, 5.625), 128
PIXELS = (int(SIZE_INCHES[0] * DPI), int(SIZE_INCHES[1] * DPI))  # (1280, 720): a 16:9 slide

#: Each language's words for these figures: read from its record (reports/sheets/words/{lang}.toml,
#: ``[figures.decay]``), so that every registered language has them.
WORDS = FigureWords("decay")
_LIMIT = 300.0  # decades either side of 1 that are drawn: float64 ends near 10^±308


@dataclass(frozen=True)
class Medium:
    """Where a figure is shown: its ``size`` in inches, its type (``style``, matplotlib's rc) and the
    size of its small print. A slide is 16:9 and read from afar; a sheet prints a figure at the text's
    width, where no type may be under 7 pt (a super- or subscript is 0.7 of its text)."""

    size: tuple[float, float]
    style: dict
    small: float
    #: whether a figure carries its sizes in small print (a sheet's caption and text state them)
    notes: bool = True
_STYLE = {"font.size": 15, "axes.titlesize": 16, "axes.labelsize": 16, "legend.fontsize": 13,
          "lines.linewidth": 2.4, "axes.spines.top": False, "axes.spines.right": False}
#: A 1280 × 720 slide.
SLIDE = Medium(SIZE_INCHES, _STYLE, 11.0)
#: A sheet's page: printed at the text's width (483.7 pt, 6.7 in), nothing under 7 pt.
PRINT = Medium((6.7, 3.7), {**_STYLE, "font.size": 10.5, "axes.titlesize": 11, "axes.labelsize": 10.5,
                            "legend.fontsize": 10.5, "lines.linewidth": 1.6}, 10.0, notes=False)


def cell_labels(names: Iterable[str], lang: str = "en") -> dict[str, str]:
    """The legend label of each cell, from the registry: its title in ``lang`` up to any parenthesis
    ("GRU" for "GRU (course, reset before the product)"), the whole title where two cells would share
    a label, the name itself for a cell that is not registered (read from a ``.cell`` path). A ``$``
    is escaped, so that a title is never read as mathtext; the sheets' ``\\emph{…}`` is dropped.

    >>> cell_labels(["rnn", "gru", "mgu"])
    {'rnn': 'Elman RNN', 'gru': 'GRU', 'mgu': 'Minimal gated unit'}
    >>> cell_labels(["gru", "gru_torch"])["gru_torch"]
    'GRU (PyTorch, reset after the product)'
    >>> cell_labels(["rnn", "lstm_peephole"], "id")
    {'rnn': 'RNN Elman', 'lstm_peephole': 'LSTM peephole'}
    """
    names = list(dict.fromkeys(names))
    written = LANGUAGES[lang]
    titles = {name: re.sub(r"\\emph\{([^{}]*)\}", r"\1", written.title(CELLS[name].title)) if name in CELLS
              else name for name in names}
    short = {name: title.split(" (")[0].strip() or title for name, title in titles.items()}
    shared = {label for label in short.values() if list(short.values()).count(label) > 1}
    labels = {name: titles[name] if short[name] in shared else short[name] for name in names}
    return {name: label.replace("$", r"\$") for name, label in labels.items()}


def _words(lang: str) -> dict[str, str]:
    if lang not in WORDS:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    return WORDS[lang]


def decimal_text(value: float, words: dict[str, str], digits: int = 6) -> str:
    """``value`` to ``digits`` significant figures with the language's decimal mark (``words["decimal"]``),
    for a figure's titles, labels and ticks."""
    return f"{value:.{digits}g}".replace(".", words["decimal"])


def decimal_axis(axis: object, words: dict[str, str], digits: int = 6) -> None:
    """Tick labels of a linear axis with the language's decimal mark."""
    axis.set_major_formatter(FuncFormatter(lambda value, _: decimal_text(round(value, 10), words, digits)))


def _number(value: float, words: dict[str, str]) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:.3g}"
    return text.replace(".", words["decimal"])


def _label(curve: Curve, name: str, words: dict[str, str]) -> str:
    factor = curve.fit.factor_per_step
    if not np.isfinite(factor):
        return name
    return f"{name}  ({words['per_step'].format(factor=_number(factor, words))})"


def _drawable(log10_values: np.ndarray) -> np.ndarray:
    """10 to the ``log10_values``; NaN (not drawn) beyond ±LIMIT decades, where floats end."""
    inside = np.abs(log10_values) <= _LIMIT
    return np.where(inside, 10.0 ** np.where(inside, log10_values, 0.0), np.nan)


def _draw(axes: Axes, curve: Curve, colour: str, name: str, words: dict[str, str], style: str = "-",
          alpha: float = 0.2) -> None:
    median, low, high = (_drawable(values) for values in (curve.median, curve.low, curve.high))
    axes.fill_between(curve.steps, low, high, color=colour, alpha=alpha, linewidth=0)
    axes.plot(curve.steps, median, style, color=colour, label=_label(curve, name, words))


def _axes(figure: Figure, study: DecayStudy, what: str, title: str, words: dict[str, str],
          sizes: str | None = "sizes", medium: Medium = SLIDE) -> Axes:
    axes = figure.add_subplot()
    axes.set_yscale("log")
    axes.set_autoscaley_on(False)  # the y limits come from the bands (_limit), never from what is drawn
    axes.set_xlim(1, study.T)
    axes.set_xlabel(words["step"])
    axes.set_ylabel(words[what])
    axes.set_title(title, loc="left")
    if sizes is not None and medium.notes:  # the sizes in small print at the bottom right
        figure.text(0.99, 0.01, words[sizes].format(T=study.T, H=study.H, seeds=len(study.seeds)),
                    ha="right", va="bottom", fontsize=medium.small, color="#555555")
    axes.grid(True, which="major", color="#dddddd", linewidth=0.8)
    return axes


def _limit(axes: Axes, curves: tuple[Curve, ...]) -> None:
    """y limits from the curves' bands, so that a bound that explodes leaves the frame instead of
    stretching it (and nothing near 10^±308 reaches matplotlib's autoscaling)."""
    lows = np.concatenate([c.low[np.isfinite(c.low)] for c in curves] + [np.zeros(1)])
    highs = np.concatenate([c.high[np.isfinite(c.high)] for c in curves] + [np.zeros(1)])
    bottom, top = max(lows.min() - 0.5, -_LIMIT), min(highs.max() + 0.5, _LIMIT)
    axes.set_ylim(10.0 ** bottom, 10.0 ** top)


def _legend(figure: Figure, axes: Axes) -> Figure:
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return figure


def _figure(medium: Medium = SLIDE) -> Figure:
    return Figure(figsize=medium.size, dpi=DPI, layout="constrained")


def _cells(study: DecayStudy, words: dict[str, str], medium: Medium = SLIDE) -> Figure:
    figure = _figure(medium)
    labels = cell_labels((curve.cell for curve in study.cells), words["code"])
    named = list(labels.values())
    listed = LANGUAGES[words["code"]].listing(named, math=False)
    quantity = "dL/dh_k" if all(curve.what == "dL/dh_k" for curve in study.cells) else "gradient_norm"
    axes = _axes(figure, study, quantity, words["cells"].format(cells=listed), words, medium=medium)
    colours = {}
    for curve in study.cells:
        if curve.what == "dL/dh_k":
            colours[curve.cell] = OKABE_ITO[len(colours) % len(OKABE_ITO)]
            name = labels[curve.cell]
            if "forget_bias" in curve.setting:
                name += f" ($b_f$ = {_number(curve.setting['forget_bias'], words)})"
            _draw(axes, curve, colours[curve.cell], name, words)
        else:
            state = _state_symbol(curve, "course")
            name = words["state_curve"].format(cell=labels[curve.cell], state=state)
            _draw(axes, curve, colours.get(curve.cell, OKABE_ITO[-1]), name, words, ":")
    _limit(axes, study.cells)
    return _legend(figure, axes)


def _radii(study: DecayStudy, words: dict[str, str], medium: Medium = SLIDE) -> Figure:
    figure = _figure(medium)
    axes = _axes(figure, study, "dh_T/dh_k", words["radii"], words, medium=medium)
    colours = [OKABE_ITO[i % len(OKABE_ITO)] for i in range(len(study.radii))]
    for curve, colour in zip(study.radii, colours, strict=True):
        _draw(axes, curve, colour, rf"$\rho$ = {_number(curve.setting['radius'], words)}", words, alpha=0.1)
    _limit(axes, study.radii)
    k = np.arange(1, study.T + 1)
    for curve, colour in zip(study.radii, colours, strict=True):  # λ₁ the largest over the seeds
        bound = log10_bound(study.T, k, max(curve.singular_values))
        axes.plot(k, _drawable(bound), "--", color=colour, linewidth=1.4)
    axes.plot([], [], "--", color="#555555", linewidth=1.4, label=words["bound"])
    return _legend(figure, axes)


def _forget_bias(study: DecayStudy, words: dict[str, str], medium: Medium = SLIDE) -> Figure:
    figure = _figure(medium)
    axes = _axes(figure, study, "dL/dh_k", words["forget_bias"], words, medium=medium)
    for i, curve in enumerate(study.forget_biases):
        name = f"$b_f$ = {_number(curve.setting['forget_bias'], words)}"
        _draw(axes, curve, OKABE_ITO[i % len(OKABE_ITO)], name, words)
    _limit(axes, study.forget_biases)
    return _legend(figure, axes)


def _variants(study: DecayStudy, words: dict[str, str]) -> Figure:
    """‖∂L/∂h_k‖ of each cell of the variants experiment, medians only, in two panels: the cells that
    carry a further state (the LSTM and its variants) and those with one state; the LSTM reference
    black and dashed in both, the others in the Okabe–Ito colours, each with its forget-gate bias
    where the experiment set one."""
    figure = _figure()
    curves = [c for c in study.variants if c.what == "dL/dh_k"]
    labels = cell_labels([*CELLS, *(curve.cell for curve in curves)], words["code"])  # unambiguous among all
    reference, *others = curves

    def name(curve: Curve) -> str:
        text = labels[curve.cell]
        if "forget_bias" in curve.setting:
            text += f" ($b_f$ = {_number(curve.setting['forget_bias'], words)})"
        return _label(curve, text, words)

    def states(curve: Curve) -> int:
        return len(CELLS[curve.cell].states) if curve.cell in CELLS else 1

    panels = (("variants_gated", [c for c in others if states(c) > 1]),
              ("variants_single", [c for c in others if states(c) == 1]))
    grid = figure.subplots(2, 1, sharex=True, sharey=True)  # one above the other, each legend beside it
    for axes, (title, drawn) in zip(grid, panels, strict=True):
        axes.set_yscale("log")
        axes.set_autoscaley_on(False)
        axes.set_xlim(1, study.T)
        axes.set_title(words[title], loc="left", fontsize=13)
        axes.grid(True, which="major", color="#dddddd", linewidth=0.8)
        colours = len(OKABE_ITO) - 1  # black is the reference's
        for i, curve in enumerate(drawn):
            axes.plot(curve.steps, _drawable(curve.median), "-" if i < colours else ":",
                      color=OKABE_ITO[i % colours], linewidth=2.0, label=name(curve))
        axes.plot(reference.steps, _drawable(reference.median), "--", color=OKABE_ITO[-1], linewidth=2.4,
                  label=name(reference))
        _limit(axes, tuple(curves))
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    grid[1].set_xlabel(words["step"])
    figure.supylabel(words["dL/dh_k"])
    figure.suptitle(words["variants"], x=0.01, ha="left")
    figure.text(0.99, 0.01, words["sizes_median"].format(T=study.T, H=study.H, seeds=len(study.seeds)),
                ha="right", va="bottom", fontsize=SLIDE.small, color="#555555")
    return figure


def decay_figures(study: DecayStudy, lang: str = "en") -> dict[str, Figure]:
    """The figures, keyed by :data:`FIGURES` (``variants`` only where the study has that experiment),
    labelled in ``lang``."""
    words = _words(lang)
    with matplotlib.rc_context(_STYLE):
        figures = {"cells": _cells(study, words), "radii": _radii(study, words),
                   "forget_bias": _forget_bias(study, words)}
        if study.variants:
            figures["variants"] = _variants(study, words)
        return figures


def curves_of(data: dict, cell: str) -> tuple[Curve, ...]:
    """The curves of one cell in a study's ``decay.json`` (as :func:`bpttlab.reports.decay.data.decay_json`
    writes it): ‖∂L/∂ of each state‖ from the cells experiment, else from the variants one; ()
    when the study did not run that cell. A ``null`` there is a norm of exactly 0 (log10 −inf)."""
    found: dict[str, Curve] = {}
    for experiment in ("cells", "variants"):
        for entry in data["figures"].get(experiment, ()):
            quantity = entry["quantity"]
            if entry["cell"] != cell or not quantity.startswith("dL/d") or quantity in found:
                continue
            seeds = tuple(int(seed) for seed in entry["by_seed_log10"])
            by_seed = entry["by_seed_log10"]
            rows = np.array([[-np.inf if v is None else v for v in by_seed[str(seed)]] for seed in seeds],
                            dtype=float)
            found[entry["quantity"]] = Curve(entry["label"], cell, entry["quantity"], entry["setting"],
                                             np.array(entry["k"]), seeds, rows)
    return tuple(found.values())


def _state_symbol(curve: Curve, notation: str) -> str:
    """The state a curve of ‖∂L/∂·‖ is about, at step k, as mathtext in ``notation``: its own cell's
    state (``C_k`` for the LSTM's ``dL/dc_k``, ``i_k`` for a cell whose state is a gate)."""
    state = curve.what.removeprefix("dL/d").removesuffix("_k")
    return _mathtext(notation_of(notation).latex(shift_name(f"{state}_t", "k")))


def _mathtext(latex: str) -> str:
    """A sheet symbol for matplotlib's mathtext, which has \\mathbf but not \\bm."""
    return latex.replace(r"\bm{", r"\mathbf{")


def cell_figure(curves: tuple[Curve, ...], T: int, H: int, lang: str = "en",
                notation: str = "course", medium: Medium = PRINT) -> Figure:
    """‖∂L/∂s_k‖ of one cell's states against k (:func:`curves_of`), named in the sheet's
    ``notation`` (``h_k``, ``C_k``; ``h^{(k)}``, ``s^{(k)}``): the figure of that cell's section,
    whose caption names the cell; printed at the sheet's text width by default."""
    if not curves:
        raise ValueError("curves must hold at least one curve of the cell (curves_of found none)")
    words = _words(lang)
    written = notation_of(notation)
    with matplotlib.rc_context(medium.style):
        figure = _figure(medium)
        axes = figure.add_subplot()
        axes.set_yscale("log")
        axes.set_autoscaley_on(False)
        axes.set_xlim(1, T)
        axes.set_xlabel(words["step"])
        axes.set_title(words["one_cell"], loc="left")
        axes.grid(True, which="major", color="#dddddd", linewidth=0.8)
        styles = ("-", ":", "--", "-.")
        for i, curve in enumerate(curves):
            name = rf"$\|\partial L / \partial {_state_symbol(curve, notation)}\|$"
            _draw(axes, curve, OKABE_ITO[i % len(OKABE_ITO)], name, words, styles[i % len(styles)])
        axes.set_ylabel(r"$\|\partial L / \partial \cdot\|$")
        _limit(axes, curves)
        if medium.notes:  # on a sheet the caption states the sizes
            sizes = words["sizes"].format(T=T, H=H, seeds=len(curves[0].seeds))
            if written.length != "T":  # the notation's own length (the book's τ)
                sizes = sizes.replace("T = ", f"${written.length}$ = ", 1)
            figure.text(0.99, 0.01, sizes, ha="right", va="bottom", fontsize=medium.small, color="#555555")
        return _legend(figure, axes)


def _in_notation(words: dict[str, str], notation: str) -> dict[str, str]:
    """The decay figures' words with the course's symbols (W_hh, h_T, h_k, the length T) written as
    ``notation`` writes them."""
    written = notation_of(notation)
    if notation == next(iter(NOTATIONS)):  # the words are written in the first (the course's)
        return words
    swaps = {"$W_{hh}$": f"${_mathtext(written.latex('W_hh'))}$",
             r"\partial h_T": rf"\partial {_mathtext(written.latex(shift_name('h_t', 'T')))}",
             r"\partial h_k": rf"\partial {_mathtext(written.latex(shift_name('h_t', 'k')))}",
             "^{T-k}": f"^{{{_mathtext(written.length)}-k}}"}
    changed = dict(words)
    for key, text in words.items():
        for course, other in swaps.items():
            text = text.replace(course, other)
        changed[key] = text
    return changed


def radii_figure(data: dict, lang: str = "en", medium: Medium = PRINT, notation: str = "course") -> Figure:
    """The spectral-radius figure drawn again from a study's ``decay.json`` (its ``radii`` entries,
    each with λ₁ per seed), for a sheet: the same curves and bounds as :func:`decay_figures` draws,
    its symbols written as ``notation`` writes them."""
    from types import SimpleNamespace

    curves = []
    for entry in data["figures"]["radii"]:
        seeds = tuple(int(seed) for seed in entry["by_seed_log10"])
        by_seed = entry["by_seed_log10"]
        rows = np.array([[-np.inf if v is None else v for v in by_seed[str(seed)]] for seed in seeds],
                        dtype=float)
        largest = tuple(entry["largest_singular_value_by_seed"][str(s)] for s in seeds)
        curves.append(Curve(entry["label"], entry["cell"], entry["quantity"], entry["setting"],
                            np.array(entry["k"]), seeds, rows, largest))
    study = SimpleNamespace(T=data["T"], H=data["H"], seeds=tuple(data["seeds"]), radii=tuple(curves))
    with matplotlib.rc_context(medium.style):
        return _radii(study, _in_notation(_words(lang), notation), medium)


def forget_bias_figure(data: dict, lang: str = "en", medium: Medium = PRINT,
                       notation: str = "course") -> Figure:
    """The forget-gate-bias figure drawn again from a study's ``decay.json`` (its ``forget_bias``
    entries), for a sheet: the same curves as :func:`decay_figures` draws, in ``notation``'s symbols."""
    from types import SimpleNamespace

    curves = tuple(curve for curve in _entries(data, "forget_bias") if curve.what == "dL/dh_k")
    study = SimpleNamespace(T=data["T"], H=data["H"], seeds=tuple(data["seeds"]), forget_biases=curves)
    with matplotlib.rc_context(medium.style):
        return _forget_bias(study, _in_notation(_words(lang), notation), medium)


def cells_figure(data: dict, lang: str = "en", medium: Medium = PRINT, notation: str = "course") -> Figure:
    """The figure of the cells side by side drawn again from a study's ``decay.json`` (its ``cells``
    entries), for a sheet."""
    from types import SimpleNamespace

    study = SimpleNamespace(T=data["T"], H=data["H"], seeds=tuple(data["seeds"]),
                            cells=tuple(_entries(data, "cells")))
    with matplotlib.rc_context(medium.style):
        return _cells(study, _in_notation(_words(lang), notation), medium)


def _entries(data: dict, experiment: str) -> list[Curve]:
    curves = []
    for entry in data["figures"].get(experiment, ()):
        seeds = tuple(int(seed) for seed in entry["by_seed_log10"])
        by_seed = entry["by_seed_log10"]
        rows = np.array([[-np.inf if v is None else v for v in by_seed[str(seed)]] for seed in seeds],
                        dtype=float)
        curves.append(Curve(entry["label"], entry["cell"], entry["quantity"], entry["setting"],
                            np.array(entry["k"]), seeds, rows))
    return curves


def save_figure(figure: Figure, stem: str | Path, formats: tuple[str, ...] = (".png", ".pdf")) -> list[Path]:
    """Write ``stem``.png and ``stem``.pdf (or the ``formats`` given) atomically, the PDF without a
    creation date; their paths."""
    written = []
    metadata_of = {".png": {"Software": None}, ".pdf": {"CreationDate": None}}
    with matplotlib.rc_context(_STYLE):
        for suffix, metadata in ((suffix, metadata_of[suffix]) for suffix in formats):
            path = Path(stem).with_name(Path(stem).name + suffix)
            with atomic_path(path) as temporary:
                figure.savefig(temporary, format=suffix[1:], dpi=DPI, metadata=metadata)
            written.append(path)
    return written
