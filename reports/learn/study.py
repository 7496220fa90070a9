"""The learning study behind ``bpttlab learn``: what each cell learns of the adding problem as the
sequence grows, beside how far its gradient reaches back at initialisation.

For every setting — each cell at the decay study's initialisation (a forget gate's bias 1), and the
Elman RNN with ``W_hh`` scaled to spectral radius 3 trained with and without global-norm clipping —
for each sequence length T and seed, Adam trains the network on the engine's gradients until the MSE
on a fixed evaluation batch falls below 10 % of the 0.167 baseline ("solved", at that step) or the
budget of steps runs out ("not solved"). Once every seed of a setting failed at some T, the longer
T are not run ("skipped": the gradient has further to reach). The horizon at initialisation is the
decay study's (:func:`bpttlab.numeric.decay.cell_curves`): the number of steps back at which
‖∂L/∂h_k‖ has fallen to 10⁻⁶ of its value at the last step, median over its seeds.

The study is interrupt-safe: after every run the finished runs go to a checkpoint (``.npz``, written
atomically); :func:`run_study` with ``resume=True`` skips them. The same settings give the same bytes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from bpttlab.derivations import CELLS, resolve_cell
from bpttlab.derivations.cells import BUILT_IN
from bpttlab.numeric.decay import cell_curves, decay_params, fit_decay, gradient_norms
from bpttlab.numeric.decay.study import HEAD as DECAY_HEAD
from bpttlab.numeric.decay.study import INPUT_SEED, SEEDS
from bpttlab.numeric.decay.study import D as DECAY_D
from bpttlab.numeric.decay.study import K as DECAY_K
from bpttlab.numeric.engine import BACKENDS, build_engine
from bpttlab.numeric.training import Adam, AddingProblem, Run, TrainResult, initial_params, train, train_many
from bpttlab.reports.atomic import atomic_path
from bpttlab.reports.learn.threads import one_thread
from bpttlab.reports.sheets.languages import FigureWords

__all__ = [
    "COURSE_STANDARD",
    "HORIZON_T",
    "LENGTHS",
    "SMALL_STUDY",
    "Horizon",
    "LearnConfig",
    "Outcome",
    "Setting",
    "Study",
    "default_backend",
    "horizons",
    "quick_config",
    "run_study",
    "settings",
    "verdict",
]

LENGTHS = (10, 20, 50, 100, 200)
#: Horizons are measured over at least this many steps (the decay study's T).
HORIZON_T = 100
#: A gradient that grows more than this much (two decades) across the measured steps is called exploding.
EXPLODING_GROWTH = 1e2


@dataclass(frozen=True)
class LearnConfig:
    """Everything that decides the study's numbers. ``exploding``: the cell whose recurrent weight
    is scaled to ``radius`` and trained once plain and once clipped to ``clip`` (None: no such
    setting); ``budget``: optimizer steps per run; ``skip_after_failure``: see the module;
    ``backend``: the engine that trains (``"jax"``: the runs of a cell and a length as one batch,
    :func:`~bpttlab.numeric.training.train_many`; the same numbers up to float rounding)."""

    cells: tuple[str, ...] = tuple(CELLS)
    lengths: tuple[int, ...] = LENGTHS
    seeds: tuple[int, ...] = (0, 1)
    H: int = 32
    batch_size: int = 32
    lr: float = 0.01
    budget: int = 1000
    eval_every: int = 25
    eval_size: int = 256
    forget_bias: float = 1.0
    exploding: str | None = "rnn"
    radius: float = 3.0
    clip: float = 1.0
    skip_after_failure: bool = True
    horizon_seeds: tuple[int, ...] = SEEDS
    backend: str = "numpy"

    def __post_init__(self) -> None:
        if not self.cells:
            raise ValueError("cells must name at least one cell")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        for name, values in (("lengths", self.lengths), ("seeds", self.seeds)):
            if not values or not all(isinstance(v, (int, np.integer)) and v >= (2 if name == "lengths" else 0)
                                     for v in values):
                raise ValueError(f"{name} must be a non-empty sequence of integers "
                                 f"≥ {2 if name == 'lengths' else 0}, got {values!r}")
        for name in ("H", "batch_size", "budget", "eval_every", "eval_size"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        object.__setattr__(self, "lengths", tuple(sorted(set(int(t) for t in self.lengths))))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))

    def fingerprint(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class Setting:
    """One line of the study: ``key`` (unique, e.g. ``rnn`` or ``rnn rho=3 clipped``), the cell's
    name, how to find it (``source``: its registered name or the path of its ``.cell`` file), the
    spectral radius of its W_hh (None: the initialisation's) and the clipping norm."""

    key: str
    cell: str
    source: str
    radius: float | None = None
    clip: float | None = None


def settings(config: LearnConfig) -> tuple[Setting, ...]:
    """Every cell as initialised, then the exploding cell plain and clipped."""
    named = {resolve_cell(c).name: str(c) for c in reversed(config.cells)}  # the first spelling wins
    names = dict.fromkeys(resolve_cell(c).name for c in config.cells)
    rows = [Setting(name, name, named[name]) for name in names]
    if config.exploding is not None:
        cell = resolve_cell(config.exploding).name
        source = named.get(cell, str(config.exploding))
        rows += [Setting(f"{cell} rho={config.radius:g}", cell, source, config.radius),
                 Setting(f"{cell} rho={config.radius:g} clipped", cell, source, config.radius, config.clip)]
    return tuple(rows)


@dataclass(frozen=True)
class Outcome:
    """One run: ``status`` "solved", "not solved", "diverged" or "skipped"; ``solved_at`` the step;
    ``steps`` run; ``final_error`` the last evaluation's MSE; ``evaluations`` (step, MSE);
    ``max_grad_norm`` the largest global gradient norm seen (before clipping)."""

    setting: str
    T: int
    seed: int
    status: str
    solved_at: int | None = None
    steps: int = 0
    final_error: float | None = None
    max_grad_norm: float | None = None
    evaluations: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True)
