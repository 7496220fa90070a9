"""The numbers behind the decay figures: CSV with one row per curve and step, JSON with every curve's
setting, fit and horizon, its median, min and max, every seed, and the bound checks.

Norms are written as log10 values (a product of many Jacobians can fall below the smallest float),
to 10 significant digits; a norm of exactly 0 is ``-inf`` in the CSV and ``null`` in the JSON. The
same study gives the same bytes.

>>> from bpttlab.numeric.decay import decay_study
>>> study = decay_study(T=3, H=2, seeds=(0,), radii=(0.5,), forget_biases=(1.0,), cells=("rnn",))
>>> decay_csv(study).splitlines()[0]
'figure,curve,cell,quantity,k,median_log10,min_log10,max_log10,seed_0_log10'
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np

from bpttlab.numeric.decay.norms import HORIZON_DROP, DecayFit
from bpttlab.numeric.decay.study import BOUND_TOLERANCE, HEAD, INPUT_SEED, Curve, D, DecayStudy, K

__all__ = ["decay_csv", "decay_json", "figure_curves"]


def figure_curves(study: DecayStudy) -> dict[str, tuple[Curve, ...]]:
    """The curves of each figure, keyed like :data:`bpttlab.reports.decay.plots.FIGURES`."""
    return {"cells": study.cells, "radii": study.radii, "forget_bias": study.forget_biases,
            "variants": study.variants}


def _number(value: float) -> float | None:
    return float(f"{value:.10g}") if np.isfinite(value) else None


def _text(value: float) -> str:
    return f"{value:.10g}"  # -inf stays "-inf"


def decay_csv(study: DecayStudy) -> str:
    """One row per figure, curve and step k: median, min and max of log10 of the norm, then each seed."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["figure", "curve", "cell", "quantity", "k", "median_log10", "min_log10", "max_log10",
                     *(f"seed_{seed}_log10" for seed in study.seeds)])
    for figure, curves in figure_curves(study).items():
        for curve in curves:
            columns = np.vstack([curve.median, curve.low, curve.high, curve.log10_by_seed])
            for k, values in zip(curve.steps.tolist(), columns.T, strict=True):
                writer.writerow([figure, curve.label, curve.cell, curve.what, k, *map(_text, values)])
    return out.getvalue()


def _fit(fit: DecayFit) -> dict:
    return {"slope_log10_per_step": _number(fit.slope), "factor_per_step": _number(fit.factor_per_step),
            "horizon": fit.horizon}


def _curve(curve: Curve) -> dict:
    return {
        "label": curve.label,
        "cell": curve.cell,
        "quantity": curve.what,
        "setting": {name: _number(value) for name, value in curve.setting.items()},
        "fit_of_median": _fit(curve.fit),
        "fit_by_seed": {str(seed): _fit(fit) for seed, fit in zip(curve.seeds, curve.seed_fits, strict=True)},
        "largest_singular_value_by_seed": {str(seed): _number(lam) for seed, lam
                                           in zip(curve.seeds, curve.singular_values, strict=False)},
        "k": curve.steps.tolist(),
        "median_log10": [_number(v) for v in curve.median],
        "min_log10": [_number(v) for v in curve.low],
        "max_log10": [_number(v) for v in curve.high],
        "by_seed_log10": {str(seed): [_number(v) for v in row]
                          for seed, row in zip(curve.seeds, curve.log10_by_seed, strict=True)},
    }


def decay_json(study: DecayStudy) -> str:
    """Everything in the study, with the sizes, the seeds and the bound checks."""
    data = {
        "T": study.T, "H": study.H, "D": D, "K": K, "head": HEAD, "loss_at": "last",
        "input_seed": INPUT_SEED, "seeds": list(study.seeds),
        "jacobian_steps": "every k" if study.every_step else "64 log-spaced k",
        "horizon_drop": HORIZON_DROP,
        "figures": {name: [_curve(c) for c in curves] for name, curves in figure_curves(study).items()},
        "bound_check": {
            "statement": "||dh_T/dh_k||_2 <= lambda1^(T-k) for the tanh RNN, lambda1 = sigma_max(W_hh)",
            "passed": study.passed,
            "tolerance_log10": BOUND_TOLERANCE,
            "checks": [{"label": c.label, "seed": c.seed, "lambda1": _number(c.singular_value),
                        "margin_log10": _number(c.margin), "passed": c.passed} for c in study.bound_checks],
        },
    }
    return json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
