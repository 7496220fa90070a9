"""The NumPy printer the engine is lambdified with.

SymPy's ``NumPyPrinter`` prints element-wise functions of matrix expressions as invalid code (SymPy
issue #11023) and knows nothing of σ, softplus or softmax. This subclass adds one ``_print_X`` per
node. Columns are samples: a batch of N sequences at step t is an (H, N) array, so ``1ᵀ v`` and the
inner products of a loss are sums over axis 0, kept as a (1, N) row.

>>> import sympy as sp
>>> from bpttlab.derivations import Elementwise
>>> h = sp.MatrixSymbol("h", 3, 1)
>>> EnginePrinter().doprint(sp.OneMatrix(3, 1) - sp.HadamardPower(Elementwise("tanh", h), 2))
'1.0 - numpy.tanh(h)**2'

A step Jacobian (one sample, so one column) is multiplied by its diagonals without forming them:

>>> from sympy.matrices.expressions.diagonal import DiagMatrix
>>> W = sp.MatrixSymbol("W", 3, 3)
>>> EnginePrinter().doprint(DiagMatrix(sp.OneMatrix(3, 1) - sp.HadamardPower(h, 2)) * W)
'(1.0 - h**2)*(W)'
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE

from bpttlab.derivations import Elementwise, LogSoftmax, Softmax

__all__ = ["FUNCTIONS", "NAMESPACE", "UFUNCS", "EnginePrinter"]


def _sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """σ(x) = 1/(1 + e⁻ˣ), in full relative precision for every x and with one transcendental call.
    e⁻ˣ overflows only where σ(x) is below the smallest positive float, and 1/(1 + ∞) = 0 is then the
    right answer, so that overflow is expected and not warned about. (½ + ½·tanh(x/2) cancels for
    x ≪ 0 and needed a second formula there.)

    >>> _sigmoid(np.array([-800.0, -40.0, 0.0, 40.0]))
    array([0.00000000e+00, 4.24835426e-18, 5.00000000e-01, 1.00000000e+00])
    """
    y = np.negative(x, out=out)
    with np.errstate(over="ignore"):
        np.exp(y, out=y)
    y += 1
    return np.reciprocal(y, out=y)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=0, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _relu(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.maximum(x, 0, out=out)


def _step(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 where x > 0, else 0, in x's dtype (relu's derivative, 0 at 0 as in PyTorch)."""
    if out is None:
        return (x > 0).astype(x.dtype)
    np.copyto(out, x > 0)
    return out


