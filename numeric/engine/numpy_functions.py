"""The NumPy implementation of every element-wise function a cell or a loss applies, one table keyed
by the activation registry's names, and the softmax and log-softmax over axis 0 (columns are samples).

Every function takes ``out=`` as a ufunc does, so that the engine's fused gates write in place.

>>> NUMPY_ACTIVATIONS["sigmoid"](np.array([-800.0, -40.0, 0.0, 40.0]))
array([0.00000000e+00, 4.24835426e-18, 5.00000000e-01, 1.00000000e+00])
"""

from __future__ import annotations

import numpy as np

from bpttlab.numeric.engine.implementations import Implementations
from bpttlab.numeric.engine.printer import ArrayFunctions

__all__ = ["NUMPY_ACTIVATIONS", "NUMPY_FUNCTIONS"]


def _sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """σ(x) = 1/(1 + e⁻ˣ), in full relative precision for every x and with one transcendental call.
    e⁻ˣ overflows only where σ(x) is below the smallest positive float, and 1/(1 + ∞) = 0 is then the
    right answer, so that overflow is expected and not warned about. (½ + ½·tanh(x/2) cancels for
    x ≪ 0 and needed a second formula there.)"""
    y = np.negative(x, out=out) if out is not None else np.array(np.negative(x))  # a number too (σ(0·b))
    with np.errstate(over="ignore"):
        np.exp(y, out=y)
    y += 1
    return np.reciprocal(y, out=y)


def _relu(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.maximum(x, 0, out=out)


def _step(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 where x > 0, else 0, in x's dtype (relu's derivative, 0 at 0 as in PyTorch)."""
    if out is None:
        x = np.asarray(x)  # a number too: the derivative of relu(0·b)
        return (x > 0).astype(x.dtype)
    np.copyto(out, x > 0)
    return out


def _softplus(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.logaddexp(0, x, out=out)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=0, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


#: Each element-wise function as a NumPy callable ``f(x, out=None)``, by its registered name (a new
#: activation: ``NUMPY_ACTIVATIONS.register(name, f)``).
NUMPY_ACTIVATIONS: Implementations = Implementations("numpy", "activation", {
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "exp": np.exp,
    "log": np.log,
    "softplus": _softplus,
    "relu": _relu,
    "step": _step,
}, where="numeric/engine/numpy_functions.py: NUMPY_ACTIVATIONS")

#: What the NumPy engine's printed code calls besides ``numpy``.
NUMPY_FUNCTIONS = ArrayFunctions(NUMPY_ACTIVATIONS, _softmax, _log_softmax)
