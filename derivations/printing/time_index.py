"""``at_step``: an equation of step t, written at a concrete step or under another index letter.

The derivations write one generic step: ``h_t``, ``h_{t-1}``, ``a_{f,t}``, the gradient carried back
from the next step ``δh_t^{(t+1)}``. The chain rule for a short sequence (∂h_3/∂h_2 · ∂h_2/∂h_1) and
the sums Σ_j need the same expressions at step 3 or at step j. Every index built on the letter ``t``
moves with it (``t-1`` → ``2`` when t → 3, ``t+1`` → ``j+1`` when t → j); other indices (``T``, the
last step) and the parameters, which have none, stay. Names are read with
:func:`reports.notation.parse_name`, symbols swapped with ``xreplace``.

>>> from sympy import MatrixSymbol
>>> h, h_prev, W = MatrixSymbol("h_t", 3, 1), MatrixSymbol("h_{t-1}", 3, 1), MatrixSymbol("W_hh", 3, 3)
>>> at_step(W * h_prev + h, 3)
W_hh*h_2 + h_3
>>> at_step(MatrixSymbol("δh_t^{(t+1)}", 3, 1), "j")
δh_j^{(j+1)}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import sympy as sp

from bpttlab.derivations.printing.notations import Index, parse_index, parse_name

__all__ = ["RUNNING", "at_step", "shift_name"]

#: The letter of the running time index in the derivations' names.
RUNNING = "t"


def _step_index(step: int | str) -> Index:
    if isinstance(step, bool) or not isinstance(step, int | str):
        raise ValueError(f"step must be a step number (3) or an index such as 'j', 'k+1', 'T'; got {step!r}")
    if isinstance(step, int):
        if step < 0:
            raise ValueError(f"step must be ≥ 0; got {step}")
        return Index(None, step)
    try:
        return parse_index(step)
    except ValueError as error:
        raise ValueError(f"step: {error}") from None


def _moved(index: Index | None, to: Index, name: str) -> Index | None:
    if index is None or index.letter != RUNNING:
        return index
    moved = Index(to.letter, to.offset + index.offset)
    if moved.letter is None and moved.offset < 0:
        raise ValueError(f"step {to} puts {name!r} at step {moved.offset}, before the first one")
    return moved


def shift_name(name: str, step: int | str) -> str:
    """The symbol name ``name`` with its running index ``t`` moved to ``step``.

    >>> shift_name("a_{f,t}", 3), shift_name("h_{t-1}", "j"), shift_name("W_hh", 3), shift_name("ℓ_t", "T")
    ('a_{f,3}', 'h_{j-1}', 'W_hh', 'ℓ_T')
    """
    to = _step_index(step)
    parsed = parse_name(name)
    moved = replace(parsed, time=_moved(parsed.time, to, name), carry=_moved(parsed.carry, to, name))
    return name if moved == parsed else moved.raw()


def at_step(expr: sp.Basic, step: int | str, fixed: Iterable[sp.MatrixSymbol] = ()) -> sp.Basic:
    """``expr`` with every time index built on ``t`` moved to ``step`` (a number, or an index like ``"j"``).

    Works on any expression or equation: each ``MatrixSymbol`` is renamed, keeping its shape, except
    those in ``fixed`` (a cell's parameters, whose names a user may have ended in ``_t``).
    """
    _step_index(step)  # a bad step is an error even when nothing would move
    renamed = {}
    kept = set(fixed)
    for symbol in expr.atoms(sp.MatrixSymbol) - kept:
        new = shift_name(symbol.name, step)
        if new != symbol.name:
            renamed[symbol] = sp.MatrixSymbol(new, *symbol.shape)
    return expr.xreplace(renamed)
