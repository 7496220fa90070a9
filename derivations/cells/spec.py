"""Cells written as equations in NumPy's syntax, parsed with :mod:`ast` (never evaluated).

``@`` is the matrix product, ``*`` the element-wise (Hadamard) product, ``+ -`` and scalar
constants are as in NumPy, ``/`` divides by a non-zero constant (not by a vector), ``v ** n`` is the
element-wise power for a whole number n from 1 to :data:`~.translate.MAX_POWER`, and the
functions are those of :func:`~.translate.function_names` (the registered activations a cell may
call, and ``identity``). ``x_t`` is the input (D entries); every state and intermediate has H
entries. A name starting ``W_`` is a weight matrix, used as ``W_… @ v`` (H×D when ``v`` is ``x_t``,
H×H when it has H entries); a name starting ``b_``, or listed in ``params``, is a parameter vector of
H entries used element-wise. Names are ASCII identifiers (letters, digits, ``_``): two names that
print alike, or that Python would normalise to one, cannot both appear.

A function applied to an expression gets that expression stored and named as its pre-activation,
as in the textbooks: ``f_t = σ(a_{f,t})``; inside a larger expression too (the leaky RNN's
``h_t = 0.5*h_prev + 0.5*tanh(a_{h,t})``, several on one line numbered ``a_{h,1,t}``, ``a_{h,2,t}``).

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
import io
import keyword
import re
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import sympy as sp

from bpttlab.derivations.cells.record import Cell, by_kind
from bpttlab.derivations.cells.translate import (
    INPUT,
    MAX_FUNCTIONS,
    Translator,
    check_size,
    function_depth,
    place,
)
from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.heads import head_parameter_names
from bpttlab.derivations.printable import check_text
from bpttlab.derivations.symbols import H, vector

__all__ = ["Line", "custom_cell", "load_cell_file", "parse_cell_file", "parse_lines"]

HEADERS = ("name", "title", "states", "params")
_HEADER = re.compile(r"^(?P<key>[A-Za-z_]+)\s*:(?P<value>.*)$")
_STEP_NAME = re.compile(r"^(?P<base>[A-Za-z_]\w*?)_t$")
#: The byte-order mark some editors put at the start of a UTF-8 file.
BOM = "\ufeff"


@dataclass(frozen=True)
class Line:
    """One equation as written: ``lhs = expr`` on line ``lineno`` of ``where`` (a file or "line")."""

    lhs: str
    expr: ast.expr
    lineno: int
    text: str


def _check_ascii_names(code: str, where: str | None, lineno: int) -> None:
    """Every name on the line is an ASCII identifier as typed: Python would normalise ``ｈ_t`` to
    ``h_t`` (NFKC) and lets ``W_хh`` (a Cyrillic х) stand beside ``W_xh``; both are refused here."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        return  # ast.parse reports the syntax error
    for token in tokens:
        if token.type == tokenize.NAME and not token.string.isascii():
            raise ValueError(f"{place(where, lineno)}: the name {token.string!r} is not ASCII; names are "
                             f"made of the letters a–z, A–Z, the digits and _")


def parse_lines(text: str, where: str | None = None, first_line: int = 1) -> tuple[Line, ...]:
    """The equations of ``text``, one a line (blank lines and ``#`` comments skipped), parsed by
    :func:`ast.parse` into ``name = expression``; a ``ValueError`` names the line otherwise."""
    lines = []
    for offset, raw in enumerate(text.splitlines()):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        lineno = first_line + offset
        _check_ascii_names(stripped, where, lineno)
        if len(max(re.findall(r"\d+", stripped), key=len, default="")) > 300:
            raise ValueError(f"{place(where, lineno)}: a number with more than 300 digits; constants are "
                             f"finite floating-point numbers")
        try:
            module = ast.parse(stripped, mode="exec")
        except SyntaxError as error:
            shown = stripped if len(stripped) <= 80 else stripped[:77] + "..."
            raise ValueError(f"{place(where, lineno)}: syntax error ({error.msg}) in {shown!r}") from None
        except (RecursionError, MemoryError):
            raise ValueError(f"{place(where, lineno)}: the equation is too deeply nested to parse; split it "
                             f"into intermediate values") from None
        statement = module.body[0] if len(module.body) == 1 else None
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)):
            shown = stripped if len(stripped) <= 80 else stripped[:77] + "..."
            raise ValueError(f"{place(where, lineno)}: expected one equation `name = expression`, "
                             f"got {shown!r}")
        check_size(statement.value, where, lineno)
        lines.append(Line(statement.targets[0].id, statement.value, lineno, stripped))
    return tuple(lines)


