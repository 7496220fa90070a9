"""The learning study on the course sheet: from a learning study's folder (its ``learn.json`` and
figures), the context of the sheet's learning section — the success figure copied beside the sheet, a
row per setting (runs solved per T), the study's sizes — all numbers in the sheet's decimal mark;
or None when the study does not meet the sheet's standard (:data:`.standard.STANDARD`: the four
course cells, at least three seeds, T up to at least 100), and the sheet then leaves the section out.
Nothing here is prose: the templates say what it means.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from bpttlab.derivations import CELLS
from bpttlab.reports.atomic import write_bytes
from bpttlab.reports.learn.standard import STANDARD
from bpttlab.reports.sheets.numbers import number

__all__ = ["LearningRow", "LearningSection", "learning_context"]


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


def learning_context(folder: str | os.PathLike, out: str | os.PathLike, lang: str) -> LearningSection | None:
    """The section's context for a sheet written into ``out`` in ``lang``, from the study in
    ``folder`` (its figures are copied into ``out``/figures); None when the study does not meet the
    sheet's standard."""
    folder, out = Path(folder), Path(out)
    data_path = folder / "learn.json"
    if not data_path.exists():
        raise ValueError(f"learning figures: {data_path} not found; run `bpttlab learn --out {folder}` first")
    data = json.loads(data_path.read_text(encoding="utf-8"))
    if not STANDARD.met(data):
        return None
    config = data["config"]
    runs: dict[tuple[str, int], list[dict]] = {}
    for run in data["runs"]:
        runs.setdefault((run["setting"], run["T"]), []).append(run)
    rows = []
    for setting in data["settings"]:
        solved = []
        for T in config["lengths"]:
            ran = [r for r in runs.get((setting["key"], T), []) if r["status"] != "skipped"]
            solved.append(f"{sum(r['status'] == 'solved' for r in ran)}/{len(ran)}" if ran else "")
        horizon = data["horizons"][setting["key"]]
        title = CELLS[setting["cell"]].title if setting["cell"] in CELLS else _tex(setting["cell"])
        if setting["radius"] is not None:
            title += rf", $\rho = {number(setting['radius'], lang)}$"
        if setting["clip"] is not None:
            title += rf", $\theta = {number(setting['clip'], lang)}$"
        rows.append(LearningRow(_tex(setting["cell"]), title,
                                "" if setting["radius"] is None else number(setting["radius"], lang),
                                setting["clip"] is not None, horizon["text"].replace(">", "$>$"),
                                tuple(solved), data["verdicts"][setting["key"]]["consistent"]))
    hello = data["hello"]
    return LearningSection(
        success=_copy(folder / f"success.{lang}.pdf", out, f"learn-success.{lang}.pdf"),
        hello=_copy(folder / f"hello.{lang}.pdf", out, f"learn-hello.{lang}.pdf"),
        lengths=tuple(config["lengths"]), seeds=len(config["seeds"]), budget=config["budget"], H=config["H"],
        batch=config["batch_size"], lr=number(config["lr"], lang), clip=number(config["clip"], lang),
        baseline=number(data["task"]["baseline_mse"], lang, 3),
        threshold=number(data["task"]["solved_below_mse"], lang, 4),
        rows=tuple(rows), agree=sum(r.consistent for r in rows), hello_ello_at=hello["ello_from_step"],
        hello_steps=len(hello["losses"]), hello_cell=_tex(hello["cell"]), hello_H=hello["H"],
        hello_lr=number(hello["lr"], lang))