class Horizon:
    """The decay horizon at initialisation of a setting: steps back, or None when ‖∂L/∂h_k‖ does not
    fall to 10⁻⁶ within ``T_measured`` steps; ``factor`` the fitted factor per step."""

    setting: str
    steps: int | None
    factor: float
    T_measured: int

    def text(self) -> str:
        return f"> {self.T_measured - 1}" if self.steps is None else str(self.steps)


@dataclass(frozen=True)
class Study:
    config: LearnConfig
    settings: tuple[Setting, ...]
    horizons: dict[str, Horizon]
    outcomes: tuple[Outcome, ...]
    seconds: float = field(default=0.0, compare=False)

    def of(self, setting: str, T: int) -> list[Outcome]:
        return [o for o in self.outcomes if o.setting == setting and o.T == T]


# ----------------------------------------------------------------- horizons
def horizons(config: LearnConfig) -> dict[str, Horizon]:
    """Each setting's horizon, measured as the decay study measures it (H, its seeds, its input of
    D = 8 normal entries, linear head, loss at the last step) over T = the longest length, at least
    the decay study's 100."""
    T = max(max(config.lengths), HORIZON_T)
    out = {}
    plain = [s for s in settings(config) if s.radius is None]
    curves = cell_curves(tuple(s.source for s in plain), T=T, H=config.H, seeds=config.horizon_seeds,
                         forget_bias=config.forget_bias)
    by_cell = {c.cell: c for c in curves if c.what == "dL/dh_k"}
    for s in plain:
        fit = by_cell[s.cell].fit
        out[s.key] = Horizon(s.key, fit.horizon, fit.factor_per_step, T)
    for s in settings(config):
        if s.radius is not None:
            engine = build_engine(s.source, DECAY_HEAD, "last")
            xs = np.random.default_rng(INPUT_SEED).normal(size=(T, 1, DECAY_D))
            with np.errstate(divide="ignore"):
                rows = [np.log10(gradient_norms(engine, decay_params(engine, DECAY_D, config.H, DECAY_K, seed,
                                                                     radius=s.radius), xs,
                                                target_seed=seed)["h"]) for seed in config.horizon_seeds]
            fit = fit_decay(np.median(np.array(rows), axis=0), np.arange(1, T + 1))
            out[s.key] = Horizon(s.key, fit.horizon, fit.factor_per_step, T)
    return out


