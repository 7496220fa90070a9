"""What an equation sheet shows, as LaTeX fragments printed from the derivations.

Everything mathematical on a sheet comes from :func:`derivations.derive` through the
:class:`~reports.latex_printer.SheetPrinter`; this module only chooses *which* expressions a section
shows (the forward step, one step of BPTT, the step Jacobians, the chain rule at T = 3, the path that
keeps gradients alive). The prose and the page layout are in ``reports/sheets/templates``.

The templates have prose of their own for the course's four cells (:data:`CURATED`, recognised by
their equations). Every other cell, shipped variant or a user's, gets :class:`Facts` and symbol-table
roles read from its equations alone, which the templates turn into neutral prose: which values are
states, which are gates (σ outputs), which parameters are weight matrices, which vectors are biases
(``b_…`` added as they are, :func:`is_bias`) and which are parameter vectors (a peephole ``p_i``,
IndRNN's ``u``).

>>> cell_sheet("indrnn", "course").facts.vectors, cell_sheet("lstm", "course").facts is None
(('u',), True)

>>> sheet = cell_sheet("rnn", "course")
>>> sheet.gradients[0].param, sheet.gradients[0].per_step
('W_{xh}', '\\\\delta a_t x_t^{\\\\top}')
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache, partial

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

from bpttlab.derivations import HEADS, Cell, Derivation, Elementwise, carry, delta, derive, resolve_cell
from bpttlab.derivations.activations import activation
from bpttlab.derivations.cells.gru import gru, gru_torch
from bpttlab.derivations.cells.lstm import lstm
from bpttlab.derivations.cells.rnn import rnn
from bpttlab.derivations.explicit import explicit
from bpttlab.derivations.printing.escape import escape_text
from bpttlab.derivations.printing.latex_printer import aligned, concatenated_forms, equation, gates, latex
from bpttlab.derivations.printing.notations import notation as notation_of
from bpttlab.derivations.printing.notations import parse_index, parse_name
from bpttlab.derivations.printing.time_index import at_step
from bpttlab.derivations.symbols import H
from bpttlab.derivations.tidy import coefficient_and_matrix, tidy

__all__ = [
    "CURATED",
    "Carried",
    "CellSheet",
    "Chain",
    "Facts",
    "Gradient",
    "HeadSheet",
    "JacobianBlock",
    "Path",
    "Recurrence",
    "SymbolRow",
    "cell_sheet",
    "combined",
    "curated",
    "forward_order",
    "head_sheet",
    "is_bias",
    "recurrences",
    "step_groups",
    "step_terms",
    "survival",
    "symbols",
]

# Lines of a long sum are broken after about this many characters of LaTeX source.
LINE_WIDTH = 110

#: The cells the templates have prose of their own for (the course's four), recognised by their
#: equations rather than their names: a custom cell that calls itself "rnn" gets the neutral prose.
CURATED = {make.__name__: make() for make in (rnn, lstm, gru, gru_torch)}

#: The values an element-wise function takes, and the bound on its derivative (None: unbounded).
RANGES = {"sigmoid": "(0, 1)", "tanh": "(-1, 1)", "relu": r"[0, \infty)", "softplus": r"(0, \infty)",
          "exp": r"(0, \infty)"}
DERIVATIVE_BOUNDS = {"sigmoid": "0.25", "tanh": "1", "relu": "1", "softplus": "1", "exp": None}
# More states than this and the chain rule names the blocks of the step Jacobian instead of listing them.
LISTED_BLOCKS = 3


def curated(cell: Cell) -> str | None:
    """The key of the templates' own prose for ``cell`` (its name), or None for the neutral prose."""
    return cell.name if CURATED.get(cell.name) == cell else None


@dataclass(frozen=True)
class SymbolRow:
    symbol: str
    space: str
    role: str  # a key of the templates' `roles` table
    gate: str  # a key of their `words` table after "gate_", or ""
    args: tuple[tuple[str, str], ...] = ()  # {key} in the role's text → this math (neutral rows)


@dataclass(frozen=True)
class Gradient:
    param: str
    per_step: str


@dataclass(frozen=True)
class JacobianBlock:
    new: str
    previous: str
    value: str


