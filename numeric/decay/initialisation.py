"""Controlled initialisation for the gradient-decay experiments.

Pascanu et al. (2013) tie vanishing and exploding gradients to the recurrent weight: its largest
singular value λ₁ (a sufficient condition for vanishing is λ₁ < 1 for tanh) and its spectral radius
ρ (the growth rate of a linear recurrence). Here a recurrent weight is rescaled so that one of the two
takes a chosen value, and the LSTM's forget-gate bias is set; everything else is the engine's own
PyTorch-style initialisation.

>>> import numpy as np
>>> from bpttlab.numeric import build_engine
>>> params = decay_params(build_engine("rnn", "linear", "last"), D=2, H=8, K=1, seed=0, radius=0.9)
>>> round(spectral_radius(params["W_hh"]), 12)
0.9
>>> params = decay_params(build_engine("lstm", "linear", "last"), D=2, H=8, K=1, seed=0, forget_bias=3)
>>> float(params["b_f"][0])
3.0
"""

from __future__ import annotations

import numpy as np

from bpttlab.numeric.engine import Engine

__all__ = ["decay_params", "largest_singular_value", "scale_recurrent_weight", "spectral_radius"]


def _square(name: str, weight: object) -> np.ndarray:
    array = np.asarray(weight, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] != array.shape[1] or array.size == 0:
        raise ValueError(f"{name} must be a square matrix (H, H), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or Inf")
    return array


def spectral_radius(weight: object) -> float:
    """ρ(W): the largest modulus of an eigenvalue of the square matrix ``weight``."""
    return float(np.max(np.abs(np.linalg.eigvals(_square("weight", weight)))))


def largest_singular_value(weight: object) -> float:
    """λ₁ = σ_max(W) = ‖W‖₂, the number in Pascanu et al.'s bound."""
    return float(np.linalg.norm(_square("weight", weight), 2))


def _positive(name: str, value: float | None) -> None:
    if value is not None and not (isinstance(value, (int, float, np.floating, np.integer))
                                  and np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def scale_recurrent_weight(params: dict[str, np.ndarray], *, radius: float | None = None,
                           singular_value: float | None = None, weight: str = "W_hh"
                           ) -> dict[str, np.ndarray]:
    """A copy of ``params`` with ``weight`` multiplied by the one positive factor that gives it the
    spectral radius ``radius`` or the largest singular value ``singular_value`` (give exactly one)."""
    if (radius is None) == (singular_value is None):
        raise ValueError("give exactly one of radius and singular_value")
    _positive("radius", radius)
    _positive("singular_value", singular_value)
    if weight not in params:
        raise ValueError(f"params has no recurrent weight {weight!r}; it has {', '.join(params)}")
    matrix = _square(weight, params[weight])
    current = spectral_radius(matrix) if radius is not None else largest_singular_value(matrix)
    if current == 0:
        raise ValueError(f"{weight} is zero; it cannot be scaled to a radius or singular value")
    target = radius if radius is not None else singular_value
    return {**params, weight: np.asarray(params[weight]) * (target / current)}


def decay_params(engine: Engine, D: int, H: int, K: int | None = None, seed: int = 0, *,
                 radius: float | None = None, singular_value: float | None = None,
                 forget_bias: float | None = None) -> dict[str, np.ndarray]:
    """The engine's initialisation (uniform in ±1/√H), then: the RNN's ``W_hh`` scaled to spectral
    radius ``radius`` or largest singular value ``singular_value``; the LSTM's ``b_f`` set to the
    constant ``forget_bias`` (PyTorch's default is uniform around 0; 1 is the usual advice)."""
    params = engine.init_params(D, H, K, seed=seed)
    if radius is not None or singular_value is not None:
        if "W_hh" not in params:
            raise ValueError(f"radius and singular_value are for the rnn's W_hh; {engine.cell.name} has none")
        params = scale_recurrent_weight(params, radius=radius, singular_value=singular_value)
    if forget_bias is not None:
        bias = engine.cell.forget_gate_bias
        if bias is None:
            raise ValueError(f"forget_bias is for a forget gate's bias (the lstm's b_f); "
                             f"{engine.cell.name} has no forget gate")
        if not (isinstance(forget_bias, (int, float, np.integer, np.floating)) and np.isfinite(forget_bias)):
            raise ValueError(f"forget_bias must be a finite number, got {forget_bias!r}")
        params[bias] = np.full_like(params[bias], forget_bias)
    return params