# ----------------------------------------------------------------- runs
def _run(config: LearnConfig, setting: Setting, T: int, seed: int) -> Outcome:
    task = AddingProblem(T=T)
    engine = build_engine(setting.source, task.head, task.loss_at)
    params = initial_params(engine, task, config.H, seed, forget_bias=config.forget_bias,
                            radius=setting.radius)
    result = train(engine, params, task, Adam(lr=config.lr), config.budget, batch_size=config.batch_size,
                   seed=seed, clip=setting.clip, eval_every=config.eval_every, eval_size=config.eval_size)
    return _outcome(setting, T, seed, result)


def _outcome(setting: Setting, T: int, seed: int, result: TrainResult) -> Outcome:
    if result.diverged:
        status = "diverged"
    else:
        status = "solved" if result.solved_at is not None else "not solved"
    norms = result.grad_norms[np.isfinite(result.grad_norms)]
    return Outcome(setting.key, T, seed, status, result.solved_at, result.steps, result.final_error,
                   float(norms.max()) if norms.size else None,
                   tuple((int(s), float(e)) for s, e in result.evaluations))


def _jobs(config: LearnConfig) -> list[tuple[Setting, int, int]]:
    return [(s, T, seed) for s in settings(config) for T in config.lengths for seed in config.seeds]


def _skipped(done: dict[tuple, Outcome], setting: Setting, T: int, config: LearnConfig) -> bool:
    """True once every seed failed at a shorter T."""
    if not config.skip_after_failure:
        return False
    for shorter in (t for t in config.lengths if t < T):
        runs = [done.get((setting.key, shorter, seed)) for seed in config.seeds]
        if all(r is not None and r.status != "solved" for r in runs):
            return True
    return False


def _save(path: Path, config: LearnConfig, done: dict[tuple, Outcome]) -> None:
    rows = [asdict(o) for o in done.values()]
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, config=np.array(config.fingerprint()), outcomes=np.array(json.dumps(rows)))


def _load(path: Path, config: LearnConfig) -> dict[tuple, Outcome]:
    with np.load(path) as data:
        if str(data["config"]) != config.fingerprint():
            raise ValueError(f"the checkpoint {path} was written by a study with other settings; run "
                             f"without --resume to start again, or with the same options")
        rows = json.loads(str(data["outcomes"]))
    done = {}
    for row in rows:
        row["evaluations"] = tuple(tuple(e) for e in row["evaluations"])
        outcome = Outcome(**row)
        done[(outcome.setting, outcome.T, outcome.seed)] = outcome
    return done


def _run_setting(config: LearnConfig, setting: Setting, done: dict[tuple, Outcome],
                 on_run: Callable[[tuple, Outcome], None] | None = None) -> dict[tuple, Outcome]:
    """Every (T, seed) of ``setting`` not in ``done``, shortest T first (so that the skip rule can
    apply); ``on_run(key, outcome)`` after each run."""
    done = dict(done)
    for T in config.lengths:
        for seed in config.seeds:
            key = (setting.key, T, seed)
            if key in done:
                continue
            skipped = _skipped(done, setting, T, config)
            done[key] = (Outcome(setting.key, T, seed, "skipped") if skipped
                         else _run(config, setting, T, seed))
            if on_run is not None:
                on_run(key, done[key])
    return {key: outcome for key, outcome in done.items() if key[0] == setting.key}


