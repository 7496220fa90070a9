"""The interface every engine offers, whatever computes it (:data:`~bpttlab.numeric.engine.BACKENDS`):
what the training loop, verification, the decay analysis, the benchmarks and the sheets call.

Arrays go in and come out as NumPy arrays on every backend; a backend is free in how it computes
between the two.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from bpttlab.derivations import Cell, Derivation, Head

__all__ = ["Engine", "ForwardResult"]


@dataclass(frozen=True)
class ForwardResult:
    """States over the sequence, time-major like PyTorch: ``h`` (T, N, H) the first state (the one
    the head reads), ``c`` (T, N, H) the second state if the cell has one (the LSTM's cell state),
    ``states`` every state by name, ``y`` the head's outputs ŷ (T, N, K), or (N, K) for a loss at the
    last step only; ``stored`` every value of the step kept for the backward pass, (rows, T, N)."""

    h: np.ndarray
    c: np.ndarray | None
    y: np.ndarray | None
    stored: dict[str, np.ndarray]
    states: dict[str, np.ndarray]


@runtime_checkable
class Engine(Protocol):
    """Forward and backward for one cell × head × loss placement (``build_engine``'s result)."""

    backend: str
    derivation: Derivation
    cell: Cell
    head: Head | None
    loss_at: str

    def param_shapes(self, D: int, H: int, K: int | None = None) -> dict[str, tuple[int, ...]]:
        """Parameter name → shape; biases are 1-D."""

    def init_params(self, D: int, H: int, K: int | None = None, seed: int = 0,
                    dtype: np.dtype | type = np.float64, forget_bias: float = 0.0) -> dict[str, np.ndarray]:
        """PyTorch's initialisation, uniform in ±1/√H (``forget_bias`` added to a forget gate's bias)."""

    def forward(self, params: dict, xs: object, h0: object = None, c0: object = None, *,
                initial: dict | None = None) -> ForwardResult:
        """The cell over ``xs`` (T, N, D) and the head (if any) on its states."""

    def loss(self, params: dict, xs: object, targets: object, h0: object = None, c0: object = None, *,
             initial: dict | None = None) -> float:
        """The loss alone: the sum over steps (or the last one), the mean over the batch."""

    def loss_and_grads(self, params: dict, xs: object, targets: object, h0: object = None,
                       c0: object = None, *, initial: dict | None = None,
                       wrt: Iterable[str] | str | None = None,
                       truncate: int | tuple[int, int] | None = None) -> tuple[float, dict[str, np.ndarray]]:
        """The loss and its gradients (every parameter, ``xs``, the initial states, or those ``wrt``
        names), with the backward recurrence cut at ``truncate``."""

    def state_grads(self, params: dict, xs: object, targets: object, h0: object = None,
                    c0: object = None, *, initial: dict | None = None
                    ) -> tuple[float, dict[str, np.ndarray]]:
        """The loss and ∂L/∂s_t for every state s and step t, (T, N, H) each."""

    def release_memory(self) -> None:
        """Let go of whatever the engine keeps between calls."""