def _preactivation(name: str, number: int | None = None) -> str:
    """The pre-activation of ``f_t = σ(…)`` is ``a_{f,t}``; of ``gate = σ(…)``, ``a_{gate}``; the k-th of
    several functions on one line ``a_{f,k,t}``."""
    match = _STEP_NAME.match(name)
    base, time = (match["base"], ",t") if match else (name, "")
    return f"a_{{{base}{'' if number is None else f',{number}'}{time}}}"


def _identifier(value: object, what: str) -> str:
    """``value`` if it is an ASCII identifier that is no Python keyword; else a ``ValueError``."""
    if not (isinstance(value, str) and value.isidentifier() and value.isascii()) or keyword.iskeyword(value):
        raise ValueError(f"{what} must be an ASCII identifier (letters, digits, _; not a Python keyword), "
                         f"got {value!r}")
    return value


def _located(where: str | None, lineno: int | None, message: str) -> ValueError:
    """``message`` at ``file:line`` when the line is known, at the file alone, or as it is."""
    if lineno:
        return ValueError(f"{place(where, lineno)}: {message}")
    return ValueError(f"{where}: {message}" if where else message)


def _check_names(lines: tuple[Line, ...], states: Mapping[str, str], params: tuple[str, ...],
                 where: str | None, header: Mapping[str, int]) -> None:
    reserved = head_parameter_names()
    assigned: dict[str, int] = {}
    for line in lines:
        at, name = place(where, line.lineno), line.lhs
        if name == INPUT or name in states.values():
            raise ValueError(f"{at}: {name} is an input of the step and cannot be assigned")
        if name.startswith(("W_", "b_")) or name in params:
            raise ValueError(f"{at}: {name} is a parameter and cannot be assigned")
        if name in assigned:
            raise ValueError(f"{at}: {name} is assigned twice (first on {place(where, assigned[name])})")
        assigned[name] = line.lineno
    for new, prev in states.items():
        if new not in assigned:
            raise _located(where, header.get("states"),
                           f"state {new!r} (states: {new} <- {prev}) is not assigned by any line")
    for name in params:
        if name.startswith("W_"):
            raise _located(where, header.get("params"),
                           f"params: {name!r} must be a name for a vector parameter (not W_…)")
    used = [(name, header.get("params")) for name in params]
    used += [(name, line.lineno) for line in lines for name in _parameters_read(line.expr)]
    for name, lineno in used:
        if name in reserved:
            raise _located(where, lineno, f"the name {name} is the output head's parameter "
                                          f"({', '.join(reserved)} are the head's, in the same dictionary "
                                          f"of parameters); choose another")


def _parameters_read(expr: ast.expr) -> list[str]:
    return [n.id for n in ast.walk(expr) if isinstance(n, ast.Name) and n.id.startswith(("W_", "b_"))]


def _name_pre_activations(line: str, rhs: sp.MatrixExpr, applications: list[Elementwise]
                          ) -> tuple[list[sp.Eq], sp.MatrixExpr]:
    """Every function applied to an expression on the line (``applications``, innermost and leftmost
    first, as written) gets that expression stored and named as its pre-activation; the line's right
    side then reads the names."""
    written = {}  # each application as SymPy rebuilt it (doit) → its place in the line
    for position, node in enumerate(applications):
        written.setdefault(node.doit(), position)
    found = [node for node in sp.postorder_traversal(rhs)
             if isinstance(node, Elementwise) and not isinstance(node.arg, sp.MatrixSymbol)]
    applications = sorted(dict.fromkeys(found), key=lambda node: written.get(node.doit(), len(written)))
    numbered = len(applications) > 1
    named: dict[sp.MatrixExpr, sp.MatrixSymbol] = {}
    equations = []
    for k, node in enumerate(applications, start=1):
        symbol = vector(_preactivation(line, k if numbered else None), H)
        equations.append(sp.Eq(symbol, node.arg.xreplace(named), evaluate=False))
        named[node.arg] = symbol
    return equations, rhs.xreplace(named)