@dataclass(frozen=True)
class Chain:
    """The chain rule at T = 3: names at steps 1, 2, 3, j, j − 1, t, k, and the factors."""

    coupled: bool  # two states or more (h, c): the product runs over block Jacobians
    names: dict[str, str]
    steps: tuple[JacobianBlock, ...]
    block_rows: tuple[tuple[str, ...], ...]  # empty when there are too many blocks to list
    parts: int = 1  # the number of states

    def __getattr__(self, name: str) -> str:  # chain.h_3 in the templates
        try:
            return self.names[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class Path:
    """The diagonal term of a step Jacobian that lets gradients through (LSTM cell state, GRU)."""

    new: str
    previous: str
    previous_k: str
    term: str
    term_j: str
    rest: bool  # the Jacobian has other terms too
    identity: bool = False  # the term is the identity: the gradient passes unchanged
    gate: str = ""  # the one gate the term is made of (f_t, z_t), or "" (see survival)
    survives: str = ""  # the gate's value ("0" or "1") at which every entry of the term is one
    fades: str = ""  # the value at which every entry is zero
    entry: str = ""  # one entry of the term's diagonal (f_t, 1 - z_t)


@dataclass(frozen=True)
class Carried:
    """A state the step carries: ``state`` C_t, ``total`` δC_t, ``received`` δC_t^{(t+1)} (what step
    t+1 sends back), ``sent`` δC_{t-1}^{(t)} (what step t sends back), ``end`` δC_T^{(T+1)} (zero)."""

    state: str
    total: str
    received: str
    sent: str
    end: str


@dataclass(frozen=True)
class Facts:
    """What the neutral prose says about a cell, read from its equations (all LaTeX math)."""

    states: tuple[str, ...]
    gates: tuple[str, ...]
    functions: tuple[str, ...]
    matrices: tuple[str, ...]
    biases: tuple[str, ...]
    vectors: tuple[str, ...]  # parameter vectors that are not biases (peepholes, IndRNN's u)
    scales: tuple[str, ...]  # those of them that multiply a value entry by entry
    bounded: tuple[tuple[str, str], ...]  # (f, the bound on |f'|, a decimal with a point)
    unbounded: tuple[str, ...]  # the functions whose derivative has no bound (exp)


@dataclass(frozen=True)
class CellSheet:
    name: str
    sym: dict[str, str]
    symbols: tuple[SymbolRow, ...]
    forward: str
    concatenated: str
    step_backward: str
    gradients: tuple[Gradient, ...]
    jacobians: tuple[JacobianBlock, ...]
    chain: Chain
    bound: dict[str, str] | None
    path: Path | None
    prose: str | None = None  # the templates' own prose for this cell (see curated), or neutral
    title: str = ""  # escaped: a user's cell file may hold anything
    bookmark: str = ""  # the title escaped for a PDF bookmark (the section's optional argument)
    name_tex: str = ""  # the name, escaped
    label: str = ""  # a \\label key made of safe characters
    facts: Facts | None = None
    carried: tuple[Carried, ...] = ()  # one per state, in the cell's order
    # The backward step as separate displays, so that a page may break between them but never inside
    # one: the values' deltas, what the step sends back (and δx_t), the parameters' terms in two columns.
    step_groups: tuple[str, ...] = ()
    parameter_term: str = ""  # step t's term of the first parameter's gradient, δW^{(t)}
    names: dict[str, str] | None = None  # every symbol of the cell by its derivation name, as LaTeX
    forget: tuple[str, str] | None = None  # (bias, gate) of the forget gate (Cell.forget_gate_bias)


@dataclass(frozen=True)
class HeadSheet:
    """A head's forward lines, its backward step (a parameter's line is step t's term δW^{(t)}) and
    its parameters' totals as (∂L/∂W, δW^{(t)}) pairs: ∂L/∂W = Σ_t δW^{(t)}."""

    name: str
    forward: str
    backward: str
    totals: tuple[tuple[str, str], ...] = ()


def _space(shape: tuple) -> str:
    rows, cols = (sp.latex(n) for n in shape)
    return rf"\mathbb{{R}}^{{{rows}}}" if cols == "1" else rf"\mathbb{{R}}^{{{rows} \times {cols}}}"


def _gate_letter(name: str) -> str:
    """The gate a name belongs to: ``W_xf``, ``b_f``, ``a_{f,t}`` → f; ``b_hn`` → n; RNN → h."""
    labels = parse_name(name).labels
    return labels[0][-1] if labels else "h"


def _uses(c: Cell) -> dict[sp.MatrixSymbol, list[sp.MatrixSymbol]]:
    """Each symbol → the left sides of the equations whose right side reads it."""
    uses: dict[sp.MatrixSymbol, list[sp.MatrixSymbol]] = {}
    for eq in c.equations:
        for symbol in eq.rhs.atoms(sp.MatrixSymbol):
            uses.setdefault(symbol, []).append(eq.lhs)
    return uses


def _operands(c: Cell) -> dict[sp.MatrixSymbol, list[sp.MatrixExpr]]:
    """Each weight matrix → what it multiplies (``W_xf`` → [x_t])."""
    operands: dict[sp.MatrixSymbol, list[sp.MatrixExpr]] = {}
    for eq in c.equations:
        for product in eq.rhs.atoms(sp.MatMul):
            factors = [f for f in product.args if isinstance(f, sp.MatrixExpr)]
            if len(factors) == 2 and isinstance(factors[0], sp.MatrixSymbol) and factors[0] in c.params:
                operands.setdefault(factors[0], []).append(factors[1])
    return operands


def _additive(c: Cell) -> set[sp.MatrixSymbol]:
    """The vectors that appear as a term of a sum on their own, as a bias does."""
    added = set()
    for eq in c.equations:
        for total in (eq.rhs, *eq.rhs.atoms(sp.MatAdd)):
            if isinstance(total, sp.MatAdd):
                added |= {t for t in total.args if isinstance(t, sp.MatrixSymbol)}
    return added


def _scaling(c: Cell) -> set[sp.MatrixSymbol]:
    """The vectors that are a factor of a Hadamard product (a peephole, IndRNN's u)."""
    return {f for eq in c.equations for product in eq.rhs.atoms(sp.HadamardProduct)
            for f in product.args if isinstance(f, sp.MatrixSymbol)}


def is_bias(c: Cell, p: sp.MatrixSymbol) -> bool:
    """A bias is a vector named ``b_…`` that is added as it is; other vectors (a peephole ``p_i``,
    IndRNN's ``u``) are parameter vectors, never called biases."""
    return p.shape[1] == 1 and p.name.startswith("b_") and p in _additive(c)


def _neutral_symbols(d: Derivation, show: Callable[[sp.Basic], str]) -> tuple[SymbolRow, ...]:
    """The symbol table of a cell the templates have no prose for: every role read from the equations."""
    c = d.cell
    uses, operands = _uses(c), _operands(c)

    def into(symbol: sp.MatrixSymbol) -> str:
        return ", ".join(show(lhs) for lhs in dict.fromkeys(uses.get(symbol, [])))

    definitions = {eq.lhs: eq.rhs for eq in c.equations}
    rows = {c.x: ("input", ())}
    for index, (new, prev) in enumerate(c.states):
        kind = "hidden" if index == 0 else "state"
        rows[prev] = (f"previous_{kind}", ())
        rows[new] = (kind, ())
        function = getattr(definitions[new], "name", None)  # a state that is a function's value
        if function in RANGES:
            rows[new] = (f"n_{kind}_{'gate' if function == 'sigmoid' else 'function'}",
                         (("value", show(definitions[new])), ("range", RANGES[function])))
    pre_activations = {eq.rhs.arg: eq.lhs for eq in c.equations
                       if isinstance(eq.rhs, Elementwise) and isinstance(eq.rhs.arg, sp.MatrixSymbol)}
    for eq in c.equations:
        if eq.lhs in rows:
            continue
        function = eq.rhs.name if isinstance(eq.rhs, Elementwise) else None
        if eq.lhs in pre_activations:
            rows[eq.lhs] = ("n_pre_activation", (("of", show(pre_activations[eq.lhs])),))
        elif function in RANGES:
            rows[eq.lhs] = ("n_gate" if function == "sigmoid" else "n_function",
                            (("value", show(eq.rhs)), ("range", RANGES[function])))
        else:
            rows[eq.lhs] = ("n_intermediate", (("into", into(eq.lhs)),))
    for p in c.params:
        if p.shape[1] != 1:
            on = list(dict.fromkeys(operands.get(p, [])))
            rows[p] = (("n_matrix_on", (("on", ", ".join(show(v) for v in on)), ("into", into(p))))
                       if on else ("n_matrix", (("into", into(p)),)))
        else:
            rows[p] = ("n_bias" if is_bias(c, p) else "n_vector", (("into", into(p)),))
    order = [c.x, *c.previous_states, *(eq.lhs for eq in c.equations), *c.params]
    return tuple(SymbolRow(show(s), _space(s.shape), rows[s][0], "", rows[s][1])
                 for s in dict.fromkeys(order))


def symbols(d: Derivation, show: Callable[[sp.Basic], str]) -> tuple[SymbolRow, ...]:
    """The symbol table of a cell: inputs, states, intermediates in order of evaluation, parameters."""
    c = d.cell
    if curated(c) is None:
        return _neutral_symbols(d, show)
    roles = {c.x: "input"}
    for (new, prev), kind in zip(c.states, ("hidden", "cell"), strict=False):
        roles[prev], roles[new] = f"previous_{kind}", kind
    for eq in c.equations:
        if eq.lhs in roles:
            continue
        function = getattr(eq.rhs, "name", None)  # Elementwise nodes carry the function's name
        roles[eq.lhs] = ("pre_activation" if eq.lhs.name.startswith("a_") else
                         "gate" if function == "sigmoid" else
                         "candidate" if function == "tanh" else
                         "reset_product" if isinstance(eq.rhs, sp.HadamardProduct) else "recurrent_part")
    for p in c.params:
        roles[p] = ("input_weight" if p.name.startswith("W_x") else "recurrent_weight"
                    if p.name.startswith("W_h") else "recurrent_bias" if p.name == "b_hn" else "bias")
    order = [c.x, *c.previous_states, *(eq.lhs for eq in c.equations), *c.params]
    rows = []
    for s in dict.fromkeys(order):
        role = roles[s]
        gate = (s.name[0] if role in ("gate", "candidate") else
                _gate_letter(s.name) if role in ("pre_activation", "input_weight", "recurrent_weight",
                                                 "bias", "recurrent_bias") else "")
        rows.append(SymbolRow(show(s), _space(s.shape), role, gate))
    return tuple(rows)


def _terms(expr: sp.MatrixExpr) -> list[tuple[str, sp.MatrixExpr]]:
    """(sign, term without its sign) for each term of a sum, positive terms first."""
    terms = []
    for term in expr.args if isinstance(expr, sp.MatAdd) else (expr,):
        coefficient, body = coefficient_and_matrix(term)
        negative = coefficient.could_extract_minus_sign()
        magnitude = -coefficient if negative else coefficient
        terms.append(("-" if negative else "+", body if magnitude == 1 else magnitude * body))
    return sorted(terms, key=lambda t: t[0] == "-")


def _pieces(expr: sp.MatrixExpr, show: Callable[[sp.Basic], str], width: int) -> list[str]:
    """The signed terms of a sum, printed; a long product ending in a sum, ``A (B + C)``, is opened
    up into ``A \\bigl( B``, ``+ C \\bigr)`` so that it can break too."""
    pieces: list[str] = []
    for sign, term in _terms(expr):
        head = "" if not pieces and sign == "+" else f"{sign} "
        factors = term.args if isinstance(term, sp.MatMul) else ()
        if len(show(term)) > width and factors and isinstance(factors[-1], sp.MatAdd):
            inner = _pieces(factors[-1], show, width)
            opening = rf"{head}{show(sp.MatMul(*factors[:-1]))} \bigl("
            if len(opening) > width * 0.8:  # a long factor before the parenthesis: a line of its own
                inner.insert(0, opening)
            else:
                inner[0] = f"{opening} {inner[0]}"
            inner[-1] += r" \bigr)"
            pieces += inner
        else:
            pieces.append(head + show(term))
    return pieces


def broken(expr: sp.MatrixExpr, show: Callable[[sp.Basic], str], width: int = LINE_WIDTH) -> str:
    """``show(expr)``, or for a long sum (or a product ending in one) its terms over several
    ``align`` lines."""
    whole = show(expr)
    opens = isinstance(expr, sp.MatMul) and isinstance(expr.args[-1], sp.MatAdd)  # A (B + C)
    if len(whole) <= width or not (isinstance(expr, sp.MatAdd) or opens):
        return whole
    lines: list[str] = []
    for piece in _pieces(expr, show, width):
        if lines and len(lines[-1]) + len(piece) < width:
            lines[-1] += f" {piece}"
        else:
            lines.append(piece)
    return r" \\ &\quad ".join(lines)


def _chain(d: Derivation, show: Callable[[sp.Basic], str], notation: str) -> Chain:
    c = d.cell
    h, h_prev = c.states[0]
    step_at = partial(at_step, fixed=c.params)  # a parameter keeps its name, whatever it ends in
    names = {f"{kind}_{step}": show(step_at(symbol, step))
             for kind, symbol in (("h", h), ("loss", d.head.loss if d.head else h))
             for step in (1, 2, 3)}
    names |= {"h_t": show(h), "h_k": show(step_at(h, "k")), "h_j": show(step_at(h, "j")),
              "h_j1": show(step_at(h_prev, "j"))}
    coupled = len(c.states) > 1
    if not coupled:
        J = d.jacobian[(h.name, h_prev.name)]
        steps = tuple(JacobianBlock(show(step_at(h, j)), show(step_at(h_prev, j)),
                                    broken(step_at(combined(J), j), show)) for j in (3, 2))
        return Chain(False, names, steps, ())
    for step in (1, 2, 3, "j"):
        names[f"s_{step}"] = ", ".join(show(step_at(new, step)) for new in c.new_states)
    names["s_j1"] = ", ".join(show(step_at(prev, "j")) for prev in c.previous_states)
    # The column form for ℓ_3 alone: what step 2 sends back to the state at step 1, from the head's
    # δh_3 and what step 4 would send to the other states (nothing: δC_3^{(4)} = 0).
    names["deltas_1"] = r" \\ ".join(show(step_at(carry(new), 1)) for new in c.new_states)
    names["deltas_3"] = r" \\ ".join([show(delta(step_at(h, 3))),
                                       *(show(step_at(carry(new), 3)) for new in c.new_states[1:])])
    # The rows and columns of h: an index, so never bold (h, not the vector \bm{h}).
    letter = re.sub(r"\\bm\{([^{}]*)\}", r"\1", notation_of(notation).typeset(h.name).body)
    names["hh"] = f"{letter}{letter}" if len(letter) == 1 else f"{letter},{letter}"
    rows = ()
    if len(c.states) <= LISTED_BLOCKS:
        rows = tuple(tuple(rf"\dfrac{{\partial {show(step_at(new, 'j'))}}}"
                           rf"{{\partial {show(step_at(prev, 'j'))}}}"
                           for prev in c.previous_states) for new in c.new_states)
    return Chain(True, names, (), rows, len(c.states))


def _path(d: Derivation, show: Callable[[sp.Basic], str]) -> Path | None:
    """A diagonal term of a state's own step Jacobian that involves no weight matrix: a path along
    which the gradient is only scaled entry by entry. The states are searched last first (the LSTM's
    cell state before its hidden state), and a term without parameters comes before one with
    (the LSTM's ``diag(f_t)`` before a peephole's term)."""
    c = d.cell
    matrices = {p for p in c.params if p.shape[1] != 1}
    for new, prev in reversed(c.states):
        J = d.jacobian[(new.name, prev.name)]
        terms = list(J.args) if isinstance(J, sp.MatAdd) else [J]
        diagonal = [t for t in terms if isinstance(t, DiagMatrix | sp.Identity)
                    and not (t.atoms(sp.MatrixSymbol) & matrices)]
        if diagonal:
            term = min(diagonal, key=lambda t: bool(t.atoms(sp.MatrixSymbol) & set(c.params)))
            identity = isinstance(term, sp.Identity)
            term_j = at_step(term, "j", fixed=c.params)
            path = Path(show(new), show(prev), show(at_step(new, "k", fixed=c.params)), show(term),
                        show(term_j), len(terms) > 1, identity)
            found = survival(term, gates(c))
            if found is None:
                return path
            gate, survives, fades = found
            gate_symbol = sp.MatrixSymbol(gate, *c.h.shape)
            return replace(path, gate=show(gate_symbol), survives=survives, fades=fades,
                           entry=show(term.args[0]) if isinstance(term, DiagMatrix) else "")
    return None


def survival(term: sp.MatrixExpr, gate_names: tuple[str, ...]) -> tuple[str, str, str] | None:
    """(gate, value where the direct path survives, value where it fades) of a diagonal term made of
    one gate alone: ``diag(f_t)`` → ("f_t", "1", "0"), ``diag(1 - z_t)`` → ("z_t", "0", "1"). The
    term is evaluated with the gate at 0 and at 1 (one unit); None when the term holds anything else
    or is not one at either value, so that prose is only ever written from what the term says."""
    if not isinstance(term, DiagMatrix):
        return None
    names = {symbol.name for symbol in term.atoms(sp.MatrixSymbol)}
    if len(names) != 1 or not names <= set(gate_names):
        return None
    (gate,) = names
    sizes = {size: 1 for size in term.free_symbols if isinstance(size, sp.Symbol)}
    sizes |= {H: 1}
    value = {v: explicit(term, sizes, {gate: sp.ImmutableMatrix([[v]])})[0, 0] for v in (0, 1)}
    for survives, fades in ((1, 0), (0, 1)):
        if sp.simplify(value[survives] - 1) == 0 and sp.simplify(value[fades]) == 0:
            return gate, str(survives), str(fades)
    return None


def combined(expr: sp.Basic) -> sp.Basic:
    """``expr`` with the terms of every sum that end in the same matrix merged into one:
    ``diag(a) W + diag(b) W`` → ``diag(a + b) W``, the vectors then tidied (the GRU's two
    :math:`W_{hz}` terms become ``diag(z ⊙ (1 - z) ⊙ (h̃ - h_{t-1})) W_hz``). A rewrite for
    printing, equal to ``expr`` term by term; it applies to any cell."""
    if not isinstance(expr, sp.MatrixExpr) or not expr.args or isinstance(expr, sp.MatrixSymbol):
        return expr
    args = [combined(a) for a in expr.args]
    if not isinstance(expr, sp.MatAdd):
        return expr.func(*args) if args != list(expr.args) else expr
    groups: dict[sp.MatrixExpr, list[sp.MatrixExpr]] = {}
    rest = []
    for term in args:
        coefficient, body = coefficient_and_matrix(term)
        factors = body.args if isinstance(body, sp.MatMul) else ()
        if len(factors) == 2 and isinstance(factors[0], DiagMatrix):
            groups.setdefault(factors[1], []).append(coefficient * factors[0].args[0])
        else:
            rest.append(term)
    terms = []
    for right, vectors in groups.items():
        inside = vectors[0] if len(vectors) == 1 else tidy(sp.MatAdd(*vectors))
        terms.append(sp.MatMul(DiagMatrix(inside), right))
    return sp.MatAdd(*rest, *terms) if len(rest) + len(terms) > 1 else (rest + terms)[0]


def forward_order(d: Derivation) -> tuple[sp.Eq, ...]:
    """The lines of one backward step in the order of the forward pass where the dependencies allow:
    the carried states' gradients first (δc_t), then the others by the position of their value in
    the forward equations (the LSTM's δa_i, δa_f, δa_g, δa_o, as in its forward), then the rest as
    derived. Each line still comes after every line it reads."""
    c = d.cell
    position = {eq.lhs.name: i for i, eq in enumerate(c.equations)}
    states = {s.name for s in c.new_states}
    defined = {eq.lhs for eq in d.step_backward}
    lines = list(d.step_backward)

    def key(index: int) -> tuple[int, int, int]:
        name = parse_name(lines[index].lhs.name)
        value = name.raw().removeprefix("δ") if name.delta else ""
        return (0 if value in states else 1, position.get(value, len(position)), index)

    order, done = [], set()
    while len(order) < len(lines):
        known = {lines[j].lhs for j in done}
        ready = [i for i in range(len(lines)) if i not in done
                 and all(s in known or s not in defined for s in lines[i].rhs.atoms(sp.MatrixSymbol))]
        chosen = min(ready, key=key)
        order.append(chosen)
        done.add(chosen)
    return tuple(lines[i] for i in order)


def step_terms(d: Derivation) -> tuple[sp.Eq, ...]:
    """One backward step (:func:`forward_order`) with each left side named for what it is: what the
    step sends back to a previous state is ``δh_{t-1}^{(t)}`` (the sum of it and the head's term is
    ``δh_{t-1}``), and a parameter's line is step t's term ``δW^{(t)}`` of the total ``δW``."""
    c = d.cell
    renamed = {delta(prev): at_step(carry(new), "t-1", fixed=c.params) for new, prev in c.states}
    renamed |= {delta(p): sp.MatrixSymbol(f"δ{p.name}^{{(t)}}", *p.shape) for p in c.params}
    return tuple(sp.Eq(renamed.get(eq.lhs, eq.lhs), eq.rhs, evaluate=False) for eq in forward_order(d))


def _forget(c: Cell, show: Callable[[sp.Basic], str]) -> tuple[str, str] | None:
    """(b_f, f_t) as LaTeX: the cell's forget-gate bias and the gate it feeds, or None."""
    bias = c.forget_gate_bias
    if bias is None:
        return None
    defined = {eq.lhs: eq.rhs for eq in c.equations}
    for gate, rhs in defined.items():
        if isinstance(rhs, Elementwise) and rhs.name == "sigmoid" and \
                bias in {s.name for s in defined.get(rhs.arg, sp.S.Zero).atoms(sp.MatrixSymbol)}:
            return show(next(p for p in c.params if p.name == bias)), show(gate)
    return None


def step_groups(d: Derivation, notation: str) -> tuple[str, ...]:
    """:func:`step_terms` as ``align*`` bodies: the deltas of the step's values; what it sends back
    to the previous states and to the input; the parameters' terms, two to a line. Empty groups
    are left out."""
    c = d.cell
    show = partial(latex, notation=notation, gates=gates(c))
    params = {delta(p).name.removeprefix("δ") for p in c.params}
    groups: dict[str, list[sp.Eq]] = {"values": [], "sent": [], "params": []}
    for eq in step_terms(d):
        name = parse_name(eq.lhs.name)
        if name.is_parameter and name.raw().removeprefix("δ").split("^")[0] in params:
            groups["params"].append(eq)
        elif name.carry is not None or eq.lhs == delta(c.x):
            groups["sent"].append(eq)
        else:
            groups["values"].append(eq)
    bodies = [aligned(groups[k], notation=notation, gates=gates(c)) for k in ("values", "sent") if groups[k]]
    pairs = [groups["params"][i:i + 2] for i in range(0, len(groups["params"]), 2)]
    if pairs:
        bodies.append(" \\\\\n".join(" & ".join(f"{show(eq.lhs)} &= {show(eq.rhs)}" for eq in pair)
                                     for pair in pairs))
    return tuple(bodies)


def _facts(d: Derivation, show: Callable[[sp.Basic], str]) -> Facts:
    c = d.cell
    functions = []
    for eq in c.equations:
        functions += [node.name for node in sp.preorder_traversal(eq.rhs) if isinstance(node, Elementwise)]
    functions = list(dict.fromkeys(functions))
    vectors = [p for p in c.params if p.shape[1] == 1]
    return Facts(
        states=tuple(show(s) for s in c.new_states),
        gates=tuple(show(sp.MatrixSymbol(g, *c.h.shape)) for g in gates(c)),
        functions=tuple(activation(f).latex for f in functions),
        matrices=tuple(show(p) for p in c.params if p.shape[1] != 1),
        biases=tuple(show(p) for p in vectors if is_bias(c, p)),
        vectors=tuple(show(p) for p in vectors if not is_bias(c, p)),
        scales=tuple(show(p) for p in vectors if not is_bias(c, p) and p in _scaling(c)),
        bounded=tuple((activation(f).latex, DERIVATIVE_BOUNDS[f]) for f in functions
                      if DERIVATIVE_BOUNDS.get(f)),
        unbounded=tuple(activation(f).latex for f in functions if not DERIVATIVE_BOUNDS.get(f)),
    )


def _label(c: Cell) -> str:
    """``sec:`` and the name where that is safe in a ``\\label``, else a digest of it."""
    if c.name.isascii() and c.name.isidentifier():
        return c.name
    return "cell-" + hashlib.sha1(c.name.encode("utf-8")).hexdigest()[:12]


def cell_sheet(cell: str | os.PathLike | Cell, notation: str) -> CellSheet:
    """Everything one cell's section shows, printed in ``notation`` ("course" or "dlbook"); ``cell``
    is a registered name, a ``.cell`` path or a :class:`~bpttlab.derivations.Cell`. Printed once per
    cell and notation in a process: a cell's section is the same on its own sheet, on the course or
    variants sheet, and in either language."""
    return _cell_sheet(resolve_cell(cell), notation)


@cache
def _cell_sheet(c: Cell, notation: str) -> CellSheet:
    d = derive(c, head=None)
    show = partial(latex, notation=notation, gates=gates(c))
    h, h_prev = c.states[0]
    sym = {"inputs": ", ".join(show(s) for s in c.inputs),
           "outputs": ", ".join(show(s) for s in c.new_states),
           "delta_h": show(delta(h)),
           "c_t": show(c.states[-1][0]),
           "h_0": show(at_step(h, 0, fixed=c.params)),
           "deltas": ", ".join(show(delta(new)) for new in c.new_states)}
    # Every symbol of the cell by its derivation name, in the sheet's notation, for prose that
    # names them (the GRUs' comparison): cell.names["W_hn"].
    names = {symbol.name: show(symbol) for eq in c.equations
             for symbol in (eq.lhs, *eq.rhs.atoms(sp.MatrixSymbol))}
    carried = [Carried(show(new), show(delta(new)), show(carry(new)),
                       show(at_step(carry(new), "t-1", fixed=c.params)),
                       show(at_step(carry(new), "T", fixed=c.params)))
               for new in c.new_states]
    gradients = tuple(Gradient(show(sp.MatrixSymbol(p, *d.params[p])), show(g))
                      for p, g in d.gradients.items())
    state = {s.name: s for s in (*c.new_states, *c.previous_states)}
    jacobians = tuple(JacobianBlock(show(state[new]), show(state[prev]), broken(combined(J), show))
                      for (new, prev), J in d.jacobian.items())
    prose = curated(c)
    bound = None
    if prose == "rnn":  # Pascanu's bound, for the Elman RNN's diag(1 - h²) W_hh
        J = d.jacobian[(h.name, h_prev.name)]
        diagonal, weight = J.args[-2:]
        bound = {"diagonal": show(at_step(diagonal, "j")), "weight": show(weight)}
    return CellSheet(
        name=c.name, sym=sym, symbols=symbols(d, show),
        forward=aligned(c.equations, notation=notation, gates=gates(c)),
        concatenated=concatenated_forms(c, notation) if notation == "course" else "",
        step_backward=aligned(step_terms(d), notation=notation, gates=gates(c)),
        step_groups=step_groups(d, notation),
        carried=tuple(carried),
        names=names,
        forget=_forget(c, show),
        parameter_term=show(sp.MatrixSymbol(f"δ{c.params[0].name}^{{(t)}}", *c.params[0].shape)),
        gradients=gradients, jacobians=jacobians,
        chain=_chain(derive(c, "softmax", "last"), show, notation),
        bound=bound, path=_path(d, show),
        prose=prose, title=escape_text(c.title, "cell title"), name_tex=escape_text(c.name, "cell name"),
        bookmark=escape_text(c.title, "cell title", bookmark=True),
        label=_label(c), facts=None if prose else _facts(d, show),
    )


def head_sheet(name: str, notation: str) -> HeadSheet:
    """A head's forward equations (logits, prediction, loss) and its backward step, in which a
    parameter's line is step t's term δW^{(t)} of the total δW = ∂L/∂W (the sheet's one δ convention)."""
    d = derive("rnn", head=name)
    show = partial(latex, notation=notation)
    terms = {delta(p): sp.MatrixSymbol(f"δ{p.name}^{{(t)}}", *p.shape) for p in d.head.params}
    lines = [sp.Eq(terms.get(eq.lhs, eq.lhs), eq.rhs, evaluate=False) for eq in d.head_backward]
    return HeadSheet(name, aligned(d.head.equations, notation=notation), aligned(lines, notation=notation),
                     tuple((show(p), show(terms[delta(p)])) for p in d.head.params))


@dataclass(frozen=True)
class Recurrence:
    """How δh_t is assembled for the heads ``heads`` (their names), whose lines are the same: the
    (lhs, rhs) ``lines`` and the delta the head hands to the hidden state (``δs_t``, ``δŷ_t``)."""

    heads: tuple[str, ...]
    lines: tuple[tuple[str, str], ...]
    head_delta: str


def recurrences(notation: str) -> dict[str, tuple[Recurrence, ...]]:
    """How δh_t is assembled, for the loss at every step and at the last step only, one entry per
    distinct form: each head names the delta it hands over (δs_t for softmax and sigmoid, δŷ_t for
    the linear head, which has no logits of its own)."""
    out = {}
    for at in ("every", "last"):
        groups: dict[tuple, list[str]] = {}
        deltas = {}
        for name in HEADS:
            d = derive("rnn", name, at)
            lines = tuple(equation(eq, notation=notation) for eq in d.recurrence)
            groups.setdefault(lines, []).append(name)
            deltas[lines] = latex(delta(d.head.logits), notation=notation)
        out[at] = tuple(Recurrence(tuple(heads), lines, deltas[lines]) for lines, heads in groups.items())
    return out


def common_symbols(notation: str) -> dict[str, str]:
    """Names the prose mentions: ℓ_t, ℓ_T, h_t, h_k and the carry δh_t^{(t+1)}."""
    d = derive("rnn", "softmax")
    show = partial(latex, notation=notation)
    h, loss = d.cell.h, d.head.loss
    return {"loss_t": show(loss), "loss_T": show(at_step(loss, "T")), "loss_u": show(at_step(loss, "u")),
            "h_t": show(h),
            "h_k": show(at_step(h, "k")), "carry_h": show(carry(h)), "h_0": show(at_step(h, 0)),
            "h_1": show(at_step(h, 1)), "h_T": show(at_step(h, "T")),
            "T": notation_of(notation).time(parse_index("T")) if notation == "dlbook" else "T",
            "delta_h": show(delta(h)), "sent_h": show(at_step(carry(h), "t-1")),
            "end_h": show(at_step(carry(h), "T")), "W_hh": show(d.cell.params[1]),
            "W_xh": show(d.cell.params[0]), "W_hy": show(d.head.params[0]),
            "step_W": show(sp.MatrixSymbol(f"δ{d.cell.params[1].name}^{{(t)}}", *d.cell.params[1].shape)),
            "delta_W": show(delta(d.cell.params[1])), "x_t": show(d.cell.x),
            "h_j": show(at_step(h, "j")), "h_j1": show(at_step(d.cell.states[0][1], "j")),
            "h_prev": show(d.cell.states[0][1]), "h_k1": show(at_step(d.cell.states[0][1], "k"))}
