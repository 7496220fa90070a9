"""The printer the engine's equations are lambdified with, for any array module.

SymPy's ``NumPyPrinter`` prints element-wise functions of matrix expressions as invalid code (SymPy
issue #11023) and knows nothing of σ, softplus or softmax. This subclass adds one ``_print_X`` per
node. Columns are samples: a batch of N sequences at step t is an (H, N) array, so ``1ᵀ v`` and the
inner products of a loss are sums over axis 0, kept as a (1, N) row.

It names no array module: module functions are printed through ``self._module_format`` under the
printer's ``_module`` (``numpy``, or ``jax.numpy`` for :class:`JaxEnginePrinter`), as SymPy's own
printers do, and an element-wise function ``f`` is called as ``_f`` and a softmax as ``_softmax``,
names a backend binds to its implementations (:class:`ArrayFunctions`, :func:`namespace_for`).

>>> import sympy as sp
>>> from bpttlab.derivations import Elementwise
>>> h = sp.MatrixSymbol("h", 3, 1)
>>> EnginePrinter().doprint(sp.OneMatrix(3, 1) - sp.HadamardPower(Elementwise("tanh", h), 2))
'1.0 - _tanh(h)**2'
>>> JaxEnginePrinter().doprint(sp.OneMatrix(1, 3) * h)
'jax.numpy.sum(h, axis=0, keepdims=True)'

A step Jacobian (one sample, so one column) is multiplied by its diagonals without forming them:

>>> from sympy.matrices.expressions.diagonal import DiagMatrix
>>> W = sp.MatrixSymbol("W", 3, 3)
>>> EnginePrinter().doprint(DiagMatrix(sp.OneMatrix(3, 1) - sp.HadamardPower(h, 2)) * W)
'(1.0 - h**2)*(W)'
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE

from bpttlab.derivations import Elementwise, LogSoftmax, Softmax

__all__ = ["ArrayFunctions", "EnginePrinter", "JaxEnginePrinter", "call_name", "is_constant", "namespace_for"]


def call_name(function: str) -> str:
    """The name printed code calls the element-wise function ``function`` by (bound by :func:`namespace_for`).

    >>> call_name("sigmoid")
    '_sigmoid'
    """
    return f"_{function}"


@dataclass(frozen=True)
class ArrayFunctions:
    """A backend's implementations of what the printed code calls besides its array module: every
    element-wise function by name (``f(x)``), and the softmax and log-softmax over axis 0."""

    activations: Mapping[str, Callable]
    softmax: Callable
    log_softmax: Callable


def namespace_for(module: ModuleType, functions: ArrayFunctions) -> Mapping[str, object]:
    """The names printed code reads: the array module's root package (``numpy``, ``jax``) and the
    functions of ``functions`` under their printed names, read when code is compiled (so a function
    registered later is seen)."""
    root = module.__name__.split(".")[0]
    return _Namespace(root, functions)


@dataclass(frozen=True)
class _Namespace(Mapping[str, object]):
    """:func:`namespace_for`'s mapping, live on ``functions.activations``."""

    root: str
    functions: ArrayFunctions

    def _names(self) -> dict[str, object]:
        f = self.functions
        return {self.root: __import__(self.root), "_softmax": f.softmax, "_log_softmax": f.log_softmax,
                **{call_name(name): g for name, g in f.activations.items()}}

    def __getitem__(self, name: str) -> object:
        return self._names()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


def _negated(term: sp.MatrixExpr) -> sp.MatrixExpr | None:
    """``X`` if ``term`` is −1·X, else None."""
    if isinstance(term, sp.MatMul) and term.args and term.args[0] == -1:
        rest = term.args[1:]
        return rest[0] if len(rest) == 1 else sp.MatMul(*rest)
    return None


def is_constant(factor: sp.MatrixExpr) -> bool:
    """Whether ``factor`` reads no matrix symbol (0, 1, σ(0 · b)…): it prints as one number, standing
    for a matrix of its shape filled with it."""
    return not factor.atoms(sp.MatrixSymbol) and not factor.has(sp.Identity)


