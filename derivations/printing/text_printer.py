"""Derived expressions as plain text for the terminal: ⊙, σ, ᵀ, h_t², ``1 - z_t``.

SymPy's ``StrPrinter`` writes ``HadamardProduct(δh_t, -HadamardPower(h_t, 2) + 1)``;
:class:`TextPrinter` overrides one ``_print_X`` per node type so the same expression reads
``δh_t ⊙ (1 - h_t²)``.

>>> from bpttlab.derivations import derive
>>> d = derive("rnn", head="linear")
>>> print(equation_lines(d)[1])
  a_t = W_hh h_{t-1} + W_xh x_t + b_h
>>> print(text(d.step_backward[0]))
δa_t = δh_t ⊙ (1 - h_t²)
>>> print(text(derive("lstm", head=None).jacobian[("c_t", "c_{t-1}")]))
diag(f_t)
>>> print(text(derive("lstm", head=None).forward[1]))
i_t = σ(a_{i,t})
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from bpttlab.derivations.activations import activation
from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.printing.sums import signed_sum
from bpttlab.derivations.softmax import LogSoftmax, Softmax
from bpttlab.derivations.tidy import coefficient_and_matrix

if TYPE_CHECKING:
    from bpttlab.derivations.derivation import Derivation

__all__ = ["TextPrinter", "equation_lines", "text"]

_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


class TextPrinter(StrPrinter):
    """A ``StrPrinter`` for matrix expressions of derivations: juxtaposition for matrix products,
    ``⊙`` for Hadamard products, ``ᵀ`` for transposes, positive terms of a sum first."""

    printmethod = "_bpttlab_text"  # not the nodes' own ``_sympystr``, which spells σ as sigmoid

    def _atom(self, expr: sp.Basic) -> str:
        """``expr`` as an operand of a product or power: anything but a symbol in parentheses."""
        printed = self._print(expr)
        simple = isinstance(expr, sp.MatrixSymbol | Elementwise | Softmax | LogSoftmax | DiagMatrix
                            | sp.Transpose | sp.OneMatrix | sp.Identity | sp.HadamardPower)
        return printed if simple else f"({printed})"

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol) -> str:
        return expr.name

    def _print_OneMatrix(self, expr: sp.OneMatrix) -> str:
        return "1" if expr.shape == (1, 1) else ("1ᵀ" if expr.rows == 1 else "𝟏")

    def _print_ZeroMatrix(self, expr: sp.ZeroMatrix) -> str:  # noqa: ARG002 (SymPy printer's _print_<class>(expr) signature)
        return "0"

    def _print_Identity(self, expr: sp.Identity) -> str:
        return "1" if expr.rows == 1 else "I"

    def _print_MatAdd(self, expr: sp.MatAdd) -> str:
        return signed_sum(expr, lambda magnitude, body: self._print(magnitude) if body is None
                          else self._scaled(magnitude, body))

    def _scaled(self, coefficient: sp.Expr, body: sp.MatrixExpr) -> str:
        printed = self._product(body)
        if coefficient == 1:
            return printed
        return f"{self.parenthesize(coefficient, PRECEDENCE['Mul'])} {printed}"

    def _product(self, body: sp.MatrixExpr) -> str:
        if isinstance(body, sp.MatMul):
            return " ".join(self._atom(f) if not isinstance(f, sp.MatMul) else self._print(f)
                            for f in body.args)
        return self._print(body) if isinstance(body, sp.HadamardProduct) else self._atom(body)

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        coefficient, body = coefficient_and_matrix(expr)
        negative = coefficient.could_extract_minus_sign()
        printed = self._scaled(-coefficient if negative else coefficient, body)
        return f"-{printed}" if negative else printed

    def _print_HadamardProduct(self, expr: sp.HadamardProduct) -> str:
        deltas_first = sorted(expr.args, key=lambda f: not (isinstance(f, sp.MatrixSymbol)
                                                             and f.name.startswith("δ")))
        return " ⊙ ".join(self._atom(f) for f in deltas_first)

    def _print_HadamardPower(self, expr: sp.HadamardPower) -> str:
        base, exponent = expr.args
        power = str(exponent).translate(_SUPERSCRIPTS) if exponent.is_Integer else f"^({exponent})"
        return f"{self._atom(base)}{power}"

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        return f"{self._atom(expr.arg)}ᵀ"

    def _print_Elementwise(self, expr: Elementwise) -> str:
        return f"{activation(expr.name).text}({self._print(expr.arg)})"

    def _print_Softmax(self, expr: Softmax) -> str:
        return f"softmax({self._print(expr.arg)})"

    def _print_LogSoftmax(self, expr: LogSoftmax) -> str:
        return f"log softmax({self._print(expr.arg)})"

    def _print_DiagMatrix(self, expr: DiagMatrix) -> str:
        return f"diag({self._print(expr.args[0])})"

    def _print_Equality(self, expr: sp.Eq) -> str:
        return f"{self._print(expr.lhs)} = {self._print(expr.rhs)}"


def text(expr: sp.Basic) -> str:
    """``expr`` as one line of plain text (see :class:`TextPrinter`)."""
    return TextPrinter().doprint(expr)


def equation_lines(d: Derivation, show: Callable[[sp.Basic], str] = text) -> list[str]:
    """Forward and backward equations, then the step Jacobians, printed with ``show``."""
    lines = []
    for title, equations in (("forward", d.forward), ("backward", d.backward)):
        lines.append(f"{title}:")
        lines += [f"  {show(eq.lhs)} = {show(eq.rhs)}" for eq in equations]
    lines += [f"∂{new}/∂{prev} = {show(jacobian)}" for (new, prev), jacobian in d.jacobian.items()]
    return lines
