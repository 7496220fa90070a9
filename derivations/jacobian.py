"""Step Jacobians ∂s_t/∂s_{t-1} of a cell, in matrix form, by a forward-mode pass over its equations.

One rule per node type, in :func:`jvp`'s table: ∂(A + B) = ∂A + ∂B; ∂(W v) = W ∂v for a constant W;
∂(A ⊙ B) = diag(B) ∂A + diag(A) ∂B; ∂A^n = diag(n A^{n−1}) ∂A; ∂f∘(A) = diag(f'∘(A)) ∂A (f' from
``sympy.diff``, written in stored values). Those are the node types a cell's equations are made of
(``**`` writes A^n). The result for the Elman RNN is the textbook diag(1 − h_t^2) W_hh:

>>> from bpttlab.derivations.cells.rnn import rnn
>>> cell = rnn()
>>> step_jacobian(cell, cell.h, cell.states[0][1])
DiagMatrix(-HadamardPower(h_t, 2) + 1)*W_hh
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import singledispatch

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

from bpttlab.derivations.cells.record import Cell
from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.lift import local_derivative
from bpttlab.derivations.tidy import coefficient_and_matrix, is_zero, live, read_stored, stored_values, tidy

__all__ = ["Tangents", "jacobians", "jvp", "step_jacobian"]


def _diag(v: sp.MatrixExpr) -> sp.MatrixExpr:
    return sp.Identity(v.rows) if isinstance(v, sp.OneMatrix) else DiagMatrix(v)


def _scaled(left: sp.MatrixExpr, d: sp.MatrixExpr) -> sp.MatrixExpr:
    return d if is_zero(d) else tidy(sp.MatMul(left, d))  # no doit(): DiagMatrix.doit asks the slow solver


@dataclass(frozen=True)
class Tangents:
    """One forward-mode pass: the derivative of each sub-expression with respect to ``wrt``, given
    those already ``known`` (earlier left sides), written in the ``stored`` values (right side → left
    side). A rule of :func:`jvp` reads its children's derivatives through :meth:`of`."""

    wrt: sp.MatrixSymbol
    known: dict
    stored: dict

    def depends(self, expr: sp.Basic) -> bool:
        """Whether ``expr`` reads ``wrt``, directly or through a known left side."""
        symbols = expr.atoms(sp.MatrixSymbol)
        return self.wrt in symbols or bool(symbols & self.known.keys())

    def of(self, expr: sp.MatrixExpr) -> sp.MatrixExpr:
        """∂expr/∂wrt: the identity, a known derivative, zero, or the rule of ``expr``'s node type."""
        if expr == self.wrt:
            return sp.Identity(self.wrt.rows)
        if isinstance(expr, sp.MatrixSymbol) or not self.depends(expr):
            return self.known.get(expr, sp.ZeroMatrix(expr.rows, self.wrt.rows))
        return jvp(expr, self)


@singledispatch
def jvp(expr: sp.MatrixExpr, tangents: Tangents) -> sp.MatrixExpr:
    """∂expr/∂wrt in matrix form for an expression that depends on ``wrt``, by the rule registered
    for its node type (``jvp.register``); the children's derivatives come from ``tangents.of``."""
    raise NotImplementedError(f"no Jacobian rule for {type(expr).__name__} (in {expr})")


@jvp.register(sp.MatAdd)
def _jvp_add(expr: sp.MatAdd, tangents: Tangents) -> sp.MatrixExpr:
    return tidy(sp.MatAdd(*(tangents.of(a) for a in expr.args)))


@jvp.register(sp.MatMul)
def _jvp_product(expr: sp.MatMul, tangents: Tangents) -> sp.MatrixExpr:
    coefficient, body = coefficient_and_matrix(expr)
    factors = list(body.args) if isinstance(body, sp.MatMul) else [body]
    *constant, last = factors
    if any(tangents.depends(f) for f in constant):
        raise NotImplementedError(f"only the last factor of {expr} may depend on {tangents.wrt}")
    return _scaled(sp.MatMul(coefficient, *constant), tangents.of(last))


@jvp.register(sp.HadamardProduct)
def _jvp_hadamard(expr: sp.HadamardProduct, tangents: Tangents) -> sp.MatrixExpr:
    terms = []
    for i, factor in enumerate(expr.args):
        others = expr.args[:i] + expr.args[i + 1:]
        other = others[0] if len(others) == 1 else sp.HadamardProduct(*others)
        terms.append(_scaled(_diag(read_stored(other, tangents.stored)), tangents.of(factor)))
    return tidy(sp.MatAdd(*terms))


@jvp.register(sp.HadamardPower)
def _jvp_power(expr: sp.HadamardPower, tangents: Tangents) -> sp.MatrixExpr:
    """A^n element-wise: diag(n A^{n-1}) dA."""
    base, n = expr.args
    derivative = read_stored(tidy(sp.MatMul(n, sp.HadamardPower(base, n - 1))), tangents.stored)
    return _scaled(_diag(derivative), tangents.of(base))


@jvp.register(Elementwise)
def _jvp_elementwise(expr: Elementwise, tangents: Tangents) -> sp.MatrixExpr:
    derivative = read_stored(local_derivative(expr, tangents.stored.get(expr)), tangents.stored)
    return _scaled(_diag(derivative), tangents.of(expr.arg))


def step_jacobian(cell: Cell, of: sp.MatrixSymbol, wrt: sp.MatrixSymbol) -> sp.MatrixExpr:
    """∂of/∂wrt over one step, e.g. ∂h_t/∂h_{t-1}, written in the step's stored values."""
    tangents = Tangents(wrt, {}, stored_values(live(cell.equations, cell.new_states)))
    for eq in cell.equations:
        tangents.known[eq.lhs] = tangents.of(eq.rhs)
    return tangents.known[of]


def jacobians(cell: Cell) -> dict[tuple[str, str], sp.MatrixExpr]:
    """Every block ∂s_t/∂s'_{t-1} of the state Jacobian, keyed by the two names."""
    return {
        (new.name, prev.name): step_jacobian(cell, new, prev)
        for new in cell.new_states
        for prev in cell.previous_states
    }
