"""The reverse pass: from forward equations to backward equations, one matrix rule per node type.

Walking the equations last to first, the gradient (adjoint) of each left-hand side is pushed
through its right-hand side with the rule for each node, looked up in :func:`vjp`'s table (one
registration per node type, as JAX's autodidax keeps its ``vjp_rules``):

=====================  ==================================================
node                   what δ of the node sends to its children
=====================  ==================================================
A + B                  δ to each term
c · A_1 ⋯ A_n          to A_i: c (A_1⋯A_{i−1})ᵀ δ (A_{i+1}⋯A_n)ᵀ
W^n (matrix power)     to W, n times: (Wᵀ)^i δ (Wᵀ)^{n−1−i}, i = 0 … n−1
A ⊙ B                  δ ⊙ B to A, δ ⊙ A to B
A^n (element-wise)     δ ⊙ n A^{n−1}
f∘(A)                  δ ⊙ f'∘(A), f' from ``sympy.diff`` (see :mod:`.lift`)
log softmax(A)         δ − softmax(A) (1ᵀ δ)
=====================  ==================================================

Those are the node types that lie on a differentiated path of some cell the grammar accepts or of
some registered head (a test derives them all and checks that every rule is used). softmax(A) and
Aᵀ have no rule: the softmax head's prediction and its target's transpose are read by no loss
that is differentiated, and a cell cannot write either; a derivation that meets one stops with
``NotImplementedError`` naming it.

Each derived expression is then written in stored forward values: any sub-expression equal to
the right side of a forward equation is replaced by its left side (``tanh∘(a_t)`` becomes ``h_t``).
These rules are not trusted: :mod:`.proof` checks every result against ``sympy.diff``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import singledispatch

import sympy as sp

from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.lift import local_derivative
from bpttlab.derivations.softmax import LogSoftmax, Softmax
from bpttlab.derivations.symbols import delta
from bpttlab.derivations.tidy import coefficient_and_matrix, read_stored, stored_values, tidy

__all__ = ["reverse_pass", "vjp"]


def _free(expr: sp.Basic) -> set[sp.MatrixSymbol]:
    return expr.atoms(sp.MatrixSymbol)


@singledispatch
def vjp(node: sp.MatrixExpr, upstream: sp.MatrixExpr) -> list[tuple[sp.MatrixExpr, sp.MatrixExpr]]:
    """The contributions ``(child, δchild)`` that ``upstream = δnode`` sends to the node's children,
    by the rule registered for the node's type (``vjp.register``)."""
    raise NotImplementedError(f"no reverse-pass rule for {type(node).__name__} (in {node})")


@vjp.register(sp.MatAdd)
def _vjp_add(node: sp.MatAdd, upstream: sp.MatrixExpr) -> list[tuple[sp.MatrixExpr, sp.MatrixExpr]]:
    return [(term, upstream) for term in node.args]


@vjp.register(sp.MatMul)
def _vjp_product(node: sp.MatMul, upstream: sp.MatrixExpr) -> list[tuple[sp.MatrixExpr, sp.MatrixExpr]]:
    coefficient, body = coefficient_and_matrix(node)
    factors = list(body.args) if isinstance(body, sp.MatMul) else [body]
    scaled = upstream if coefficient == 1 else sp.MatMul(coefficient, upstream)
    out = []
    for i, factor in enumerate(factors):
        left = [f.T for f in reversed(factors[:i])]
        right = [f.T for f in reversed(factors[i + 1:])]
        out.append((factor, sp.MatMul(*left, scaled, *right)))
    return out


@vjp.register(sp.MatPow)
def _vjp_matrix_power(node: sp.MatPow, upstream: sp.MatrixExpr) -> list[tuple[sp.MatrixExpr, sp.MatrixExpr]]:
    """W^n, which SymPy makes of W (W v) (a cell's ``W @ (W @ v)``): the product of n copies of W."""
    base, n = node.args
    if not (n.is_Integer and n >= 1):
        raise NotImplementedError(f"no reverse-pass rule for a matrix power but W^n, n ≥ 1 (in {node})")
    n = int(n)
    return [(base, sp.MatMul(*[base.T] * i, upstream, *[base.T] * (n - 1 - i))) for i in range(n)]


@vjp.register(sp.HadamardProduct)
def _vjp_hadamard(node: sp.HadamardProduct, upstream: sp.MatrixExpr
                  ) -> list[tuple[sp.MatrixExpr, sp.MatrixExpr]]:
    return [(factor, sp.HadamardProduct(upstream, *(node.args[:i] + node.args[i + 1:])))
            for i, factor in enumerate(node.args)]


