"""Truncated BPTT, measured: how far the gradient of truncated backpropagation through time is from
the full gradient, as the truncation length k₂ grows, for each built-in cell.

The engine computes the truncated gradient itself (``Engine.loss_and_grads(..., truncate=(k1, k2))``:
every k₁ steps the losses of those k₁ steps are sent back k₂ steps). Two schemes are measured:
k₁ = k₂ (the sequence cut into blocks of k₂ steps, as a loop that detaches the state every k₂ steps
does: the backward pass costs what full BPTT costs, but a loss reaches only the states of its own
block) and k₁ = 1 (every loss reaches the k₂ states up to its own, at k₂ times the cost). Both are
measured at the k₂ that divide T, so that no block is shorter than the others. The error is
relative, over all parameters together,

    ‖g_{k₂} − g‖ / ‖g‖,

with g the full gradient; it is exactly 0 once k₂ ≥ T. Every cell runs on one input sequence (normal
entries) with random targets, softmax head, loss at every step, at the engine's initialisation (the
LSTM's forget-gate bias 1, as in the decay study); seeds change the parameters and the targets.

>>> block_lengths(12).tolist()
[1, 2, 3, 4, 6, 12]
>>> study = truncation_study(cells=("rnn",), T=6, H=4, seeds=(0,), k2s=(1, 6))
>>> [(curve.cell, curve.k1) for curve in study.curves]
[('rnn', 'k2'), ('rnn', 1)]
>>> curve = study.curves[0]
>>> curve.k2s.tolist(), bool(curve.errors[0, 0] > 0), float(curve.errors[0, 1])
([1, 6], True, 0.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bpttlab.derivations import Cell, resolve_cell
from bpttlab.derivations.cells import BUILT_IN
from bpttlab.numeric.decay.initialisation import decay_params
from bpttlab.numeric.engine import build_engine
from bpttlab.numeric.training.clipping import global_norm

__all__ = ["SCHEMES", "TRUNCATION_HEAD", "TruncationCurve", "TruncationStudy", "block_lengths",
           "truncation_steps", "truncation_study"]

#: The head of the study; the loss is at every step (where truncation matters most).
TRUNCATION_HEAD, D, K, INPUT_SEED = "softmax", 8, 4, 1234
#: The two values of k₁: k₁ = k₂, then k₁ = 1.
SCHEMES = ("k2", 1)


@dataclass(frozen=True)
class TruncationCurve:
    """One cell and scheme (``k1``: 1, or "k2" for k₁ = k₂): ``errors`` (seeds, k₂) relative errors of
    the truncated gradient at the ``k2s``."""

    cell: str
    k1: int | str
    setting: dict
    k2s: np.ndarray
    seeds: tuple[int, ...]
    errors: np.ndarray

    @property
    def median(self) -> np.ndarray:
        return np.median(self.errors, axis=0)


@dataclass(frozen=True)
class TruncationStudy:
    T: int
    H: int
    seeds: tuple[int, ...]
    curves: tuple[TruncationCurve, ...]


def truncation_steps(T: int, count: int = 24) -> np.ndarray:
    """About ``count`` truncation lengths from 1 to T, every one up to 10, then log-spaced; T last."""
    if not isinstance(T, (int, np.integer)) or isinstance(T, bool) or T < 1:
        raise ValueError(f"T must be a positive integer, got {T!r}")
    spaced = np.geomspace(1, T, num=count).round().astype(int)
    return np.unique(np.concatenate([np.arange(1, min(T, 10) + 1), spaced, [T]]))


def block_lengths(T: int) -> np.ndarray:
    """The truncation lengths that divide T: with k₁ = k₂ every block then has k₂ steps (a k₂ that
    does not divide T leaves a shorter last block, whose losses reach further back than the others':
    the error would drop at k₂ > T/2 for that reason, not because of the cell)."""
    if not isinstance(T, (int, np.integer)) or isinstance(T, bool) or T < 1:
        raise ValueError(f"T must be a positive integer, got {T!r}")
    return np.array([k for k in range(1, int(T) + 1) if T % k == 0])


def truncation_study(cells: Sequence[str | Cell] = BUILT_IN, T: int = 100, H: int = 32,
                     seeds: Sequence[int] = (0, 1, 2, 3, 4), k2s: Sequence[int] | None = None,
                     forget_bias: float = 1.0) -> TruncationStudy:
    """The relative error of the truncated gradient for each cell and scheme at each k₂ in ``k2s``
    (default :func:`block_lengths`, the divisors of T; for k₁ = 1 those up to T/2 and from T on, which
    are all the divisors), over ``seeds``."""
    if not isinstance(T, (int, np.integer)) or isinstance(T, bool) or T < 2:
        raise ValueError(f"T must be an integer ≥ 2, got {T!r}")
    if not isinstance(H, (int, np.integer)) or isinstance(H, bool) or H < 1:
        raise ValueError(f"H must be a positive integer, got {H!r}")
    seeds = tuple(int(s) for s in seeds)
    if not seeds or any(s < 0 for s in seeds):
        raise ValueError(f"seeds must be a non-empty sequence of integers ≥ 0, got {seeds!r}")
    steps = block_lengths(T) if k2s is None else np.array(sorted(set(int(k) for k in k2s)))
    if steps.size == 0 or steps[0] < 1:
        raise ValueError(f"k2s must be positive integers, got {k2s!r}")
    # k₁ = 1 costs k₂ backward steps per loss: measured up to T/2, and from T on (one window, full BPTT);
    # the default k₂ (the divisors of T) are all there
    measured = {"k2": steps, 1: steps[(steps <= max(T // 2, 1)) | (steps >= T)]}
    xs = np.random.default_rng(INPUT_SEED).normal(size=(T, 1, D))
    curves = []
    for cell in dict.fromkeys(resolve_cell(c) for c in cells):
        engine = build_engine(cell, TRUNCATION_HEAD, "every")
        setting = {"forget_bias": forget_bias} if cell.forget_gate_bias else {}
        rows: dict[int | str, list[list[float]]] = {k1: [] for k1 in SCHEMES}
        for seed in seeds:
            params = decay_params(engine, D, H, K, seed, **setting)
            targets = np.random.default_rng(seed).integers(0, K, size=(T, 1))
            full = engine.loss_and_grads(params, xs, targets, wrt=list(params))[1]
            size = global_norm(full)
            for k1 in SCHEMES:
                row = []
                for k2 in measured[k1]:
                    pair = (int(k2), int(k2)) if k1 == "k2" else (int(k1), int(k2))
                    cut = engine.loss_and_grads(params, xs, targets, wrt=list(params), truncate=pair)[1]
                    row.append(global_norm({n: cut[n] - full[n] for n in full}) / size)
                rows[k1].append(row)
        curves += [TruncationCurve(cell.name, k1, setting, measured[k1], seeds, np.array(rows[k1]))
                   for k1 in SCHEMES]
    return TruncationStudy(int(T), int(H), seeds, tuple(curves))