def custom_cell(name: str, equations: str, states: Mapping[str, str], params: Iterable[str] = (),
                title: str | None = None, *, where: str | None = None, first_line: int = 1,
                header: Mapping[str, int] | None = None) -> Cell:
    """A :class:`Cell` from equations in NumPy's syntax (see the module docstring).

    ``states`` maps each new state to the previous one it replaces, the first feeding the head;
    ``params`` names the extra vector parameters (beyond ``W_…`` and ``b_…``). A function applied to
    an expression gets its pre-activation stored and named, as in the textbooks (``f_t = σ(a_{f,t})``).
    ``where`` and ``first_line`` place errors in a file (``header``: the lines of a ``.cell`` file's
    ``states:`` and ``params:`` headers and its last line). Every mistake raises one ``ValueError``.
    """
    _identifier(name, "name")
    if not isinstance(equations, str):
        raise ValueError(f"equations must be a string of lines `name = expression`, got {equations!r}")
    if not isinstance(states, Mapping) or not states:
        raise ValueError(f"states must map each new state to the previous one, e.g. {{'h_t': 'h_prev'}}; "
                         f"got {states!r}")
    for new, prev in states.items():
        _identifier(new, "a state's name")
        _identifier(prev, "a previous state's name")
    if len(set(states.values())) != len(states):
        raise ValueError(f"states: two states replace the same previous state ({states!r})")
    if isinstance(params, str):
        params = (params,)
    try:
        params = tuple(params)
    except TypeError:
        raise ValueError(f"params must be names of vector parameters, e.g. ('p_i', 'u'); "
                         f"got {params!r}") from None
    for p in params:
        _identifier(p, "params: a parameter's name")
    if title is not None:
        check_text(title, "cell title")
    header = dict(header or {})
    lines = parse_lines(equations, where, first_line)
    if not lines:
        raise _located(where, header.get("end"), "no equation found: write one line `name = expression` "
                                                 "for each state and intermediate")
    _check_names(lines, states, params, where, header)
    translate = Translator(states, params, where)
    translate.later = {line.lhs: line.lineno for line in lines}
    result, named, depths, defined = [], [], {}, {}
    for line in lines:
        translate.lineno = line.lineno
        del translate.later[line.lhs]
        translate.applications = []
        rhs = translate(line.expr)
        if not getattr(rhs, "is_Matrix", False):
            raise translate.error(f"{line.lhs} is a constant; every line defines a vector of H entries")
        if rhs.shape[0] != H:
            raise translate.error(f"{line.lhs} would have D entries (x_t without a weight); states and "
                                  f"intermediates have H")
        symbol = vector(line.lhs, H)
        depths[symbol] = function_depth(rhs, depths)
        if depths[symbol] > MAX_FUNCTIONS:
            raise translate.error(f"{line.lhs} is {depths[symbol]} functions deep (through the lines "
                                  f"before it), more than the {MAX_FUNCTIONS} a proof can expand; "
                                  f"nest fewer functions")
        pre_activations, rhs = _name_pre_activations(line.lhs, rhs, translate.applications)
        result += pre_activations
        named += [eq.lhs for eq in pre_activations]
        first_state = line.lhs == next(iter(states))
        if not first_state and (line.lhs in states or not isinstance(rhs, Elementwise)):
            named.append(symbol)  # a further state, or an intermediate that is not a function's output
        result.append(sp.Eq(symbol, rhs, evaluate=False))
        # an alias (a_t = h_prev) is read as what it names, so that a_t - h_prev is folded to 0 as the
        # file is read: left standing, it cancelled only in exact arithmetic, and its terms rounded
        # away where the values are large (exp(150 - 1000 b_a + a_t - h_prev))
        translate.names[line.lhs] = rhs if isinstance(rhs, sp.MatrixSymbol) else symbol
        defined[line.lhs] = symbol
    new_states = tuple((defined[new], translate.names[prev]) for new, prev in states.items())
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


