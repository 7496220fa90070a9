"""``bpttlab all``: the main job. Proofs for every cell and head, ``verify_gradients`` over
everything, the equation sheets (English and Indonesian), the decay plots, the quick learning study,
and ``REPORT.md`` linking all of it — each step timed, a summary at the end, exit status 1 if any
proof or check failed.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from bpttlab.derivations import CELLS, HEADS, LOSS_AT, prove
from bpttlab.derivations.printing.notations import NOTATIONS
from bpttlab.numeric.engine import BACKENDS
from bpttlab.numeric.engine.jax_support import INSTALL_JAX, compilation_cache
from bpttlab.numeric.verify import skipped_checks, verify_gradients
from bpttlab.reports.atomic import write_text
from bpttlab.reports.cli.verify import format_table, results_json, skip_note
from bpttlab.reports.decay.job import write_decay
from bpttlab.reports.learn import study as learn_study
from bpttlab.reports.learn.job import write_learn
from bpttlab.reports.learn.study import LearnConfig, quick_config, settings
from bpttlab.reports.learn.threads import one_thread
from bpttlab.reports.report import Run, Step, write_report
from bpttlab.reports.sheets.pdflatex import INSTALL_TEX, pdflatex_available
from bpttlab.reports.sheets.writer import LANGUAGES, all_sheets, write_sheets

__all__ = ["Step", "build_parser", "run"]


def _bar(total: int, desc: str) -> tqdm:
    return tqdm(total=total, desc=desc, unit="", leave=False, disable=None)  # None: only on a terminal


def _proofs(out: Path, step: Step) -> None:
    jobs = [(c, h) for c in CELLS for h in (None, *HEADS)]
    proofs = []
    with _bar(len(jobs), "proofs") as bar:
        for c, h in jobs:
            proofs.append(prove(c, h, "every", kind=("step",)))
            bar.update()
    step.passed = all(p.passed for p in proofs)
    rows = [{"proof": p.name, "passed": p.passed,
             "checks": [{"what": c.what, "identities": c.entries, "passed": c.passed,
                         "counterexample": c.counterexample} for c in p.checks]} for p in proofs]
    write_text(out / "proofs.json", json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    write_text(out / "proofs.txt", "\n\n".join(str(p) for p in proofs) + "\n")
    step.written += [out / "proofs.txt", out / "proofs.json"]
    step.data["proofs"] = [(p.name, p.passed, sum(c.entries for c in p.checks)) for p in proofs]


def _verify(out: Path, step: Step) -> None:
    total = len(CELLS) * len(HEADS) * len(LOSS_AT)  # verify_gradients' default cases
    with _bar(total, "verify") as bar:
        results = verify_gradients(progress=lambda _label: bar.update())
    step.passed = not any(r.failed for r in results)
    note = skip_note(results)
    if note:
        print(note, flush=True)
        step.notes.append(note)
        step.skipped += [f"the {check} checks" for check in skipped_checks(results)]
    write_text(out / "verification.txt", format_table(results) + "\n")
    write_text(out / "verification.json", results_json(results) + "\n")
    step.written += [out / "verification.txt", out / "verification.json"]
    step.data["results"] = results


def _sheets(out: Path, step: Step, pdf: bool, decay_figures: Path, learn_figures: Path | None = None) -> None:
    if not pdf:  # asked for with --no-pdf, or no pdflatex here
        step.notes.append("PDFs not compiled (--no-pdf)" if pdflatex_available()
                          else f"PDFs not compiled: {INSTALL_TEX}")
    jobs = [(s, lang, notation) for s in all_sheets() for lang in LANGUAGES for notation in NOTATIONS]
    with _bar(len(jobs), "sheets") as bar:
        for sheet, lang, notation in jobs:
            for written in write_sheets(out / "sheets", (sheet,), (lang,), (notation,), pdf=pdf,
                                        decay_figures=decay_figures, learn_figures=learn_figures):
                step.written += [written.tex] + ([written.pdf] if written.pdf else [])
            bar.update()


def _learn(out: Path, step: Step) -> None:
    """The quick learning study (``bpttlab learn --quick``): the course sheet's standard on JAX where it
    is installed, the small study on NumPy otherwise, and a note saying which; passed when the hello
    model learned "ello"."""
    config = quick_config()
    compiles = BACKENDS[config.backend].compiles
    if compiles:
        compilation_cache()
    with _bar(1, "learn") as bar:
        def progress(done: int, total: int, _label: str) -> None:
            bar.total = total
            bar.update(done - bar.n)

        with one_thread():
            result = write_learn(out / "learn", config, progress=progress, jobs=2 if compiles else 1)
    step.notes.append(study_note(config))
    step.passed = result.hello.predicted == "ello"
    step.written += result.written
    step.data["figure"] = result.headline
    step.data["verdicts"] = result.verdicts["en"]
    step.data["config"] = result.study.config
    if not step.passed:
        step.notes.append(f"the hello model predicted {result.hello.predicted!r}, not 'ello'")


def study_note(config: LearnConfig) -> str:
    """One line: which learning study ran, on which backend (and, on NumPy, how to get the larger one)."""
    cells = list(dict.fromkeys(s.cell for s in settings(config)))
    sizes = (f"{len(cells)} cells ({', '.join(cells) if len(cells) <= 4 else 'every registered cell'}), "
             f"T {', '.join(map(str, config.lengths))}, {len(config.seeds)} seed(s), {config.budget} steps")
    standard = config == learn_study.quick_config(config.backend)  # not what a test patched in here
    if standard and BACKENDS[config.backend].compiles:
        return f"learning study: the course sheet's standard ({sizes}), {config.backend} backend"
    if standard:
        return (f"learning study: the small study ({sizes}), {config.backend} backend; the course sheet's "
                f"standard runs where JAX is installed ({INSTALL_JAX})")
    return f"learning study: {sizes}, {config.backend} backend"


def _decay(out: Path, step: Step) -> None:
    result = write_decay(out / "decay")
    step.passed = result.passed
    step.written += result.written
    step.data["figure"] = result.headline
    step.notes += result.notes


def build_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``bpttlab all`` to ``parser``."""
    parser.add_argument("--out", default="build", help="output directory (default: build)")
    parser.add_argument("--pdf", action=argparse.BooleanOptionalAction, default=None,
                        help="compile the sheets (default: when pdflatex is installed)")


