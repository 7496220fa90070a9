"""``bpttlab learn``: what each cell learns of the adding problem as T grows, beside its decay horizon
at initialisation (:mod:`bpttlab.reports.learn`), and the engine's training speed against PyTorch.

Writes ``learn.csv``, ``learn.json``, ``verdicts.md``/``verdicts.id.md``, the figures ``success``,
``loss`` and ``hello`` (PNG and PDF per language) and ``speed.json`` into ``--out``; prints the verdict
table, the speed table and the run time. Ctrl-C leaves the finished runs in the checkpoint;
``--resume`` continues from there.

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="learn")
>>> build_parser(parser)
>>> args = parser.parse_args(["--T", "10", "50", "--seeds", "3", "--quick"])
>>> args.T, args.seeds, args.quick
([10, 50], 3, True)
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from bpttlab.derivations import CELLS, resolve_cell
from bpttlab.numeric.engine import BACKENDS
from bpttlab.numeric.engine.jax_support import compilation_cache
from bpttlab.numeric.training import AddingProblem
from bpttlab.numeric.verify import INSTALL_TORCH, torch_available
from bpttlab.reports.atomic import write_text
from bpttlab.reports.cli.arguments import cell_argument, check_run_memory, integer_at_least
from bpttlab.reports.decay.plots import LANGUAGES
from bpttlab.reports.learn.job import CHECKPOINT, write_learn
from bpttlab.reports.learn.speed import TORCH_MODULES, SpeedRow, training_speed
from bpttlab.reports.learn.study import LENGTHS, LearnConfig, default_backend, quick_config
from bpttlab.reports.learn.threads import one_thread

__all__ = ["build_parser", "format_speed", "run"]


def build_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``bpttlab learn`` to ``parser``."""
    defaults = LearnConfig()
    parser.add_argument("--out", default="build/learn", help="output directory (default: build/learn)")
    parser.add_argument("--quick", action="store_true",
                        help="the study of `bpttlab all`: on JAX the course sheet's standard (the built-in "
                             "cells, T 10 to 100, 3 seeds, 1000 steps), on NumPy the small one (every "
                             "cell, T 10 and 20, one seed, 300 steps)")
    parser.add_argument("--cells", nargs="+", type=_cell_spelling, default=None, metavar="CELL",
                        help=f"registered names or .cell paths (default: the {len(CELLS)} registered cells)")
    parser.add_argument("--T", nargs="+", type=integer_at_least(2, "a sequence of two steps at least"),
                        default=None, help=f"sequence lengths (default: {' '.join(map(str, LENGTHS))})")
    parser.add_argument("--seeds", type=integer_at_least(1, "at least one seed"), default=None,
                        help=f"number of seeds, 0..n-1 (default: {len(defaults.seeds)})")
    parser.add_argument("--budget", type=integer_at_least(1, "optimizer steps"), default=None,
                        help=f"optimizer steps per run before 'not solved' (default: {defaults.budget})")
    parser.add_argument("--H", type=integer_at_least(1, "hidden units"), default=None,
                        help=f"hidden units (default: {defaults.H})")
    parser.add_argument("--lang", nargs="+", choices=list(LANGUAGES), default=list(LANGUAGES),
                        help="languages of the figures (default: en id)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the checkpoint in --out (same options as before)")
    parser.add_argument("--jobs", type=integer_at_least(1, "processes"), default=None,
                        help="settings trained at once, each in a process of its own (default: 1 with "
                             "--quick, else the number of cores up to 2); the numbers do not change")
    parser.add_argument("--no-speed", dest="speed", action="store_false",
                        help="skip the training-speed comparison with PyTorch")
    parser.add_argument("--backend", choices=list(BACKENDS), default=None,
                        help="the engine that trains: jax runs each cell's runs of one length as one "
                             "compiled batch (default: jax where JAX is installed, else numpy)")


def _cell_spelling(text: str) -> str:
    """A registered name or .cell path, checked (a bad one is a usage error), kept as written: the
    study records how to find each cell."""
    cell_argument(text)
    return text