def _softplus(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.logaddexp(0, x, out=out)


#: What the printed code calls besides ``numpy``.
NAMESPACE = {"_sigmoid": _sigmoid, "_log_softmax": _log_softmax, "_softmax": _softmax, "_relu": _relu,
             "_step": _step, "_softplus": _softplus}
#: Each element-wise function as a NumPy callable ``f(x, out=None)``, for the engine's fused gates.
UFUNCS = {"tanh": np.tanh, "sigmoid": _sigmoid, "exp": np.exp, "log": np.log, "softplus": _softplus,
          "relu": _relu, "step": _step}
#: How each element-wise function of :data:`bpttlab.derivations.FUNCTIONS` is called.
FUNCTIONS = {"tanh": "numpy.tanh", "sigmoid": "_sigmoid", "exp": "numpy.exp", "log": "numpy.log",
             "softplus": "_softplus", "relu": "_relu", "step": "_step"}


def _negated(term: sp.MatrixExpr) -> sp.MatrixExpr | None:
    """``X`` if ``term`` is −1·X, else None."""
    if isinstance(term, sp.MatMul) and term.args and term.args[0] == -1:
        rest = term.args[1:]
        return rest[0] if len(rest) == 1 else sp.MatMul(*rest)
    return None


class EnginePrinter(NumPyPrinter):
    """NumPy code for the matrix expressions of :mod:`bpttlab.derivations`, column-batched."""

    def _print_Elementwise(self, expr: Elementwise) -> str:
        call = FUNCTIONS[expr.name]
        call = call if "{}" in call else call + "({})"
        return call.format(self._print(expr.arg))

    def _print_Softmax(self, expr: Softmax) -> str:
        return f"_softmax({self._print(expr.arg)})"

    def _print_LogSoftmax(self, expr: LogSoftmax) -> str:
        return f"_log_softmax({self._print(expr.arg)})"

    def _print_OneMatrix(self, expr: sp.OneMatrix) -> str:
        return "1.0"  # broadcasts; a Python float keeps the array's dtype

    def _print_ZeroMatrix(self, expr: sp.ZeroMatrix) -> str:
        return "0.0"

    def _print_HadamardProduct(self, expr: sp.HadamardProduct) -> str:
        return "*".join(self.parenthesize(a, 50) for a in expr.args)

    def _print_HadamardPower(self, expr: sp.HadamardPower) -> str:
        return f"{self.parenthesize(expr.base, 60)}**{self._print(expr.exp)}"

    def _print_MatAdd(self, expr: sp.MatAdd) -> str:
        """The terms added, then those with a coefficient −1 subtracted: ``1.0 - h**2`` is one NumPy
        call where ``1.0 + -h**2`` is two (a negation, then the sum).

        >>> a, b = sp.MatrixSymbol("a", 2, 1), sp.MatrixSymbol("b", 2, 1)
        >>> EnginePrinter().doprint(a - sp.HadamardProduct(a, b)), EnginePrinter().doprint(-a - b)
        ('a - a*b', '-b - a')
        """
        terms = sorted(expr.args, key=lambda a: isinstance(a, sp.OneMatrix) or
                       (isinstance(a, sp.MatMul) and any(isinstance(f, sp.OneMatrix) for f in a.args)))
        added = [t for t in reversed(terms) if _negated(t) is None]
        subtracted = [_negated(t) for t in reversed(terms) if _negated(t) is not None]
        text = " + ".join(self._print(t) for t in added)
        for term in subtracted:
            piece = self.parenthesize(term, PRECEDENCE["Add"])
            text = f"{text} - {piece}" if text else f"-{piece}"
        return text

    def _print_DiagMatrix(self, expr: DiagMatrix) -> str:
        return f"numpy.diagflat({self._print(expr.args[0])})"  # one column only: a single sample

    def _diagonal_product(self, factors: list[sp.MatrixExpr]) -> str:
        """A product with diagonal factors (a step Jacobian, one sample), without forming them:
        diag(v) A is ``v * A`` (the column v scales A's rows) and A diag(v) is ``A * v.T``."""
        rows: list[str] = []  # diagonals before the first full factor scale the rows of the rest
        body = None
        for factor in factors:
            if isinstance(factor, DiagMatrix):
                vector = f"({self._print(factor.args[0])})"
                if body is None:
                    rows.append(vector)
                else:
                    body = f"({body})*{vector}.T"
            else:
                piece = self.parenthesize(factor, 50)
                body = piece if body is None else f"{body} @ {piece}"
        if body is None:
            return f"numpy.diagflat({'*'.join(rows)})"
        return "*".join([*rows, f"({body})"]) if rows else body

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        scalars = [a for a in expr.args if not getattr(a, "is_Matrix", False)]
        factors = [a for a in expr.args if getattr(a, "is_Matrix", False)]
        prefix = ""
        if scalars:
            coefficient = sp.Mul(*scalars)
            prefix = "-" if coefficient == -1 else f"{self._print(sp.Float(coefficient))}*"
        if any(isinstance(f, DiagMatrix) for f in factors):
            return prefix + self._diagonal_product(factors)
        if factors[0].shape[0] == 1 and len(factors) >= 2:  # a row times columns: per-sample sums
            first, rest = factors[0], factors[1:]
            body = rest[0] if len(rest) == 1 else sp.MatMul(*rest)
            if isinstance(first, sp.OneMatrix):
                return f"{prefix}numpy.sum({self._print(body)}, axis=0, keepdims=True)"
            if isinstance(first, sp.Transpose):
                product = f"{self.parenthesize(first.arg, 50)}*{self.parenthesize(body, 50)}"
                return f"{prefix}numpy.sum({product}, axis=0, keepdims=True)"
        return prefix + " @ ".join(self.parenthesize(f, 50) for f in factors)

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        return f"{self.parenthesize(expr.arg, 60)}.T"
