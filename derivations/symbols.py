"""The sizes and the constructors every equation is written with.

``D`` inputs, ``H`` hidden units, ``K`` outputs. Vectors are columns; a batch of N sequences is
N columns side by side, which is why every rule in this package works column by column.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["DIMENSIONS", "D", "H", "K", "delta", "matrix", "ones", "vector"]

D, H, K = sp.symbols("D H K", integer=True, positive=True)
DIMENSIONS = (D, H, K)


def vector(name: str, rows: sp.Expr) -> sp.MatrixSymbol:
    """A column vector called ``name`` with ``rows`` entries."""
    return sp.MatrixSymbol(name, rows, 1)


def matrix(name: str, rows: sp.Expr, cols: sp.Expr) -> sp.MatrixSymbol:
    """A ``rows × cols`` matrix called ``name``."""
    return sp.MatrixSymbol(name, rows, cols)


def ones(rows: sp.Expr) -> sp.OneMatrix:
    """The all-ones column vector; ``1 − z_t`` is written ``ones(H) - z_t``."""
    return sp.OneMatrix(rows, 1)


def delta(symbol: sp.MatrixSymbol) -> sp.MatrixSymbol:
    """δv: the gradient of the loss with respect to ``v``, of the same shape.

    >>> delta(vector("h_t", H))
    δh_t
    """
    return sp.MatrixSymbol("δ" + symbol.name, *symbol.shape)
