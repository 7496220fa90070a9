"""Scalar activation functions SymPy lacks: the logistic sigmoid σ, softplus, ReLU and its step.

Their derivatives are given to SymPy through ``fdiff``, so ``sympy.diff`` knows them:

>>> from sympy import Symbol, diff
>>> u = Symbol("u")
>>> diff(sigmoid(u), u)
(1 - sigmoid(u))*sigmoid(u)
>>> diff(softplus(u), u)
sigmoid(u)
>>> diff(relu(u), u)
step(relu(u))
"""

from __future__ import annotations

import sympy as sp

__all__ = ["relu", "sigmoid", "softplus", "step"]


class sigmoid(sp.Function):
    """σ(u) = 1 / (1 + e^{-u})."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:  # noqa: ARG002 (SymPy's Function.fdiff; one argument)
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, u: sp.Expr, **kwargs: object) -> sp.Expr:  # noqa: ARG002 (SymPy's rewrite hints)
        return 1 / (1 + sp.exp(-u))


class softplus(sp.Function):
    """softplus(u) = log(1 + e^u), whose derivative is σ(u); BCE-with-logits is built on it."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:  # noqa: ARG002 (SymPy's Function.fdiff; one argument)
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, u: sp.Expr, **kwargs: object) -> sp.Expr:  # noqa: ARG002 (SymPy's rewrite hints)
        return sp.log(1 + sp.exp(u))


class relu(sp.Function):
    """relu(u) = max(u, 0). Its derivative is step(u), written step(relu(u)) — equal for every u,
    since relu(u) > 0 exactly where u > 0 — so that the backward pass reads the stored output."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:  # noqa: ARG002 (SymPy's Function.fdiff; one argument)
        return step(self)


class step(sp.Function):
    """step(u) = 1 where u > 0, else 0 (PyTorch's choice for relu's derivative at 0)."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:  # noqa: ARG002 (SymPy's Function.fdiff; one argument)
        return sp.S.Zero
