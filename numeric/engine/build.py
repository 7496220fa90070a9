"""``build_engine``: the engine for a cell × head × loss placement, on a backend.

The backends (:data:`BACKENDS`) run the same derived equations: ``"numpy"``, the reference, and
``"jax"`` (the optional extra ``bpttlab[jax]``), which prints them to ``jax.numpy`` and compiles the
whole call. Every consumer sees the :class:`~bpttlab.numeric.engine.protocol.Engine` interface.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

from bpttlab.derivations import HEADS, Cell, Derivation, Head, derive
from bpttlab.numeric.engine.core import NumpyEngine
from bpttlab.numeric.engine.jax_support import jax_available, require_jax
from bpttlab.numeric.engine.protocol import Engine

__all__ = ["BACKENDS", "Backend", "build_engine"]


def _numpy(derivation: Derivation) -> Engine:
    return NumpyEngine(derivation)


def _jax(derivation: Derivation) -> Engine:
    require_jax("the JAX backend")
    from bpttlab.numeric.engine.jax_engine import JaxEngine

    return JaxEngine(derivation)


@dataclass(frozen=True)
class Backend:
    """A backend: its ``name``; how its engine is made from a derivation (``make``); ``require(what)``,
    which raises ``ModuleNotFoundError`` with one sentence (``what`` needs this package, and how to
    install it) where its package is missing, and ``available()``; whether it ``compiles`` a whole
    call into one program — then a batch of runs is one program (:func:`~bpttlab.numeric.training.
    train_many`) that runs without holding Python's GIL, so that batches run side by side in threads."""

    name: str
    make: Callable[[Derivation], Engine]
    require: Callable[[str], None]
    available: Callable[[], bool]
    compiles: bool


def _nothing_to_require(what: str) -> None:
    """NumPy is a dependency of bpttlab: nothing is ever missing."""


#: The backends by name: NumPy, the reference, and JAX (the ``bpttlab[jax]`` extra).
BACKENDS: Mapping[str, Backend] = MappingProxyType({
    "numpy": Backend("numpy", _numpy, _nothing_to_require, lambda: True, compiles=False),
    "jax": Backend("jax", _jax, require_jax, jax_available, compiles=True),
})


def build_engine(cell: str | Cell, head: str | None = None, loss_at: str = "every", *,
                 backend: str = "numpy") -> Engine:
    """The engine for ``cell`` (a name, a ``.cell`` path or a :class:`Cell`) with ``head`` (None,
    "softmax", "sigmoid", "linear") on ``backend`` (one of :data:`BACKENDS`); cached, so a second call
    with the same arguments is free.

    >>> import numpy as np
    >>> engine = build_engine("rnn", head="softmax")
    >>> params = engine.init_params(D=3, H=4, K=2, seed=0)
    >>> loss, grads = engine.loss_and_grads(params, np.zeros((5, 2, 3)), np.zeros((5, 2), dtype=int))
    >>> sorted(grads), engine.backend
    (['W_hh', 'W_hy', 'W_xh', 'b_h', 'b_y', 'h0', 'xs'], 'numpy')
    """
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid backends: {', '.join(BACKENDS)}")
    d = derive(cell, head, loss_at)  # checks the names (ValueError) before they become a cache key
    # positional, so every spelling shares one entry; the head's record, so a head registered again
    # under its name gets an engine of its own
    return _engine(d.cell, None if head is None else HEADS[head], loss_at, backend)


@cache
def _engine(cell: Cell, head: Head | None, loss_at: str, backend: str) -> Engine:
    return BACKENDS[backend].make(derive(cell, None if head is None else head.name, loss_at))
