"""Lift a scalar derivative, taken by ``sympy.diff``, to an element-wise matrix expression.

For ``y = f∘(A)`` the local derivative is ``f'`` applied entry by entry. SymPy computes ``f'(u)``
on a scalar ``u``; every occurrence of ``f(u)`` is then replaced by the stored output ``y``, so the
backward pass reads stored forward values (``1 − h_t^2``, not ``1 − tanh^2(a_t)``):

>>> from sympy import MatrixSymbol
>>> from bpttlab.derivations.elementwise import Elementwise
>>> a, h = MatrixSymbol("a", 3, 1), MatrixSymbol("h", 3, 1)
>>> local_derivative(Elementwise("tanh", a), output=h)
-HadamardPower(h, 2) + 1
"""

from __future__ import annotations

import sympy as sp

from bpttlab.derivations.activations import ACTIVATIONS
from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.tidy import tidy

__all__ = ["lift", "local_derivative"]


def lift(scalar: sp.Expr, matrices: dict[sp.Symbol, sp.MatrixExpr], shape: tuple) -> sp.MatrixExpr:
    """The element-wise matrix expression whose every entry is ``scalar``.

    ``matrices`` maps each scalar symbol to the matrix it stands for; numbers become multiples of
    the all-ones matrix, products become Hadamard products, powers Hadamard powers.
    """
    if scalar in matrices:
        return matrices[scalar]
    if scalar.is_Number:
        return sp.MatMul(scalar, sp.OneMatrix(*shape))
    if isinstance(scalar, sp.Add):
        return sp.MatAdd(*(lift(a, matrices, shape) for a in scalar.args))
    if isinstance(scalar, sp.Mul):
        coefficient, factors = scalar.as_coeff_mul()
        lifted = [lift(f, matrices, shape) for f in factors]
        body = lifted[0] if len(lifted) == 1 else sp.HadamardProduct(*lifted)
        return body if coefficient == 1 else sp.MatMul(coefficient, body)
    if isinstance(scalar, sp.Pow) and scalar.exp.is_Integer:
        return sp.HadamardPower(lift(scalar.base, matrices, shape), scalar.exp)
    if isinstance(scalar, sp.Function):
        name = next((n for n, a in ACTIVATIONS.items() if scalar.func == a.function), None)
        if name is not None:
            return Elementwise(name, lift(scalar.args[0], matrices, shape))
    raise NotImplementedError(f"cannot lift {scalar} to an element-wise matrix expression")


def local_derivative(node: Elementwise, output: sp.MatrixExpr | None = None) -> sp.MatrixExpr:
    """f'∘(A) for ``node = f∘(A)``, written in ``output`` (the stored value of the node) where it can."""
    u, y = sp.Dummy("u"), sp.Dummy("y")
    f = node.function
    derivative = sp.diff(f(u), u).subs(f(u), y)
    output = node if output is None else output
    return tidy(lift(derivative, {u: node.arg, y: output}, node.shape))