def _config(args: argparse.Namespace) -> LearnConfig:
    backend = default_backend() if args.backend is None else args.backend
    BACKENDS[backend].require(f"--backend {backend}")
    config = quick_config(backend) if args.quick else LearnConfig(backend=backend)
    changes: dict = {}
    if args.cells is not None:
        changes["cells"] = tuple(dict.fromkeys(args.cells))
        names = {resolve_cell(c).name for c in args.cells}
        if config.exploding is not None and resolve_cell(config.exploding).name not in names:
            changes["exploding"] = None
    if args.T is not None:
        changes["lengths"] = tuple(args.T)
    if args.seeds is not None:
        changes["seeds"] = tuple(range(args.seeds))
    if args.budget is not None:
        changes["budget"] = args.budget
    if args.H is not None:
        changes["H"] = args.H
    return replace(config, **changes)


def format_speed(rows: list[SpeedRow]) -> list[str]:
    lines = [f"{'cell':<10} {'T':>4} {'engine steps/s':>15} {'torch steps/s':>14} {'engine/torch':>13}"]
    for r in rows:
        theirs = "—" if r.torch_steps_per_second is None else f"{r.torch_steps_per_second:.1f}"
        ratio = "—" if r.ratio is None else f"{r.ratio:.2f}"
        lines.append(f"{r.cell:<10} {r.T:>4} {r.engine_steps_per_second:>15.1f} {theirs:>14} {ratio:>13}")
    return lines


def run(args: argparse.Namespace) -> int:
    """Run the study, write everything, print the verdicts, the speed table and the time taken."""
    out = Path(args.out)
    if args.resume and not (out / CHECKPOINT).exists():
        raise ValueError(f"--resume: no checkpoint {out / CHECKPOINT} to continue from")
    config = _config(args)
    task = AddingProblem
    check_run_memory([(cell, task.head, task.loss_at) for cell in config.cells], "the learning study",
                     T=max(config.lengths), N=max(config.batch_size, config.eval_size), D=task.D, H=config.H,
                     K=task.K)
    compiles = BACKENDS[config.backend].compiles
    if compiles:
        compilation_cache()
    # the quick study on NumPy in one process; otherwise the cores, up to 2 (threads on a compiling backend)
    jobs = args.jobs
    if jobs is None:
        jobs = 1 if args.quick and not compiles else min(2, os.cpu_count() or 1)
    started = time.perf_counter()
    with tqdm(total=1, desc="learn", unit="run", leave=False, disable=None) as bar:
        def progress(done: int, total: int, label: str) -> None:
            bar.total = total
            bar.set_postfix_str(label, refresh=False)
            bar.update(done - bar.n)

        with one_thread():
            result = write_learn(out, config, langs=tuple(args.lang), resume=args.resume, jobs=jobs,
                                 progress=progress)
    study_seconds = time.perf_counter() - started
    for path in result.written:
        print(f"wrote {path}")
    print("\n".join(result.verdicts["en"]))
    if args.speed:
        lengths, steps = ((20,), 20) if args.quick else ((20, 100), 40)
        studied = {s.cell for s in result.study.settings}
        cells = [c for c in TORCH_MODULES if c in studied] or list(TORCH_MODULES)
        if not torch_available():
            print(f"PyTorch is not installed, so its speed column stays empty "
                  f"(to measure it: {INSTALL_TORCH})")
        rows = training_speed(cells, lengths, H=config.H, batch=config.batch_size, steps=steps)
        print(f"\ntraining speed, adding problem, H = {config.H}, batch {config.batch_size}, float64, "
              "one thread:")
        print("\n".join(format_speed(rows)))
        data = [{"cell": r.cell, "T": r.T, "engine_steps_per_second": round(r.engine_steps_per_second, 2),
                 "torch_steps_per_second": None if r.torch_steps_per_second is None
                 else round(r.torch_steps_per_second, 2)} for r in rows]
        summary = {"study_seconds": round(study_seconds, 1), "study_backend": config.backend, "rows": data}
        write_text(out / "speed.json", json.dumps(summary, indent=1) + "\n")
        print(f"wrote {out / 'speed.json'}")
    print(f"study: {len(result.study.outcomes)} runs in {study_seconds:.1f} s, {config.backend} backend")
    return 0
