"""``REPORT.md``: the one-page summary of ``bpttlab all`` — when, by what and on which machine it ran,
each step's result, what that result means and how long it took, every file linked, the verification
table and the headline decay figure embedded.

The data files (``.tex``, CSV, JSON) are the same bytes from run to run; REPORT.md is the page that
says when and where its run happened, so it changes with the date and the timings.
"""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bpttlab.reports.atomic import write_text

__all__ = ["Run", "Step", "render_report", "write_report"]


@dataclass
class Step:
    """One step of the job: what it wrote, whether everything in it passed, how long it took."""

    name: str
    passed: bool = True
    meaning: str = ""  # what "ok" means for this step, one line
    seconds: float = 0.0
    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # what did not run here, e.g. the PyTorch checks
    data: dict = field(default_factory=dict)


def _commit() -> str:
    """The commit of the checkout bpttlab runs from, or a sentence saying there is none."""
    here = Path(__file__).resolve().parent
    try:
        done = subprocess.run(["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return "not from a git checkout"
    if done.returncode != 0 or not done.stdout.strip():
        return "not from a git checkout"
    dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    return f"commit {done.stdout.strip()}" + (" with uncommitted changes" if dirty else "")


def _machine() -> str:
    """The CPU's model and cores, as Linux names them (else the platform's description)."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo
                          if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{model or platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def _versions() -> str:
    found = []
    for package in ("numpy", "sympy", "torch", "jax"):
        try:
            found.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            continue
    return ", ".join([f"Python {platform.python_version()}", *found])


@dataclass(frozen=True)
class Run:
    """When, by what and where a run happened: its start (UTC), the command line, bpttlab's version and
    commit, the machine and the libraries' versions."""

    started: datetime
    command: str
    bpttlab: str
    commit: str
    machine: str
    versions: str

    @classmethod
    def now(cls, command: str) -> Run:
        """This process's run of ``command``, starting now."""
        try:
            own = version("bpttlab")
        except PackageNotFoundError:
            own = "(not installed)"
        return cls(datetime.now(timezone.utc), command, own, _commit(), _machine(), _versions())

    def lines(self) -> list[str]:
        return [f"Run of `{self.command}` on {self.started:%Y-%m-%d %H:%M} UTC with bpttlab {self.bpttlab} "
                f"({self.commit}), {self.versions}, on {self.machine}."]


def _relative(path: Path, out: Path) -> str:
    return Path(os.path.relpath(path, out)).as_posix()


def _link(path: Path, out: Path) -> str:
    return f"[{path.name}]({_relative(path, out)})"


def _verification_table(results: Sequence) -> list[str]:
    """The worst case per cell and check, over heads and placements, with the quantity it is in; a
    skipped check says so."""
    rows: dict[tuple[str, str], list] = {}
    for r in results:
        rows.setdefault((r.cell, r.check), []).append(r)
    lines = ["| cell | compared with | cases | worst relative error | bar | result |",
             "| --- | --- | ---: | ---: | ---: | --- |"]
    for (cell, check), cases in rows.items():
        ran = [r for r in cases if r.max_rel is not None]
        worst = max(ran, key=lambda r: r.max_rel) if ran else None
        text = "—" if worst is None else f"{worst.max_rel:.1e}"
        if worst is not None and worst.quantity:
            text += f" ({worst.quantity})"
        if any(r.failed for r in cases):
            result = "**failed**"
        else:
            result = "passed" if ran else "skipped"
        lines.append(f"| {cell} | {check} | {len(cases)} | {text} | {cases[0].bar:.0e} | {result} |")
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


def _files(step: Step, out: Path) -> str:
    """The step's data files linked; where it wrote only documents (the sheets), how many and where."""
    data = [p for p in step.written if p.suffix in (".txt", ".json", ".csv")]
    if data or not step.written:
        return " ".join(_link(p, out) for p in data)
    kinds = sorted({p.suffix[1:] for p in step.written})
    return f"{len(step.written)} files ({', '.join(kinds)}), listed below"


def render_report(out: Path, steps: Sequence[Step], run: Run | None = None) -> str:
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
    if run is not None:
        lines += [*run.lines(), ""]
    lines += ["| step | result | what ok means | time | files |", "| --- | --- | --- | ---: | --- |"]
    for s in steps:
        lines.append(f"| {s.name} | {'ok' if s.passed else '**failed**'} | {s.meaning} | {s.seconds:.1f} s "
                     f"| {_files(s, out)} |")
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


def write_report(out: Path, steps: Sequence[Step], run: Run | None = None) -> Path:
    """Write ``out/REPORT.md``; returns its path."""
    path = Path(out) / "REPORT.md"
    write_text(path, render_report(Path(out), steps, run))
    return path
