"""How much memory a run of the engine needs, checked before the run starts.

The engine keeps every step's values and deltas for the backward pass (:mod:`.engine.workspace`):
for each step, each sample, every value a cell's equations define (H rows each; the head's K), the
deltas of those that have one, and the input with its row of ones. A run asked for at a length that
cannot fit (``bpttlab decay --T 100000000``) is refused in one line before anything is allocated or
written, instead of failing deep inside NumPy with a ``MemoryError``.

>>> from bpttlab.derivations import derive
>>> needed = engine_bytes(derive("lstm", "softmax"), T=50, N=32, D=64, H=128, K=16)
>>> 20e6 < needed < 80e6  # the LSTM keeps about 32·T·N·H values (26 MB in float32, twice in float64)
True
>>> check_memory(10**15, "the run", available=16 * 2**30)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: the run needs about 1000000.0 GB of memory, more than the 17.2 GB this machine has free; ...
"""

from __future__ import annotations

import os

from bpttlab.derivations import Derivation
from bpttlab.derivations.symbols import D as _D
from bpttlab.derivations.symbols import H as _H
from bpttlab.derivations.symbols import K as _K

__all__ = ["available_bytes", "check_memory", "engine_bytes"]

#: The share of the free memory a run may plan to use (NumPy's temporaries and the rest need room too).
SHARE = 0.8


def engine_bytes(d: Derivation, T: int, N: int, D: int, H: int, K: int = 1, itemsize: int = 8) -> int:
    """An upper bound on the working memory of one ``loss_and_grads`` call of the engine for ``d``:
    every stored value and every delta of every step and sample, twice over for the copies the
    column products read, in ``itemsize``-byte floats."""
    sizes = {_D: D, _H: H, _K: K}
    rows = sum(int(eq.lhs.shape[0].xreplace(sizes)) for eq in d.forward)  # the values kept
    rows += sum(int(eq.lhs.shape[0].xreplace(sizes)) for eq in (*d.head_backward, *d.step_backward)
                if eq.lhs.shape[1] == 1)  # the deltas
    rows += D + 1  # the input and its row of ones
    return 2 * itemsize * int(T) * int(N) * rows



def available_bytes() -> int:
    """The memory free for a new run: ``MemAvailable`` from ``/proc/meminfo`` where there is one, else
    the physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_memory(needed: int, what: str, available: int | None = None) -> None:
    """A one-line ``ValueError`` if ``what`` needs more than :data:`SHARE` of the free memory."""
    available = available_bytes() if available is None else available
    if needed > SHARE * available:
        raise ValueError(f"{what} needs about {needed / 1e9:.1f} GB of memory, more than the "
                         f"{available / 1e9:.1f} GB this machine has free; choose a smaller T, N or H")
