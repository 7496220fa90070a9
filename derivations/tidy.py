"""Light canonical clean-up of matrix expressions built by the reverse pass.

SymPy's constructors leave ``1 ⊙ X``, ``X · I``, scalar factors inside Hadamard products and zero
terms in place; these rules remove them so that a derived formula reads as a textbook writes it.
One rule per node type, in :func:`clean`'s table; a node with nothing to clean in itself is rebuilt
from its tidied arguments.

>>> from sympy import MatrixSymbol, OneMatrix, HadamardProduct, Identity
>>> x = MatrixSymbol("x", 3, 1)
>>> tidy(HadamardProduct(OneMatrix(3, 1), 2 * x) * Identity(1))
2*x
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import singledispatch

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.softmax import LogSoftmax, Softmax

__all__ = ["clean", "coefficient_and_matrix", "is_zero", "live", "read_stored", "stored_values", "tidy"]


def is_zero(expr: sp.Basic) -> bool:
    return isinstance(expr, sp.ZeroMatrix) or expr == 0


def _names_something(rhs: sp.Basic) -> bool:
    """Whether a right side is an expression worth reading back as its stored name: not a bare symbol
    (an alias: ``k = w`` must not turn every w into k), not zero, ones or the identity (a value that is
    identically zero must not turn every zero of a formula into its name)."""
    _, body = coefficient_and_matrix(rhs) if isinstance(rhs, sp.MatrixExpr) else (None, rhs)
    trivial = body is None or isinstance(body, sp.MatrixSymbol | sp.OneMatrix | sp.Identity) or is_zero(body)
    return not trivial


def stored_values(equations: Iterable[sp.Eq]) -> dict[sp.Basic, sp.MatrixSymbol]:
    """Right side → left side, for the equations whose right sides a derived formula should read as
    the stored value (``tanh∘(a_t)`` → ``h_t``); aliases and constants are left as they are.

    >>> from sympy import Eq, MatrixSymbol, ZeroMatrix
    >>> h, w, a = MatrixSymbol("h", 2, 1), MatrixSymbol("w", 2, 1), MatrixSymbol("a", 2, 2)
    >>> stored_values([Eq(MatrixSymbol("k", 2, 1), w), Eq(MatrixSymbol("z", 2, 1), ZeroMatrix(2, 1)),
    ...                Eq(h, a * w)])
    {a*w: h}
    """
    return {eq.rhs: eq.lhs for eq in equations if _names_something(eq.rhs)}


def read_stored(expr: sp.Basic, stored: dict[sp.Basic, sp.Basic]) -> sp.Basic:
    """``expr`` with sub-expressions replaced by the stored values that equal them (``stored`` as
    :func:`stored_values` gives it). A stored *sum* (a pre-activation, a state such as 1 − σ(u)) is read
    only as a function's argument (``tanh∘(W x + b)`` → ``tanh∘(a_t)``): elsewhere the sum turns up by
    coincidence inside a derivative (σ(u) (1 − σ(u))), and reading the state there would make the
    formula depend on what the step computes rather than on its inputs.

    >>> from sympy import MatrixSymbol, OneMatrix, HadamardProduct
    >>> u, a = MatrixSymbol("u", 2, 1), MatrixSymbol("a", 2, 1)
    >>> s = Elementwise("sigmoid", u)
    >>> read_stored(HadamardProduct(s, OneMatrix(2, 1) - s), {OneMatrix(2, 1) - s: a})
    HadamardProduct(sigmoid(u), -sigmoid(u) + 1)
    >>> read_stored(Elementwise("tanh", OneMatrix(2, 1) - s), {OneMatrix(2, 1) - s: a})
    tanh(a)
    """
    sums = {k: v for k, v in stored.items() if isinstance(k, sp.MatAdd)}
    if sums:
        expr = expr.replace(lambda e: isinstance(e, Elementwise) and e.args[1] in sums,
                            lambda e: e.func(e.args[0], sums[e.args[1]]))
    return expr.xreplace({k: v for k, v in stored.items() if not isinstance(k, sp.MatAdd)})


def live(equations: Sequence[sp.Eq], roots: Iterable[sp.MatrixSymbol]) -> list[sp.Eq]:
    """The equations whose left sides ``roots`` depend on, in order: the values a derived formula may
    read. A value nothing reads (``q = W x_t`` beside a state that computes ``W x_t`` itself) is left
    out, so that no formula reads it in place of the expression.

    >>> from sympy import Eq, MatrixSymbol
    >>> W, x, h = MatrixSymbol("W", 2, 2), MatrixSymbol("x", 2, 1), MatrixSymbol("h", 2, 1)
    >>> q, a = MatrixSymbol("q", 2, 1), MatrixSymbol("a", 2, 1)
    >>> [eq.lhs for eq in live([Eq(q, W * x), Eq(a, W * x), Eq(h, 2 * a)], [h])]
    [a, h]
    """
    needed = set(roots)
    kept = []
    for eq in reversed(equations):
        if eq.lhs in needed:
            needed |= eq.rhs.atoms(sp.MatrixSymbol)
            kept.append(eq)
    return kept[::-1]


def coefficient_and_matrix(expr: sp.MatrixExpr) -> tuple[sp.Expr, sp.MatrixExpr | None]:
    """Split ``c * M`` into the scalar ``c`` and the matrix part (``None`` if nothing is left)."""
    if isinstance(expr, sp.MatMul):
        scalars = [a for a in expr.args if not getattr(a, "is_Matrix", False)]
        matrices = [a for a in expr.args if getattr(a, "is_Matrix", False)]
        rest = matrices[0] if len(matrices) == 1 else sp.MatMul(*matrices) if matrices else None
        return sp.Mul(*scalars), rest
    return sp.S.One, expr


def _hadamard(factors: list[sp.MatrixExpr]) -> sp.MatrixExpr:
    shape = factors[0].shape
    coefficient, kept = sp.S.One, []
    for factor in factors:
        c, m = coefficient_and_matrix(factor)
        coefficient *= c
        if isinstance(m, sp.HadamardProduct):
            kept.extend(m.args)
        elif m is not None:
            kept.append(m)
    if any(is_zero(m) for m in kept) or coefficient == 0:
        return sp.ZeroMatrix(*shape)
    kept = [m for m in kept if not isinstance(m, sp.OneMatrix)]
    if not kept:
        body = sp.OneMatrix(*shape)
    elif len(kept) == 1:
        body = kept[0]
    else:
        body = sp.HadamardProduct(*kept)
    return body if coefficient == 1 else sp.MatMul(coefficient, body)


def _matmul(args: list[sp.Basic]) -> sp.MatrixExpr:
    coefficient = sp.Mul(*[a for a in args if not getattr(a, "is_Matrix", False)])
    matrices = []
    for a in args:
        if not getattr(a, "is_Matrix", False):
            continue
        c, m = coefficient_and_matrix(a)
        coefficient *= c
        if m is not None and not isinstance(m, sp.Identity):
            matrices.extend(m.args if isinstance(m, sp.MatMul) else [m])
    shaped = [a for a in args if getattr(a, "is_Matrix", False)]
    rows, cols = (shaped[0].rows, shaped[-1].cols) if shaped else (1, 1)
    if coefficient == 0 or any(is_zero(m) for m in matrices):
        return sp.ZeroMatrix(rows, cols)
    if not matrices:  # c·I keeps the identity's size: ½ I_H, not ½ of a 1×1 identity
        return sp.MatMul(coefficient, sp.Identity(rows)) if coefficient != 1 else sp.Identity(rows)
    merged: list[sp.MatrixExpr] = []
    for m in matrices:  # diag(a) diag(b) = diag(a ⊙ b)
        if merged and isinstance(m, DiagMatrix) and isinstance(merged[-1], DiagMatrix):
            merged[-1] = DiagMatrix(_hadamard([merged[-1].args[0], m.args[0]]))
        else:
            merged.append(m)
    body = merged[0] if len(merged) == 1 else sp.MatMul(*merged)
    return body if coefficient == 1 else sp.MatMul(coefficient, body)


def _hadamard_factors(term: sp.MatrixExpr) -> tuple[sp.Expr, list[sp.MatrixExpr]]:
    coefficient, body = coefficient_and_matrix(term)
    return coefficient, list(body.args) if isinstance(body, sp.HadamardProduct) else [body]


def _factor_common(terms: list[sp.MatrixExpr]) -> sp.MatrixExpr:
    """a ⊙ b + a ⊙ c  →  a ⊙ (b + c): the factor shared by every term is written once."""
    split = [_hadamard_factors(t) for t in terms]
    common = [f for f in split[0][1] if all(f in factors for _, factors in split[1:])]
    if not common or any(len(factors) == len(common) for _, factors in split):
        return sp.MatAdd(*terms).doit(deep=False)
    rests = []
    for coefficient, factors in split:
        rest = [f for f in factors if f not in common]
        body = rest[0] if len(rest) == 1 else sp.HadamardProduct(*rest)
        rests.append(body if coefficient == 1 else sp.MatMul(coefficient, body))
    return _hadamard([*common, sp.MatAdd(*rests).doit(deep=False)])


def tidy(expr: sp.Basic) -> sp.Basic:
    """Rebuild ``expr`` bottom-up with the clean-up rule of each node type (:func:`clean`)."""
    if not isinstance(expr, sp.MatrixExpr) or isinstance(expr, sp.MatrixSymbol) or not expr.args:
        return expr
    return clean(expr, [tidy(a) for a in expr.args])


@singledispatch
def clean(expr: sp.MatrixExpr, args: list[sp.Basic]) -> sp.Basic:
    """``expr`` rebuilt from its tidied ``args`` by the rule registered for its node type
    (``clean.register``)."""
    raise NotImplementedError(f"no clean-up rule for {type(expr).__name__} (in {expr})")


@clean.register(sp.HadamardProduct)
def _clean_hadamard(_expr: sp.HadamardProduct, args: list[sp.Basic]) -> sp.Basic:
    return _hadamard(args)


@clean.register(sp.MatMul)
def _clean_product(_expr: sp.MatMul, args: list[sp.Basic]) -> sp.Basic:
    return _matmul(args)


@clean.register(sp.MatAdd)
def _clean_add(expr: sp.MatAdd, args: list[sp.Basic]) -> sp.Basic:
    terms = [a for a in args if not is_zero(a)]
    if not terms:
        return sp.ZeroMatrix(*expr.shape)
    return terms[0] if len(terms) == 1 else _factor_common(terms)


@clean.register(sp.HadamardPower)
def _clean_power(expr: sp.HadamardPower, args: list[sp.Basic]) -> sp.Basic:
    base, exponent = args
    if exponent == 1:
        return base
    if exponent == 0:
        return sp.OneMatrix(*base.shape)
    return expr.func(base, exponent)


@clean.register(sp.MatPow)
def _clean_matrix_power(expr: sp.MatPow, args: list[sp.Basic]) -> sp.Basic:
    base, exponent = args
    return base if exponent == 1 else expr.func(base, exponent)


@clean.register(sp.Transpose)
def _clean_transpose(_expr: sp.Transpose, args: list[sp.Basic]) -> sp.Basic:
    return args[0].T


@clean.register(Elementwise)
@clean.register(Softmax)
@clean.register(LogSoftmax)
@clean.register(DiagMatrix)
def _clean_rebuilt(expr: sp.MatrixExpr, args: list[sp.Basic]) -> sp.Basic:
    """Nothing to clean in the node itself: rebuilt from its tidied arguments."""
    return expr.func(*args)


@clean.register(sp.OneMatrix)
@clean.register(sp.ZeroMatrix)
@clean.register(sp.Identity)
def _clean_constant(expr: sp.MatrixExpr, _args: list[sp.Basic]) -> sp.Basic:
    """A constant matrix (its arguments are its sizes): as it is."""
    return expr
