"""How fast the gradient fades going back in time: ‖∂L/∂h_k‖ for every step, a fitted decay rate, a
horizon, and Pascanu et al.'s bound checked on measured norms.

With the loss at the last step only, ∂L/∂h_k = (∂h_T/∂h_k)ᵀ ∂L/∂h_T: everything the gradient keeps
about step k passes through the product of step Jacobians of :mod:`.products`. The
norms here are the δh_k (and δc_k) the engine's own backward loop computes — no autodiff, nothing
recomputed. A curve is summarised by the least-squares slope of log10‖·‖ against the number of steps
back (log10 units per step: −0.3 halves the norm every step) and by its horizon: the first number of
steps back at which the norm is below 1e-6 of its value at k = T.

>>> import numpy as np
>>> from bpttlab.numeric import build_engine
>>> engine = build_engine("rnn", "linear", "last")
>>> params = engine.init_params(D=2, H=4, K=1, seed=0)
>>> norms = gradient_norms(engine, params, np.ones((5, 1, 2)))
>>> sorted(norms), norms["h"].shape
(['h'], (5,))
>>> fit = fit_decay(np.log10([1e-8, 1e-6, 1e-4, 1e-2, 1.0]))
>>> round(fit.slope, 9), fit.horizon
(-2.0, 4)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from bpttlab.derivations import HEADS
from bpttlab.derivations.heads import TargetKind
from bpttlab.numeric.decay.products import JacobianNorms
from bpttlab.numeric.engine import Engine

__all__ = ["HORIZON_DROP", "TARGETS", "DecayFit", "bound_margin", "fit_decay", "gradient_norms",
           "log10_bound", "random_targets"]

#: The horizon is where the norm has fallen to this fraction of its value at k = T.
HORIZON_DROP = 1e-6


#: How each kind of target is drawn for a loss at the last step: class indices (N,); probabilities in
#: (0.05, 0.95) and standard normal reals, (N, K).
TARGETS: Mapping[TargetKind, Callable[[np.random.Generator, int, int], np.ndarray]] = MappingProxyType({
    TargetKind.CLASS: lambda rng, N, K: rng.integers(0, K, size=N),
    TargetKind.PROBABILITY: lambda rng, N, K: rng.uniform(0.05, 0.95, size=(N, K)),
    TargetKind.REAL: lambda rng, N, K: rng.normal(size=(N, K)),
})


def random_targets(engine: Engine, N: int, K: int, seed: int = 0) -> np.ndarray:
    """Targets for a loss at the last step, from ``seed``, drawn as :data:`TARGETS` says for the kind of
    the head's targets: class indices (N,), or (N, K) probabilities or reals."""
    if engine.head is None:
        heads = ", ".join(f"head={name!r}" for name in HEADS)
        raise ValueError(f"an engine without a head has no loss; build it with {heads} "
                         f"(cell {engine.cell.name})")
    return TARGETS[engine.head.target_kind](np.random.default_rng(seed), N, K)


def gradient_norms(engine: Engine, params: dict, xs: object, targets: object = None, h0: object = None,
                   c0: object = None, *, target_seed: int = 0) -> dict[str, np.ndarray]:
    """‖∂L/∂h_k‖ for k = 1..T in that order under ``"h"``, and ‖∂L/∂c_k‖ under ``"c"`` for the LSTM.

    ``engine`` must place its loss at the last step (``build_engine(cell, head, loss_at="last")``).
    ``targets=None`` draws them with :func:`random_targets` from ``target_seed``. The norm is the
    2-norm over the hidden units and the batch together (for one sequence, the Euclidean norm of
    δh_k); the loss is the mean over the batch, as everywhere in the engine.
    """
    if engine.loss_at != "last":
        raise ValueError(f"gradient_norms needs the loss at the last step only; build the engine with "
                         f"build_engine({engine.cell.name!r}, head, loss_at='last'), not loss_at="
                         f"{engine.loss_at!r}")
    if targets is None:
        shape = np.shape(xs)
        if len(shape) != 3:
            raise ValueError(f"xs must have shape (T, N, D) (time-major), got an array of rank {len(shape)}")
        if not isinstance(params, dict) or np.ndim(params.get("W_hy")) != 2:
            raise ValueError("params must hold W_hy (K, H): its K sizes the random targets")
        targets = random_targets(engine, shape[1], int(np.shape(params["W_hy"])[0]), target_seed)
    _, deltas = engine.state_grads(params, xs, targets, h0, c0)
    return {label: _norm_per_step(value) for label, value in deltas.items()}


def _norm_per_step(values: np.ndarray) -> np.ndarray:
    """The 2-norm of each (N, H) slice of (T, N, H), scaled first so that squares of 1e-200 do not
    underflow."""
    flat = values.reshape(values.shape[0], -1)
    largest = np.max(np.abs(flat), axis=1)
    scale = np.where(largest > 0, largest, 1.0)
    return largest * np.sqrt(np.sum((flat / scale[:, None]) ** 2, axis=1))