def run(args: argparse.Namespace) -> int:
    """Run every step in order, write REPORT.md, print the summary."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pdf = pdflatex_available() if args.pdf is None else args.pdf
    run_info = Run.now(getattr(args, "command_line", "bpttlab all"))
    steps = [
        Step("proofs", meaning="every cell's step equations, with every head, proven exact"),
        Step("verify", meaning="every gradient within the stated bars of finite differences and PyTorch"),
        Step("decay", meaning="every measured RNN's ‖∂h_T/∂h_k‖₂ under Pascanu et al.'s bound λ₁^(T−k)"),
        Step("learn", meaning="the study ran, and the course's hello model learned to predict \"ello\""),
        Step("sheets", meaning="every sheet written" + (" and compiled to PDF" if pdf else " (.tex only)")),
    ]
    work: list[Callable[[Step], None]] = [
        lambda s: _proofs(out, s),
        lambda s: _verify(out, s),
        lambda s: _decay(out, s),
        lambda s: _learn(out, s),
        lambda s: _sheets(out, s, pdf, out / "decay", out / "learn"),
    ]
    for step, do in zip(steps, work, strict=True):
        print(f"{step.name} ...", flush=True)
        started = time.perf_counter()
        do(step)
        step.seconds = time.perf_counter() - started
        print(f"{step.name}: {'ok' if step.passed else 'FAILED'} in {step.seconds:.1f} s", flush=True)
    report = write_report(out, steps, run_info)
    print(summary(steps, report))
    return 0 if all(s.passed for s in steps) else 1


def summary(steps: list[Step], report: Path) -> str:
    """What was written where and how long each step took."""
    lines = ["", f"{'step':<8} {'result':<7} {'time':>7}  files"]
    for s in steps:
        folders = sorted({str(p.parent) for p in s.written})
        lines.append(f"{s.name:<8} {'ok' if s.passed else 'FAILED':<7} {s.seconds:6.1f}s  "
                     f"{len(s.written)} in {', '.join(folders)}")
        lines += [f"         {note}" for note in s.notes]
    lines.append(f"report: {report}")
    return "\n".join(lines)