@vjp.register(sp.HadamardPower)
def _vjp_power(node: sp.HadamardPower, upstream: sp.MatrixExpr) -> list[tuple[sp.MatrixExpr, sp.MatrixExpr]]:
    base, n = node.args
    return [(base, sp.HadamardProduct(upstream, sp.MatMul(n, sp.HadamardPower(base, n - 1))))]


@vjp.register(Elementwise)
def _vjp_elementwise(node: Elementwise, upstream: sp.MatrixExpr) -> list[tuple[sp.MatrixExpr, sp.MatrixExpr]]:
    return [(node.arg, sp.HadamardProduct(upstream, local_derivative(node)))]


@vjp.register(LogSoftmax)
def _vjp_log_softmax(node: LogSoftmax, upstream: sp.MatrixExpr) -> list[tuple[sp.MatrixExpr, sp.MatrixExpr]]:
    column_sum = sp.OneMatrix(1, node.shape[0]) * upstream
    return [(node.arg, upstream - Softmax(node.arg) * column_sum)]


def reverse_pass(
    equations: Sequence[sp.Eq],
    seeds: dict[sp.MatrixSymbol, sp.MatrixExpr],
    wrt: Iterable[sp.MatrixSymbol],
    named: Iterable[sp.MatrixSymbol] = (),
    stored: Sequence[sp.Eq] = (),
    identities: dict[sp.MatrixExpr, sp.MatrixExpr] | None = None,
    readable: Sequence[sp.Eq] | None = None,
) -> list[sp.Eq]:
    """Backward equations for ``equations``.

    ``seeds`` gives the incoming gradient of some left-hand sides (δh_t, the carried δc_t, or 1 for
    a loss). The result holds an equation ``δv = …`` for every ``v`` in ``named`` (in reverse
    order of the forward pass), then one for every symbol in ``wrt``. The gradients of the other
    intermediates are inlined. ``stored`` are forward equations whose right sides are rewritten to
    their left sides; ``identities`` are extra rewrites (e.g. ``1ᵀ y_t → 1`` for one-hot targets);
    ``readable`` the equations of ``equations`` whose values a formula may read (all when None; a
    cell's live ones, :func:`~bpttlab.derivations.tidy.live`, so that no formula reads a value nothing
    else reads).
    """
    wrt, named = list(wrt), set(named)
    defined = {eq.lhs for eq in equations}
    relevant = set(wrt) | defined
    rewrites: dict[sp.Basic, sp.Basic] = dict(stored_values((*stored, *(equations if readable is None
                                                                         else readable))))
    rewrites.update(identities or {})
    adjoints: dict[sp.MatrixSymbol, list[sp.MatrixExpr]] = defaultdict(list)
    for symbol, seed in seeds.items():
        adjoints[symbol].append(seed)

    def finish(terms: list[sp.MatrixExpr], shape: tuple) -> sp.MatrixExpr:
        total = tidy(sp.MatAdd(*terms)) if terms else sp.ZeroMatrix(*shape)
        return tidy(_rewrite(total, rewrites))

    def push(node: sp.MatrixExpr, upstream: sp.MatrixExpr) -> None:
        if not (_free(node) & relevant):
            return
        if isinstance(node, sp.MatrixSymbol):
            adjoints[node].append(upstream)
            return
        for child, contribution in vjp(node, upstream):
            push(child, tidy(contribution))

    backward = []
    for eq in reversed(equations):
        total = finish(adjoints[eq.lhs], eq.lhs.shape)
        if isinstance(total, sp.ZeroMatrix):
            continue
        if eq.lhs in named:
            backward.append(sp.Eq(delta(eq.lhs), total, evaluate=False))
            total = delta(eq.lhs)
        push(eq.rhs, total)
    for symbol in wrt:
        backward.append(sp.Eq(delta(symbol), finish(adjoints[symbol], symbol.shape), evaluate=False))
    return backward


def _rewrite(expr: sp.Basic, rewrites: dict[sp.Basic, sp.Basic]) -> sp.Basic:
    """Replace sub-expressions by stored values (a stored sum only as a function's argument:
    :func:`~bpttlab.derivations.tidy.read_stored`), including inside flattened products."""
    expr = read_stored(expr, rewrites)
    products = {k: v for k, v in rewrites.items() if isinstance(k, sp.MatMul)}
    if not products:
        return expr

    def contract(node: sp.Basic) -> sp.Basic:
        if not isinstance(node, sp.MatMul):
            return node
        args = list(node.args)
        for pattern, value in products.items():
            n = len(pattern.args)
            for i in range(len(args) - n + 1):
                if tuple(args[i:i + n]) == pattern.args:
                    args[i:i + n] = [value]
                    break
        return sp.MatMul(*args)

    return expr.replace(lambda e: isinstance(e, sp.MatMul), contract)
