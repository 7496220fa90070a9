"""Step Jacobians ∂s_t/∂s_{t-1} of a cell, in matrix form, by a forward-mode pass over its equations.

Rules: ∂(W v) = W ∂v for a constant W; ∂(A ⊙ B) = diag(B) ∂A + diag(A) ∂B; ∂f∘(A) = diag(f'∘(A)) ∂A
(f' from ``sympy.diff``, written in stored values); sums add. The result for the Elman RNN is the
textbook diag(1 − h_t^2) W_hh:

>>> from bpttlab.derivations.cells.rnn import rnn
>>> cell = rnn()
>>> step_jacobian(cell, cell.h, cell.states[0][1])
DiagMatrix(-HadamardPower(h_t, 2) + 1)*W_hh
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

from bpttlab.derivations.cells.record import Cell
from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.lift import local_derivative
from bpttlab.derivations.tidy import coefficient_and_matrix, is_zero, stored_values, tidy

__all__ = ["jacobians", "step_jacobian"]


def _diag(v: sp.MatrixExpr) -> sp.MatrixExpr:
    return sp.Identity(v.rows) if isinstance(v, sp.OneMatrix) else DiagMatrix(v)


def _scaled(left: sp.MatrixExpr, d: sp.MatrixExpr) -> sp.MatrixExpr:
    return d if is_zero(d) else tidy(sp.MatMul(left, d))  # no doit(): DiagMatrix.doit asks the slow solver


def _forward(expr: sp.MatrixExpr, wrt: sp.MatrixSymbol, known: dict, stored: dict) -> sp.MatrixExpr:
    zero = sp.ZeroMatrix(expr.rows, wrt.rows)
    if expr == wrt:
        return sp.Identity(wrt.rows)
    if isinstance(expr, sp.MatrixSymbol):
        return known.get(expr, zero)
    if wrt not in expr.atoms(sp.MatrixSymbol) and not (expr.atoms(sp.MatrixSymbol) & set(known)):
        return zero
    if isinstance(expr, sp.MatAdd):
        return tidy(sp.MatAdd(*(_forward(a, wrt, known, stored) for a in expr.args)))
    if isinstance(expr, sp.MatMul):
        coefficient, body = coefficient_and_matrix(expr)
        factors = list(body.args) if isinstance(body, sp.MatMul) else [body]
        *constant, last = factors
        if any(wrt in f.atoms(sp.MatrixSymbol) or set(known) & f.atoms(sp.MatrixSymbol) for f in constant):
            raise NotImplementedError(f"only the last factor of {expr} may depend on {wrt}")
        return _scaled(sp.MatMul(coefficient, *constant), _forward(last, wrt, known, stored))
    if isinstance(expr, sp.HadamardProduct):
        terms = []
        for i, factor in enumerate(expr.args):
            others = expr.args[:i] + expr.args[i + 1:]
            other = others[0] if len(others) == 1 else sp.HadamardProduct(*others)
            terms.append(_scaled(_diag(other.xreplace(stored)), _forward(factor, wrt, known, stored)))
        return tidy(sp.MatAdd(*terms))
    if isinstance(expr, sp.HadamardPower):  # A^n element-wise (A ⊙ A is written A^2): diag(n A^{n-1}) dA
        base, n = expr.args
        derivative = tidy(sp.MatMul(n, sp.HadamardPower(base, n - 1))).xreplace(stored)
        return _scaled(_diag(derivative), _forward(base, wrt, known, stored))
    if isinstance(expr, Elementwise):
        derivative = local_derivative(expr, stored.get(expr)).xreplace(stored)
        return _scaled(_diag(derivative), _forward(expr.arg, wrt, known, stored))
    raise NotImplementedError(f"no Jacobian rule for {type(expr).__name__}")


def step_jacobian(cell: Cell, of: sp.MatrixSymbol, wrt: sp.MatrixSymbol) -> sp.MatrixExpr:
    """∂of/∂wrt over one step, e.g. ∂h_t/∂h_{t-1}, written in the step's stored values."""
    stored = stored_values(cell.equations)
    known: dict[sp.MatrixSymbol, sp.MatrixExpr] = {}
    for eq in cell.equations:
        known[eq.lhs] = _forward(eq.rhs, wrt, known, stored)
    return known[of]


def jacobians(cell: Cell) -> dict[tuple[str, str], sp.MatrixExpr]:
    """Every block ∂s_t/∂s'_{t-1} of the state Jacobian, keyed by the two names."""
    return {
        (new.name, prev.name): step_jacobian(cell, new, prev)
        for new in cell.new_states
        for prev in cell.previous_states
    }
