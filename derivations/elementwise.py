"""``Elementwise(f, A)``: a scalar function applied to every entry of a matrix expression.

SymPy's own ``ElementwiseApplyFunction`` wraps a fresh ``Lambda`` each time, so two identical
applications compare unequal, and it prints as ``(d ↦ f(d))_∘(A)``. This node stores the function
by name, compares structurally, and expands entry by entry for the proofs:

>>> from sympy import MatrixSymbol
>>> a = MatrixSymbol("a", 2, 1)
>>> Elementwise("tanh", a).as_explicit()
Matrix([
[tanh(a[0, 0])],
[tanh(a[1, 0])]])
"""

from __future__ import annotations

import sympy as sp
from sympy.core.symbol import Str

from bpttlab.derivations.activations import ACTIVATIONS, activation

__all__ = ["Elementwise"]


class Elementwise(sp.MatrixExpr):
    """f∘A, with f one of :data:`~bpttlab.derivations.activations.ACTIVATIONS`."""

    def __new__(cls, name: str | Str, arg: sp.MatrixExpr) -> Elementwise:
        name = name if isinstance(name, Str) else Str(name)
        activation(name.name)  # a ValueError listing the valid names
        return super().__new__(cls, name, sp.sympify(arg))

    @property
    def name(self) -> str:
        return self.args[0].name

    @property
    def function(self) -> type[sp.Function]:
        return ACTIVATIONS[self.name].function

    @property
    def arg(self) -> sp.MatrixExpr:
        return self.args[1]

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return self.arg.shape

    def _entry(self, i: int, j: int, **kwargs: object) -> sp.Expr:
        return self.function(self.arg._entry(i, j, **kwargs))

    def _sympystr(self, printer: sp.printing.str.StrPrinter) -> str:
        return f"{self.name}({printer._print(self.arg)})"
