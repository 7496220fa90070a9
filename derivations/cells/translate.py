"""One line of a cell's equations, from Python's ``ast`` to a SymPy matrix expression.

The text was parsed with :func:`ast.parse` (never evaluated); this module walks the tree, infers each
parameter's shape from its use, folds constants as it goes (so ``--…--h_prev`` stays one term instead
of a nest of products whose construction doubles with every sign), and refuses what it cannot take
with a ``ValueError`` naming the file and line. A line may hold at most :data:`MAX_NODES` syntax nodes,
nested at most :data:`MAX_DEPTH` deep: past them the derivation would grow without bound, so the line
is refused rather than left to recurse or hang.

>>> import ast
>>> from bpttlab.derivations.symbols import D, H, vector
>>> translate = Translator({"h_t": "h_prev"}, (), None)
>>> translate.lineno = 1
>>> translate(ast.parse("- - -h_prev", mode="eval").body)
-h_{t-1}
>>> translate(ast.parse("0.5*(W_hh @ h_prev) + b_h", mode="eval").body)
(1/2)*W_hh*h_{t-1} + b_h
"""

from __future__ import annotations

import ast
import difflib
import math
from collections.abc import Iterable, Mapping

import sympy as sp

from bpttlab.derivations.activations import cell_functions
from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.symbols import D, H, matrix, ones, vector
from bpttlab.derivations.tidy import coefficient_and_matrix

__all__ = ["IDENTITY", "INPUT", "MAX_DEPTH", "MAX_FUNCTIONS", "MAX_NODES", "MAX_POWER", "Translator",
           "check_size", "function_depth", "function_names", "place", "previous_symbol"]

INPUT = "x_t"
#: The one function that is not an element-wise node: ``identity(v)`` is ``v``.
IDENTITY = "identity"
#: The most names, numbers and operations one equation may hold, and the deepest they may nest
#: (unary signs, calls, operands). The largest shipped line (lstm_fgr's gates) has 31 nested 9 deep.
MAX_NODES, MAX_DEPTH = 400, 100
#: The most functions one value may be nested in, counted through the step from its inputs
#: (``tanh(W @ σ(a))`` is two deep; the LSTM's h_t two, lstm_fgr's three). Each one multiplies the
#: size of the exact derivatives the proofs expand; past eight they outgrow what a proof can hold.
MAX_FUNCTIONS = 8
#: The largest exponent ``v ** n`` may take. A value that is not a sum is not held opaque by the unrolled
#: proof, so its degree multiplies by n a step: n³ must stay within the 255 a packed exponent holds.
MAX_POWER = 6


def function_names() -> tuple[str, ...]:
    """The functions an equation may call: the registered activations a cell may use, and identity."""
    return (*(a.name for a in cell_functions()), IDENTITY)


def place(where: str | None, lineno: int) -> str:
    """``file:line`` (or ``line N`` for text given directly)."""
    return f"{where}:{lineno}" if where else f"line {lineno}"


def _is_sum(node: ast.AST) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub)