def _run_cell(config: LearnConfig, cell_settings: Sequence[Setting], done: dict[tuple, Outcome],
              on_run: Callable[[tuple, Outcome], None] | None = None) -> dict[tuple, Outcome]:
    """Every (T, seed) of the settings of one cell not in ``done``, a length at a time, shortest
    first (so that the skip rule can apply): the runs of a length — every setting not skipped, every
    seed — as one batch of :func:`~bpttlab.numeric.training.train_many` on the config's backend;
    ``on_run(key, outcome)`` after each run."""
    done = dict(done)
    for T in config.lengths:
        task = AddingProblem(T=T)
        engine = build_engine(cell_settings[0].source, task.head, task.loss_at, backend=config.backend)
        pending = []
        for setting in cell_settings:
            for seed in config.seeds:
                key = (setting.key, T, seed)
                if key in done:
                    continue
                if _skipped(done, setting, T, config):
                    done[key] = Outcome(setting.key, T, seed, "skipped")
                    if on_run is not None:
                        on_run(key, done[key])
                    continue
                pending.append((setting, seed))
        if not pending:
            continue
        runs = [Run(initial_params(engine, task, config.H, seed, forget_bias=config.forget_bias,
                                   radius=setting.radius), seed=seed, clip=setting.clip)
                for setting, seed in pending]
        results = train_many(engine, runs, task, Adam(lr=config.lr), config.budget,
                             batch_size=config.batch_size, eval_every=config.eval_every,
                             eval_size=config.eval_size)
        for (setting, seed), result in zip(pending, results, strict=True):
            key = (setting.key, T, seed)
            done[key] = _outcome(setting, T, seed, result)
            if on_run is not None:
                on_run(key, done[key])
    keys = {s.key for s in cell_settings}
    return {key: outcome for key, outcome in done.items() if key[0] in keys}


def _by_cell(pending: Sequence[Setting]) -> list[list[Setting]]:
    """The settings grouped by their cell (the runs of a batch share one engine)."""
    groups: dict[str, list[Setting]] = {}
    for setting in pending:
        groups.setdefault(setting.cell, []).append(setting)
    return list(groups.values())


def _worker(config: LearnConfig, setting: Setting, done: dict[tuple, Outcome]) -> dict[tuple, Outcome]:
    with one_thread():
        return _run_setting(config, setting, done)


def run_study(config: LearnConfig, *, checkpoint: str | os.PathLike | None = None, resume: bool = False,
              jobs: int = 1, progress: Callable[[int, int, str], None] | None = None) -> Study:
    """Run (or finish) the study; ``progress(done, total, label)`` as runs finish. With a
    ``checkpoint`` path the finished runs are saved there (after each run, or with ``jobs`` > 1
    after each setting: the settings then run in that many processes at once); ``resume`` starts
    from it. The numbers do not depend on ``jobs``."""
    started = time.perf_counter()
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    path = Path(checkpoint) if checkpoint is not None else None
    done = _resumed(config, path) if resume else {}
    found = horizons(config)
    grid = _jobs(config)
    total = len(grid)

    def finished(key: tuple, outcome: Outcome) -> None:
        done[key] = outcome
        if path is not None and outcome.status != "skipped":
            _save(path, config, done)
        if progress is not None:
            progress(len(done), total, f"{key[0]} T={key[1]} seed {key[2]}")

    if progress is not None:
        progress(len(done), total, "")
    pending = [s for s in settings(config) if any(k not in done for k in _keys(config, s))]
    if BACKENDS[config.backend].compiles:  # a batch per cell and length, cells side by side in threads
        _run_in_threads(config, pending, done, finished, jobs)
    elif jobs == 1 or len(pending) < 2:
        for setting in pending:
            _run_setting(config, setting, done, finished)
    else:
        _run_in_processes(config, pending, done, jobs, path,
                          (lambda label: progress(len(done), total, label)) if progress is not None else None)
    if path is not None:
        _save(path, config, done)
    outcomes = tuple(done[(s.key, T, seed)] for s, T, seed in grid)
    return Study(config, settings(config), found, outcomes, time.perf_counter() - started)


