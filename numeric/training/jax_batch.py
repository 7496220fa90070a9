"""The JAX side of :func:`~bpttlab.numeric.training.batched.train_many`: a batch of runs as one
vmapped, jitted program (see that module for what a run is and how the runs are sharded).

Per run the program holds the parameters, the optimizer's slots and its step count; a block of
``eval_every`` steps is one ``lax.scan`` over the block's batches, drawn on the host as :func:`train`
draws them. A run stops updating at the step it fails (NaN or Inf), and after the evaluation that
solves the task; the others go on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from bpttlab.numeric.engine.jax_engine import JaxEngine
from bpttlab.numeric.training.batched import Run, RunRecord, divergence, result
from bpttlab.numeric.training.loop import TrainResult, typed_batch
from bpttlab.numeric.training.optimizers import SGD, Adam, OptimizerState
from bpttlab.numeric.training.tasks import Task

__all__ = ["BatchedTraining"]


def _columns(params: dict) -> dict:
    """The engine's layout of the parameters: a bias as a (rows, 1) column."""
    return {name: value[:, None] if value.ndim == 1 else value for name, value in params.items()}


class BatchedTraining:
    """One batch of runs on one JAX engine, from their first step to their last."""

    def __init__(self, engine: JaxEngine, runs: Sequence[Run], task: Task, optimizer: SGD | Adam, steps: int,
                 batch_size: int, truncate: object, eval_every: int, eval_size: int, stop_when_solved: bool,
                 devices: Sequence | None):
        self.engine, self.task, self.optimizer, self.truncate = engine, task, optimizer, truncate
        self.steps, self.batch_size, self.eval_every = steps, batch_size, eval_every
        self.stop_when_solved = stop_when_solved
        self.runs = list(runs)
        self.names = tuple(engine.derivation.params)
        first = self.runs[0].params
        self.dtype = np.dtype(next(iter(first.values())).dtype) if first else np.dtype(np.float64)
        # every run's parameters checked as one call of the engine checks them, on its first batch
        for number, run in enumerate(self.runs):
            try:
                if np.dtype(next(iter(run.params.values())).dtype) != self.dtype:
                    raise ValueError(f"its parameters are not {self.dtype.name} as run 0's are")
                _, _, _, initial = engine.arguments(run.params, *self._batch(run.seed, 0))
            except ValueError as error:
                raise ValueError(f"run {number} (seed {run.seed}): {error}") from None
        self.rows = {name: value.shape[0] for name, value in initial.items()}
        self.eval_xs, self.eval_targets = typed_batch(*task.evaluation_batch(eval_size), self.dtype)
        self.sharding, self.padding = None, 0
        if devices is not None and len(devices) > 1:
            self.padding = -len(self.runs) % len(devices)
            self.sharding = NamedSharding(Mesh(np.array(list(devices)), ("runs",)), P("runs"))
        self.function = engine.loss_and_grads_function(wrt=self.names, truncate=truncate, T=task.T)
        self._outputs = engine.outputs_function()
        per_run = (0, 0, 0, 0, 0, 0, 0, 0, None, None)
        self._block = jax.jit(jax.vmap(self._block_of_one, in_axes=per_run))

    # ----------------------------------------------------------------- traced, for one run
    def _initial(self, N: int) -> dict:
        """Zero initial states, as :func:`train` starts every sequence."""
        return {name: jnp.zeros((rows, N), self.dtype) for name, rows in self.rows.items()}

    def _update(self, params: dict, grads: dict, slots: dict, count: jax.Array, lr: jax.Array
                ) -> tuple[dict, dict]:
        """The optimizer's own rule on every parameter, its constants computed as ``update`` does."""
        optimizer, new, out = self.optimizer, {}, {kind: {} for kind in slots}
        if isinstance(optimizer, Adam):
            beta1, beta2 = optimizer.betas
            step = (count + 1).astype(jnp.float64)
            step_size = (lr / (1 - beta1 ** step)).astype(self.dtype)
            root = jnp.sqrt(1 - beta2 ** step).astype(self.dtype)
            for name, value in params.items():
                new[name], out["m"][name], out["v"][name] = optimizer.rule(
                    value, grads[name], slots["m"][name], slots["v"][name], step_size, root, jnp.sqrt)
            return new, out
        for name, value in params.items():
            # a zero buffer before the first step: 0·μ + g is g, train's first buffer
            previous = slots["momentum"][name] if optimizer.momentum else None
            new[name], buffer = optimizer.rule(value, grads[name], previous, lr.astype(self.dtype))
            if optimizer.momentum:
                out["momentum"][name] = buffer
        return new, out

    def _step_of_one(self, carry: tuple, inputs: tuple) -> tuple[tuple, tuple]:
        """One step of one run: gradients, clipping by the global norm, the optimizer; nothing changes
        where the run is idle, past its last step, or where the step overflowed."""
        params, slots, count, active, lr, clip = carry
        xs, targets, live = inputs
        loss, grads = self.function(_columns(params), xs, targets, self._initial(xs.shape[1]))
        finite = jnp.stack([jnp.isfinite(loss), *(jnp.isfinite(grads[name]).all() for name in self.names)])
        # clip_global_norm's arithmetic: the norm in float64, the scale applied in the gradients' dtype
        norm = jnp.sqrt(sum(jnp.sum(jnp.square(grads[name].astype(jnp.float64))) for name in self.names))
        scale = jnp.minimum(1.0, clip / (norm + 1e-6))
        grads = {name: jnp.where(scale < 1.0, g * scale.astype(self.dtype), g) for name, g in grads.items()}
        new, new_slots = self._update(params, grads, slots, count, lr)
        ok = active & live & finite.all()
        params = {name: jnp.where(ok, new[name], params[name]) for name in params}
        slots = {kind: {name: jnp.where(ok, new_slots[kind][name], value) for name, value in values.items()}
                 for kind, values in slots.items()}
        active = active & (finite.all() | ~live)
        return (params, slots, jnp.where(ok, count + 1, count), active, lr, clip), (loss, norm, ok, finite)

    def _block_of_one(self, params: dict, slots: dict, count: jax.Array, active: jax.Array, lr: jax.Array,
                      clip: jax.Array, xs: jax.Array, targets: jax.Array, live: jax.Array, eval_xs: jax.Array
                      ) -> tuple:
        """A block of steps of one run, over its batches ``xs``, ``targets`` (one per step), and the
        head's outputs on the evaluation batch after it (in the same program: one compilation)."""
        carry, records = lax.scan(self._step_of_one, (params, slots, count, active, lr, clip),
                                  (xs, targets, live))
        params, slots, count, *_ = carry
        outputs = self._outputs(_columns(params), eval_xs, self._initial(eval_xs.shape[1]))
        return params, slots, count, records, outputs

    # ----------------------------------------------------------------- the host's loop
    def _batch(self, seed: int, step: int) -> tuple[np.ndarray, np.ndarray]:
        return typed_batch(*self.task.batch(np.random.default_rng([seed, step]), self.batch_size), self.dtype)

    def _slots(self, params: dict) -> dict:
        zeros = {name: np.zeros_like(value) for name, value in params.items()}
        if isinstance(self.optimizer, Adam):
            return {"m": zeros, "v": {name: value.copy() for name, value in zeros.items()}}
        return {"momentum": zeros} if self.optimizer.momentum else {}

    def _place(self, tree: object) -> object:
        """Per-run arrays (run axis first) on the devices: sharded along the run axis when there are
        several, padded with idle runs to a multiple of their number."""
        def pad(array: np.ndarray) -> np.ndarray:
            if not self.padding:
                return array
            return np.concatenate([array, np.repeat(array[:1], self.padding, axis=0)])

        padded = jax.tree_util.tree_map(pad, tree)
        return padded if self.sharding is None else jax.device_put(padded, self.sharding)

    def _blocks_batches(self, first: int, count: int, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The batches of steps ``first`` … ``first + count − 1`` of every run, (runs, steps, …): as
        :func:`train` draws them for the active runs, zeros for the idle ones."""
        xs, targets = [], []
        blank = None
        for run, on in zip(self.runs, active, strict=True):
            if on:
                drawn = [self._batch(run.seed, step) for step in range(first, first + count)]
                xs.append(np.stack([x for x, _ in drawn]))
                targets.append(np.stack([t for _, t in drawn]))
                blank = blank or (np.zeros_like(xs[-1]), np.zeros_like(targets[-1]))
            else:
                xs.append(None)
                targets.append(None)
        xs = [x if x is not None else blank[0] for x in xs]
        targets = [t if t is not None else blank[1] for t in targets]
        return np.stack(xs), np.stack(targets)

    def run(self, progress: Callable[[int, int], None] | None) -> list[TrainResult]:
        runs = self.runs
        records = [RunRecord([], [], []) for _ in runs]
        params = {name: np.stack([np.asarray(run.params[name], self.dtype) for run in runs])
                  for name in self.names}
        slots = self._slots(params)
        count = np.zeros(len(runs), np.int32)
        lr = np.array([self.optimizer.lr if run.lr is None else run.lr for run in runs], np.float64)
        clip = np.array([np.inf if run.clip is None else run.clip for run in runs], np.float64)
        state = self._place((params, slots, count))
        settings = self._place((lr, clip))
        done = 0
        while done < self.steps and any(r.active for r in records):
            active = np.array([r.active for r in records])
            xs, targets = self._blocks_batches(done, self.eval_every, active)
            live = np.arange(done, done + self.eval_every) < self.steps
            placed = self._place((active, xs, targets))
            params_, slots_, count_ = state
            params_, slots_, count_, (loss, norm, ok, finite), outputs = self._block(
                params_, slots_, count_, placed[0], *settings, placed[1], placed[2], live, self.eval_xs)
            state = (params_, slots_, count_)
            loss, norm, ok, finite = (np.asarray(a)[:len(runs)] for a in (loss, norm, ok, finite))
            for number, record in enumerate(records):
                if not record.active:
                    continue
                for s in range(int(live.sum())):
                    if ok[number, s]:
                        record.losses.append(float(loss[number, s]))
                        record.norms.append(float(norm[number, s]))
                        continue
                    message = divergence(bool(finite[number, s, 0]),
                                         dict(zip(self.names, finite[number, s, 1:].tolist(), strict=True)))
                    if done + s == 0:
                        raise ValueError(f"run {number} (seed {runs[number].seed}): {message}")
                    record.diverged, record.active = message, False
                    break
            done = min(done + self.eval_every, self.steps)
            self._evaluate(records, outputs, done)
            if progress is not None:
                progress(done, self.steps)
        return self._results(records, state)

    def _evaluate(self, records: list[RunRecord], outputs: jax.Array, step: int) -> None:
        """The task's error on its evaluation batch (from the head's ``outputs`` there) for every run
        still training, as :func:`train` evaluates after step ``step``; a run that solves the task stops
        (if ``stop_when_solved``)."""
        if not any(r.active for r in records):
            return
        outputs = np.asarray(outputs)
        for number, record in enumerate(records):
            if not record.active:
                continue
            error = self.task.error_of(outputs[number], self.eval_targets)
            record.evaluations.append((step, error))
            if record.solved_at is None and self.task.solved(error):
                record.solved_at = step
                if self.stop_when_solved:
                    record.active = False

    def _results(self, records: list[RunRecord], state: tuple) -> list[TrainResult]:
        params, slots, count = jax.tree_util.tree_map(np.asarray, state)
        out = []
        for number, record in enumerate(records):
            own = {name: params[name][number] for name in self.names}
            own_slots = {kind: {name: values[name][number] for name in self.names}
                         for kind, values in slots.items()}
            out.append(result(record, own, OptimizerState(int(count[number]), own_slots)))
        return out
