"""Gradient clipping (Pascanu, Mikolov & Bengio, 2013), measured: an Elman RNN whose recurrent weight
has spectral radius 3 trained by plain SGD on a one-step memory task, once without clipping and once
with the gradient's global norm clipped to θ (by default the median of the norms the unclipped run
measured, so that clipping acts on the spikes),

    g ← θ g / ‖g‖  when ‖g‖ > θ,

recording, for every update, the norm of the gradient before clipping and the loss.

The task: a sequence of random symbols (one-hot inputs of ``K`` letters), the target at step t is
the symbol at step t − 1 (at step 1 the last one), softmax head, cross-entropy at every step. The
same seed gives the same numbers.

The optimiser and the clipping are those of :mod:`bpttlab.numeric.training` (``SGD``,
``clip_global_norm``).

>>> demo = clipping_demo(steps=3, T=6, H=8, batch=4)
>>> [run.label for run in demo.runs], len(demo.runs[0].losses)
(['plain', 'clipped'], 3)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpttlab.numeric.decay.initialisation import decay_params
from bpttlab.numeric.engine import build_engine
from bpttlab.numeric.training.clipping import clip_global_norm, global_norm
from bpttlab.numeric.training.optimizers import SGD

__all__ = ["CLIP_CELL", "ClipDemo", "ClipRun", "clipping_demo"]

#: The cell of the demonstration: the one whose recurrent weight the spectral radius is set on.
CLIP_CELL = "rnn"


@dataclass(frozen=True)
class ClipRun:
    """One training run: ``threshold`` θ (None: no clipping), per update ``grad_norms`` ‖g‖ before
    clipping and ``losses`` L/T, the mean cross-entropy per step, before the update."""

    label: str
    threshold: float | None
    grad_norms: np.ndarray
    losses: np.ndarray


@dataclass(frozen=True)
class ClipDemo:
    """The settings of the demonstration and its two runs (``plain``, then ``clipped``)."""

    cell: str
    T: int
    H: int
    K: int
    batch: int
    radius: float
    learning_rate: float
    threshold: float
    seed: int
    runs: tuple[ClipRun, ...]

    @property
    def plain(self) -> ClipRun:
        return self.runs[0]

    @property
    def clipped(self) -> ClipRun:
        return self.runs[1]

    @property
    def touched(self) -> int:
        """How many updates of the clipped run clipping shortened (norm above θ)."""
        return int(np.sum(self.clipped.grad_norms > self.threshold))


def _task(T: int, K: int, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    symbols = np.random.default_rng(seed).integers(0, K, size=(T, batch))
    return np.eye(K)[symbols], np.roll(symbols, 1, axis=0)  # the target: the previous symbol


def _train(engine: object, params: dict, xs: np.ndarray, targets: np.ndarray, steps: int,
           learning_rate: float, threshold: float | None) -> tuple[np.ndarray, np.ndarray]:
    norms, losses = [], []
    optimizer = SGD(lr=learning_rate)
    state = optimizer.init(params)
    for _ in range(steps):
        loss, grads = engine.loss_and_grads(params, xs, targets, wrt=list(params))
        if threshold is None:
            norm = global_norm(grads)
        else:
            grads, norm = clip_global_norm(grads, threshold)
        norms.append(norm)
        losses.append(loss / xs.shape[0])
        params, state = optimizer.update(params, grads, state)
    return np.array(norms), np.array(losses)


def clipping_demo(*, steps: int = 60, T: int = 20, H: int = 32, K: int = 4, batch: int = 32,
                  radius: float = 3.0, learning_rate: float = 0.05, threshold: float | None = None,
                  seed: int = 0) -> ClipDemo:
    """Train the RNN (``W_hh`` scaled to spectral radius ``radius``) for ``steps`` SGD updates
    without clipping and with the global norm clipped to ``threshold``, from the same start. Without
    a ``threshold`` it is the median of the norms the unclipped run measured: clipping then acts on
    the larger half of them, the spikes, and leaves the rest alone (a θ below every norm would
    shorten every update: that is normalised SGD, not a safety net)."""
    for name, value, smallest in (("steps", steps, 1), ("T", T, 2), ("H", H, 1), ("K", K, 2),
                                  ("batch", batch, 1)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < smallest:
            raise ValueError(f"{name} must be an integer ≥ {smallest}, got {value!r}")
    given = (("radius", radius), ("learning_rate", learning_rate)) + (() if threshold is None else
                                                                        (("threshold", threshold),))
    for name, value in given:
        number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
        if not (number and np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    engine = build_engine(CLIP_CELL, "softmax", "every")
    params = decay_params(engine, K, H, K, seed, radius=radius)
    xs, targets = _task(T, K, batch, seed + 1)
    plain = ClipRun("plain", None, *_train(engine, params, xs, targets, steps, learning_rate, None))
    if threshold is None:
        threshold = float(np.median(plain.grad_norms))
    clipped = ClipRun("clipped", float(threshold),
                      *_train(engine, params, xs, targets, steps, learning_rate, float(threshold)))
    runs = (plain, clipped)
    return ClipDemo(CLIP_CELL, T, H, K, batch, float(radius), float(learning_rate), float(threshold), seed,
                    runs)
