"""How every printer writes a sum: positive terms first, subtraction as ``-``, the ones vector as the
scalar it broadcasts. Shared by the LaTeX and the plain-text printer, which differ only in how they
print one term.

>>> import sympy as sp
>>> z, h = sp.MatrixSymbol("z", 2, 1), sp.MatrixSymbol("h", 2, 1)
>>> signed_sum(sp.MatAdd(-z, sp.OneMatrix(2, 1), 2 * h), lambda c, m: str(c) if m is None else f"{c}{m}")
'1 + 2h - 1z'
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from bpttlab.derivations.tidy import coefficient_and_matrix

__all__ = ["signed_sum"]


def signed_sum(expr: sp.MatAdd, term: Callable[[sp.Expr, sp.MatrixExpr | None], str]) -> str:
    """``expr`` written as a sum, each term printed by ``term(magnitude, matrix)`` (``matrix`` None for
    the ones vector, whose term is the magnitude alone); the positive terms first, in their order."""
    printed = []
    for summand in expr.args:
        coefficient, body = coefficient_and_matrix(summand)
        negative = coefficient.could_extract_minus_sign()
        magnitude = -coefficient if negative else coefficient
        printed.append((negative, term(magnitude, None if isinstance(body, sp.OneMatrix) else body)))
    ordered = [t for t in printed if not t[0]] + [t for t in printed if t[0]]
    first_negative, first = ordered[0]
    return (f"-{first}" if first_negative else first) + "".join(
        f" - {text}" if negative else f" + {text}" for negative, text in ordered[1:])
