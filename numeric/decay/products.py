"""‖∂h_T/∂h_k‖₂ for every step k: the quantity in Pascanu et al.'s (2013) bound, from the derived
step Jacobians.

The derivation holds every block ∂s_t/∂s'_{t-1} of the step Jacobian as a matrix expression in the
step's stored values (rnn: diag(1 − h_t²) W_hh; the LSTM has the four blocks of its state (h, c)).
Those expressions are lambdified here, as they are, and evaluated at every step of one sequence of a
forward pass; a block that is a plain diagonal is kept as its vector, and the printer multiplies by a
diagonal without forming it. Walking back from t = T, the row block R_k = ∂h_T/∂s_k (s = h, and c for
the LSTM) follows R_{k-1}[s'] = Σ_s R_k[s] J_k[s, s']. So R_k[h] is the h-row, h-column block of the
product of the *full* block Jacobians: for the LSTM, ‖∂h_T/∂h_k‖₂ counts every path through c_t as
well — it is the norm reported, and the faithful one (a product of h-blocks alone would drop the cell).

The norm is the exact spectral norm, √λ_max(R Rᵀ) by LAPACK's symmetric eigensolver, at every k or at
the steps asked for (``steps``: at H = 256 the eigensolver costs about five matrix products, so the
large runs evaluate it at ~60 log-spaced steps from :func:`spaced_steps`; the product itself always
runs over every step). A product of 1000 Jacobians over- or underflows: R is kept divided by its
largest entry and the logarithm of the scale is carried, so the result is log10 norms.

>>> import numpy as np
>>> from bpttlab.numeric import build_engine
>>> engine = build_engine("rnn", "linear", "last")
>>> params = engine.init_params(D=2, H=3, K=1, seed=0)
>>> result = jacobian_products(engine, params, np.ones((4, 1, 2)))
>>> result.steps.tolist(), float(result.log10_norms[-1])  # ∂h_T/∂h_T = I
([1, 2, 3, 4], 0.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

from bpttlab.numeric.engine import Engine
from bpttlab.numeric.engine.compiled import Compiled

__all__ = ["JacobianNorms", "jacobian_products", "spaced_steps", "spectral_norm"]


@dataclass(frozen=True)
class JacobianNorms:
    """log10 ‖∂h_T/∂h_k‖₂ at the steps ``steps`` (k in 1..T, ascending; the last is always T, where
    the norm is 1)."""

    T: int
    steps: np.ndarray
    log10_norms: np.ndarray

    @property
    def norms(self) -> np.ndarray:
        """The norms themselves (below about 1e-308 they underflow to 0)."""
        return 10.0 ** self.log10_norms

    def __str__(self) -> str:
        """How many steps were measured, and the fitted decay (:func:`~.norms.fit_decay`).

        >>> print(JacobianNorms(T=3, steps=np.arange(1, 4), log10_norms=np.array([-2.0, -1.0, 0.0])))
        ‖∂h_T/∂h_k‖₂, T = 3, 3 steps: ×0.1 per step (slope -1.000 log10/step), no horizon within the sequence
        """
        from bpttlab.numeric.decay.norms import fit_decay  # norms imports this module

        fit = fit_decay(self.log10_norms, self.steps)
        return f"‖∂h_T/∂h_k‖₂, T = {self.T}, {self.steps.size} steps: {fit}"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # noqa: ARG002 (IPython's _repr_pretty_ protocol)
        printer.text(str(self))


@dataclass(frozen=True)
class _StepJacobian:
    """The lambdified blocks: (new state, previous state, output name, whether it is a diagonal)."""

    compiled: Compiled
    blocks: tuple[tuple[str, str, str, bool], ...]


@lru_cache(maxsize=16)  # engines are cached and compared by identity
def _step_jacobian(engine: Engine) -> _StepJacobian:
    equations, blocks = [], []
    for (new, prev), block in engine.derivation.jacobian.items():
        if isinstance(block, sp.ZeroMatrix):
            continue
        name = f"J[{new},{prev}]"
        diagonal = isinstance(block, DiagMatrix)
        expression = block.args[0] if diagonal else block
        equations.append(sp.Eq(sp.MatrixSymbol(name, *expression.shape), expression, evaluate=False))
        blocks.append((new, prev, name, diagonal))
    return _StepJacobian(Compiled(equations), tuple(blocks))


def spectral_norm(matrix: np.ndarray) -> float:
    """‖A‖₂ = √λ_max(A Aᵀ), exact up to rounding (relative error a few ε, as for the SVD)."""
    gram = matrix @ matrix.T if matrix.shape[0] <= matrix.shape[1] else matrix.T @ matrix
    return float(np.sqrt(max(np.linalg.eigvalsh(gram)[-1], 0.0)))


def spaced_steps(T: int, count: int = 64) -> np.ndarray:
    """About ``count`` steps k in 1..T, log-spaced in the distance T − k (dense near T, where the
    curves bend, sparse far back), always including k = 1 and k = T; ascending.

    >>> spaced_steps(1000, 8).tolist()
    [1, 685, 901, 969, 991, 998, 1000]
    """
    if not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"T must be a positive integer, got {T!r}")
    if not isinstance(count, (int, np.integer)) or count < 2:
        raise ValueError(f"count must be an integer ≥ 2, got {count!r}")
    back = np.unique(np.round(np.geomspace(1, T, count - 1)).astype(int) - 1)
    return np.unique(np.concatenate([[1], T - back]))


def _check_steps(steps: Sequence[int] | np.ndarray | None, T: int) -> np.ndarray:
    if steps is None:
        return np.arange(1, T + 1)
    array = np.asarray(steps)
    if array.ndim != 1 or array.size == 0 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"steps must be a non-empty 1-D sequence of integers in 1..{T}, got {steps!r}")
    if array.min() < 1 or array.max() > T:
        raise ValueError(f"steps must lie in 1..{T} (T = {T}), got {array.min()}..{array.max()}")
    return np.unique(np.append(array, T))  # k = T, the reference, always


def jacobian_products(engine: Engine, params: dict, xs: object, h0: object = None, c0: object = None, *,
                      sample: int = 0, steps: Sequence[int] | np.ndarray | None = None) -> JacobianNorms:
    """log10 ‖∂h_T/∂h_k‖₂ for sequence ``sample`` of the batch ``xs`` (T, N, D), at every k = 1..T or
    at ``steps`` (k = T is always included); ``params``, ``h0`` and ``c0`` as for ``engine.forward``."""
    result = engine.forward(params, xs, h0, c0)  # checks params, xs, h0 and c0
    T, N, H = result.h.shape
    if not isinstance(sample, (int, np.integer)) or not 0 <= sample < N:
        raise ValueError(f"sample must be an integer in 0..{N - 1} (the batch has N = {N}), got {sample!r}")
    wanted = _check_steps(steps, T)
    step_jacobian = _step_jacobian(engine)
    env = {name: (np.asarray(p, np.float64)[:, None] if np.ndim(p) == 1 else np.asarray(p, np.float64))
           for name, p in params.items()}
    one = {name: buffer[:, :, sample] for name, buffer in result.stored.items()}  # (rows, T)
    new_of = {prev.name: new.name for new, prev in engine.cell.states}
    h_new = engine.cell.h.name

    log10_norms = np.full(wanted.size, -np.inf)  # stays -inf where the product is exactly zero
    index = {int(k): i for i, k in enumerate(wanted)}
    rows: dict[str, np.ndarray] = {h_new: np.eye(H)}  # ∂h_T/∂s_T = [I, 0] is rows · 10^log10_scale
    log10_scale = 0.0
    if T in index:
        log10_norms[index[T]] = 0.0
    for t in range(T, 1, -1):  # step t (1-based) maps s_{t-1} to s_t; both are stored for t ≥ 2
        for name in step_jacobian.compiled.inputs:
            if name in one:
                env[name] = one[name][:, t - 1:t]
            elif name in new_of:
                env[name] = one[new_of[name]][:, t - 2:t - 1]
        blocks = step_jacobian.compiled(env)
        updated: dict[str, np.ndarray] = {}
        for new, prev, name, diagonal in step_jacobian.blocks:
            if new in rows:
                term = rows[new] * blocks[name].T if diagonal else rows[new] @ blocks[name]
                target = new_of[prev]
                updated[target] = updated[target] + term if target in updated else term
        largest = max(float(np.max(np.abs(block))) for block in updated.values())
        if largest == 0:
            break
        rows = {name: block / largest for name, block in updated.items()}
        log10_scale += float(np.log10(largest))
        if t - 1 in index:
            with np.errstate(divide="ignore"):  # an h-block of zeros (the rest not) has log10 −inf
                log10_norms[index[t - 1]] = log10_scale + np.log10(spectral_norm(rows[h_new]))
    return JacobianNorms(T=T, steps=wanted, log10_norms=log10_norms)
