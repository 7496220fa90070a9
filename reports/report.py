"""``REPORT.md``: the one-page summary of ``bpttlab all`` — every file linked, the verification table
and the headline decay figure embedded.

The page holds no timings, so two runs with the same results write the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bpttlab.reports.atomic import write_text

__all__ = ["Step", "render_report", "write_report"]


@dataclass
class Step:
    """One step of the job: what it wrote, whether everything in it passed, how long it took."""

    name: str
    passed: bool = True
    seconds: float = 0.0
    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # what did not run here, e.g. the PyTorch checks
    data: dict = field(default_factory=dict)


def _relative(path: Path, out: Path) -> str:
    return Path(os.path.relpath(path, out)).as_posix()


def _link(path: Path, out: Path) -> str:
    return f"[{path.name}]({_relative(path, out)})"


def _verification_table(results: Sequence) -> list[str]:
    """The worst case per cell and check, over heads and placements; a skipped check says so."""
    rows: dict[tuple[str, str], list] = {}
    for r in results:
        rows.setdefault((r.cell, r.check), []).append(r)
    lines = ["| cell | compared with | cases | worst relative error | bar | result |",
             "| --- | --- | ---: | ---: | ---: | --- |"]
    for (cell, check), cases in rows.items():
        ran = [r.max_rel for r in cases if r.max_rel is not None]
        worst = f"{max(ran):.1e}" if ran else "—"
        if any(r.failed for r in cases):
            result = "**failed**"
        else:
            result = "passed" if ran else "skipped"
        lines.append(f"| {cell} | {check} | {len(cases)} | {worst} | {cases[0].bar:.0e} | {result} |")
    return lines


def _sheet_table(files: Sequence[Path], out: Path) -> list[str]:
    """Sheets named ``cell.lang.notation.ext`` as a table: a row per cell, a column per variant."""
    rows: dict[str, dict[str, str]] = {}
    for path in files:
        sheet, lang, notation = path.stem.split(".")
        rows.setdefault(sheet, {})[f"{lang} {notation}"] = f"[{path.suffix[1:]}]({_relative(path, out)})"
    columns = list(dict.fromkeys(column for row in rows.values() for column in row))
    lines = ["| sheet | " + " | ".join(columns) + " |", "| --- |" + " --- |" * len(columns)]
    lines += [f"| {sheet} | " + " | ".join(row.get(c, "") for c in columns) + " |"
              for sheet, row in rows.items()]
    return lines


def render_report(out: Path, steps: Sequence[Step]) -> str:
    """The Markdown text of REPORT.md for the steps of a run written under ``out``."""
    by_name = {s.name: s for s in steps}
    failed = [s.name for s in steps if not s.passed]
    skipped = [name for s in steps for name in s.skipped]
    if failed:
        verdict = f"**Failed: {', '.join(failed)}.**"
    elif skipped:
        verdict = f"Everything that ran passed. Skipped: {', '.join(skipped)}."
    else:
        verdict = "Everything passed."
    lines = ["# bpttlab report", "", verdict, ""]
    lines += ["| step | result | files |", "| --- | --- | --- |"]
    for s in steps:
        data = " ".join(_link(p, out) for p in s.written if p.suffix in (".txt", ".json", ".csv"))
        lines.append(f"| {s.name} | {'ok' if s.passed else '**failed**'} | {data} |")
    if "decay" in by_name and by_name["decay"].data.get("figure"):
        figure = Path(by_name["decay"].data["figure"])
        lines += ["", "## Gradient decay", "",
                  f"![gradient norms against the step]({_relative(figure, out)})", ""]
        lines.append(" · ".join(_link(p, out) for p in by_name["decay"].written))
    if "learn" in by_name and by_name["learn"].data.get("verdicts"):
        learn = by_name["learn"]
        config = learn.data["config"]
        lines += ["", "## What each cell learns (adding problem)", "",
                  f"Solved: MSE below 10 % of the 0.167 baseline within {config.budget} Adam steps "
                  f"({len(config.seeds)} seed(s), H = {config.H}), beside the decay horizon at "
                  f"initialisation.",
                  "", f"![fraction solved against T]({_relative(Path(learn.data['figure']), out)})", "",
                  *learn.data["verdicts"], ""]
        lines.append(" · ".join(_link(p, out) for p in learn.written if p.suffix in (".csv", ".json", ".md")))
        lines += [f"- {note}" for note in learn.notes]
    if "verify" in by_name and by_name["verify"].data.get("results"):
        lines += ["", "## Gradient verification", "", *_verification_table(by_name["verify"].data["results"])]
        lines += [f"- {note}" for note in by_name["verify"].notes]
    if "proofs" in by_name and by_name["proofs"].data.get("proofs"):
        lines += ["", "## Proofs (one step of every cell and head, exact in SymPy)", ""]
        lines += [f"- {name}: {'proven' if ok else '**failed**'}, {count} identities"
                  for name, ok, count in by_name["proofs"].data["proofs"]]
    if "sheets" in by_name:
        pdfs = [p for p in by_name["sheets"].written if p.suffix == ".pdf"]
        texs = [p for p in by_name["sheets"].written if p.suffix == ".tex"]
        lines += ["", "## Equation sheets", ""]
        lines += _sheet_table(pdfs or texs, out)
        lines += [f"- {note}" for note in by_name["sheets"].notes]
    return "\n".join(lines) + "\n"


def write_report(out: Path, steps: Sequence[Step]) -> Path:
    """Write ``out/REPORT.md``; returns its path."""
    path = Path(out) / "REPORT.md"
    write_text(path, render_report(Path(out), steps))
    return path
