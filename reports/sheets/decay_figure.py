"""The gradient-decay figure of one cell's section: that cell's curves only, drawn from the data of a
``bpttlab decay`` run (its ``decay.json``) in the sheet's language and notation, with the facts its
caption states (head, loss, sizes, input, the forget-gate bias, the measured fall per step).

>>> import json, tempfile
>>> from bpttlab.reports.decay.job import write_decay
>>> folder = tempfile.mkdtemp()
>>> _ = write_decay(folder, T=6, H=3, seeds=(0,), radii=(0.5,), forget_biases=(1.0,), langs=("en",))
>>> figures = cell_decay_figures(folder, tempfile.mkdtemp(), ("lstm",), "id", "course")
>>> [curve.symbol for curve in figures["lstm"].curves], figures["lstm"].forget_bias
(['h_k', 'C_k'], '1')
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bpttlab.derivations.heads import head as head_of
from bpttlab.derivations.printing.notations import notation as notation_of
from bpttlab.derivations.printing.time_index import shift_name
from bpttlab.derivations.scalar import sigmoid
from bpttlab.reports.sheets.numbers import number

__all__ = ["CurveFact", "DecayFigure", "cell_decay_figures"]

#: (data file, its modification time, figure stem) of the figures drawn in this process.
_DRAWN: set[tuple[str, int, str]] = set()


@dataclass(frozen=True)
class CurveFact:
    """One curve: the state's ``symbol`` at step k, the fitted ``factor`` per step and ``decades``,
    log10 of that factor over the T − 1 steps back, and ``first``, the factor of the median over the
    first step back alone (all in the sheet's decimal mark)."""

    symbol: str
    factor: str
    decades: str
    #: steps back until the median is 10⁻⁶ of its value at T (None: not within T − 1)
    horizon: int | None = None
    first: str = ""


@dataclass(frozen=True)
class DecayFigure:
    """``path`` of the figure relative to the sheet, and what its caption says."""

    path: str
    T: int
    H: int
    D: int
    K: int
    seeds: int
    head: str
    loss_at: str
    head_title: str
    input_seed: int
    forget_bias: str  # "" when the cell has no forget gate
    gate_at_bias: str  # σ(b_f), the forget gate's value the bias alone gives
    curves: tuple[CurveFact, ...]
    #: the first curve's fitted factor per step exceeds σ(b_f): the norm fades more slowly than the
    #: gate's value at its bias alone would make it
    slower_than_gate: bool = False


def cell_decay_figures(folder: str | os.PathLike, out: str | os.PathLike, cells: tuple[str, ...], lang: str,
                       notation: str) -> dict[str, DecayFigure]:
    """Draw, into ``out``/figures, the figure of each of ``cells`` that the decay study in ``folder``
    ran, in ``lang`` and ``notation``; each one's :class:`DecayFigure`, by cell name."""
    from bpttlab.reports.decay.plots import (  # the figures import the languages
        cell_figure,
        curves_of,
        save_figure,
    )

    data_file = Path(folder) / "decay.json"
    if not data_file.is_file():
        raise ValueError(f"no decay data {data_file}; run `bpttlab decay --out {folder}` first")
    data = json.loads(data_file.read_text(encoding="utf-8"))
    written = notation_of(notation)
    figures_dir = Path(out) / "figures"
    figures = {}
    for cell in cells:
        curves = curves_of(data, cell)
        if not curves:
            continue
        figures_dir.mkdir(parents=True, exist_ok=True)
        stem = figures_dir / f"decay_{cell}.{notation}.{lang}"
        # A sheet includes the PDF only; a cell's figure drawn from the same data file is drawn once
        # per process (its own sheet and the course sheet share it).
        drawn = (str(data_file.resolve()), data_file.stat().st_mtime_ns, str(stem.resolve()))
        if drawn not in _DRAWN or not stem.with_name(stem.name + ".pdf").is_file():
            save_figure(cell_figure(curves, data["T"], data["H"], lang, notation), stem, formats=(".pdf",))
            _DRAWN.add(drawn)
        facts = []
        for curve in curves:
            state = curve.what.removeprefix("dL/d").removesuffix("_k")
            factor = curve.fit.factor_per_step
            decades = (data["T"] - 1) * math.log10(factor) if factor > 0 else float("-inf")
            median = np.median(curve.log10_by_seed, axis=0)  # over the seeds, at k = 1 … T
            first = 10 ** (median[-2] - median[-1]) if np.all(np.isfinite(median[-2:])) else 0.0
            facts.append(CurveFact(written.latex(shift_name(f"{state}_t", "k")), number(factor, lang, 2),
                                   number(decades, lang, 1), curve.fit.horizon, number(first, lang, 2)))
        bias = curves[0].setting.get("forget_bias")
        figures[cell] = DecayFigure(
            path=Path(os.path.relpath(stem.with_suffix(stem.suffix + ".pdf"), out)).as_posix(),
            T=data["T"], H=data["H"], D=data["D"], K=data["K"], seeds=len(data["seeds"]),
            head=data["head"], loss_at=data["loss_at"], head_title=head_of(data["head"]).title,
            input_seed=data["input_seed"],
            forget_bias="" if bias is None else number(f"{bias:g}", lang),
            gate_at_bias="" if bias is None else number(float(sigmoid(bias)), lang, 2),
            curves=tuple(facts),
            slower_than_gate=bias is not None and curves[0].fit.factor_per_step > float(sigmoid(bias)))
    return figures
