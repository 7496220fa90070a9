"""Sparse multivariate polynomials over ℚ, small and fast enough for the unrolled proofs.

A monomial is one Python integer: the exponent of generator ``i`` sits in bits ``8i … 8i+7``,
so multiplying two monomials is adding two integers. Every polynomial carries a bound on its total
degree; an operation whose result could reach an exponent of 2^8 raises instead of letting one
exponent carry into the next (the packing is exact, never approximate).

>>> x, y = Polynomial.generator(0), Polynomial.generator(1)
>>> p = (x + y) * (x - y)
>>> p == x * x - y * y, (p - x * x + y * y).is_zero
(True, True)
>>> (x + 1) * Fraction(1, 2) == Polynomial.constant(Fraction(1, 2)) + x * Fraction(1, 2)
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from fractions import Fraction

__all__ = ["BITS", "TERMS", "WORK", "Fraction", "Polynomial", "TooLarge", "work_budget"]

#: Bits per exponent in a packed monomial.
BITS = 8
_MASK = (1 << BITS) - 1
_LIMIT = _MASK  # a total degree at most this keeps every exponent inside its field

#: The most terms one product may build; past it :class:`TooLarge` is raised (a proof that big
#: would need gigabytes: the expanded unrolled proof of lstm_fgr at T = 3 is one).
TERMS = 600_000

#: The most work one proof may do (:func:`work_budget`), counted in term products times the width of
#: their packed monomials in 64-bit words: about 20 s of arithmetic and a few GB at most. The largest
#: shipped proof (lstm_peephole, softmax head, loss at every step, T = 3) spends 1.6e8.
WORK = 500_000_000

Coefficient = int | Fraction
_remaining: ContextVar[list[int] | None] = ContextVar("remaining work", default=None)


@contextmanager
def work_budget(products: int = WORK, *, inherit: bool = False) -> Iterator[list[int]]:
    """Within the block, multiplying polynomials spends ``len(a)·len(b)`` of ``products``; past it
    :class:`TooLarge` is raised, so that a proof too large to finish stops early and says so. Yields
    the remaining budget, a one-element list. ``inherit``: inside another budget, keep spending that
    one instead (a caller's smaller budget wins)."""
    outer = _remaining.get()
    if inherit and outer is not None:
        yield outer
        return
    remaining = [products]
    token = _remaining.set(remaining)
    try:
        yield remaining
    finally:
        _remaining.reset(token)


class TooLarge(MemoryError):
    """A polynomial grew past :data:`TERMS` terms, or its degree past what the packing holds."""


class Polynomial:
    """``terms``: packed monomial → non-zero rational coefficient; ``degree``: an upper bound on
    the total degree (exact bounds are not needed, only safe ones)."""

    __slots__ = ("degree", "terms")

    def __init__(self, terms: dict[int, Coefficient] | None = None, degree: int = 0) -> None:
        self.terms = terms if terms is not None else {}
        self.degree = degree
        if degree > _LIMIT:
            raise TooLarge(f"total degree {degree} exceeds the packed exponent range ({_LIMIT})")

    @classmethod
    def constant(cls, value: Coefficient) -> Polynomial:
        return cls({0: value} if value else {}, 0)

    @classmethod
    def generator(cls, index: int) -> Polynomial:
        return cls({1 << (BITS * index): 1}, 1)

    @property
    def is_zero(self) -> bool:
        return not self.terms

    def __len__(self) -> int:
        return len(self.terms)

    def _coerce(self, other: Polynomial | Coefficient) -> Polynomial:
        return other if isinstance(other, Polynomial) else Polynomial.constant(other)

    def __add__(self, other: Polynomial | Coefficient) -> Polynomial:
        other = self._coerce(other)
        if len(other.terms) > len(self.terms):
            self, other = other, self
        terms = dict(self.terms)
        for m, c in other.terms.items():
            c = terms.get(m, 0) + c
            if c:
                terms[m] = c
            else:
                terms.pop(m, None)
        return Polynomial(terms, max(self.degree, other.degree))

    __radd__ = __add__

    def __neg__(self) -> Polynomial:
        return Polynomial({m: -c for m, c in self.terms.items()}, self.degree)

    def __sub__(self, other: Polynomial | Coefficient) -> Polynomial:
        return self + (-self._coerce(other))

    def __rsub__(self, other: Coefficient) -> Polynomial:
        return self._coerce(other) - self

    def __mul__(self, other: Polynomial | Coefficient) -> Polynomial:
        if not isinstance(other, Polynomial):
            if not other:
                return Polynomial()
            return Polynomial({m: c * other for m, c in self.terms.items()}, self.degree)
        product = Polynomial(degree=self.degree + other.degree)
        product.add_product(self, other)
        return product

    def add_product(self, a: Polynomial, b: Polynomial) -> Polynomial:
        """``self += a · b`` in place (no intermediate product is built); returns ``self``."""
        if len(b.terms) > len(a.terms):
            a, b = b, a
        remaining = _remaining.get()
        if remaining is not None and a.terms and b.terms:
            # each term product adds two packed monomials: its cost grows with their width in words
            width = (max(next(iter(a.terms)).bit_length(), next(iter(b.terms)).bit_length()) >> 6) + 1
            remaining[0] -= len(a.terms) * len(b.terms) * width
            if remaining[0] < 0:
                raise TooLarge("the arithmetic passed its budget of term products (work_budget)")
        self.degree = max(self.degree, a.degree + b.degree)
        if self.degree > _LIMIT:
            raise TooLarge(f"total degree {self.degree} exceeds the packed exponent range ({_LIMIT})")
        terms, big = self.terms, a.terms
        get = terms.get
        for m2, c2 in b.terms.items():
            if not terms:  # the first shifted copy needs no merging
                terms.update({m1 + m2: c1 * c2 for m1, c1 in big.items()})
                continue
            for m1, c1 in big.items():
                m = m1 + m2
                c = get(m, 0) + c1 * c2
                if c:
                    terms[m] = c
                else:
                    del terms[m]
            if len(terms) > TERMS:
                raise TooLarge(f"a product grew past {TERMS} terms")
        return self

    __rmul__ = __mul__

    def __pow__(self, n: int) -> Polynomial:
        if n < 0:
            raise ValueError("a polynomial has no negative powers")
        if n == 0:
            return Polynomial.constant(1)
        result = self
        for _ in range(n - 1):
            result = result * self
        return result

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Polynomial | int | Fraction):
            return NotImplemented
        return (self - other).is_zero

    __hash__ = None  # mutable-looking value type: compare, don't hash

    def exponent(self, monomial: int, index: int) -> int:
        """The exponent of generator ``index`` in the packed ``monomial``."""
        return (monomial >> (BITS * index)) & _MASK

    def generators(self) -> set[int]:
        """The indices of the generators that occur."""
        found = set()
        for m in self.terms:
            index = 0
            while m:
                if m & _MASK:
                    found.add(index)
                m >>= BITS
                index += 1
        return found

    def derivative(self, index: int) -> Polynomial:
        """∂/∂(generator ``index``), exactly.

        >>> x, y = Polynomial.generator(0), Polynomial.generator(1)
        >>> (x * x * y + y).derivative(0) == 2 * x * y
        True
        """
        shift = BITS * index
        terms: dict[int, Coefficient] = {}
        for m, c in self.terms.items():
            e = (m >> shift) & _MASK
            if e:
                terms[m - (1 << shift)] = c * e
        return Polynomial(terms, self.degree)

    def substitute(self, values: Mapping[int, Polynomial]) -> Polynomial:
        """Every generator ``i`` in ``values`` replaced by the polynomial ``values[i]`` (exact
        composition: each term's powers of those generators are multiplied out)."""
        result = Polynomial(degree=self.degree)
        kept: dict[int, Coefficient] = {}
        for m, c in self.terms.items():
            factor, rest = None, m
            for index, value in values.items():
                e = self.exponent(m, index)
                if e:
                    rest -= e << (BITS * index)
                    power = value ** e
                    factor = power if factor is None else factor * power
            if factor is None:
                kept[m] = c
            else:
                result.add_product(factor, Polynomial({rest: c}, self.degree))
        return result.add_product(Polynomial(kept, self.degree), Polynomial.constant(1))

    def as_expr(self, symbol: Callable[[int], object]) -> object:
        """The polynomial as a SymPy expression, generator ``i`` printed as ``symbol(i)``."""
        import sympy as sp

        total = []
        for m, c in self.terms.items():
            factors, index = [sp.Rational(c.numerator, c.denominator) if isinstance(c, Fraction) else
                              sp.Integer(c)], 0
            while m:
                e = m & _MASK
                if e:
                    factors.append(symbol(index) ** e)
                m >>= BITS
                index += 1
            total.append(sp.Mul(*factors))
        return sp.Add(*total)

    def __repr__(self) -> str:
        return f"Polynomial({len(self.terms)} terms, degree ≤ {self.degree})"
