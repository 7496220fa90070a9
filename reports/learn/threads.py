"""One BLAS thread for the engine's training loops.

The engine multiplies small matrices many times over; OpenBLAS threads gain nothing there, and on a
busy machine threads that wait for one another slow a step several times over (measured here: the
LSTM's step at T = 100 went from ≈ 26 ms on one thread to ≈ 140 ms with the default threads while
another process ran). :func:`one_thread` limits NumPy's BLAS (and PyTorch's, if loaded) to one thread
inside a block, where threadpoolctl is installed; without it, the default threads are kept.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["one_thread"]


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """BLAS on one thread inside the block (a no-op without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(1)
    with limits:
        yield