class EnginePrinter(NumPyPrinter):
    """Code for the matrix expressions of :mod:`bpttlab.derivations`, column-batched, calling the
    array module ``_module`` (NumPy here)."""

    _module = "numpy"

    def _call(self, function: str) -> str:
        """The array module's ``function``, as printed code calls it."""
        return self._module_format(f"{self._module}.{function}")

    def _print_Elementwise(self, expr: Elementwise) -> str:
        return f"{call_name(expr.name)}({self._print(expr.arg)})"

    def _print_Softmax(self, expr: Softmax) -> str:
        return f"_softmax({self._print(expr.arg)})"

    def _print_LogSoftmax(self, expr: LogSoftmax) -> str:
        return f"_log_softmax({self._print(expr.arg)})"

    def _print_OneMatrix(self, expr: sp.OneMatrix) -> str:  # noqa: ARG002 (SymPy printer's _print_<class>(expr) signature)
        return "1.0"  # broadcasts; a Python float keeps the array's dtype

    def _print_ZeroMatrix(self, expr: sp.ZeroMatrix) -> str:  # noqa: ARG002 (SymPy printer's _print_<class>(expr) signature)
        return "0.0"

    def _print_HadamardProduct(self, expr: sp.HadamardProduct) -> str:
        return "*".join(self.parenthesize(a, PRECEDENCE["Mul"]) for a in expr.args)

    def _print_HadamardPower(self, expr: sp.HadamardPower) -> str:
        return f"{self.parenthesize(expr.base, PRECEDENCE['Pow'])}**{self._print(expr.exp)}"
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
        return f"{self._call('diagflat')}({self._print(expr.args[0])})"  # one column only: a single sample

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
                piece = self.parenthesize(factor, PRECEDENCE["Mul"])
                body = piece if body is None else f"{body} @ {piece}"
        if body is None:
            return f"{self._call('diagflat')}({'*'.join(rows)})"
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
                return f"{prefix}{self._call('sum')}({self._print(body)}, axis=0, keepdims=True)"
            if isinstance(first, sp.Transpose):
                product = "*".join(self.parenthesize(f, PRECEDENCE["Mul"]) for f in (first.arg, body))
                return f"{prefix}{self._call('sum')}({product}, axis=0, keepdims=True)"
        return prefix + self._matrix_product(factors)

    def _matrix_product(self, factors: list[sp.MatrixExpr]) -> str:
        """``A @ B @ …``, where a factor that prints as a number c (a matrix filled with c) is a sum:
        A C = c · (the row sums of A), C B = c · (the column sums of B), so that ``W @ relu(0 · u)`` is
        not a product with a number.

        >>> W, u = sp.MatrixSymbol("W", 3, 3), sp.MatrixSymbol("u", 3, 1)
        >>> EnginePrinter().doprint(W @ Elementwise("sigmoid", sp.ZeroMatrix(3, 1)))
        'numpy.sum(W, axis=1, keepdims=True)*_sigmoid(0.0)'
        """
        body, constant_body = "", False
        for factor in factors:
            piece = self.parenthesize(factor, PRECEDENCE["Mul"])
            if not body:
                body, constant_body = piece, is_constant(factor)
            elif is_constant(factor) and constant_body:
                raise ValueError(f"a product of two constant matrices has no engine code: "
                                 f"{sp.MatMul(*factors)}")
            elif is_constant(factor):
                body = f"{self._call('sum')}({body}, axis=1, keepdims=True)*{piece}"
            elif constant_body:
                body, constant_body = f"{body}*{self._call('sum')}({piece}, axis=0, keepdims=True)", False
            else:
                body = f"{body} @ {piece}"
        return body

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        if is_constant(expr.arg):  # a number: the same number
            return self._print(expr.arg)
        return f"{self.parenthesize(expr.arg, PRECEDENCE['Pow'])}.T"


class JaxEnginePrinter(EnginePrinter):
    """The same code calling ``jax.numpy``."""

    _module = "jax.numpy"
