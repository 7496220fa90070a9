"""Values held opaque: the unrolled graph as polynomials in independent generators.

Every scalar the unrolled proof meets is written over a set of *generators*:

- the leaves: parameter entries, inputs, initial states, targets and free seeds, as they are;
- every function application ``f(e)`` (tanh, σ, exp, log, softplus, relu, step, …), one
  generator per distinct application, after ``e`` itself was written over generators;
- every reciprocal ``1/e`` of a generator or a sum (softmax's ``1/Σ_j e^{s_j}``), likewise;
- every stored forward value (an equation's left side at some step) whose entry is a sum:
  pre-activations, cell states, logits. (A monomial such as ``o_t ⊙ tanh(c_t)`` stays a monomial,
  unless the value is asked to be a generator of its own, as the logits are.)

Each generator that is not a leaf has a *definition* (a SymPy expression in earlier generators)
and its *local partial derivatives*: ``sympy.diff`` of that definition with respect to each
generator in it, written over generators again (``diff(tanh(u), u) = 1 − tanh(u)^2`` is ``1 − φ^2``
with φ the generator of ``tanh(u)``). So no expression is ever nested: ``diff`` only sees one
node's own definition, and each derivative is a polynomial.

Soundness: a polynomial identity in independent generators stays true when each generator is
given the value it stands for, so ``claim − truth = 0`` over the generators proves the identity
for the actual values. The converse may fail (a relation between generators is not known to the
ring), which could only make a true identity look unproven, never a false one proven.

>>> import sympy as sp
>>> g = Opaque()
>>> a = sp.Symbol("a")
>>> h = g.node(sp.tanh(2 * a + 1), "h")
>>> g.polynomial(1 - sp.tanh(2 * a + 1) ** 2) == 1 - g.polynomial(h) ** 2
True
>>> [(g.symbols[u], g.polynomial(1 - h ** 2) * 2 == p) for u, p in g.partials(g.index[h])]
[(a, True)]
"""

from __future__ import annotations

from collections.abc import Iterable

import sympy as sp

from bpttlab.derivations.polynomial import Fraction, Polynomial

__all__ = ["Opaque"]


