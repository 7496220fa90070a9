"""Cells written as equations in NumPy's syntax, parsed with :mod:`ast` (never evaluated).

``@`` is the matrix product, ``*`` the element-wise (Hadamard) product, ``+ - /`` and scalar
constants are as in NumPy, and the functions are those of :data:`FUNCTION_NAMES`. ``x_t`` is the
input (D entries); every state and intermediate has H entries. A name starting ``W_`` is a weight
matrix, used as ``W_… @ v`` (H×D when ``v`` is ``x_t``, H×H when it has H entries); a name starting
``b_``, or listed in ``params``, is a parameter vector of H entries used element-wise.

>>> mgu = custom_cell("mgu", '''
...     f_t = sigmoid(W_xf @ x_t + W_hf @ h_prev + b_f)
...     n_t = tanh(W_xn @ x_t + W_hn @ (f_t * h_prev) + b_n)
...     h_t = (1 - f_t) * h_prev + f_t * n_t
... ''', states={"h_t": "h_prev"}, title="Minimal gated unit")
>>> [eq.lhs.name for eq in mgu.equations]
['a_{f,t}', 'f_t', 'a_{n,t}', 'n_t', 'h_t']
>>> [p.name for p in mgu.params]
['W_xf', 'W_xn', 'W_hf', 'W_hn', 'b_f', 'b_n']
>>> mgu.states[0][1].name, mgu.initial
('h_{t-1}', ('h_prev',))
>>> custom_cell("bad", "h_t = tanh(W_xh @ x_t + W_hh @ h_prv)", states={"h_t": "h_prev"})
... # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: line 1: unknown name 'h_prv' (did you mean 'h_prev'?); known here: x_t, h_prev, ...
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import sympy as sp

from bpttlab.derivations.cells.record import Cell, by_kind
from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.symbols import D, H, matrix, ones, vector

__all__ = ["FUNCTION_NAMES", "Line", "custom_cell", "load_cell_file", "parse_cell_file", "parse_lines"]

#: The functions an equation may call: every one but ``identity`` is an element-wise node.
FUNCTION_NAMES = ("sigmoid", "tanh", "relu", "softplus", "exp", "identity")
INPUT = "x_t"
#: Names the heads use; a cell must not take them.
RESERVED = ("W_hy", "b_y", "y_t", "s_t", "ℓ_t", "h_T")
HEADERS = ("name", "title", "states", "params")
_HEADER = re.compile(r"^(?P<key>[A-Za-z_]+)\s*:(?P<value>.*)$")
_STEP_NAME = re.compile(r"^(?P<base>[^\W\d]\w*?)_t$")


@dataclass(frozen=True)
class Line:
    """One equation as written: ``lhs = expr`` on line ``lineno`` of ``where`` (a file or "line")."""

    lhs: str
    expr: ast.expr
    lineno: int
    text: str


def _place(where: str | None, lineno: int) -> str:
    return f"{where}:{lineno}" if where else f"line {lineno}"


def parse_lines(text: str, where: str | None = None, first_line: int = 1) -> tuple[Line, ...]:
    """The equations of ``text``, one a line (blank lines and ``#`` comments skipped), parsed by
    :func:`ast.parse` into ``name = expression``; a ``ValueError`` names the line otherwise."""
    lines = []
    for offset, raw in enumerate(text.splitlines()):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        lineno = first_line + offset
        try:
            module = ast.parse(stripped, mode="exec")
        except SyntaxError as error:
            message = f"{_place(where, lineno)}: syntax error ({error.msg}) in {stripped!r}"
            raise ValueError(message) from None
        statement = module.body[0] if len(module.body) == 1 else None
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)):
            raise ValueError(f"{_place(where, lineno)}: expected one equation `name = expression`, "
                             f"got {stripped!r}")
        lines.append(Line(statement.targets[0].id, statement.value, lineno, stripped))
    return tuple(lines)


def _preactivation(name: str) -> str:
    """The pre-activation of ``f_t = σ(…)`` is ``a_{f,t}``; of ``gate = σ(…)``, ``a_{gate}``."""
    match = _STEP_NAME.match(name)
    return f"a_{{{match['base']},t}}" if match else f"a_{{{name}}}"


def _previous(new: str, prev: str) -> str:
    """The symbol of a previous state: ``h_{t-1}`` for a state called ``h_t``, else the name as written."""
    match = _STEP_NAME.match(new)
    return f"{match['base']}_{{t-1}}" if match else prev


class _Translator:
    """One cell's equations, from :class:`Line` to SymPy, with the shapes of the parameters inferred."""

    def __init__(self, states: Mapping[str, str], params: Iterable[str], where: str | None):
        self.where, self.vector_params = where, tuple(params)
        self.names: dict[str, sp.MatrixExpr] = {INPUT: vector(INPUT, D)}
        self.spelled = {INPUT: INPUT}
        for new, prev in states.items():
            self.names[prev] = vector(_previous(new, prev), H)
            self.spelled[prev] = prev
        self.shapes: dict[str, tuple[tuple, int]] = {}  # parameter → (shape, line first seen)
        self.params: dict[str, sp.MatrixSymbol] = {}
        self.lineno, self.later = 0, {}

    def error(self, message: str) -> ValueError:
        return ValueError(f"{_place(self.where, self.lineno)}: {message}")

    def parameter(self, name: str, shape: tuple) -> sp.MatrixSymbol:
        seen = self.shapes.get(name)
        if seen and seen[0] != shape:
            def show(s: tuple) -> str:
                return "×".join(str(n) for n in s) if s[1] != 1 else f"{s[0]}-vector"
            raise self.error(f"parameter {name} is used with two shapes: {show(seen[0])} on "
                             f"{_place(self.where, seen[1])} and {show(shape)} here")
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
            defined = _place(self.where, self.later[name])
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
            raise self.error(f"unsupported syntax: {ast.unparse(node)!r} (equations use names, "
                             f"numbers, + - * / @, and the functions {', '.join(FUNCTION_NAMES)})")
        return method(node)

    def _Constant(self, node: ast.Constant) -> sp.Expr:
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise self.error(f"unsupported constant {node.value!r}: only real numbers")
        return sp.Rational(repr(node.value)) if isinstance(node.value, float) else sp.Integer(node.value)

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
        operand = self(node.operand)
        if isinstance(node.op, ast.USub):
            return sp.MatMul(-1, operand) if getattr(operand, "is_Matrix", False) else -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        raise self.error(f"unsupported operator in {ast.unparse(node)!r}")

    def _shape_error(self, node: ast.expr, left: sp.MatrixExpr, right: sp.MatrixExpr) -> ValueError:
        def size(e: sp.MatrixExpr) -> str:
            return f"{e.shape[0]} entries"
        return self.error(f"{ast.unparse(node)!r} combines {size(left)} with {size(right)} "
                          f"(x_t has D entries; states and intermediates have H)")

    def _BinOp(self, node: ast.BinOp) -> sp.Basic:
        if isinstance(node.op, ast.MatMult):
            return self._matmul(node)
        left, right = self(node.left), self(node.right)
        scalar_left = not getattr(left, "is_Matrix", False)
        scalar_right = not getattr(right, "is_Matrix", False)
        if isinstance(node.op, ast.Add | ast.Sub):
            sign = 1 if isinstance(node.op, ast.Add) else -1
            if scalar_left and scalar_right:
                return left + sign * right
            if scalar_left:
                left = sp.MatMul(left, ones(right.shape[0])) if left != 0 else None
            if scalar_right:
                right = sp.MatMul(right, ones(left.shape[0])) if right != 0 else None
            if left is None or right is None:
                return (right if sign == 1 else sp.MatMul(-1, right)) if left is None else left
            if left.shape != right.shape:
                raise self._shape_error(node, left, right)
            return left + right if sign == 1 else left - right
        if isinstance(node.op, ast.Mult):
            if scalar_left and scalar_right:
                return left * right
            if scalar_left or scalar_right:
                return sp.MatMul(left, right) if scalar_left else sp.MatMul(right, left)
            if left.shape != right.shape:
                raise self._shape_error(node, left, right)
            return sp.HadamardProduct(left, right)
        if isinstance(node.op, ast.Div):
            if not scalar_right or right == 0:
                raise self.error(f"{ast.unparse(node)!r}: division only by a non-zero constant")
            return left / right if scalar_left else sp.MatMul(1 / right, left)
        raise self.error(f"unsupported operator in {ast.unparse(node)!r} (use + - * / @)")

    def _matmul(self, node: ast.BinOp) -> sp.MatrixExpr:
        if not (isinstance(node.left, ast.Name) and self.is_matrix_param(node.left.id)):
            raise self.error(f"{ast.unparse(node)!r}: the left side of @ must be a weight matrix W_…")
        right = self(node.right)
        if not getattr(right, "is_Matrix", False):
            raise self.error(f"{ast.unparse(node)!r}: the right side of @ must be a vector")
        weight = self.parameter(node.left.id, (H, right.shape[0]))
        return weight * right

    def _Call(self, node: ast.Call) -> sp.MatrixExpr:
        name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
        if name not in FUNCTION_NAMES:
            raise self.error(f"unknown function {name!r}; valid: {', '.join(FUNCTION_NAMES)}")
        if len(node.args) != 1 or node.keywords:
            raise self.error(f"{name}() takes one argument, got {ast.unparse(node)!r}")
        argument = self(node.args[0])
        if not getattr(argument, "is_Matrix", False):
            raise self.error(f"{ast.unparse(node)!r}: {name}() of a constant; apply it to a vector")
        return argument if name == "identity" else Elementwise(name, argument)


def _check_names(lines: tuple[Line, ...], states: Mapping[str, str], params: tuple[str, ...],
                 where: str | None) -> None:
    assigned: dict[str, int] = {}
    for line in lines:
        place, name = _place(where, line.lineno), line.lhs
        if name == INPUT or name in states.values():
            raise ValueError(f"{place}: {name} is an input of the step and cannot be assigned")
        if name.startswith(("W_", "b_")) or name in params:
            raise ValueError(f"{place}: {name} is a parameter and cannot be assigned")
        if name in RESERVED or name.startswith("δ"):
            raise ValueError(f"{place}: the name {name} is taken by the heads; choose another")
        if name in assigned:
            raise ValueError(f"{place}: {name} is assigned twice (first on {_place(where, assigned[name])})")
        assigned[name] = line.lineno
    for new, prev in states.items():
        if new not in assigned:
            raise ValueError(f"state {new!r} (states: {new} <- {prev}) is not assigned by any line")
        for name in (new, prev):
            if not name.isidentifier():
                raise ValueError(f"state name {name!r} is not a Python identifier")
    for name in params:
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("W_"):
            raise ValueError(f"params: {name!r} must be a name for a vector parameter (not W_…)")


def custom_cell(name: str, equations: str, states: Mapping[str, str], params: Iterable[str] = (),
                title: str | None = None, *, where: str | None = None, first_line: int = 1) -> Cell:
    """A :class:`Cell` from equations in NumPy's syntax (see the module docstring).

    ``states`` maps each new state to the previous one it replaces, the first feeding the head;
    ``params`` names the extra vector parameters (beyond ``W_…`` and ``b_…``). A line whose whole
    right side is a function of an expression gets its pre-activation stored and named, as in the
    textbooks (``f_t = σ(a_{f,t})``). ``where`` and ``first_line`` place errors in a file.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be an identifier such as 'mgu', got {name!r}")
    if not isinstance(equations, str):
        raise ValueError(f"equations must be a string of lines `name = expression`, got {equations!r}")
    if not isinstance(states, Mapping) or not states:
        raise ValueError(f"states must map each new state to the previous one, e.g. {{'h_t': 'h_prev'}}; "
                         f"got {states!r}")
    params = tuple(params) if not isinstance(params, str) else (params,)
    lines = parse_lines(equations, where, first_line)
    if not lines:
        raise ValueError("equations: no line `name = expression` found")
    _check_names(lines, states, params, where)
    translate = _Translator(states, params, where)
    translate.later = {line.lhs: line.lineno for line in lines}
    result, named = [], []
    for line in lines:
        translate.lineno = line.lineno
        del translate.later[line.lhs]
        rhs = translate(line.expr)
        if not getattr(rhs, "is_Matrix", False):
            raise translate.error(f"{line.lhs} is a constant; every line defines a vector of H entries")
        if rhs.shape[0] != H:
            raise translate.error(f"{line.lhs} would have D entries (x_t without a weight); states and "
                                  f"intermediates have H")
        symbol = vector(line.lhs, H)
        if isinstance(rhs, Elementwise) and not isinstance(rhs.arg, sp.MatrixSymbol):
            pre = vector(_preactivation(line.lhs), H)
            result.append(sp.Eq(pre, rhs.arg, evaluate=False))
            named.append(pre)
            rhs = Elementwise(rhs.name, pre)
        first_state = line.lhs == next(iter(states))
        if not first_state and (line.lhs in states or not isinstance(rhs, Elementwise)):
            named.append(symbol)  # a further state, or an intermediate that is not a function's output
        result.append(sp.Eq(symbol, rhs, evaluate=False))
        translate.names[line.lhs] = symbol
    new_states = tuple((translate.names[new], translate.names[prev]) for new, prev in states.items())
    return Cell(
        name=name,
        title=title or name,
        x=translate.names[INPUT],
        states=new_states,
        params=by_kind(translate.params.values()),
        equations=tuple(result),
        named_deltas=tuple(dict.fromkeys(named)),
        initial=tuple(states.values()),
        source=equations,
        spelling=tuple((translate.names[prev].name, prev) for prev in states.values()),
    )


def parse_cell_file(text: str, where: str | None = None) -> Cell:
    """A cell from the text of a ``.cell`` file: header lines ``name:``, ``title:``, ``states:``
    (``h_t <- h_prev, c_t <- c_prev``), ``params:`` (``p_i, p_f``), then one equation a line.

    >>> c = parse_cell_file('''# Elman
    ... name: elman
    ... states: h_t <- h_prev
    ... params:
    ... h_t = tanh(W_xh @ x_t + W_hh @ h_prev + b_h)
    ... ''')
    >>> c.name, [eq.lhs.name for eq in c.equations]
    ('elman', ['a_{h,t}', 'h_t'])
    """
    header: dict[str, tuple[str, int]] = {}
    body, first = [], None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.split("#", 1)[0].strip() if not raw.strip().startswith("#") else ""
        match = _HEADER.match(stripped)
        if match and (match["key"] in HEADERS or "=" not in stripped):
            key = match["key"]
            if key not in HEADERS:
                raise ValueError(f"{_place(where, lineno)}: unknown header {key!r}; "
                                 f"valid: name, title, states, params")
            if first is not None:
                raise ValueError(f"{_place(where, lineno)}: header {key!r} after the equations")
            if key in header:
                raise ValueError(f"{_place(where, lineno)}: header {key!r} given twice")
            header[key] = (match["value"].strip(), lineno)
            body.append("")
        else:
            if stripped and first is None:
                first = lineno
            body.append(raw)
    for key in ("name", "states"):
        if key not in header:
            raise ValueError(f"{where or 'cell file'}: missing header line '{key}: …'")
    states = {}
    value, lineno = header["states"]
    for pair in filter(None, (p.strip() for p in value.split(","))):
        new, arrow, prev = pair.partition("<-")
        if not arrow or not new.strip() or not prev.strip():
            raise ValueError(f"{_place(where, lineno)}: states are written `h_t <- h_prev`, got {pair!r}")
        states[new.strip()] = prev.strip()
    params = tuple(filter(None, (p.strip() for p in header.get("params", ("", 0))[0].split(","))))
    title = header.get("title", ("", 0))[0] or None
    return custom_cell(header["name"][0], "\n".join(body), states, params, title, where=where)


def load_cell_file(path: str | Path) -> Cell:
    """The cell of the ``.cell`` file at ``path``; errors name the file and the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"cannot read cell file {str(path)!r}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ValueError(f"cell file {str(path)!r} is not UTF-8 text") from None
    return parse_cell_file(text, where=str(path))
