"""Softmax and log-softmax of a column vector, as matrix-expression nodes.

They are not element-wise (each entry depends on the whole column), so they are nodes of their
own. ``LogSoftmax`` is what the cross-entropy loss is built on; the engine evaluates it stably.

>>> from sympy import MatrixSymbol
>>> z = MatrixSymbol("z", 2, 1)
>>> Softmax(z).as_explicit()[0]
exp(z[0, 0])/(exp(z[0, 0]) + exp(z[1, 0]))
"""

from __future__ import annotations

import sympy as sp

__all__ = ["LogSoftmax", "Softmax"]


class _ColumnFunction(sp.MatrixExpr):
    def __new__(cls, arg: sp.MatrixExpr) -> _ColumnFunction:
        return super().__new__(cls, sp.sympify(arg))

    @property
    def arg(self) -> sp.MatrixExpr:
        return self.args[0]

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return self.arg.shape

    def _log_normaliser(self, j: int, **kwargs: object) -> sp.Expr:
        rows = int(self.arg.shape[0])
        return sp.log(sp.Add(*(sp.exp(self.arg._entry(k, j, **kwargs)) for k in range(rows))))

    def _sympystr(self, printer: sp.printing.str.StrPrinter) -> str:
        return f"{type(self).__name__.lower()}({printer._print(self.arg)})"


class Softmax(_ColumnFunction):
    """softmax(z)_k = e^{z_k} / Σ_j e^{z_j}, column by column."""

    def _entry(self, i: int, j: int, **kwargs: object) -> sp.Expr:
        rows = int(self.arg.shape[0])
        total = sp.Add(*(sp.exp(self.arg._entry(k, j, **kwargs)) for k in range(rows)))
        return sp.exp(self.arg._entry(i, j, **kwargs)) / total


class LogSoftmax(_ColumnFunction):
    """log softmax(z)_k = z_k − log Σ_j e^{z_j}, column by column."""

    def _entry(self, i: int, j: int, **kwargs: object) -> sp.Expr:
        return self.arg._entry(i, j, **kwargs) - self._log_normaliser(j, **kwargs)