def _resumed(config: LearnConfig, path: Path | None) -> dict[tuple, Outcome]:
    """The finished runs saved at the checkpoint ``path`` (none if there is no file yet)."""
    if path is None:
        raise ValueError("resume needs a checkpoint path")
    return _load(path, config) if path.exists() else {}


def _run_in_threads(config: LearnConfig, pending: list[Setting], done: dict[tuple, Outcome],
                    finished: Callable[[tuple, Outcome], None], jobs: int) -> None:
    """A compiled backend's settings: a batch per cell and length, ``jobs`` cells side by side in
    threads, ``finished`` called (one thread at a time) as runs finish."""
    lock = threading.Lock()

    def locked(key: tuple, outcome: Outcome) -> None:
        with lock:
            finished(key, outcome)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_run_cell, config, group, dict(done), locked) for group in _by_cell(pending)]
        for future in as_completed(futures):
            future.result()


def _run_in_processes(config: LearnConfig, pending: list[Setting], done: dict[tuple, Outcome], jobs: int,
                      path: Path | None, progress: Callable[[str], None] | None) -> None:
    """The settings in ``jobs`` processes at once, added to ``done`` and saved at ``path`` after each
    setting; ``progress(label)`` as settings finish."""
    context = multiprocessing.get_context(_start_method())
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(_worker, config, s, {k: done[k] for k in _keys(config, s) if k in done})
                   for s in pending]
        try:
            for future in as_completed(futures):
                for key, outcome in future.result().items():
                    if key not in done:
                        done[key] = outcome
                if path is not None:
                    _save(path, config, done)
                if progress is not None:
                    progress(next(iter(future.result()))[0])
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _start_method() -> str:
    """How the worker processes start: forked (fast) unless JAX is loaded here — JAX runs threads,
    and a forked copy of a process with threads can deadlock — then from a fresh server process."""
    methods = multiprocessing.get_all_start_methods()
    if "jax" in sys.modules:
        return "forkserver" if "forkserver" in methods else "spawn"
    return "fork" if "fork" in methods else "spawn"


def _keys(config: LearnConfig, setting: Setting) -> list[tuple]:
    return [(setting.key, T, seed) for T in config.lengths for seed in config.seeds]


# ----------------------------------------------------------------- verdicts
def _solved_fraction(study: Study, setting: str, T: int) -> tuple[int, int]:
    runs = [o for o in study.of(setting, T) if o.status != "skipped"]
    return sum(o.status == "solved" for o in runs), len(runs)


def _lengths(values: Sequence[int], all_lengths: Sequence[int]) -> str:
    """"T ≤ 20" when ``values`` are the first lengths, "T ≥ 50" the last ones, else a list."""
    values = list(values)
    if not values:
        return ""
    index = [all_lengths.index(v) for v in values]
    if index == list(range(len(index))) and len(values) > 1:
        return f"T ≤ {values[-1]}"
    if index == list(range(len(all_lengths) - len(index), len(all_lengths))) and len(values) > 1:
        return f"T ≥ {values[0]}"
    return "T = " + ", ".join(map(str, values))


#: Language code → the verdicts' words (the ``verdicts`` family of reports/sheets/words/*.toml).
VERDICT_WORDS = FigureWords("verdicts")


def _results_by_length(study: Study, setting: str) -> tuple[dict[str, list[int]], dict[int, bool]]:
    """The lengths ``setting`` solved (by every seed), solved partly, failed, diverged and skipped, in
    that order, and at every length whether most seeds solved it."""
    by_result: dict[str, list[int]] = {result: [] for result in ("solved", "partly", "failed", "diverged",
                                                                 "skipped")}
    majority = {}
    for T in study.config.lengths:
        wins, ran = _solved_fraction(study, setting, T)
        majority[T] = ran > 0 and 2 * wins > ran
        if not ran:
            result = "skipped"
        elif wins == ran:
            result = "solved"
        elif wins:
            result = "partly"
        elif any(o.status == "diverged" for o in study.of(setting, T)):
            result = "diverged"
        else:
            result = "failed"
        by_result[result].append(T)
    return by_result, majority


