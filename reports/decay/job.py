"""Run the gradient-decay study and write everything it produces into one folder: the figures (PNG and
PDF, per language), ``decay.csv`` and ``decay.json``, and the clipping and truncation measurements
(``clip``, ``trunc``: JSON and figures). Used by ``bpttlab decay`` and by
``bpttlab all``; every file is written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bpttlab.numeric.decay.clipping import clipping_demo
from bpttlab.numeric.decay.study import CELLS, FORGET_BIASES, RADII, SEEDS, DecayStudy, decay_study
from bpttlab.numeric.decay.truncation import truncation_study
from bpttlab.reports.atomic import write_text
from bpttlab.reports.decay.data import decay_csv, decay_json
from bpttlab.reports.decay.plots import LANGUAGES, decay_figures, save_figure
from bpttlab.reports.decay.remedies import write_remedies

__all__ = ["DecayResult", "write_decay"]


@dataclass
class DecayResult:
    """What :func:`write_decay` did: the files (data first, then the figures), whether the bound check
    passed, the headline figure (``cells`` PNG of the first language) and notes for a summary."""

    study: DecayStudy
    written: list[Path] = field(default_factory=list)
    headline: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.study.passed


def write_decay(out: str | os.PathLike, *, T: int = 100, H: int = 32, seeds: Sequence[int] = SEEDS,
                radii: Sequence[float] = RADII, forget_biases: Sequence[float] = FORGET_BIASES,
                cells: Sequence[str] = CELLS, langs: Sequence[str] = LANGUAGES) -> DecayResult:
    """Create ``out`` if needed, run :func:`bpttlab.numeric.decay.study.decay_study` and write
    ``decay.csv``, ``decay.json`` and ``{figure}.{lang}.png``/``.pdf`` for each language in ``langs``;
    then the gradient-clipping demonstration and the truncated-BPTT study (at ``T``, ``H``, ``seeds``):
    ``clip.json``, ``trunc.json`` and the figures ``clip.{lang}``, ``trunc.{lang}``."""
    langs = tuple(dict.fromkeys(langs)) if not isinstance(langs, str) else ()
    if not langs or any(lang not in LANGUAGES for lang in langs):
        raise ValueError(f"langs must be a non-empty sequence of {', '.join(LANGUAGES)}, got {langs!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)  # an unwritable folder fails here, before any work
    study = decay_study(T=T, H=H, seeds=seeds, radii=radii, forget_biases=forget_biases, cells=cells)
    result = DecayResult(study)
    for name, text in (("decay.csv", decay_csv(study)), ("decay.json", decay_json(study))):
        write_text(out / name, text)
        result.written.append(out / name)
    for lang in langs:
        for name, figure in decay_figures(study, lang).items():
            result.written += save_figure(figure, out / f"{name}.{lang}")
    demo = clipping_demo()
    truncation = truncation_study(T=T, H=H, seeds=seeds)
    result.written += write_remedies(out, demo, truncation, langs)
    plain, clipped = demo.plain, demo.clipped
    result.notes.append(f"clipping (rho = {demo.radius:g}, {len(plain.losses)} SGD updates): largest ||g|| "
                        f"{plain.grad_norms.max():.4g} without, final loss/T {plain.losses[-1]:.4g} without "
                        f"and {clipped.losses[-1]:.4g} clipped at {demo.threshold:g}")
    k2 = min(10, T - 1)
    errors = ", ".join(f"{curve.cell} (k1 = {'k2' if curve.k1 == 'k2' else curve.k1}) "
                       f"{curve.median[curve.k2s.tolist().index(k2)]:.2g}"
                       for curve in truncation.curves if k2 in curve.k2s)
    result.notes.append(f"truncated BPTT, median relative error of the gradient at k2 = {k2}: {errors}")
    result.headline = out / f"cells.{langs[0]}.png"
    failed = [c for c in study.bound_checks if not c.passed]
    checked = len(study.bound_checks)
    if failed:
        worst = max(failed, key=lambda c: c.margin)
        result.notes.append(f"bound check FAILED on {len(failed)} of {checked} RNNs; worst: {worst.label} "
                            f"seed {worst.seed}, norm above lambda1^(T-k) by a factor 10^{worst.margin:.3g}")
    else:
        result.notes.append(f"bound ||dh_T/dh_k||_2 <= lambda1^(T-k) holds on all {checked} RNNs")
    return result
