"""Evaluate a matrix expression at concrete sizes, entry by entry, as an explicit SymPy ``Matrix``:
one rule per node type, in :func:`evaluate`'s table.

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

from dataclasses import dataclass
from functools import singledispatch

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.softmax import LogSoftmax, Softmax

__all__ = ["Evaluation", "evaluate", "explicit", "symbol_matrix"]


def symbol_matrix(name: str, rows: int, cols: int) -> sp.ImmutableMatrix:
    """A ``rows × cols`` matrix of real scalar symbols ``name[i,j]``."""
    return sp.ImmutableMatrix(rows, cols, lambda i, j: sp.Symbol(f"{name}[{i},{j}]", real=True))


def _shape(expr: sp.MatrixExpr, sizes: dict) -> tuple[int, int]:
    return tuple(int(sp.sympify(n).xreplace(sizes)) for n in expr.shape)


@dataclass(frozen=True)
class Evaluation:
    """One evaluation at concrete ``sizes`` (D, H, K → integers), with ``env`` the known values by
    name (a symbol not in it gets a matrix of fresh scalar symbols, kept in ``env``). Calling it on a
    sub-expression evaluates that by the rule of :func:`evaluate` for its node type."""

    sizes: dict
    env: dict

    def __call__(self, expr: sp.MatrixExpr) -> sp.ImmutableMatrix:
        return evaluate(expr, self)

    def shape(self, expr: sp.MatrixExpr) -> tuple[int, int]:
        return _shape(expr, self.sizes)


@singledispatch
def evaluate(expr: sp.MatrixExpr, ev: Evaluation) -> sp.ImmutableMatrix:
    """``expr`` as an explicit matrix, by the rule registered for its node type (``evaluate.register``)."""
    raise NotImplementedError(f"cannot evaluate {type(expr).__name__} explicitly (in {expr})")


@evaluate.register(sp.MatrixSymbol)
def _symbol(expr: sp.MatrixSymbol, ev: Evaluation) -> sp.ImmutableMatrix:
    if expr.name not in ev.env:
        ev.env[expr.name] = symbol_matrix(expr.name, *ev.shape(expr))
    return ev.env[expr.name]


@evaluate.register(sp.MatAdd)
def _add(expr: sp.MatAdd, ev: Evaluation) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix(sum((ev(a) for a in expr.args[1:]), ev(expr.args[0])))


@evaluate.register(sp.MatMul)
def _product(expr: sp.MatMul, ev: Evaluation) -> sp.ImmutableMatrix:
    result, scalar = None, sp.S.One
    for a in expr.args:
        if not getattr(a, "is_Matrix", False):
            scalar *= a
        else:
            result = ev(a) if result is None else result * ev(a)
    return sp.ImmutableMatrix(scalar * result)


@evaluate.register(sp.MatPow)
def _matrix_power(expr: sp.MatPow, ev: Evaluation) -> sp.ImmutableMatrix:
    base, n = expr.args
    matrix = ev(base)
    result = matrix
    for _ in range(int(n) - 1):  # as a product of n copies (the proofs' polynomials multiply the same way)
        result = result * matrix
    return sp.ImmutableMatrix(result)


@evaluate.register(sp.HadamardProduct)
def _hadamard(expr: sp.HadamardProduct, ev: Evaluation) -> sp.ImmutableMatrix:
    out = ev(expr.args[0])
    for a in expr.args[1:]:
        out = out.multiply_elementwise(ev(a))
    return sp.ImmutableMatrix(out)


@evaluate.register(sp.HadamardPower)
def _power(expr: sp.HadamardPower, ev: Evaluation) -> sp.ImmutableMatrix:
    return ev(expr.args[0]).applyfunc(lambda v: v ** expr.args[1])


@evaluate.register(Elementwise)
def _elementwise(expr: Elementwise, ev: Evaluation) -> sp.ImmutableMatrix:
    return ev(expr.arg).applyfunc(expr.function)


@evaluate.register(Softmax)
@evaluate.register(LogSoftmax)
def _column_function(expr: Softmax | LogSoftmax, ev: Evaluation) -> sp.ImmutableMatrix:
    return type(expr)(ev(expr.arg)).as_explicit()


@evaluate.register(sp.Transpose)
def _transpose(expr: sp.Transpose, ev: Evaluation) -> sp.ImmutableMatrix:
    return ev(expr.arg).T


@evaluate.register(DiagMatrix)
def _diagonal(expr: DiagMatrix, ev: Evaluation) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix(sp.diag(*ev(expr.args[0])))


@evaluate.register(sp.OneMatrix)
def _ones(expr: sp.OneMatrix, ev: Evaluation) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix(sp.ones(*ev.shape(expr)))


@evaluate.register(sp.ZeroMatrix)
def _zeros(expr: sp.ZeroMatrix, ev: Evaluation) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix(sp.zeros(*ev.shape(expr)))


@evaluate.register(sp.Identity)
def _identity(expr: sp.Identity, ev: Evaluation) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix(sp.eye(ev.shape(expr)[0]))


def explicit(expr: sp.MatrixExpr, sizes: dict, env: dict[str, sp.ImmutableMatrix]) -> sp.ImmutableMatrix:
    """``expr`` as an explicit matrix, with ``sizes`` giving D, H, K and ``env`` the known values
    (symbols not in it are added to it, as matrices of fresh scalar symbols)."""
    return evaluate(expr, Evaluation(sizes, env))
