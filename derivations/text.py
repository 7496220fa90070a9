"""A derivation as plain text (or LaTeX), one equation a line, for the terminal.

>>> from derivations import derive
>>> print(equation_lines(derive("rnn", head="linear"))[1])
  a_t = W_hh*h_{t-1} + W_xh*x_t + b_h
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from .derive import Derivation

__all__ = ["equation_lines"]


def equation_lines(d: Derivation, show: Callable[[sp.Basic], str] = sp.sstr) -> list[str]:
    """Forward and backward equations, then the step Jacobians, printed with ``show``."""
    lines = []
    for title, equations in (("forward", d.forward), ("backward", d.backward)):
        lines.append(f"{title}:")
        lines += [f"  {show(eq.lhs)} = {show(eq.rhs)}" for eq in equations]
    lines += [f"∂{new}/∂{prev} = {show(jacobian)}" for (new, prev), jacobian in d.jacobian.items()]
    return lines