def _depth(node: ast.AST) -> int:
    """How deep ``node`` nests, iteratively (a deep tree must not exhaust Python's stack here); the
    terms of one sum ``a + b - c + …`` are one level, however many there are."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        current, depth = stack.pop()
        deepest = max(deepest, depth)
        for child in ast.iter_child_nodes(current):
            same_sum = _is_sum(current) and _is_sum(child) and child is current.left
            stack.append((child, depth if same_sum else depth + 1))
    return deepest


def _terms(node: ast.BinOp) -> list[tuple[int, ast.expr]]:
    """The signed terms of a sum ``a + b - c + …`` (a left-nested chain in the tree), in order."""
    terms = []
    while _is_sum(node):
        terms.append((1 if isinstance(node.op, ast.Add) else -1, node.right))
        node = node.left
    terms.append((1, node))
    return terms[::-1]


def check_size(tree: ast.AST, where: str | None, lineno: int) -> None:
    """Refuse an equation of more than :data:`MAX_NODES` nodes or :data:`MAX_DEPTH` levels."""
    nodes = sum(1 for node in ast.walk(tree) if isinstance(node, ast.expr))
    if nodes > MAX_NODES:
        raise ValueError(f"{place(where, lineno)}: the equation has {nodes} terms and operations, more than "
                         f"the {MAX_NODES} one line may hold; split it into intermediate values")
    depth = _depth(tree)
    if depth > MAX_DEPTH:
        raise ValueError(f"{place(where, lineno)}: the equation nests {depth} levels deep, more than the "
                         f"{MAX_DEPTH} one line may; split it into intermediate values")


def function_depth(expr: sp.Basic, depths: Mapping[sp.MatrixSymbol, int]) -> int:
    """How many functions deep ``expr`` is, given the depth of each symbol it reads (0 if not given)."""
    if isinstance(expr, sp.MatrixSymbol):
        return depths.get(expr, 0)
    inner = max((function_depth(a, depths) for a in expr.args), default=0)
    return inner + 1 if isinstance(expr, Elementwise) else inner


def _is_matrix(value: sp.Basic) -> bool:
    return bool(getattr(value, "is_Matrix", False))


def scaled(coefficient: sp.Expr, value: sp.Basic) -> sp.Basic:
    """``coefficient · value`` with the coefficients folded into one number (``-(-x)`` is ``x``)."""
    if not _is_matrix(value):
        return coefficient * value
    inner, body = coefficient_and_matrix(value)
    total = coefficient * inner
    if total == 0 or body is None or isinstance(body, sp.ZeroMatrix):
        return sp.ZeroMatrix(*value.shape)
    return body if total == 1 else sp.MatMul(total, body)


class Translator:
    """One cell's equations, line by line, from :mod:`ast` to SymPy, with the shapes of the parameters
    inferred from their use. ``names`` are the values defined so far (the input, the previous states,
    then each line's left side); ``later`` the names defined further down (for a helpful error)."""

    def __init__(self, states: Mapping[str, str], params: Iterable[str], where: str | None):
        self.where, self.vector_params = where, tuple(params)
        self.names: dict[str, sp.MatrixExpr] = {INPUT: vector(INPUT, D)}
        for new, prev in states.items():
            self.names[prev] = vector(previous_symbol(new, prev), H)
        self.shapes: dict[str, tuple[tuple, int]] = {}  # parameter → (shape, line first seen)
        self.params: dict[str, sp.MatrixSymbol] = {}
        self.lineno, self.later = 0, {}
        self.applications: list[Elementwise] = []  # the line's function applications, as written

    def error(self, message: str) -> ValueError:
        return ValueError(f"{place(self.where, self.lineno)}: {message}")

    def parameter(self, name: str, shape: tuple) -> sp.MatrixSymbol:
        seen = self.shapes.get(name)
        if seen and seen[0] != shape:
            def show(s: tuple) -> str:
                return "×".join(str(n) for n in s) if s[1] != 1 else f"{s[0]}-vector"
            raise self.error(f"parameter {name} is used with two shapes: {show(seen[0])} on "
                             f"{place(self.where, seen[1])} and {show(shape)} here")
        if not seen:
            self.shapes[name] = (shape, self.lineno)
            self.params[name] = matrix(name, *shape) if shape[1] != 1 else vector(name, shape[0])
        return self.params[name]

    def is_matrix_param(self, name: str) -> bool:
        return name.startswith("W_")

    def is_vector_param(self, name: str) -> bool:
        return name.startswith("b_") or name in self.vector_params

    def unknown(self, name: str) -> ValueError:
        if name in self.later:
            defined = place(self.where, self.later[name])
            return self.error(f"{name!r} is used before it is defined (on {defined})")
        known = [n for n in self.names if not n.startswith("a_{")]
        close = difflib.get_close_matches(name, [*known, *self.params], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        params = ", ".join(("W_…", "b_…", *self.vector_params))
        return self.error(f"unknown name {name!r}{hint}; known here: {', '.join(known)}, "
                          f"and parameters {params}")

    # --- expressions -----------------------------------------------------------------------------

    def __call__(self, node: ast.expr) -> sp.Basic:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise self.error(f"unsupported syntax: {ast.unparse(node)!r} (equations use names, numbers, "
                             f"+ - * / @ **, and the functions {', '.join(function_names())})")
        return method(node)

    def _Constant(self, node: ast.Constant) -> sp.Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(f"unsupported constant {value!r}: only real numbers")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(f"the constant {ast.unparse(node)} is not a finite number "
                             f"(a float holds magnitudes up to about 1.8e308)")
        if isinstance(value, int) and abs(value) > 2 ** 53:
            raise self.error("an integer constant larger than 2^53 in magnitude; write it as a float (1e20)")
        return sp.Rational(repr(value)) if isinstance(value, float) else sp.Integer(value)

    def _Name(self, node: ast.Name) -> sp.MatrixExpr:
        name = node.id
        if name in self.names:
            return self.names[name]
        if self.is_matrix_param(name):
            raise self.error(f"{name} is a weight matrix: use it as {name} @ v")
        if self.is_vector_param(name):
            return self.parameter(name, (H, 1))
        raise self.unknown(name)

    def _UnaryOp(self, node: ast.UnaryOp) -> sp.Basic:
        if isinstance(node.op, ast.USub):
            return scaled(sp.S.NegativeOne, self(node.operand))
        if isinstance(node.op, ast.UAdd):
            return self(node.operand)
        raise self.error(f"unsupported operator in {ast.unparse(node)!r}")

    def _shape_error(self, node: ast.expr, left: sp.MatrixExpr, right: sp.MatrixExpr) -> ValueError:
        return self.error(f"{ast.unparse(node)!r} combines {left.shape[0]} entries with {right.shape[0]} "
                          f"(x_t has D entries; states and intermediates have H)")

    def _BinOp(self, node: ast.BinOp) -> sp.Basic:
        if isinstance(node.op, ast.MatMult):
            return self._matmul(node)
        if isinstance(node.op, ast.Pow):
            return self._power(node)
        if _is_sum(node):
            return self._sum(node)
        left, right = self(node.left), self(node.right)
        if isinstance(node.op, ast.Mult):
            if not _is_matrix(left) or not _is_matrix(right):
                return scaled(left, right) if not _is_matrix(left) else scaled(right, left)
            if left.shape != right.shape:
                raise self._shape_error(node, left, right)
            if isinstance(left, sp.ZeroMatrix) or isinstance(right, sp.ZeroMatrix):
                return sp.ZeroMatrix(*left.shape)
            return sp.HadamardProduct(left, right)
        if isinstance(node.op, ast.Div):
            if _is_matrix(right) or right == 0:
                raise self.error(f"{ast.unparse(node)!r}: division only by a non-zero constant (a number, "
                                 f"not a vector: x / 2 is fine, 1 / h_prev is not)")
            return scaled(1 / right, left)
        raise self.error(f"unsupported operator in {ast.unparse(node)!r} (use + - * / @ **)")

    def _power(self, node: ast.BinOp) -> sp.Basic:
        """``v ** n``, element-wise as in NumPy, for a whole number n from 1 to :data:`MAX_POWER`."""
        exponent = node.right
        if not (isinstance(exponent, ast.Constant) and isinstance(exponent.value, int)
                and not isinstance(exponent.value, bool) and 1 <= exponent.value <= MAX_POWER):
            raise self.error(f"{ast.unparse(node)!r}: the exponent of ** must be a whole number from 1 to "
                             f"{MAX_POWER}")
        base, n = self(node.left), exponent.value
        if not _is_matrix(base):
            return base ** n
        if isinstance(base, sp.ZeroMatrix) or n == 1:
            return base
        coefficient, body = coefficient_and_matrix(base)
        return scaled(coefficient ** n, sp.HadamardPower(body, n))

    def _sum(self, node: ast.BinOp) -> sp.Basic:
        """A sum of any length without recursing into it: its terms are read one by one, a constant
        among vectors standing for that constant times the ones vector."""
        terms = [(sign, self(term)) for sign, term in _terms(node)]
        shapes = {value.shape for _, value in terms if _is_matrix(value)}
        if not shapes:
            return sp.Add(*(sign * value for sign, value in terms))
        if len(shapes) > 1:
            (_, first), *_ = [(s, v) for s, v in terms if _is_matrix(v)]
            other = next(v for _, v in terms if _is_matrix(v) and v.shape != first.shape)
            raise self._shape_error(node, first, other)
        (rows, _), = shapes
        vectors = [scaled(sp.Integer(sign), value if _is_matrix(value) else scaled(value, ones(rows)))
                   for sign, value in terms]
        total = vectors[0]
        for vector_ in vectors[1:]:  # as ``a + b`` orders and merges terms, one term at a time
            total = total + vector_
        return total

    def _matmul(self, node: ast.BinOp) -> sp.MatrixExpr:
        if not (isinstance(node.left, ast.Name) and self.is_matrix_param(node.left.id)):
            raise self.error(f"{ast.unparse(node)!r}: the left side of @ must be a weight matrix W_…")
        right = self(node.right)
        if not _is_matrix(right):
            raise self.error(f"{ast.unparse(node)!r}: the right side of @ must be a vector")
        weight = self.parameter(node.left.id, (H, right.shape[0]))
        coefficient, body = coefficient_and_matrix(right)
        if body is None or isinstance(body, sp.ZeroMatrix):
            return sp.ZeroMatrix(H, 1)
        return scaled(coefficient, sp.MatMul(weight, body))

    def _Call(self, node: ast.Call) -> sp.MatrixExpr:
        name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
        valid = function_names()
        if name not in valid:
            raise self.error(f"unknown function {name!r}; valid: {', '.join(valid)}")
        if len(node.args) != 1 or node.keywords:
            raise self.error(f"{name}() takes one argument, got {ast.unparse(node)!r}")
        argument = self(node.args[0])
        if not _is_matrix(argument):
            raise self.error(f"{ast.unparse(node)!r}: {name}() of a constant; apply it to a vector")
        if name == IDENTITY:
            return argument
        application = Elementwise(name, argument)
        self.applications.append(application)
        return application


def previous_symbol(new: str, prev: str) -> str:
    """The symbol of a previous state: ``h_{t-1}`` for a state called ``h_t``, else the name as written."""
    return f"{new[:-2]}_{{t-1}}" if new.endswith("_t") and len(new) > 2 else prev
