"""Many independent training runs at once: :func:`train_many`.

The runs of a batch share the engine (one cell × head × loss placement), the task, the batch size,
the optimizer's kind and the number of steps; each run has its own seed (the batches it draws), its
own initial parameters (another seed, another initialisation, another cell of the same parameter
shapes and equations), its own learning rate and its own clipping norm.

On the JAX backend the batch is one program: a training step — the engine's loss and gradients
(:meth:`~bpttlab.numeric.engine.jax_engine.JaxEngine.loss_and_grads_function`), global-norm clipping,
the optimizer's own ``rule`` — vmapped over the run axis, ``eval_every`` steps of it as one ``lax.scan``,
jitted. On the NumPy backend the runs are :func:`~bpttlab.numeric.training.loop.train`, one after another.
Either way a run is :func:`train` with its settings: the batch of step s drawn from
``default_rng([seed, s])``, an evaluation every ``eval_every`` steps, a stop at the first evaluation
that solves the task, a stop on NaN or Inf. On NumPy the numbers are ``train``'s bit for bit; on JAX
they are the same computation rounded by another library (the products' and sums' order differ in
the last bits), so a float64 run follows ``train``'s losses, gradient norms, evaluations and parameters
to :data:`FLOAT64_AGREEMENT` (1e-12 relative, tested over 200 steps) — unless the run itself amplifies
rounding: an exploding RNN (spectral radius 3, clipped) drifted to 1e-9 by step 200, the same drift two
NumPy runs would show from one changed last bit (:data:`CHAOTIC_AGREEMENT`, tested too).

**Devices.** The run axis is the only axis the runs share: nothing in a step mixes two runs. With
``devices`` (e.g. ``jax.devices()``, several GPUs, or CPU devices made with
``XLA_FLAGS=--xla_force_host_platform_device_count=n``) the run axis is sharded over them
(``jax.sharding``, a one-axis mesh named ``"runs"``), padded with idle runs to a multiple of their
number; the program is the same.

>>> from bpttlab.numeric.engine import build_engine
>>> from bpttlab.numeric.training import Adam, AddingProblem, initial_params
>>> task = AddingProblem(T=5)
>>> engine = build_engine("rnn", task.head, task.loss_at)
>>> runs = [Run(initial_params(engine, task, H=4, seed=seed), seed=seed) for seed in (0, 1)]
>>> results = train_many(engine, runs, task, Adam(lr=0.01), steps=6, batch_size=4, eval_every=3)
>>> [(r.steps, [step for step, _ in r.evaluations]) for r in results]
[(6, [3, 6]), (6, [3, 6])]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from bpttlab.numeric.engine import BACKENDS, Engine
from bpttlab.numeric.engine.validate import overflow_message
from bpttlab.numeric.training.loop import TrainResult, check_training, train
from bpttlab.numeric.training.optimizers import SGD, Adam, OptimizerState
from bpttlab.numeric.training.tasks import Task

__all__ = ["CHAOTIC_AGREEMENT", "FLOAT64_AGREEMENT", "Run", "train_many"]

#: How closely a float64 run on the JAX backend follows the NumPy loop's (losses, gradient norms,
#: evaluations and final parameters, relative), over the 200 steps the test runs.
FLOAT64_AGREEMENT = 1e-12
#: The same for a run that amplifies rounding (an exploding RNN, spectral radius 3, clipped), 200 steps.
CHAOTIC_AGREEMENT = 1e-8


@dataclass(frozen=True, eq=False)  # arrays inside
class Run:
    """One run of a batch: its initial ``params``, its ``seed`` (the batches it draws), its learning
    rate ``lr`` (None: the optimizer's) and its clipping norm ``clip`` (None: no clipping)."""

    params: dict[str, np.ndarray]
    seed: int = 0
    lr: float | None = None
    clip: float | None = None


def train_many(engine: Engine, runs: Sequence[Run], task: Task, optimizer: SGD | Adam, steps: int, *,
               batch_size: int = 32, truncate: int | tuple[int, int] | None = None, eval_every: int = 25,
               eval_size: int = 256, stop_when_solved: bool = True, devices: Sequence | None = None,
               progress: Callable[[int, int], None] | None = None) -> list[TrainResult]:
    """Train every run of ``runs`` on ``task`` for up to ``steps`` steps, as :func:`train` would one
    by one (see the module docstring); ``progress(steps done, steps)`` after each block of steps.
    ``devices`` shards the runs over several JAX devices."""
    runs = list(runs)
    if not runs or not all(isinstance(run, Run) for run in runs):
        raise ValueError("runs must be a non-empty sequence of Run")
    steps, batch_size, eval_every = check_training(engine, task, optimizer, steps, batch_size, eval_every)
    if not BACKENDS[engine.backend].compiles:
        return [train(engine, run.params, task, replace(optimizer, lr=run.lr or optimizer.lr), steps,
                      batch_size=batch_size, seed=run.seed, clip=run.clip, truncate=truncate,
                      eval_every=eval_every, eval_size=eval_size, stop_when_solved=stop_when_solved)
                for run in runs]
    from bpttlab.numeric.training.jax_batch import BatchedTraining

    return BatchedTraining(engine, runs, task, optimizer, steps, batch_size, truncate, eval_every, eval_size,
                           stop_when_solved, devices).run(progress)


@dataclass
class RunRecord:
    """What the host keeps of a run while the batch trains."""

    losses: list[float]
    norms: list[float]
    evaluations: list[tuple[int, float]]
    solved_at: int | None = None
    diverged: str = ""
    active: bool = True


def divergence(loss_finite: bool, finite: dict[str, bool]) -> str:
    """:func:`train`'s reason for stopping on NaN or Inf: the loss first, then the gradients."""
    if not loss_finite:
        return overflow_message("the loss", ["loss"])
    return overflow_message("the backward pass", [name for name, ok in finite.items() if not ok])


def result(record: RunRecord, params: dict[str, np.ndarray], state: OptimizerState) -> TrainResult:
    """A run's :class:`TrainResult`, as :func:`train` ends one."""
    diverged = record.diverged
    if diverged == "" and not all(np.all(np.isfinite(p)) for p in params.values()):
        diverged = "the parameters hold NaN or Inf"
    return TrainResult(params, state, np.array(record.losses, dtype=np.float64),
                       np.array(record.norms, dtype=np.float64), tuple(record.evaluations), record.solved_at,
                       diverged)