def verdict(study: Study, setting: str, lang: str = "en") -> tuple[str, bool]:
    """A sentence for ``setting`` ("horizon 22 steps at init; solved T ≤ 20; not solved T ≥ 50 within
    600 steps"), with whether it agrees with the horizon: T ≤ horizon solved by most seeds, longer T
    not. Where it disagrees the sentence says how."""
    if lang not in VERDICT_WORDS:
        raise ValueError(f"lang must be one of {', '.join(VERDICT_WORDS)}, got {lang!r}")
    w = VERDICT_WORDS[lang]
    lengths = list(study.config.lengths)
    horizon = study.horizons[setting]
    by_result, majority = _results_by_length(study, setting)
    skipped = by_result["skipped"]
    budget = study.config.budget
    parts = [w["horizon"].format(h=horizon.text())]
    for result, Ts in by_result.items():
        if Ts:
            parts.append(w[result].format(Ts=_lengths(Ts, lengths), budget=budget))
    reach = horizon.T_measured if horizon.steps is None else horizon.steps
    ran = [T for T in lengths if T not in skipped]
    beyond = [T for T in ran if majority[T] and T > reach]
    within = [T for T in ran if not majority[T] and T <= reach]
    consistent = not beyond and not within
    setting_of = {s.key: s for s in study.settings}[setting]
    norms = [o.max_grad_norm for o in study.outcomes if o.setting == setting and o.max_grad_norm is not None]
    if norms and (setting_of.radius is not None or setting_of.clip is not None):
        largest = f"{max(norms):.3g}".replace(".", w["decimal"])
        clip = "" if setting_of.clip is None else f"{setting_of.clip:g}".replace(".", w["decimal"])
        parts.append(w["clipped" if clip else "norm"].format(norm=largest, clip=clip))
    if consistent:
        parts.append(w["consistent"])
    if beyond:
        parts.append(w["beyond"].format(Ts=", ".join(map(str, beyond))))
    if within:
        grows = horizon.factor ** (horizon.T_measured - 1) > EXPLODING_GROWTH
        key = "exploding" if grows else "within"
        parts.append(w[key].format(Ts=", ".join(map(str, within)), budget=budget,
                                   factor=f"{horizon.factor:.3g}".replace(".", w["decimal"])))
    return w["and"].join(parts), consistent


#: The course sheet's standard for the quick study where JAX is installed: the built-in (course) cells,
#: T up to 100, three seeds, the full study's budget.
COURSE_STANDARD = {"cells": BUILT_IN, "lengths": (10, 20, 50, 100), "seeds": (0, 1, 2), "budget": 1000}
#: The small study where it is not: every registered cell, T 10 and 20, one seed, 300 steps.
SMALL_STUDY = {"lengths": (10, 20), "seeds": (0,), "budget": 300}


def default_backend() -> str:
    """The backend the study trains on unless told: the first that compiles and is installed (JAX),
    else NumPy, the reference."""
    return next((b.name for b in BACKENDS.values() if b.compiles and b.available()), "numpy")


def quick_config(backend: str | None = None, **overrides: object) -> LearnConfig:
    """The study of ``--quick`` and ``bpttlab all``: on the JAX backend (the default where JAX is
    installed) the course sheet's standard (:data:`COURSE_STANDARD`), on NumPy the small study
    (:data:`SMALL_STUDY`); ``overrides`` change any setting."""
    backend = default_backend() if backend is None else backend
    size = COURSE_STANDARD if BACKENDS[backend].compiles else SMALL_STUDY
    return replace(LearnConfig(**size, horizon_seeds=(0, 1), backend=backend), **overrides)
