"""Gradient clipping by the global norm (Pascanu, Mikolov & Bengio 2013), as
``torch.nn.utils.clip_grad_norm_``: every gradient is scaled by min(1, c / (‖g‖ + 10⁻⁶)), ‖g‖ the
2-norm of all of them together.

>>> import numpy as np
>>> clipped, norm = clip_global_norm({"a": np.array([3.0]), "b": np.array([4.0])}, 1.0)
>>> norm, np.round(clipped["a"], 6), np.round(clipped["b"], 6)
(5.0, array([0.6]), array([0.8]))
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["clip_global_norm", "global_norm"]


def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    """‖g‖₂ over all arrays of ``grads`` together."""
    return float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values())))


def clip_global_norm(grads: Mapping[str, np.ndarray], max_norm: float
                     ) -> tuple[dict[str, np.ndarray], float]:
    """``grads`` scaled so that their global norm is at most ``max_norm`` (same dtypes), and the norm
    before clipping."""
    if not (isinstance(max_norm, (int, float, np.integer, np.floating)) and np.isfinite(max_norm)
            and max_norm > 0):
        raise ValueError(f"max_norm must be a positive number, got {max_norm!r}")
    norm = global_norm(grads)
    scale = min(1.0, float(max_norm) / (norm + 1e-6))
    if scale == 1.0:
        return dict(grads), norm
    return {name: g * np.asarray(scale, dtype=g.dtype) for name, g in grads.items()}, norm
