"""Optimizers as pure functions of (parameters, gradients, state): SGD with momentum and Adam.

Each is a frozen dataclass of its settings with ``init(params)`` (the empty state) and
``update(params, grads, state)`` (new parameters and the new state); nothing is changed in place, so
a run is reproduced from its checkpoint exactly. ``rule`` is the arithmetic on one array, written once
for NumPy arrays and JAX arrays: the batched training on the JAX backend runs the same formulas. The
formulas and their order of operations are PyTorch's (``torch.optim.SGD`` with ``dampening=0``,
``torch.optim.Adam`` without weight decay):

- SGD: b ← μ b + g (b = g at the first step), θ ← θ − η b;
- Adam: m ← β₁ m + (1 − β₁) g, v ← β₂ v + (1 − β₂) g², θ ← θ − η/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + ε).

>>> import numpy as np
>>> adam = Adam(lr=0.1)
>>> params = {"w": np.array([1.0, -2.0])}
>>> params, state = adam.update(params, {"w": np.array([0.5, -0.5])}, adam.init(params))
>>> params["w"], state.step
(array([ 0.9, -1.9]), 1)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["SGD", "Adam", "OptimizerState"]

#: A NumPy or a JAX array: each optimizer's ``rule`` is written once for both.
Array = Any


@dataclass(frozen=True, eq=False)  # arrays inside
class OptimizerState:
    """``step``: updates done so far; ``slots``: slot name → parameter name → array (the momentum
    buffer ``"momentum"`` of SGD; the moments ``"m"`` and ``"v"`` of Adam)."""

    step: int = 0
    slots: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


def _number(name: str, value: object, low: float, high: float | None = None, *, low_open: bool = False,
            high_open: bool = True) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and np.isfinite(value) and (value > low if low_open else value >= low) \
        and (high is None or (value < high if high_open else value <= high))
    if not ok:
        left, right = "(" if low_open else "[", ")" if high is None or high_open else "]"
        raise ValueError(f"{name} must be a number in {left}{low:g}, {'∞' if high is None else f'{high:g}'}"
                         f"{right}, got {value!r}")
    return float(value)


def _check(params: Mapping, grads: Mapping, state: OptimizerState) -> None:
    if not isinstance(state, OptimizerState):
        raise ValueError(f"state must be an OptimizerState (from init), got {type(state).__name__}")
    missing = [name for name in params if name not in grads]
    if missing:
        raise ValueError(f"grads has no gradient for the parameter {missing[0]!r}")
    for name, value in params.items():
        if np.shape(grads[name]) != np.shape(value):
            raise ValueError(f"grads[{name!r}] has shape {np.shape(grads[name])}, the parameter "
                             f"{np.shape(value)}")


@dataclass(frozen=True)
class SGD:
    """Stochastic gradient descent with (heavy-ball) momentum ``momentum`` and learning rate ``lr``."""

    lr: float = 0.01
    momentum: float = 0.0

    def __post_init__(self) -> None:
        _number("lr", self.lr, 0.0, low_open=True)
        _number("momentum", self.momentum, 0.0, 1.0)

    def init(self, params: Mapping[str, np.ndarray]) -> OptimizerState:  # noqa: ARG002 (Optimizer protocol)
        return OptimizerState(0, {"momentum": {}} if self.momentum else {})

    def update(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray],
               state: OptimizerState) -> tuple[dict[str, np.ndarray], OptimizerState]:
        """One step: the new parameters (same dtypes) and the new state."""
        _check(params, grads, state)
        new, buffers = {}, {}
        for name, value in params.items():
            g = np.asarray(grads[name], dtype=value.dtype)
            previous = state.slots.get("momentum", {}).get(name) if self.momentum else None
            new[name], buffer = self.rule(value, g, previous, value.dtype.type(self.lr))
            if self.momentum:
                buffers[name] = buffer
        return new, OptimizerState(state.step + 1, {"momentum": buffers} if self.momentum else {})

    def rule(self, value: Array, g: Array, previous: Array | None, lr: Array) -> tuple[Array, Array]:
        """The update of one array, for NumPy and JAX arrays alike: the new value and the momentum
        buffer (``previous`` None at the first step); ``lr`` in the value's dtype."""
        if not self.momentum:
            return value - lr * g, g
        buffer = g.copy() if previous is None else previous * value.dtype.type(self.momentum) + g
        return value - lr * buffer, buffer


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma & Ba 2015) with PyTorch's defaults: ``betas`` (0.9, 0.999), ``eps`` 1e-8."""

    lr: float = 0.001
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8

    def __post_init__(self) -> None:
        _number("lr", self.lr, 0.0, low_open=True)
        if not isinstance(self.betas, tuple) or len(self.betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {self.betas!r}")
        for i, beta in enumerate(self.betas):
            _number(f"betas[{i}]", beta, 0.0, 1.0)
        _number("eps", self.eps, 0.0)

    def init(self, params: Mapping[str, np.ndarray]) -> OptimizerState:
        return OptimizerState(0, {"m": {n: np.zeros_like(p) for n, p in params.items()},
                                  "v": {n: np.zeros_like(p) for n, p in params.items()}})

    def update(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray],
               state: OptimizerState) -> tuple[dict[str, np.ndarray], OptimizerState]:
        """One step: the new parameters (same dtypes) and the new state."""
        _check(params, grads, state)
        step = state.step + 1
        beta1, beta2 = self.betas
        correction1, correction2 = 1 - beta1**step, 1 - beta2**step
        new, m_new, v_new = {}, {}, {}
        for name, value in params.items():
            kind = value.dtype.type
            g = np.asarray(grads[name], dtype=value.dtype)
            new[name], m_new[name], v_new[name] = self.rule(
                value, g, state.slots["m"].get(name, np.zeros_like(value)),
                state.slots["v"].get(name, np.zeros_like(value)), kind(self.lr / correction1),
                kind(np.sqrt(correction2)), np.sqrt)
        return new, OptimizerState(step, {"m": m_new, "v": v_new})

    def rule(self, value: Array, g: Array, m: Array, v: Array, step_size: Array, root_correction2: Array,
             sqrt: Callable[[Array], Array]) -> tuple[Array, Array, Array]:
        """The update of one array, for NumPy and JAX arrays alike: the new value and moments.
        ``step_size`` is lr/(1 − β₁ᵗ) and ``root_correction2`` √(1 − β₂ᵗ), both in the value's dtype."""
        kind = value.dtype.type
        beta1, beta2 = self.betas
        m = m * kind(beta1) + g * kind(1 - beta1)
        v = v * kind(beta2) + g * g * kind(1 - beta2)
        denominator = sqrt(v) / root_correction2 + kind(self.eps)
        return value - step_size * (m / denominator), m, v
