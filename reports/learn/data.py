"""The learning study as data: ``learn.csv`` with one row per run, ``learn.json`` with the settings,
the horizons, every run (with its evaluation curve), the verdicts and the hello example's curve. No
timings, so the same study gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict

from bpttlab.numeric.training import ADDING_BASELINE
from bpttlab.reports.learn.hello import HelloCurve
from bpttlab.reports.learn.study import Study, verdict

__all__ = ["learn_csv", "learn_json"]


def _number(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.10g}")


def learn_csv(study: Study) -> str:
    """setting, cell, T, seed, status, steps to solve, steps run, final MSE, largest gradient norm,
    horizon at initialisation."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["setting", "cell", "T", "seed", "status", "solved_at", "steps", "final_mse",
                     "max_grad_norm", "horizon_at_init"])
    cells = {s.key: s.cell for s in study.settings}
    for o in study.outcomes:
        writer.writerow([o.setting, cells[o.setting], o.T, o.seed, o.status,
                         "" if o.solved_at is None else o.solved_at, o.steps,
                         "" if o.final_error is None else f"{o.final_error:.6g}",
                         "" if o.max_grad_norm is None else f"{o.max_grad_norm:.6g}",
                         study.horizons[o.setting].text()])
    return out.getvalue()


def learn_json(study: Study, hello: HelloCurve | None = None) -> str:
    config = asdict(study.config)
    data = {
        "task": {"name": "adding problem", "head": "linear", "loss_at": "last",
                 "baseline_mse": ADDING_BASELINE, "solved_below_mse": 0.1 * ADDING_BASELINE},
        "config": config,
        "settings": [asdict(s) for s in study.settings],
        "horizons": {k: {"steps": h.steps, "text": h.text(), "factor_per_step": _number(h.factor),
                         "T_measured": h.T_measured} for k, h in study.horizons.items()},
        "verdicts": {s.key: dict(zip(("text", "consistent"), verdict(study, s.key), strict=True))
                     for s in study.settings},
        "runs": [{**asdict(o), "final_error": _number(o.final_error),
                  "max_grad_norm": _number(o.max_grad_norm),
                  "evaluations": [[s, _number(e)] for s, e in o.evaluations]} for o in study.outcomes],
    }
    if hello is not None:
        data["hello"] = {"cell": hello.cell, "H": hello.H, "seed": hello.seed, "lr": hello.lr,
                         "losses": [_number(v) for v in hello.losses], "ello_from_step": hello.ello_at,
                         "predicted": hello.predicted}
    return json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
