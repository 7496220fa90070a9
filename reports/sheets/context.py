"""What a sheet shows of a cell and of the heads, as LaTeX fragments in one notation.

Everything mathematical comes from :func:`bpttlab.derivations.derive` through the sheet printer; what
the cell *is* (its gates and what each does, its biases, its direct path, its forget gate) comes from
:mod:`bpttlab.derivations.structure`, read from the equations. This module only prints those records
in a notation; the words around them are each language's (:mod:`.languages`), and which sentence is
said is decided once, in ``templates/``. No cell is recognised by its name: a cell gets the prose its
equations call for.

>>> section = cell_section("indrnn", "course")
>>> section.facts.vectors, [g.symbol for g in cell_section("lstm", "course").gates]
(('u',), ['f_t', 'i_t', 'o_t'])
>>> section = cell_section("rnn", "course")
>>> section.gradients[0].param, section.gradients[0].term
('W_{xh}', '\\\\delta a_t x_t^{\\\\top}')
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

from bpttlab.derivations import Cell, Derivation, Elementwise, carry, delta, derive, resolve_cell
from bpttlab.derivations.activations import ACTIVATIONS
from bpttlab.derivations.heads import HEADS
from bpttlab.derivations.printing.breaking import broken
from bpttlab.derivations.printing.escape import escape_text
from bpttlab.derivations.printing.latex_printer import aligned, concatenated_forms, gates, latex
from bpttlab.derivations.printing.notations import notation as notation_of
from bpttlab.derivations.printing.time_index import at_step
from bpttlab.derivations.structure import (
    Role,
    combined,
    direct_path,
    facts,
    forget_gate,
    gate_roles,
    parameter_count,
    roles,
    step_term,
    step_terms,
)
from bpttlab.reports.sheets.diagrams import cell_diagram

__all__ = [
    "Bound",
    "CellFacts",
    "CellSection",
    "Chain",
    "GateInfo",
    "Gradient",
    "HeadSection",
    "JacobianBlock",
    "Path",
    "Recurrence",
    "SymbolRow",
    "cell_section",
    "head_sections",
    "recurrences",
    "sheet_symbols",
]

# More states than this and the chain rule names the blocks of the step Jacobian instead of listing them.
LISTED_BLOCKS = 3


@dataclass(frozen=True)
class SymbolRow:
    """One row of a symbol table: the symbol and its space (math) and what it is: ``kind`` (a key of
    the languages' ``role.*`` words) and ``args``, the math or words those sentences put in."""

    symbol: str
    space: str
    kind: str
    args: tuple[tuple[str, str], ...] = ()

    @property
    def values(self) -> dict[str, str]:
        return dict(self.args)


@dataclass(frozen=True)
class GateInfo:
    """A gate: its symbol, its ``role`` (the first of what it does: keep, write, read, update,
    reset; the gate's name on the sheet), what it reads (math) and every role it plays."""

    symbol: str
    role: str
    reads: tuple[str, ...]
    roles: tuple[dict, ...]


@dataclass(frozen=True)
class Gradient:
    param: str
    term: str  # step t's term δW^{(t)}'s right-hand side


@dataclass(frozen=True)
class JacobianBlock:
    new: str
    previous: str
    value: str


@dataclass(frozen=True)
class Chain:
    """The chain rule at T = 3 for the loss at the last step: names at steps 1, 2, 3, j, j − 1, t, k."""

    coupled: bool  # two states or more (h, c): the product runs over block Jacobians
    names: dict[str, str]
    block_rows: tuple[tuple[str, ...], ...]  # empty when there are too many blocks to list
    parts: int = 1  # the number of states

    def __getattr__(self, name: str) -> str:  # chain.h_3 in the templates
        try:
            return self.names[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class Bound:
    """Pascanu's bound for a cell with one state whose step Jacobian is diag(φ′(a_t)) M: ``diagonal``
    diag(φ′(a_j)), ``weight`` M (a matrix, or diag(u) for a vector), ``function`` φ, ``gamma`` the
    bound on |φ′| from the activation registry, ``vector``: M is diag(u) (its norm is max |u_i|)."""

    diagonal: str
    weight: str
    function: str
    derivative: str
    gamma: sp.Expr
    vector: bool
    parameter: str  # the name of the parameter M is made of (W_hh, u)


@dataclass(frozen=True)
class Path:
    """The printed :class:`~bpttlab.derivations.structure.DirectPath`."""

    new: str
    previous: str
    previous_k: str
    term: str
    term_j: str
    rest: bool
    identity: bool = False
    gate: str = ""
    survives: str = ""
    fades: str = ""
    entry: str = ""


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
class CellFacts:
    """:class:`~bpttlab.derivations.structure.Facts` printed: every entry math."""

    states: tuple[str, ...]
    gates: tuple[str, ...]
    functions: tuple[str, ...]
    matrices: tuple[str, ...]
    biases: tuple[str, ...]
    vectors: tuple[str, ...]
    scales: tuple[str, ...]
    bounded: tuple[tuple[str, sp.Expr], ...]
    unbounded: tuple[str, ...]


@dataclass(frozen=True)
class CellSection:
    """Everything a sheet shows of one cell, in one notation."""

    name: str
    title: str  # escaped: a user's cell file may hold anything
    bookmark: str
    name_tex: str
    label: str
    sym: dict[str, str | tuple[str, ...]]
    facts: CellFacts
    gates: tuple[GateInfo, ...]
    symbols: tuple[SymbolRow, ...]
    forward: str
    concatenated: str
    step_groups: tuple[str, ...]
    carried: tuple[Carried, ...]
    parameter_term: str
    gradients: tuple[Gradient, ...]
    jacobians: tuple[JacobianBlock, ...]
    chain: Chain
    bound: Bound | None
    path: Path | None
    forget: tuple[str, str] | None
    torch_blocks: int
    names: dict[str, str]
    states: int
    head_state: str
    intuition: tuple[dict, ...] = ()
    diagram: str = ""  # one step as a TikZ graph (reports/sheets/diagrams.py)

    @property
    def gated(self) -> bool:
        return bool(self.gates)


@dataclass(frozen=True)
class HeadSection:
    """A head: its ``title`` (the registry's), forward lines, backward step (a parameter's line is
    step t's term δW^{(t)}), and its parameters' totals as (∂L/∂W, δW^{(t)}) pairs."""

    name: str
    title: str
    forward: str
    backward: str
    totals: tuple[tuple[str, str], ...]
    delta: str  # the delta it hands the hidden state (δs_t, or δŷ_t for a head without logits)


def _space(shape: tuple) -> str:
    rows, cols = (sp.latex(n) for n in shape)
    return rf"\mathbb{{R}}^{{{rows}}}" if cols == "1" else rf"\mathbb{{R}}^{{{rows} \times {cols}}}"


def _interval(name: str) -> tuple[str, str, bool, bool]:
    """(low, high, closed low, closed high) of an activation's range, as math."""
    interval = ACTIVATIONS[name].range
    return (sp.latex(interval.start), sp.latex(interval.end), not interval.left_open, not interval.right_open)


def _label(c: Cell) -> str:
    """The name where that is safe in a ``\\label``, else a digest of it."""
    if c.name.isascii() and c.name.isidentifier():
        return c.name
    return "cell-" + hashlib.sha1(c.name.encode("utf-8")).hexdigest()[:12]


def _value_names(c: Cell, show: Callable[[sp.Basic], str]) -> dict[sp.MatrixSymbol, tuple]:
    """What each value of the cell is called in prose, as (kind, args): a gate by its role, the
    candidate that a gate writes or mixes into a state, a state by its index."""
    names: dict[sp.MatrixSymbol, tuple] = {}
    for role in gate_roles(c):
        names.setdefault(role.gate, ("value.gate." + role.kind, (("symbol", show(role.gate)),)))
        candidate = role.candidate
        if isinstance(candidate, sp.MatrixSymbol) and candidate not in c.previous_states:
            index = c.new_states.index(role.state)
            described = (("index", str(index)), ("symbol", show(candidate)))
            names.setdefault(candidate, ("value.candidate", described))
    for index, new in enumerate(c.new_states):
        names.setdefault(new, ("value.state", (("index", str(index)), ("symbol", show(new)))))
    return names


def _fed(value: sp.MatrixSymbol, named: dict[sp.MatrixSymbol, tuple], definitions: dict,
         feeds: dict[sp.MatrixSymbol, sp.MatrixSymbol], show: Callable[[sp.Basic], str]) -> tuple:
    """The named value ``value`` ends up in (through pre-activations and intermediates)."""
    seen = set()
    while value not in named and value not in seen:
        seen.add(value)
        readers = [lhs for lhs, rhs in definitions.items() if value in rhs.atoms(sp.MatrixSymbol)]
        if not readers:
            break
        value = feeds.get(value, readers[0])
    return named.get(value, ("value.symbol", (("symbol", show(value)),)))


def _recurrent(operand: sp.MatrixExpr, definitions: dict, previous: set[sp.MatrixSymbol]) -> bool:
    """Whether ``operand``, written out through the cell's definitions, reads a previous state."""
    expr = operand
    for _ in range(len(definitions)):
        inner = {s: definitions[s] for s in expr.atoms(sp.MatrixSymbol) if s in definitions}
        if not inner:
            break
        expr = expr.xreplace(inner)
    return bool(expr.atoms(sp.MatrixSymbol) & previous)


def _symbols(c: Cell, show: Callable[[sp.Basic], str]) -> tuple[SymbolRow, ...]:
    """The symbol table: every symbol's role, read from the equations (:func:`structure.roles`)."""
    named = _value_names(c, show)
    definitions = {eq.lhs: eq.rhs for eq in c.equations}
    feeds = {}  # a pre-activation, or a parameter, → the named value it goes into
    for role in roles(c):
        if role.kind == "pre_activation":
            feeds[role.symbol] = role.value
    previous = set(c.previous_states)

    def fed(value: sp.MatrixSymbol) -> tuple:
        return _fed(value, named, definitions, feeds, show)

    def recurrent(operand: sp.MatrixExpr) -> bool:
        return _recurrent(operand, definitions, previous)

    reset_products = {r.into: r for r in gate_roles(c) if r.kind == "reset"}
    read = {symbol for eq in c.equations for symbol in eq.rhs.atoms(sp.MatrixSymbol)}
    rows = []
    for role in roles(c):
        s = role.symbol
        args: list[tuple[str, str]] = []
        if role.kind in ("matrix", "bias", "vector") and s not in read:
            kind = "unused"  # a parameter that cancels (b - b) is read by no equation
        elif role.kind == "intermediate" and not role.used_in:
            kind = "unread"  # a value no equation reads
        elif role.kind == "input":
            kind = "input"
        elif role.kind in ("previous_state", "state"):
            kind = role.kind
            args.append(("index", str(role.state)))
            if role.value is not None:  # a state that is itself a function's value (a gate's)
                low, high, *closed = _interval(role.activation)
                kind += ".function"
                args += [("name", _words_key(named[s])), ("value", show(role.value)), ("low", low),
                         ("high", high), ("closed", ",".join(map(str, closed)))]
        elif role.kind == "pre_activation":
            kind = "pre_activation"
            args.append(("of", _words_key(named.get(role.value, fed(role.value)))))
        elif role.kind in ("gate", "function"):
            low, high, *closed = _interval(role.activation)
            kind = role.kind
            args += [("name", _words_key(named.get(s, ("value.symbol", (("symbol", show(s)),))))),
                     ("value", show(role.value)), ("low", low), ("high", high),
                     ("closed", ",".join(map(str, closed)))]
        elif role.kind == "intermediate" and s in reset_products:
            reset = reset_products[s]
            kind = "reset_product.after" if reset.after_product else "reset_product.before"
            args += [("gate", _words_key(named[reset.gate])), ("state", show(reset.state))]
        elif role.kind == "intermediate":
            kind = "intermediate"
            args.append(("into", ", ".join(show(v) for v in role.used_in)))
        else:  # a parameter read by the equations
            kind, more = _parameter_row(c, role, show, fed(s), recurrent, definitions, reset_products)
            args += more
        rows.append(SymbolRow(show(s), _space(s.shape), kind, tuple(args)))
    return tuple(rows)


def _parameter_row(c: Cell, role: Role, show: Callable[[sp.Basic], str], fed: tuple,
                   recurrent: Callable[[sp.MatrixExpr], bool], definitions: dict, reset_products: dict
                   ) -> tuple[str, list[tuple[str, str]]]:
    """A parameter's row of the symbol table, kind and arguments: a matrix by what it multiplies, a bias
    by whether it sits inside a reset, a vector by what it multiplies element-wise (``fed``: the named
    value the parameter goes into)."""
    s = role.symbol
    if role.kind == "matrix":
        on = role.operands
        kind = ("matrix.input" if on and all(o == c.x for o in on) else
                "matrix.recurrent" if on and all(recurrent(o) for o in on) else "matrix.other")
        return kind, [("of", _words_key(fed)), ("on", ", ".join(show(o) for o in on))]
    if role.kind == "bias":
        inside_reset = any(s in r.acts_on.atoms(sp.MatrixSymbol) or
                           s in definitions.get(r.acts_on, sp.S.Zero).atoms(sp.MatrixSymbol)
                           for r in reset_products.values() if r.after_product)
        return ("bias.recurrent" if inside_reset else "bias.plain"), [("of", _words_key(fed))]
    # a parameter vector: element-wise weights (a peephole, IndRNN's u)
    multiplied = [f for eq in c.equations for p in eq.rhs.atoms(sp.HadamardProduct) if s in p.args
                  for f in p.args if f != s]
    on = ", ".join(show(v) for v in dict.fromkeys(multiplied))
    kind = "vector" if on else "vector_added"  # added, not multiplied: a bias by another name
    return kind, [("of", _words_key(fed)), *([("on", on)] if on else [])]


def _words_key(named: tuple) -> str:
    """A named value as ``kind|key=value|…``: the template turns it into words (the ``name`` filter)."""
    kind, args = named
    return "|".join([kind, *(f"{k}={v}" for k, v in args)])


def read_through(c: Cell, expr: sp.Basic, stop: frozenset = frozenset()) -> set[sp.MatrixSymbol]:
    """Every symbol ``expr`` reads, directly or through the values it is computed from (their
    definitions are followed, except those of ``stop``)."""
    definitions = {eq.lhs: eq.rhs for eq in c.equations}
    read: set[sp.MatrixSymbol] = set()
    pending = [expr]
    while pending:
        for symbol in pending.pop().atoms(sp.MatrixSymbol):
            if symbol in definitions and symbol not in read and symbol not in stop:
                pending.append(definitions[symbol])
            read.add(symbol)
    return read


def gate_reads(c: Cell, gate: sp.MatrixSymbol, order: tuple[sp.MatrixSymbol, ...]) -> tuple[sp.Basic, ...]:
    """What ``gate``'s argument is computed from, through the values it reads (``v_t = 150 − a_{t−1}``
    then ``σ(b ⊙ v_t)`` reads ``a_{t−1}``): the input and previous states among it, in ``order``; else
    (a gate of parameters alone) the parameters; else (a constant gate) the argument itself."""
    argument = next(eq.rhs for eq in c.equations if eq.lhs == gate).arg
    read = read_through(c, argument)
    found = tuple(v for v in order if v in read)
    if found:
        return found
    return tuple(p for p in c.params if p in read) or (argument,)


def _gates(c: Cell, show: Callable[[sp.Basic], str]) -> tuple[GateInfo, ...]:
    definitions = {eq.lhs: eq.rhs for eq in c.equations}
    found: dict[sp.MatrixSymbol, GateInfo] = {}
    for role in gate_roles(c):
        reads = gate_reads(c, role.gate, (c.x, *c.previous_states))
        described = {"kind": role.kind, "acts_on": show(role.acts_on), "into": show(role.into),
                     "state": show(role.state), "after_product": role.after_product,
                     "weights_new": role.weights_new, "equation": show(definitions[role.into]),
                     "state_index": str(c.new_states.index(role.state)) if role.state in c.new_states
                     else str(c.previous_states.index(role.state))}
        if role.gate in found:
            known = found[role.gate]
            found[role.gate] = GateInfo(known.symbol, known.role, known.reads, (*known.roles, described))
        else:
            found[role.gate] = GateInfo(show(role.gate), role.kind, tuple(show(v) for v in reads),
                                        (described,))
    return tuple(found.values())


def combination(c: Cell, state: sp.MatrixSymbol, keep: list, write: list) -> str:
    """How the gates ``keep`` (multiplying the previous state) and ``write`` (multiplying a candidate)
    make ``state``, as a key of the ``intuition.combine`` words, read from the state's terms: "both"
    (the previous state only scaled by a keep gate, a candidate added), "keep" (the previous state scaled,
    something that does not read it added), "write" (the previous state added as it is, a written
    candidate added), or "other" (anything else: a sentence that only shows the equation)."""
    definitions = {eq.lhs: eq.rhs for eq in c.equations}
    previous = dict(c.states)[state]
    rhs = definitions[state]
    terms = rhs.args if isinstance(rhs, sp.MatAdd) else (rhs,)

    def reads_previous(term: sp.Basic) -> bool:
        return previous in read_through(c, term, stop=frozenset(c.new_states))

    def product_with(term: sp.Basic, gates: list) -> bool:
        return isinstance(term, sp.HadamardProduct) and any(g in term.args for g in gates)

    kept = [t for t in terms if product_with(t, keep) and previous in t.args]
    # what a write gate multiplies must not read the previous state (the gate itself may: a peephole)
    written = [t for t in terms if product_with(t, write)
               and not any(reads_previous(f) for f in t.args if f not in write)]
    whole = [t for t in terms if t == previous]
    others = [t for t in terms if t not in (*kept, *written, *whole)]
    others_read = any(reads_previous(t) for t in others)
    if kept and written and not whole and not others_read:
        return "both"
    if kept and not written and not whole and others and not others_read:
        return "keep"
    if written and not kept and len(whole) == 1 and not others_read:
        return "write"
    return "other"


def _intuition(c: Cell, show: Callable[[sp.Basic], str]) -> tuple[dict, ...]:
    """One step of a gated cell told in the course's order: what each gate reads and does (reset,
    keep, write), how a state that gates keep or write is made of them, the update gate's mix, and
    what the output gate reads out. Each step is a dict: ``kind`` (a key of the languages'
    ``intuition.*`` words), ``variant`` and the math its sentence puts in."""
    definitions = {eq.lhs: eq.rhs for eq in c.equations}
    previous_of = dict(c.states)
    by_kind: dict[str, list] = {}
    for role in gate_roles(c):
        by_kind.setdefault(role.kind, []).append(role)

    def reads(gate: sp.MatrixSymbol) -> str:
        return ", ".join(show(v) for v in gate_reads(c, gate, (*c.previous_states, c.x)))

    def function_of(value: sp.MatrixExpr) -> str:
        rhs = definitions.get(value, value)
        return ACTIVATIONS[rhs.name].latex if isinstance(rhs, Elementwise) else ""

    steps: list[dict] = []
    for role in by_kind.get("reset", []):
        steps.append({"kind": "reset", "variant": "after" if role.after_product else "before",
                      "gate": show(role.gate), "reads": reads(role.gate), "state": show(role.state),
                      "into": show(role.into), "acts_on": show(role.acts_on)})
    for role in by_kind.get("keep", []):
        steps.append({"kind": "keep", "variant": "", "gate": show(role.gate), "reads": reads(role.gate),
                      "previous": show(previous_of[role.state]), "state": show(role.state)})
    for role in by_kind.get("write", []):
        steps.append({"kind": "write", "variant": "function" if function_of(role.acts_on) else "plain",
                      "gate": show(role.gate), "reads": reads(role.gate), "candidate": show(role.acts_on),
                      "function": function_of(role.acts_on), "state": show(role.state)})
    made = dict.fromkeys(r.state for r in (*by_kind.get("keep", []), *by_kind.get("write", [])))
    for state in made:
        keep = [show(r.gate) for r in by_kind.get("keep", []) if r.state == state]
        write = [show(r.gate) for r in by_kind.get("write", []) if r.state == state]
        variant = combination(c, state, [r.gate for r in by_kind.get("keep", []) if r.state == state],
                              [r.gate for r in by_kind.get("write", []) if r.state == state])
        steps.append({"kind": "combine", "variant": variant, "state": show(state),
                      "previous": show(previous_of[state]), "keep": ", ".join(keep),
                      "write": ", ".join(write),
                      "equation": f"{show(state)} = {show(definitions[state])}"})
    for role in by_kind.get("update", []):
        steps.append({"kind": "update", "variant": "new" if role.weights_new else "old",
                      "gate": show(role.gate), "reads": reads(role.gate), "state": show(role.state),
                      "previous": show(previous_of[role.state]), "weighted": show(role.acts_on),
                      "equation": f"{show(role.state)} = {show(definitions[role.state])}"})
    for role in by_kind.get("read", []):
        function = function_of(role.acts_on)
        steps.append({"kind": "read", "variant": "function" if function else "plain", "gate": show(role.gate),
                      "reads": reads(role.gate), "state": show(role.state), "function": function,
                      "into": show(role.into),
                      "equation": f"{show(role.into)} = {show(definitions[role.into])}"})
    return tuple(steps)


def _step_groups(d: Derivation, show: Callable[[sp.Basic], str], notation: str) -> tuple[str, ...]:
    """:func:`step_terms` as ``align*`` bodies: the deltas of the step's values; what it sends back
    to the previous states and to the input; the parameters' terms, two to a line."""
    c = d.cell
    sent = {at_step(carry(new), "t-1", fixed=c.params) for new in c.new_states} | {delta(c.x)}
    terms = {step_term(p) for p in c.params}
    groups: dict[str, list[sp.Eq]] = {"values": [], "sent": [], "params": []}
    for eq in step_terms(d):
        groups["params" if eq.lhs in terms else "sent" if eq.lhs in sent else "values"].append(eq)
    bodies = [aligned(groups[k], notation=notation, gates=gates(c)) for k in ("values", "sent") if groups[k]]
    pairs = [groups["params"][i:i + 2] for i in range(0, len(groups["params"]), 2)]
    if pairs:
        bodies.append(" \\\\\n".join(" & ".join(f"{show(eq.lhs)} &= {show(eq.rhs)}" for eq in pair)
                                     for pair in pairs))
    return tuple(bodies)


def sheet_head() -> str:
    """The head the sheets' general prose is written on: the first registered (the course's softmax)."""
    return next(iter(HEADS))


def _chain(c: Cell, show: Callable[[sp.Basic], str], notation: str) -> Chain:
    hd = derive(c, sheet_head()).head  # its values renamed out of the cell's way
    step_at = partial(at_step, fixed=c.params)
    h, h_prev = c.states[0]
    names = {f"{kind}_{step}": show(step_at(symbol, step))
             for kind, symbol in (("h", h), ("loss", hd.loss)) for step in (1, 2, 3)}
    names |= {"h_t": show(h), "h_k": show(step_at(h, "k")), "h_j": show(step_at(h, "j")),
              "h_j1": show(step_at(h_prev, "j"))}
    coupled = len(c.states) > 1
    if not coupled:
        return Chain(False, names, ())
    for step in (1, 2, 3, "j"):
        names[f"s_{step}"] = ", ".join(show(step_at(new, step)) for new in c.new_states)
    names["s_j1"] = ", ".join(show(step_at(prev, "j")) for prev in c.previous_states)
    loss_3 = names["loss_3"]
    names["column_1"] = r" \\ ".join(rf"(\partial {loss_3} / \partial {show(step_at(new, 1))})^{{\top}}"
                                       for new in c.new_states)
    names["column_3"] = r" \\ ".join([rf"(\partial {loss_3} / \partial {names['h_3']})^{{\top}}",
                                        *(r"\mathbf{0}" for _ in c.new_states[1:])])
    names["others_3"] = ", ".join(show(step_at(new, 3)) for new in c.new_states[1:])
    letter = re.sub(r"\\bm\{([^{}]*)\}", r"\1", notation_of(notation).typeset(h.name).body)
    names["hh"] = f"{letter}{letter}" if len(letter) == 1 else f"{letter},{letter}"
    rows = ()
    if len(c.states) <= LISTED_BLOCKS:
        rows = tuple(tuple(rf"\dfrac{{\partial {show(step_at(new, 'j'))}}}"
                           rf"{{\partial {show(step_at(prev, 'j'))}}}"
                           for prev in c.previous_states) for new in c.new_states)
    return Chain(True, names, rows, len(c.states))


def _bound(d: Derivation, show: Callable[[sp.Basic], str]) -> Bound | None:
    """Pascanu's bound, for a cell with one state h_t = φ(a_t) whose step Jacobian is
    diag(φ′(a_t)) M with M a weight matrix (the Elman RNN's W_hh) or diag(u) (IndRNN)."""
    c = d.cell
    if len(c.states) != 1:
        return None
    h, h_prev = c.states[0]
    definition = {eq.lhs: eq.rhs for eq in c.equations}[h]
    if not isinstance(definition, Elementwise):
        return None
    activation = ACTIVATIONS[definition.name]
    J = d.jacobian[(h.name, h_prev.name)]
    if activation.derivative_bound is None:
        return None
    if isinstance(J, sp.MatMul) and len(J.args) == 2 and isinstance(J.args[0], DiagMatrix) \
            and J.args[1] in c.params:
        weight, vector = J.args[1], False
    elif isinstance(J, DiagMatrix):  # diag(φ′ ⊙ u): IndRNN
        factors = J.args[0].args if isinstance(J.args[0], sp.HadamardProduct) else ()
        weights = [f for f in factors if f in c.params]
        if len(weights) != 1:
            return None
        weight, vector = DiagMatrix(weights[0]), True
    else:
        return None
    a = definition.arg
    derivative = rf"{activation.latex}'"
    diagonal = rf"\operatorname{{diag}}\bigl({derivative}({show(at_step(a, 'j', fixed=c.params))})\bigr)"
    parameter = (weight.args[0] if vector else weight).name
    return Bound(diagonal, show(weight), activation.latex, derivative, activation.derivative_bound, vector,
                 parameter)


def _path(c: Cell, show: Callable[[sp.Basic], str]) -> Path | None:
    found = direct_path(c)
    if found is None:
        return None
    step_at = partial(at_step, fixed=c.params)
    path = Path(show(found.new), show(found.previous), show(step_at(found.new, "k")), show(found.term),
                show(step_at(found.term, "j")), found.rest, found.identity)
    if found.gate is None:
        return path
    return Path(path.new, path.previous, path.previous_k, path.term, path.term_j, path.rest, path.identity,
                show(found.gate), str(found.survives), str(found.fades), show(found.entry))


def cell_section(cell: str | os.PathLike | Cell, notation: str) -> CellSection:
    """Everything a sheet shows of ``cell`` (a registered name, a ``.cell`` path or a :class:`Cell`),
    printed in ``notation``; printed once per cell and notation in a process."""
    return _cell_section(resolve_cell(cell), notation)


@cache
def _cell_section(c: Cell, notation: str) -> CellSection:
    d = derive(c, head=None)
    show = partial(latex, notation=notation, gates=gates(c))
    step_at = partial(at_step, fixed=c.params)
    h = c.states[0][0]
    sym = {"inputs": ", ".join(show(s) for s in c.inputs),
           "outputs": ", ".join(show(s) for s in c.new_states),
           "delta_h": show(delta(h)),
           # what a step backward starts from: the first state's whole delta, the others' carries
           "given": tuple([show(delta(h)), *(show(carry(new)) for new in c.new_states[1:])]),
           "h_0": show(step_at(h, 0))}
    names = {symbol.name: show(symbol) for eq in c.equations
             for symbol in (eq.lhs, *eq.rhs.atoms(sp.MatrixSymbol))}
    carried = tuple(Carried(show(new), show(delta(new)), show(carry(new)), show(step_at(carry(new), "t-1")),
                            show(step_at(carry(new), "T"))) for new in c.new_states)
    state = {s.name: s for s in (*c.new_states, *c.previous_states)}
    jacobians = tuple(JacobianBlock(show(state[new]), show(state[prev]), broken(combined(J), show))
                      for (new, prev), J in d.jacobian.items())
    found = facts(c)
    printed = CellFacts(
        states=tuple(show(s) for s in found.states), gates=tuple(show(g) for g in found.gates),
        functions=tuple(ACTIVATIONS[f].latex for f in found.functions),
        matrices=tuple(show(p) for p in found.matrices), biases=tuple(show(p) for p in found.biases),
        vectors=tuple(show(p) for p in found.vectors), scales=tuple(show(p) for p in found.scales),
        bounded=tuple((ACTIVATIONS[f].latex, b) for f, b in found.bounded),
        unbounded=tuple(ACTIVATIONS[f].latex for f in found.unbounded))
    forget = forget_gate(c)
    written = notation_of(notation)
    return CellSection(
        name=c.name, title=escape_text(c.title, "cell title"),
        bookmark=escape_text(c.title, "cell title", bookmark=True), name_tex=escape_text(c.name, "cell name"),
        label=_label(c), sym=sym, facts=printed, gates=_gates(c, show), symbols=_symbols(c, show),
        forward=aligned(c.equations, notation=notation, gates=gates(c)),
        concatenated=concatenated_forms(c, notation) if written.concatenated_weights else "",
        step_groups=_step_groups(d, show, notation), carried=carried,
        parameter_term=show(step_term(c.params[0])) if c.params else "",
        gradients=tuple(Gradient(show(p), show(next(eq.rhs for eq in d.step_backward if eq.lhs == delta(p))))
                        for p in c.params),
        jacobians=jacobians, chain=_chain(c, show, notation), bound=_bound(d, show), path=_path(c, show),
        forget=None if forget is None else (names.get(forget[0], forget[0]), names[forget[1]]),
        torch_blocks=parameter_count(c).torch_blocks, names=names, states=len(c.states), head_state=show(h),
        intuition=_intuition(c, show), diagram=cell_diagram(c, notation).tikz)


def head_sections(notation: str, cell: str | Cell = "rnn") -> tuple[HeadSection, ...]:
    """Every registered head on ``cell``'s first state: forward, backward (a parameter's line is step
    t's term δW^{(t)} of the total δW = ∂L/∂W, the sheet's one δ convention) and totals."""
    out = []
    for name in HEADS:
        d = derive(cell, head=name)
        show = partial(latex, notation=notation)
        terms = {delta(p): step_term(p) for p in d.head.params}
        lines = [sp.Eq(terms.get(eq.lhs, eq.lhs), eq.rhs, evaluate=False) for eq in d.head_backward]
        out.append(HeadSection(name, d.head.title, aligned(d.head.equations, notation=notation),
                               aligned(lines, notation=notation),
                               tuple((show(p), show(terms[delta(p)])) for p in d.head.params),
                               show(delta(d.head.logits))))
    return tuple(out)


@dataclass(frozen=True)
class Recurrence:
    """How δh_t is assembled for the heads ``heads`` (their names, as LaTeX text), whose lines agree."""

    heads: tuple[str, ...]
    lines: tuple[tuple[str, str], ...]
    head_delta: str


def recurrences(notation: str, cell: str | Cell = "rnn") -> dict[str, tuple[Recurrence, ...]]:
    """How δh_t is assembled on ``cell``, for the loss at every step and at the last step only, one
    entry per distinct form (each head names the delta it hands over)."""
    from bpttlab.derivations.printing.latex_printer import equation

    out = {}
    for at in ("every", "last"):
        groups: dict[tuple, list[str]] = {}
        deltas = {}
        for name in HEADS:
            d = derive(cell, name, at)
            lines = tuple(equation(eq, notation=notation) for eq in d.recurrence)
            groups.setdefault(lines, []).append(name)
            deltas[lines] = latex(delta(d.head.logits), notation=notation)
        out[at] = tuple(Recurrence(tuple(escape_text(h, "head name") for h in heads), lines, deltas[lines])
                        for lines, heads in groups.items())
    return out


def sheet_symbols(notation: str, cell: str | Cell = "rnn") -> dict[str, str]:
    """Names the general prose mentions, on the sheet's cell: ℓ_t, h_t, h_k, the carry δh_t^{(t+1)},
    the length T (or τ), x_t, and step t's term of the cell's first parameter."""
    c = resolve_cell(cell)
    hd = derive(c, sheet_head()).head
    show = partial(latex, notation=notation, gates=gates(c))
    step_at = partial(at_step, fixed=c.params)
    h, h_prev = c.states[0]
    first = c.params[0] if c.params else hd.params[0]  # a cell without parameters: the output weights
    return {"loss_t": show(hd.loss), "loss_T": show(step_at(hd.loss, "T")),
            "loss_u": show(step_at(hd.loss, "u")), "h_t": show(h), "h_k": show(step_at(h, "k")),
            "carry_h": show(carry(h)), "h_0": show(step_at(h, 0)),
            "h_1": show(step_at(h, 1)), "h_T": show(step_at(h, "T")), "T": notation_of(notation).length,
            "delta_h": show(delta(h)), "sent_h": show(step_at(carry(h), "t-1")),
            "end_h": show(step_at(carry(h), "T")), "x_t": show(c.x), "h_prev": show(h_prev),
            "h_j": show(step_at(h, "j")), "h_j1": show(step_at(h_prev, "j")),
            "h_k1": show(step_at(h_prev, "k")), "step_W": show(step_term(first)),
            "delta_W": show(delta(first)),
            "y_hat": show(hd.prediction), "y": show(hd.target), "logits": show(hd.logits),
            "W_out": show(hd.params[0]), "identity": notation_of(notation).identity}