@dataclass(frozen=True)
class DecayFit:
    """``slope``: least-squares slope of log10‖·‖ per step back (negative: vanishing; ``10**slope``
    is the factor per step). ``horizon``: the first number of steps back at which the norm is below
    :data:`HORIZON_DROP` of its value at k = T, or None if it never is within the sequence."""

    slope: float
    horizon: int | None

    @property
    def factor_per_step(self) -> float:
        return float(10.0 ** self.slope)

    def __str__(self) -> str:
        """The factor per step and the horizon (steps back until the norm is below
        :data:`HORIZON_DROP` of its value at T), in words.

        >>> print(DecayFit(slope=-0.25, horizon=22))
        ×0.562 per step (slope -0.250 log10/step), horizon 22 steps
        >>> print(DecayFit(slope=0.0, horizon=None))
        ×1 per step (slope +0.000 log10/step), no horizon within the sequence
        """
        if np.isfinite(self.slope):
            rate = f"×{self.factor_per_step:.3g} per step (slope {self.slope:+.3f} log10/step)"
        else:
            rate = "no slope (fewer than two finite norms)"
        if self.horizon is None:
            return f"{rate}, no horizon within the sequence"
        return f"{rate}, horizon {self.horizon} steps"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # noqa: ARG002 (IPython's _repr_pretty_ protocol)
        printer.text(str(self))


def _log10_curve(log10_norms: object, steps: object) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(log10_norms, dtype=np.float64)
    if values.ndim != 1 or values.size < 2:
        raise ValueError(f"log10_norms must be a 1-D array of at least 2 values (k = 1..T), got shape "
                         f"{values.shape}")
    if np.any(np.isnan(values)) or np.any(values == np.inf):
        raise ValueError("log10_norms must not contain NaN or +inf (−inf stands for a norm of 0)")
    k = np.arange(1, values.size + 1) if steps is None else np.asarray(steps)
    if k.shape != values.shape or not np.issubdtype(k.dtype, np.integer) or np.any(np.diff(k) <= 0):
        raise ValueError(f"steps must be increasing integers, one per value ({values.size}), got {steps!r}")
    return k, values


def fit_decay(log10_norms: Sequence[float] | np.ndarray, steps: Sequence[int] | np.ndarray | None = None
              ) -> DecayFit:
    """Slope and horizon of one curve: ``log10_norms`` at ``steps`` k (default 1..T; the last step is
    the reference k = T).

    The slope is the least-squares line of log10‖·‖ against the steps back, T − k, over EVERY finite
    value given: from k = T (0 steps back) to the first step given (the farthest back), a norm that
    underflowed to 0 (−inf) left out. The horizon is the smallest number of steps back whose value is
    below the one at k = T by more than the drop (:data:`HORIZON_DROP`), strictly; with fewer than every
    step given, the first sampled one that is; None if the value at k = T is not finite or none is."""
    k, values = _log10_curve(log10_norms, steps)
    back = k[-1] - k  # steps back from T
    finite = np.isfinite(values)
    if finite.sum() >= 2:
        slope = float(np.polyfit(back[finite], values[finite], 1)[0])
    else:
        slope = float("nan")
    horizon = None
    if np.isfinite(values[-1]):
        below = np.flatnonzero(values < values[-1] + np.log10(HORIZON_DROP))
        if below.size:
            horizon = int(back[below].min())
    return DecayFit(slope=slope, horizon=horizon)


def log10_bound(T: int, steps: np.ndarray, largest_singular_value: float) -> np.ndarray:
    """log10 of Pascanu et al.'s bound λ₁^{T−k} on ‖∂h_T/∂h_k‖₂ for the tanh RNN, at each k in ``steps``.

    >>> log10_bound(3, np.arange(1, 4), 0.1).tolist()
    [-2.0, -1.0, -0.0]
    """
    lam = largest_singular_value
    if not (isinstance(lam, (int, float, np.floating)) and np.isfinite(lam) and lam > 0):
        raise ValueError(f"largest_singular_value must be a positive number, got {largest_singular_value!r}")
    return (T - np.asarray(steps)) * np.log10(lam)


def bound_margin(norms: JacobianNorms, largest_singular_value: float) -> float:
    """max over k < T of log10‖∂h_T/∂h_k‖₂ − (T − k)·log10 λ₁ (0 when there is no k < T): at most 0,
    up to rounding, when every measured norm keeps Pascanu et al.'s bound ‖∂h_T/∂h_k‖₂ ≤ λ₁^{T−k} for
    the tanh RNN (|tanh'| ≤ 1), positive where a norm breaks it; −inf norms keep any bound.

    >>> norms = JacobianNorms(T=3, steps=np.arange(1, 4), log10_norms=np.log10([0.2, 0.5, 1]))
    >>> round(bound_margin(norms, 0.5), 6)  # 0.2 ≤ 0.25 and 0.5 ≤ 0.5
    0.0
    """
    if not isinstance(norms, JacobianNorms):
        raise ValueError(f"norms must be the JacobianNorms of jacobian_products, got {type(norms).__name__}")
    lam = largest_singular_value
    if not (isinstance(lam, (int, float, np.floating)) and np.isfinite(lam) and lam > 0):
        raise ValueError(f"largest_singular_value must be a positive number, got {largest_singular_value!r}")
    before = norms.steps < norms.T  # at k = T both sides are 1
    if not before.any():
        return 0.0
    bound = log10_bound(norms.T, norms.steps[before], largest_singular_value)
    return float(np.max(norms.log10_norms[before] - bound))
