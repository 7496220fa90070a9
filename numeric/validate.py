"""Input checks with messages a student understands, raised before any array reaches NumPy."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["as_float_array", "check_params", "check_targets"]


def as_float_array(name: str, value: object, shape: tuple[int | None, ...], dtype: np.dtype) -> np.ndarray:
    """``value`` as an array of ``dtype`` with ``shape`` (``None`` = any size), finite everywhere."""
    array = np.asarray(value)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{name} must be a float array, got dtype {array.dtype}")
    expected = "(" + ", ".join("?" if n is None else str(n) for n in shape) + ")"
    mismatch = array.ndim != len(shape) or any(
        n is not None and n != m for n, m in zip(shape, array.shape, strict=True))
    if mismatch:
        raise ValueError(f"{name} has shape {array.shape}, expected {expected}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or Inf")
    return array.astype(dtype, copy=False)


def check_params(params: Mapping[str, object], shapes: Mapping[str, tuple[int, ...]], dtype: np.dtype
                 ) -> dict[str, np.ndarray]:
    """Every expected parameter, of its expected shape, as ``dtype``; nothing missing, nothing extra."""
    if not isinstance(params, Mapping):
        raise ValueError(f"params must be a dict of arrays, got {type(params).__name__}")
    missing = [n for n in shapes if n not in params]
    extra = [n for n in params if n not in shapes]
    if missing:
        wanted = ", ".join(f"{n} {shapes[n]}" for n in missing)
        raise ValueError(f"missing parameter(s): {wanted}")
    if extra:
        raise ValueError(f"unknown parameter(s): {', '.join(map(str, extra))}; expected {', '.join(shapes)}")
    return {n: as_float_array(f"parameter {n}", params[n], shapes[n], dtype) for n in shapes}


def check_targets(head: str, targets: object, shape: tuple[int, ...], classes: int, dtype: np.dtype
                  ) -> np.ndarray:
    """Class indices in [0, K) for softmax; finite floats shaped like the outputs otherwise."""
    if head != "softmax":
        return as_float_array("targets", targets, (*shape, classes), dtype)
    array = np.asarray(targets)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"softmax targets must be integer class indices, got dtype {array.dtype}")
    if array.shape != shape:
        raise ValueError(f"targets has shape {array.shape}, expected {shape} (class indices)")
    if array.size and (array.min() < 0 or array.max() >= classes):
        raise ValueError(f"class targets must lie in 0..{classes - 1}, got {array.min()}..{array.max()}")
    return array
