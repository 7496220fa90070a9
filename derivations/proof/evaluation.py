"""The explicit values both proofs compare: equations run on matrices of scalar symbols, a head's
targets, inner products, and the inputs of one step.

>>> from bpttlab.derivations import derive
>>> from bpttlab.derivations.symbols import D, H, K
>>> d = derive("rnn", "softmax")
>>> target(d, {D: 2, H: 2, K: 2}, "y_1").T  # one-hot targets lie on the simplex
Matrix([[y_1[0,0], 1 - y_1[0,0]]])
"""

from __future__ import annotations

from collections.abc import Iterable

import sympy as sp

from bpttlab.derivations.derivation import Derivation
from bpttlab.derivations.explicit import explicit, symbol_matrix
from bpttlab.derivations.symbols import K

__all__ = ["head_into_h", "inner", "run", "step_inputs", "target"]


def inner(a: sp.ImmutableMatrix, b: sp.ImmutableMatrix) -> sp.Expr:
    """aᵀ b, entry by entry."""
    return sum((x * y for x, y in zip(a, b, strict=True)), sp.S.Zero)


def run(equations: Iterable[sp.Eq], sizes: dict, env: dict) -> dict:
    """``env`` with every equation's left side evaluated, in order."""
    for eq in equations:
        env[eq.lhs.name] = explicit(eq.rhs, sizes, env)
    return env


def target(d: Derivation, sizes: dict, name: str) -> sp.ImmutableMatrix:
    """The head's target as symbols called ``name``; a one-hot target's entries sum to 1."""
    y = symbol_matrix(name, int(sizes[K]), 1)
    if d.head.one_hot_target:  # the targets lie on the simplex: y_K = 1 − Σ_{k<K} y_k
        y = sp.ImmutableMatrix([*y[:-1], 1 - sum(y[:-1])])
    return y


def head_into_h(d: Derivation, sizes: dict, env: dict) -> sp.ImmutableMatrix:
    """The head's part of δh_t, as the engine uses it."""
    return explicit(d.from_head, sizes, env)


def step_inputs(d: Derivation, sizes: dict) -> dict:
    """Every input of the step and every parameter as a matrix of symbols, whether or not an equation
    reads it (a cell may ignore x_t, or a parameter may cancel: its gradient is then exactly zero)."""
    return {s.name: explicit(s, sizes, {}) for s in (*d.cell.inputs, *d.cell.params)}
