"""Evaluate a matrix expression at concrete sizes, entry by entry, as an explicit SymPy ``Matrix``.

``env`` maps symbol names to explicit matrices; a symbol not in ``env`` becomes a matrix of fresh
scalar symbols named after it (``W_xh[0,1]``), which is what the proofs differentiate by.

>>> import sympy as sp
>>> from bpttlab.derivations.symbols import H, vector
>>> h = vector("h", H)
>>> explicit(sp.OneMatrix(H, 1) - sp.HadamardPower(h, 2), {H: 2}, {})
Matrix([
[1 - h[0,0]**2],
[1 - h[1,0]**2]])
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.softmax import LogSoftmax, Softmax

__all__ = ["explicit", "symbol_matrix"]


def symbol_matrix(name: str, rows: int, cols: int) -> sp.ImmutableMatrix:
    """A ``rows × cols`` matrix of real scalar symbols ``name[i,j]``."""
    return sp.ImmutableMatrix(rows, cols, lambda i, j: sp.Symbol(f"{name}[{i},{j}]", real=True))


def _shape(expr: sp.MatrixExpr, sizes: dict) -> tuple[int, int]:
    return tuple(int(sp.sympify(n).xreplace(sizes)) for n in expr.shape)


def explicit(expr: sp.MatrixExpr, sizes: dict, env: dict[str, sp.ImmutableMatrix]) -> sp.ImmutableMatrix:
    """``expr`` as an explicit matrix, with ``sizes`` giving D, H, K and ``env`` the known values."""

    def ev(e: sp.Basic) -> sp.ImmutableMatrix:
        if isinstance(e, sp.MatrixSymbol):
            if e.name not in env:
                env[e.name] = symbol_matrix(e.name, *_shape(e, sizes))
            return env[e.name]
        if isinstance(e, sp.MatAdd):
            return sp.ImmutableMatrix(sum((ev(a) for a in e.args[1:]), ev(e.args[0])))
        if isinstance(e, sp.MatMul):
            result, scalar = None, sp.S.One
            for a in e.args:
                if not getattr(a, "is_Matrix", False):
                    scalar *= a
                else:
                    result = ev(a) if result is None else result * ev(a)
            return sp.ImmutableMatrix(scalar * result)
        if isinstance(e, sp.HadamardProduct):
            out = ev(e.args[0])
            for a in e.args[1:]:
                out = out.multiply_elementwise(ev(a))
            return sp.ImmutableMatrix(out)
        if isinstance(e, sp.HadamardPower):
            return ev(e.args[0]).applyfunc(lambda v: v ** e.args[1])
        if isinstance(e, Elementwise):
            return ev(e.arg).applyfunc(e.function)
        if isinstance(e, (Softmax, LogSoftmax)):
            return type(e)(ev(e.arg)).as_explicit()
        if isinstance(e, sp.Transpose):
            return ev(e.arg).T
        if isinstance(e, DiagMatrix):
            return sp.ImmutableMatrix(sp.diag(*ev(e.args[0])))
        if isinstance(e, sp.OneMatrix):
            return sp.ImmutableMatrix(sp.ones(*_shape(e, sizes)))
        if isinstance(e, sp.ZeroMatrix):
            return sp.ImmutableMatrix(sp.zeros(*_shape(e, sizes)))
        if isinstance(e, sp.Identity):
            return sp.ImmutableMatrix(sp.eye(_shape(e, sizes)[0]))
        raise NotImplementedError(f"cannot evaluate {type(e).__name__} explicitly")

    return ev(expr)
