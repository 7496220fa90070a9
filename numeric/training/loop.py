"""Training on the engine's own gradients: mini-batches from a task, an optimizer step, optional
global-norm clipping and truncated BPTT (the engine's ``truncate``), an evaluation every few steps.

Deterministic for a seed: the batch of step s is drawn from ``default_rng([seed, s])``, so the same
seed gives the same bytes, and a run continued from its :class:`TrainResult` (``resume=``) is the
run that never stopped. Progress goes to a callback, ``progress(step, loss)``.

>>> from bpttlab.numeric.engine import build_engine
>>> from bpttlab.numeric.training.tasks import CharacterModel
>>> task = CharacterModel()
>>> engine = build_engine("rnn", task.head, task.loss_at)
>>> result = train(engine, initial_params(engine, task, H=8, seed=0), task, Adam(lr=0.05), steps=200,
...                batch_size=1, seed=0, eval_every=10)
>>> result.solved_at is not None, task.predict(engine, result.params)
(True, 'ello')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bpttlab.numeric.decay.initialisation import decay_params
from bpttlab.numeric.engine import Engine
from bpttlab.numeric.training.clipping import clip_global_norm
from bpttlab.numeric.training.optimizers import SGD, Adam, OptimizerState
from bpttlab.numeric.training.tasks import Task

__all__ = ["TrainResult", "check_training", "gradients", "initial_params", "train", "typed_batch"]


@dataclass(frozen=True, eq=False)  # arrays inside
class TrainResult:
    """A run: the final ``params`` and optimizer ``state``; per step the training ``losses`` and the
    global gradient norms before clipping ``grad_norms``; ``evaluations`` (step, error) on the task's
    evaluation batch; ``solved_at`` the first evaluated step whose error was below the task's
    threshold (None if none was); ``diverged`` why training stopped early on NaN or Inf ("" if not)."""

    params: dict[str, np.ndarray]
    state: OptimizerState
    losses: np.ndarray
    grad_norms: np.ndarray
    evaluations: tuple[tuple[int, float], ...] = ()
    solved_at: int | None = None
    diverged: str = ""

    @property
    def steps(self) -> int:
        return len(self.losses)

    @property
    def final_error(self) -> float | None:
        return self.evaluations[-1][1] if self.evaluations else None


def gradients(engine: Engine, params: dict, xs: np.ndarray, targets: np.ndarray,
              truncate: int | tuple[int, int] | None = None) -> tuple[float, dict[str, np.ndarray]]:
    """The loss and its gradient with respect to the parameters only (``wrt`` the parameter names:
    the engine skips δxs and the initial states), with the backward recurrence cut at ``truncate``
    (k or (k₁, k₂); None: full BPTT)."""
    return engine.loss_and_grads(params, xs, targets, wrt=tuple(params), truncate=truncate)


def initial_params(engine: Engine, task: Task, H: int, seed: int, *, forget_bias: float = 1.0,
                   radius: float | None = None, dtype: type = np.float64) -> dict[str, np.ndarray]:
    """The initialisation of the decay study (:func:`bpttlab.numeric.decay.decay_params`), so that
    its horizons are those of the network trained: PyTorch's uniform ±1/√H, a forget gate's bias (if
    the cell has one) set to ``forget_bias``, the RNN's ``W_hh`` scaled to spectral radius ``radius``."""
    bias = forget_bias if engine.cell.forget_gate_bias is not None else None
    params = decay_params(engine, task.D, H, task.K, seed, radius=radius, forget_bias=bias)
    return {name: value.astype(dtype) for name, value in params.items()}


def _positive_int(name: str, value: object) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def typed_batch(xs: np.ndarray, targets: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """A task's batch in the parameters' float type, so that float32 stays float32 throughout (class
    indices stay integers)."""
    return xs.astype(dtype, copy=False), (targets.astype(dtype, copy=False)
                                          if targets.dtype.kind == "f" else targets)


def check_training(engine: Engine, task: Task, optimizer: object, steps: object, batch_size: object,
                   eval_every: object) -> tuple[int, int, int]:
    """The options every training loop checks: positive ``steps``, ``batch_size`` and ``eval_every``
    (returned as ints), an SGD or Adam optimizer, an engine with the task's head and loss placement."""
    steps = _positive_int("steps", steps)
    batch_size = _positive_int("batch_size", batch_size)
    eval_every = _positive_int("eval_every", eval_every)
    if not isinstance(optimizer, (SGD, Adam)):
        raise ValueError(f"optimizer must be an SGD or Adam, got {type(optimizer).__name__}")
    if (engine.head is None or engine.head.name != task.head) or engine.loss_at != task.loss_at:
        raise ValueError(f"the {task.name} task needs an engine with head={task.head!r}, loss_at="
                         f"{task.loss_at!r}; build_engine(cell, {task.head!r}, {task.loss_at!r})")
    return steps, batch_size, eval_every


def train(engine: Engine, params: dict[str, np.ndarray], task: Task, optimizer: SGD | Adam,
          steps: int, *, batch_size: int = 32, seed: int = 0, clip: float | None = None,
          truncate: int | tuple[int, int] | None = None, eval_every: int = 25, eval_size: int = 256,
          stop_when_solved: bool = True, resume: TrainResult | None = None,
          progress: Callable[[int, float], None] | None = None) -> TrainResult:
    """Train ``params`` on ``task`` for up to ``steps`` optimizer steps (in all, counting those of
    ``resume``), evaluating every ``eval_every`` steps; stop at the first evaluation that solves the
    task if ``stop_when_solved``. ``clip``: the largest global gradient norm (None: no clipping)."""
    steps, batch_size, eval_every = check_training(engine, task, optimizer, steps, batch_size, eval_every)
    dtype = next(iter(params.values())).dtype if params else np.dtype(np.float64)

    def typed(xs: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return typed_batch(xs, targets, dtype)

    eval_xs, eval_targets = typed(*task.evaluation_batch(eval_size))
    if resume is not None:
        params, state = resume.params, resume.state
        losses, norms = list(resume.losses), list(resume.grad_norms)
        evaluations, solved_at = list(resume.evaluations), resume.solved_at
        if resume.diverged or (solved_at is not None and stop_when_solved):
            return resume
    else:
        state, losses, norms, evaluations, solved_at = optimizer.init(params), [], [], [], None
    diverged = ""
    for step in range(len(losses), steps):
        xs, targets = typed(*task.batch(np.random.default_rng([seed, step]), batch_size))
        try:
            loss, grads = gradients(engine, params, xs, targets, truncate)
        except ValueError as error:
            if step == 0:
                raise  # bad input, not a divergence
            diverged = str(error)
            break
        if clip is not None:
            grads, norm = clip_global_norm(grads, clip)
        else:
            norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))
        params, state = optimizer.update(params, grads, state)
        losses.append(loss)
        norms.append(norm)
        if progress is not None:
            progress(step + 1, loss)
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            error = task.error(engine, params, eval_xs, eval_targets)
            evaluations.append((step + 1, error))
            if solved_at is None and task.solved(error):
                solved_at = step + 1
                if stop_when_solved:
                    break
    if diverged == "" and not all(np.all(np.isfinite(p)) for p in params.values()):
        diverged = "the parameters hold NaN or Inf"
    return TrainResult(params, state, np.array(losses, dtype=np.float64), np.array(norms, dtype=np.float64),
                       tuple(evaluations), solved_at, diverged)