def _header_name(text: str, lineno: int, where: str | None, key: str) -> str:
    """One name of a header line, an ASCII identifier; else a ``ValueError`` at ``file:line``."""
    name = text.strip()
    if not name.isidentifier() or not name.isascii() or keyword.iskeyword(name):
        raise ValueError(f"{place(where, lineno)}: {key}: {name!r} is not an ASCII identifier")
    return name


def _split_header(text: str, where: str | None) -> tuple[dict[str, tuple[str, int]], list[str]]:
    """A ``.cell`` file's header lines (key → value and line number) and its body, one entry a line
    (a header line's entry empty, so that the body's line numbers are the file's)."""
    header: dict[str, tuple[str, int]] = {}
    body, first = [], None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.split("#", 1)[0].strip() if not raw.strip().startswith("#") else ""
        match = _HEADER.match(stripped)
        if match and (match["key"] in HEADERS or "=" not in stripped):
            key = match["key"]
            if key not in HEADERS:
                raise ValueError(f"{place(where, lineno)}: unknown header {key!r}; "
                                 f"valid: {', '.join(HEADERS)}")
            if first is not None:
                raise ValueError(f"{place(where, lineno)}: header {key!r} after the equations")
            if key in header:
                raise ValueError(f"{place(where, lineno)}: header {key!r} given twice")
            header[key] = (match["value"].strip(), lineno)
            body.append("")
        else:
            if stripped and first is None:
                first = lineno
            body.append(raw)
    return header, body


def _states(value: str, lineno: int, where: str | None) -> dict[str, str]:
    """The ``states:`` header line's pairs ``h_t <- h_prev``, new name → previous name."""
    states: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in value.split(","))):
        new, arrow, prev = pair.partition("<-")
        if not arrow or not new.strip() or not prev.strip():
            raise ValueError(f"{place(where, lineno)}: states are written `h_t <- h_prev`, got {pair!r}")
        new, prev = _header_name(new, lineno, where, "states"), _header_name(prev, lineno, where, "states")
        if new in states:
            raise ValueError(f"{place(where, lineno)}: state {new} is listed twice")
        if prev in states.values():
            raise ValueError(f"{place(where, lineno)}: two states replace {prev}")
        states[new] = prev
    if not states:
        raise ValueError(f"{place(where, lineno)}: states: no state given; write `states: h_t <- h_prev`")
    return states


def parse_cell_file(text: str, where: str | None = None) -> Cell:
    """A cell from the text of a ``.cell`` file: header lines ``name:``, ``title:``, ``states:``
    (``h_t <- h_prev, c_t <- c_prev``), ``params:`` (``p_i, p_f``), then one equation a line.
    A byte-order mark at the start is ignored.

    >>> c = parse_cell_file('''# Elman
    ... name: elman
    ... states: h_t <- h_prev
    ... params:
    ... h_t = tanh(W_xh @ x_t + W_hh @ h_prev + b_h)
    ... ''')
    >>> c.name, [eq.lhs.name for eq in c.equations]
    ('elman', ['a_{h,t}', 'h_t'])
    """
    text = text.removeprefix(BOM)
    header, body = _split_header(text, where)
    for key in ("name", "states"):
        if key not in header:
            raise ValueError(f"{where or 'cell file'}: missing header line '{key}: …'")
    value, lineno = header["states"]
    states = _states(value, lineno, where)
    params_value, params_line = header.get("params", ("", 0))
    params = tuple(_header_name(p, params_line, where, "params")
                   for p in params_value.split(",") if p.strip())
    name, name_line = header["name"]
    if not name.isidentifier() or not name.isascii() or keyword.iskeyword(name):
        raise ValueError(f"{place(where, name_line)}: name: {name!r} is not an ASCII identifier "
                         f"such as 'mgu'")
    title, title_line = header.get("title", ("", 0))
    if title:
        try:
            check_text(title, "cell title")
        except ValueError as error:
            raise ValueError(f"{place(where, title_line)}: {error}") from None
    lines = {"states": lineno, "params": params_line, "end": max(len(text.splitlines()), 1)}
    return custom_cell(name, "\n".join(body), states, params, title or None, where=where, header=lines)


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