class Opaque:
    """The generators of one proof: their symbols, definitions and local derivatives."""

    def __init__(self) -> None:
        self.symbols: list[sp.Symbol] = []
        self.index: dict[sp.Symbol, int] = {}
        self.definition: dict[int, sp.Expr] = {}
        self._memo: dict[sp.Expr, sp.Symbol] = {}
        self._partials: dict[int, list[tuple[int, Polynomial]]] = {}
        self._polynomials: dict[sp.Expr, Polynomial] = {}

    def _generator(self, name: str, definition: sp.Expr | None = None) -> sp.Symbol:
        symbol = sp.Dummy(name)
        self.index[symbol] = len(self.symbols)
        self.symbols.append(symbol)
        if definition is not None:
            self.definition[self.index[symbol]] = definition
            self._memo[definition] = symbol
        return symbol

    def leaf(self, symbol: sp.Symbol) -> sp.Symbol:
        """Register ``symbol`` as an independent variable (idempotent)."""
        if symbol not in self.index:
            self.index[symbol] = len(self.symbols)
            self.symbols.append(symbol)
        return symbol

    def _application(self, expr: sp.Expr, name: str) -> sp.Symbol:
        found = self._memo.get(expr)
        return found if found is not None else self._generator(name, expr)

    def opaque(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` as a polynomial expression in generators (function applications and
        reciprocals of non-monomials replaced, innermost first)."""
        if expr.is_Symbol:
            return self.leaf(expr)
        if expr.is_Number:
            if not expr.is_Rational:
                raise ValueError(f"the proofs are exact over ℚ; got the number {expr}")
            return expr
        if isinstance(expr, sp.NumberSymbol):  # e = exp(1) (a cell's exp(exp(0 · v))): not in ℚ, held
            return self._application(expr, str(expr))  # as a constant generator
        if isinstance(expr, sp.Function):
            if len(expr.args) != 1:
                raise ValueError(f"cannot hold {expr.func} opaque: one argument expected")
            application = expr.func(sp.expand(self.opaque(expr.args[0])))
            if not isinstance(application, sp.Function):  # evaluated, e.g. tanh(0) = 0, exp(1) = e
                return self.opaque(application)
            return self._application(application, expr.func.__name__)
        if isinstance(expr, sp.Pow):
            base, exponent = expr.args
            if not exponent.is_Integer:
                raise ValueError(f"cannot hold {expr} opaque: integer powers only")
            if exponent >= 0 or base.is_Number:
                return self.opaque(base) ** exponent
            if isinstance(base, sp.Mul):  # 1/(uv) = (1/u)(1/v)
                return sp.Mul(*(self.opaque(sp.Pow(f, exponent)) for f in base.args))
            inverse = sp.Pow(sp.expand(self.opaque(base)), -1)
            return self._application(inverse, "inv") ** -exponent
        if isinstance(expr, sp.Add | sp.Mul):
            return expr.func(*(self.opaque(a) for a in expr.args))
        raise ValueError(f"cannot hold a {type(expr).__name__} opaque: {expr}")

    def node(self, expr: sp.Expr, name: str, own: bool = False) -> sp.Expr:
        """A stored value: a generator of its own if it is a sum (or ``own``), else its expression."""
        expr = sp.expand(self.opaque(expr))
        if isinstance(expr, sp.Add) or (own and not expr.is_Symbol):
            found = self._memo.get(expr)
            return found if found is not None else self._generator(name, expr)
        return expr

    def polynomial(self, expr: sp.Expr) -> Polynomial:
        """``expr`` (held opaque first) as a :class:`Polynomial` over the generators."""
        cached = self._polynomials.get(expr)
        if cached is None:
            cached = self._polynomial(self.opaque(expr))
            self._polynomials[expr] = cached
        return cached

    def _polynomial(self, expr: sp.Expr) -> Polynomial:
        if expr.is_Symbol:
            return Polynomial.generator(self.index[expr])
        if expr.is_Integer:
            return Polynomial.constant(int(expr))
        if expr.is_Rational:
            return Polynomial.constant(Fraction(int(expr.p), int(expr.q)))
        if isinstance(expr, sp.Add):
            total = Polynomial()
            for a in expr.args:
                total = total + self._polynomial(a)
            return total
        if isinstance(expr, sp.Mul):
            product = Polynomial.constant(1)
            for a in expr.args:
                product = product * self._polynomial(a)
            return product
        if isinstance(expr, sp.Pow) and expr.exp.is_Integer and expr.exp >= 0:
            return self._polynomial(expr.base) ** int(expr.exp)
        raise ValueError(f"not a polynomial over the generators: {expr}")

    def partials(self, index: int) -> list[tuple[int, Polynomial]]:
        """``(u, ∂g/∂u)`` for the generator ``g = symbols[index]`` and each generator ``u`` in its
        definition, written over generators: ``sympy.diff`` of a function application or reciprocal
        alone, the exact partial derivative of a stored sum (a polynomial). Empty for a leaf."""
        cached = self._partials.get(index)
        if cached is not None:
            return cached
        definition = self.definition.get(index)
        out = []
        if isinstance(definition, sp.Add):  # a stored sum: a polynomial, differentiated as one
            p = self.polynomial(definition)
            for u in sorted(p.generators()):
                out.append((u, p.derivative(u)))
        elif definition is not None:  # f(e) or 1/e: sympy.diff knows f'
            for u in sorted(definition.free_symbols, key=self.index.__getitem__):
                derivative = self.polynomial(sp.diff(definition, u))
                if not derivative.is_zero:
                    out.append((self.index[u], derivative))
        self._partials[index] = out
        return out

    def _ancestors(self, outputs: list[Polynomial]) -> list[int]:
        """Every generator some output depends on, in order of evaluation."""
        needed = set()
        for p in outputs:
            needed |= p.generators()
        frontier = list(needed)
        while frontier:
            for u, _ in self.partials(frontier.pop()):
                if u not in needed:
                    needed.add(u)
                    frontier.append(u)
        return sorted(needed)

    def tangents(self, outputs: Iterable[sp.Expr], directions: Iterable[sp.Symbol]
                 ) -> list[dict[int, Polynomial]]:
        """Forward mode: for each output, its total derivative with respect to each direction, as
        ``{direction index: polynomial}``. A direction is a generator perturbed on its own: a leaf,
        or a stored value whose perturbation is added to whatever reaches it from its inputs.
        Tangents are pushed through the generators in the order they were made, which is an order
        of evaluation: a definition only refers to generators made before it.

        >>> import sympy as sp
        >>> g, x = Opaque(), sp.Symbol("x")
        >>> u = g.node(x * x + x, "u")
        >>> y = g.node(u * u + 3 * u, "y")
        >>> [tangent] = g.tangents([y], [x])
        >>> tangent[g.index[x]] == g.polynomial((2 * u + 3) * (2 * x + 1))
        True
        """
        wanted = {self.index[d] for d in directions}
        outputs = [self.polynomial(o) for o in outputs]
        order = self._ancestors(outputs)
        readers = dict.fromkeys(order, 0)  # a tangent is dropped once its last reader has it
        for i in order:
            for u, _ in self.partials(i):
                readers[u] += 1
        for p in outputs:
            for u in p.generators():
                readers[u] += 1
        tangent: dict[int, dict[int, Polynomial]] = {}
        for i in order:
            total: dict[int, Polynomial] = {}
            for u, derivative in self.partials(i):
                for direction, t in tangent.get(u, {}).items():
                    if direction not in total:
                        total[direction] = Polynomial()
                    total[direction].add_product(derivative, t)
                readers[u] -= 1
                if not readers[u]:
                    tangent.pop(u, None)
            if i in wanted:
                total[i] = total.get(i, Polynomial()) + 1
            tangent[i] = {k: v for k, v in total.items() if not v.is_zero}
        results = []
        for p in outputs:
            result: dict[int, Polynomial] = {}
            for generator in p.generators():
                derivative = p.derivative(generator)
                for direction, t in tangent.get(generator, {}).items():
                    if direction not in result:
                        result[direction] = Polynomial()
                    result[direction].add_product(derivative, t)
            results.append(result)
        return results

    def gradient(self, output: sp.Expr, leaves: Iterable[sp.Symbol]) -> dict[int, Polynomial]:
        """d(output)/d(leaf) for each leaf, ``{leaf index: polynomial}``, by forward mode seeded
        where the leaves are read: a leaf reaches the output only through the generators whose
        definitions contain it (its *readers*) and through the output's own terms, so

            d(output)/d(leaf) = ∂output/∂leaf + Σ_readers n  ∂n/∂leaf · d(output)/dn,

        with ∂n/∂leaf the local partial derivative and d(output)/dn the forward-mode tangent of a
        perturbation of n alone. Seeding the few readers instead of the many leaves gives the same
        sums with far fewer polynomials pushed through the later steps.

        >>> import sympy as sp
        >>> g, a, b = Opaque(), sp.Symbol("a"), sp.Symbol("b")
        >>> u = g.node(a * b + a, "u")
        >>> y = sp.tanh(u) * a
        >>> grad = g.gradient(y, [a, b])
        >>> grad[g.index[a]] == g.polynomial(sp.tanh(u) + a * (1 - sp.tanh(u) ** 2) * (b + 1))
        True
        """
        ids = {self.index[self.leaf(s)] for s in leaves}
        p = self.polynomial(output)
        readers = {}
        for i in self._ancestors([p]):
            direct = [(u, d) for u, d in self.partials(i) if u in ids]
            if direct:
                readers[i] = direct
        [tangent] = self.tangents([output], [self.symbols[i] for i in readers])
        result = {u: p.derivative(u) for u in p.generators() & ids}
        for n, direct in readers.items():
            if n in tangent:
                for u, derivative in direct:
                    result.setdefault(u, Polynomial()).add_product(derivative, tangent[n])
        return {u: v for u, v in result.items() if not v.is_zero}

    def name(self, index: int) -> sp.Symbol:
        """A printable symbol for generator ``index``: a leaf as itself, a function application or
        reciprocal written out, a stored sum by its name."""
        symbol = self.symbols[index]
        definition = self.definition.get(index)
        if definition is not None and not isinstance(definition, sp.Add):
            return definition
        return symbol
