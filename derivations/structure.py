"""What a cell's equations say about its structure, read from the equations alone: which values are
gates (made by an activation whose values lie in (0, 1), :attr:`Activation.is_gate`), which parameters
are weight matrices, biases (``b_…`` vectors added as they are) or parameter vectors (a peephole
``p_i``, IndRNN's ``u``), what each symbol is used in, the direct path of a step Jacobian along which
the gradient is only scaled entry by entry, the forget gate, the backward step in the order of the
forward pass, and the parameter count. Nothing here prints: the sheets print these records in a
notation and a language.

>>> from bpttlab.derivations import resolve_cell
>>> [g.name for g in gates(resolve_cell("lstm"))], [g.name for g in gates(resolve_cell("gru"))]
(['i_t', 'f_t', 'o_t'], ['z_t', 'r_t'])
>>> [v.name for v in facts(resolve_cell("indrnn")).vectors]
['u']
>>> path = direct_path(resolve_cell("lstm"))
>>> path.new.name, str(path.term), path.gate.name, path.survives, path.fades
('c_t', 'DiagMatrix(f_t)', 'f_t', 1, 0)
>>> [(r.gate.name, r.kind, r.acts_on.name) for r in gate_roles(resolve_cell("gru"))]
[('r_t', 'reset', 'h_{t-1}'), ('z_t', 'update', 'n_t')]
>>> forget_gate(resolve_cell("lstm"))
('b_f', 'f_t')
>>> parameter_count(resolve_cell("lstm"))
ParameterCount(blocks=4, rest=0, total=4*H*(D + H + 1), torch_blocks=4)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

from bpttlab.derivations.activations import ACTIVATIONS
from bpttlab.derivations.cells import Cell
from bpttlab.derivations.derivation import Derivation, carry, derive
from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.explicit import explicit
from bpttlab.derivations.printing.notations import parse_name
from bpttlab.derivations.printing.time_index import at_step
from bpttlab.derivations.symbols import D, H, delta
from bpttlab.derivations.tidy import coefficient_and_matrix, tidy

__all__ = [
    "DirectPath",
    "Facts",
    "GateRole",
    "ParameterCount",
    "Role",
    "combined",
    "direct_path",
    "facts",
    "forget_gate",
    "forward_order",
    "gate_names",
    "gate_roles",
    "gates",
    "is_bias",
    "is_gate",
    "operands",
    "parameter_count",
    "roles",
    "step_terms",
    "survival",
    "uses",
]


def is_gate(expr: sp.Basic) -> bool:
    """An element-wise function whose values lie in (0, 1), by the activation registry."""
    return isinstance(expr, Elementwise) and ACTIVATIONS[expr.name].is_gate


def gates(cell: Cell) -> tuple[sp.MatrixSymbol, ...]:
    """The cell's gates: the values it computes with a gate activation, in evaluation order."""
    return tuple(eq.lhs for eq in cell.equations if is_gate(eq.rhs))


def gate_names(cell: Cell) -> tuple[str, ...]:
    return tuple(g.name for g in gates(cell))


def uses(cell: Cell) -> dict[sp.MatrixSymbol, tuple[sp.MatrixSymbol, ...]]:
    """Each symbol → the left sides of the equations whose right side reads it, in order."""
    found: dict[sp.MatrixSymbol, list[sp.MatrixSymbol]] = {}
    for eq in cell.equations:
        for symbol in eq.rhs.atoms(sp.MatrixSymbol):
            found.setdefault(symbol, []).append(eq.lhs)
    return {symbol: tuple(dict.fromkeys(lhs)) for symbol, lhs in found.items()}


def operands(cell: Cell) -> dict[sp.MatrixSymbol, tuple[sp.MatrixExpr, ...]]:
    """Each weight matrix → what it multiplies (``W_xf`` → (x_t,))."""
    found: dict[sp.MatrixSymbol, list[sp.MatrixExpr]] = {}
    for eq in cell.equations:
        for product in eq.rhs.atoms(sp.MatMul):
            # W_a (W_b v) is one product W_a W_b v to SymPy, and W (W v) is W² v: each weight acts on
            # the product of what follows it
            factors = [f for f in product.args if isinstance(f, sp.MatrixExpr)]
            for i, factor in enumerate(factors[:-1]):
                weight, rest = factor, factors[i + 1:]
                if isinstance(factor, sp.MatPow) and factor.exp.is_Integer and factor.exp >= 2:
                    weight = factor.base
                    rest = [weight if factor.exp == 2 else sp.MatPow(weight, factor.exp - 1), *rest]
                if isinstance(weight, sp.MatrixSymbol) and weight in cell.params:
                    on = rest[0] if len(rest) == 1 else sp.MatMul(*rest)
                    found.setdefault(weight, []).append(on)
    return {w: tuple(dict.fromkeys(on)) for w, on in found.items()}


def _additive(cell: Cell) -> set[sp.MatrixSymbol]:
    """The vectors that appear as a term of a sum on their own, as a bias does."""
    added = set()
    for eq in cell.equations:
        for total in (eq.rhs, *eq.rhs.atoms(sp.MatAdd)):
            if isinstance(total, sp.MatAdd):
                added |= {t for t in total.args if isinstance(t, sp.MatrixSymbol)}
    return added


def _scaling(cell: Cell) -> set[sp.MatrixSymbol]:
    """The vectors that are a factor of a Hadamard product (a peephole, IndRNN's u)."""
    return {f for eq in cell.equations for product in eq.rhs.atoms(sp.HadamardProduct)
            for f in product.args if isinstance(f, sp.MatrixSymbol)}


def is_bias(cell: Cell, p: sp.MatrixSymbol) -> bool:
    """A bias is a vector named ``b_…`` that is added as it is; other vectors (a peephole ``p_i``,
    IndRNN's ``u``) are parameter vectors, never called biases."""
    return p.shape[1] == 1 and p.name.startswith("b_") and p in _additive(cell)


@dataclass(frozen=True)
class Facts:
    """What can be said of a cell as a whole: its states, gates, the activations it applies (by
    name, in order of first use), its weight matrices, biases and other parameter vectors (those of
    them that scale a value entry by entry: ``scales``), the activations whose derivative is bounded
    (with the bound) and those whose derivative is not."""

    states: tuple[sp.MatrixSymbol, ...]
    gates: tuple[sp.MatrixSymbol, ...]
    functions: tuple[str, ...]
    matrices: tuple[sp.MatrixSymbol, ...]
    biases: tuple[sp.MatrixSymbol, ...]
    vectors: tuple[sp.MatrixSymbol, ...]
    scales: tuple[sp.MatrixSymbol, ...]
    bounded: tuple[tuple[str, sp.Expr], ...]
    unbounded: tuple[str, ...]


def facts(cell: Cell) -> Facts:
    functions: list[str] = []
    for eq in cell.equations:
        functions += [node.name for node in sp.preorder_traversal(eq.rhs) if isinstance(node, Elementwise)]
    functions = list(dict.fromkeys(functions))
    vectors = [p for p in cell.params if p.shape[1] == 1]
    scaling = _scaling(cell)
    bounds = {f: ACTIVATIONS[f].derivative_bound for f in functions}
    return Facts(
        states=cell.new_states,
        gates=gates(cell),
        functions=tuple(functions),
        matrices=tuple(p for p in cell.params if p.shape[1] != 1),
        biases=tuple(p for p in vectors if is_bias(cell, p)),
        vectors=tuple(p for p in vectors if not is_bias(cell, p)),
        scales=tuple(p for p in vectors if not is_bias(cell, p) and p in scaling),
        bounded=tuple((f, b) for f, b in bounds.items() if b is not None),
        unbounded=tuple(f for f, b in bounds.items() if b is None),
    )


@dataclass(frozen=True)
class Role:
    """What one symbol of a cell is, for its symbol table: ``kind`` one of "input",
    "previous_state", "state", "pre_activation", "gate", "function", "intermediate", "matrix",
    "bias", "vector"; ``state`` the index of the state it is (or was) among the cell's states (0 the
    one the head reads); ``value`` what makes it (the function's application, for a gate, a function
    value or a state that is one; a pre-activation's: the value it feeds); ``activation`` that
    function's name; ``operands`` what a weight matrix multiplies; ``used_in`` the values it is read
    by."""

    symbol: sp.MatrixSymbol
    kind: str
    state: int | None = None
    value: sp.MatrixExpr | None = None
    activation: str = ""
    operands: tuple[sp.MatrixExpr, ...] = ()
    used_in: tuple[sp.MatrixSymbol, ...] = ()


def roles(cell: Cell) -> tuple[Role, ...]:
    """The role of every symbol of the cell: the input, the previous states, the values in order of
    evaluation, then the parameters."""
    used, multiplied = uses(cell), operands(cell)
    definitions = {eq.lhs: eq.rhs for eq in cell.equations}
    found: dict[sp.MatrixSymbol, Role] = {cell.x: Role(cell.x, "input")}
    for index, (new, prev) in enumerate(cell.states):
        found[prev] = Role(prev, "previous_state", index)
        rhs = definitions[new]
        if isinstance(rhs, Elementwise):
            found[new] = Role(new, "state", index, rhs, rhs.name)
        else:
            found[new] = Role(new, "state", index)
    fed = {eq.rhs.arg: eq.lhs for eq in cell.equations
           if isinstance(eq.rhs, Elementwise) and isinstance(eq.rhs.arg, sp.MatrixSymbol)}
    for eq in cell.equations:
        if eq.lhs in found:
            continue
        if eq.lhs in fed:
            found[eq.lhs] = Role(eq.lhs, "pre_activation", value=fed[eq.lhs])
        elif isinstance(eq.rhs, Elementwise):
            kind = "gate" if is_gate(eq.rhs) else "function"
            found[eq.lhs] = Role(eq.lhs, kind, value=eq.rhs, activation=eq.rhs.name)
        else:
            found[eq.lhs] = Role(eq.lhs, "intermediate", used_in=used.get(eq.lhs, ()))
    for p in cell.params:
        if p.shape[1] != 1:
            found[p] = Role(p, "matrix", operands=multiplied.get(p, ()), used_in=used.get(p, ()))
        else:
            found[p] = Role(p, "bias" if is_bias(cell, p) else "vector", used_in=used.get(p, ()))
    order = [cell.x, *cell.previous_states, *(eq.lhs for eq in cell.equations), *cell.params]
    return tuple(found[s] for s in dict.fromkeys(order))


# ------------------------------------------------------------------------------ what gates do
#: The roles a gate can play, in the order a step is told: it resets a previous state before the
#: candidate reads it, keeps a state's previous value, writes a candidate into a state, mixes the old
#: state and a candidate (the update gate), or reads a state out into the state the head reads.
ROLES = ("reset", "keep", "write", "update", "read")


@dataclass(frozen=True)
class GateRole:
    """What a gate does, read from the element-wise product it (or one minus it) enters: ``kind`` one
    of :data:`ROLES`; ``acts_on`` the value it multiplies (for "update": the term it weights);
    ``into`` the value the product goes into; ``state`` the state concerned (for "reset" the previous
    state, else the new state that is made); ``after_product``: a reset that multiplies the result of
    a matrix product (PyTorch's GRU) rather than the state before it; ``weights_new``: an update gate
    that weights the candidate rather than the old state; ``candidate``: for "write" and "update" the
    new value written into the state (whichever term the gate weights)."""

    gate: sp.MatrixSymbol
    kind: str
    acts_on: sp.MatrixExpr
    into: sp.MatrixSymbol
    state: sp.MatrixSymbol
    after_product: bool = False
    weights_new: bool = False
    candidate: sp.MatrixExpr | None = None


def _one_minus(factor: sp.MatrixExpr, gate: sp.MatrixSymbol) -> bool:
    """``factor`` is 1 − gate."""
    if not isinstance(factor, sp.MatAdd) or len(factor.args) != 2:
        return False
    ones = [a for a in factor.args if isinstance(a, sp.OneMatrix)]
    rest = [a for a in factor.args if not isinstance(a, sp.OneMatrix)]
    if not ones or not rest:
        return False
    coefficient, body = coefficient_and_matrix(rest[0])
    return coefficient == -1 and body == gate


def _mix(rhs: sp.MatrixExpr, gate: sp.MatrixSymbol) -> tuple[sp.MatrixExpr, sp.MatrixExpr] | None:
    """(A, B) when ``rhs`` is (1 − gate) ⊙ A + gate ⊙ B, else None."""
    if not isinstance(rhs, sp.MatAdd) or len(rhs.args) != 2:
        return None
    with_gate = without = None
    for term in rhs.args:
        if not isinstance(term, sp.HadamardProduct) or len(term.args) != 2:
            return None
        first, second = term.args
        for factor, other in ((first, second), (second, first)):
            if factor == gate:
                with_gate = other
            elif _one_minus(factor, gate):
                without = other
    return (without, with_gate) if with_gate is not None and without is not None else None


def _expanded(expr: sp.MatrixExpr, definitions: dict, states: dict) -> sp.MatrixExpr:
    """``expr`` with every intermediate value replaced by its definition (states stay)."""
    for _ in range(len(definitions)):
        inner = {s: definitions[s] for s in expr.atoms(sp.MatrixSymbol)
                 if s in definitions and s not in states}
        if not inner:
            break
        expr = expr.xreplace(inner)
    return expr


def _reads_previous(expr: sp.MatrixExpr, previous: set[sp.MatrixSymbol]) -> bool:
    return bool(expr.atoms(sp.MatrixSymbol) & previous)


@cache
def gate_roles(cell: Cell) -> tuple[GateRole, ...]:
    """What each gate of the cell does, in the order of :data:`ROLES`, then of the equations."""
    definitions = {eq.lhs: eq.rhs for eq in cell.equations}
    previous_of = dict(cell.states)
    previous = set(cell.previous_states)
    head_state = cell.h
    found: list[GateRole] = []
    for gate in gates(cell):
        for lhs, rhs in definitions.items():
            mixed = _mix(rhs, gate) if lhs in previous_of else None
            if mixed is not None:
                weighted = mixed[1]
                new = weighted != previous_of[lhs]
                found.append(GateRole(gate, "update", weighted, lhs, lhs, weights_new=new,
                                      candidate=weighted if new else mixed[0]))
                continue
            for product in rhs.atoms(sp.HadamardProduct):
                if gate not in product.args:
                    continue
                others = [f for f in product.args if f != gate]
                if len(others) != 1:
                    continue
                other = others[0]
                if lhs in previous_of and other == previous_of[lhs]:
                    found.append(GateRole(gate, "keep", other, lhs, lhs))
                elif lhs == head_state and (other in previous_of or (isinstance(other, Elementwise)
                                                                     and other.arg in previous_of)):
                    found.append(GateRole(gate, "read", other, lhs, other if other in previous_of
                                          else other.arg))
                elif lhs in previous_of and other not in cell.params:  # a parameter is no candidate
                    found.append(GateRole(gate, "write", other, lhs, lhs, candidate=other))
                elif other in previous:
                    found.append(GateRole(gate, "reset", other, lhs, other))
                elif _reads_previous(_expanded(other, definitions, previous_of), previous):
                    read = _expanded(other, definitions, previous_of).atoms(sp.MatrixSymbol) & previous
                    state = sorted(read, key=lambda v: v.name)[0]
                    found.append(GateRole(gate, "reset", other, lhs, state, after_product=True))
    return tuple(sorted(found, key=lambda r: ROLES.index(r.kind)))


# ------------------------------------------------------------------------------ the direct path
@dataclass(frozen=True)
class DirectPath:
    """A diagonal term of a state's own step Jacobian without a weight matrix: along it the gradient
    is only scaled entry by entry. ``term`` the term, ``rest``: the block has other terms too,
    ``identity``: the term is the identity (the gradient passes unchanged). Where the term is made of
    one gate alone, ``gate`` is that gate, ``survives`` the gate's value at which every entry is one
    and ``fades`` the value at which it is zero, and ``entry`` one entry of the diagonal."""

    new: sp.MatrixSymbol
    previous: sp.MatrixSymbol
    term: sp.MatrixExpr
    rest: bool
    identity: bool = False
    gate: sp.MatrixSymbol | None = None
    survives: int | None = None
    fades: int | None = None
    entry: sp.MatrixExpr | None = None


def direct_path(cell: Cell) -> DirectPath | None:
    """The direct path of the cell, or None. The states are searched last first (the LSTM's cell
    state before its hidden state), and a term without parameters comes before one with (the LSTM's
    ``diag(f_t)`` before a peephole's term)."""
    d = derive(cell, head=None)
    matrices = {p for p in cell.params if p.shape[1] != 1}
    for new, prev in reversed(cell.states):
        J = d.jacobian[(new.name, prev.name)]
        terms = list(J.args) if isinstance(J, sp.MatAdd) else [J]
        diagonal = [t for t in terms if isinstance(t, DiagMatrix | sp.Identity)
                    and not (t.atoms(sp.MatrixSymbol) & matrices)]
        if not diagonal:
            continue
        term = min(diagonal, key=lambda t: bool(t.atoms(sp.MatrixSymbol) & set(cell.params)))
        path = DirectPath(new, prev, term, len(terms) > 1, isinstance(term, sp.Identity))
        found = survival(term, gate_names(cell))
        if found is None:
            return path
        gate, survives, fades = found
        return DirectPath(new, prev, term, path.rest, path.identity, sp.MatrixSymbol(gate, *cell.h.shape),
                          survives, fades, term.args[0])
    return None


def survival(term: sp.MatrixExpr, gate_names: tuple[str, ...]) -> tuple[str, int, int] | None:
    """(gate, value where the direct path survives, value where it fades) of a diagonal term made of
    one gate alone: ``diag(f_t)`` → ("f_t", 1, 0), ``diag(1 - z_t)`` → ("z_t", 0, 1). The term is
    evaluated with the gate at 0 and at 1 (one unit); None when the term holds anything else or is
    not one at either value, so that prose is only ever written from what the term says."""
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
            return gate, survives, fades
    return None


def forget_gate(cell: Cell) -> tuple[str, str] | None:
    """(bias, gate) names of the cell's forget gate (:attr:`Cell.forget_gate_bias` and the gate it
    feeds), or None."""
    bias = cell.forget_gate_bias
    if bias is None:
        return None
    defined = {eq.lhs: eq.rhs for eq in cell.equations}
    for gate, rhs in defined.items():
        if is_gate(rhs) and bias in {s.name for s in defined.get(rhs.arg, sp.S.Zero).atoms(sp.MatrixSymbol)}:
            return bias, gate.name
    return None


# ------------------------------------------------------------------------- the backward step
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


def step_term(p: sp.MatrixSymbol) -> sp.MatrixSymbol:
    """δW^{(t)}: step t's term of the parameter ``p``'s gradient δW = ∂L/∂W = Σ_t δW^{(t)}."""
    return sp.MatrixSymbol(f"δ{p.name}^{{(t)}}", *p.shape)


def step_terms(d: Derivation) -> tuple[sp.Eq, ...]:
    """One backward step (:func:`forward_order`) with each left side named for what it is: what the
    step sends back to a previous state is ``δh_{t-1}^{(t)}`` (the sum of it and the head's term is
    ``δh_{t-1}``), and a parameter's line is step t's term ``δW^{(t)}`` of the total ``δW``."""
    c = d.cell
    renamed = {delta(prev): at_step(carry(new), "t-1", fixed=c.params) for new, prev in c.states}
    renamed |= {delta(p): step_term(p) for p in c.params}
    return tuple(sp.Eq(renamed.get(eq.lhs, eq.lhs), eq.rhs, evaluate=False) for eq in forward_order(d))


# ------------------------------------------------------------------------- the parameter count
@dataclass(frozen=True)
class ParameterCount:
    """Σ rows·cols over the cell's parameters, ``total`` in D and H, written as ``blocks`` times
    H(H + D + 1) (an input matrix, a recurrent matrix and a bias per gate or candidate) plus
    ``rest``. ``torch_blocks``: the gate blocks of the ``torch.nn`` module computing the same cell
    (0 when there is none), which keeps two biases per block, H(H + D + 2) each."""

    blocks: sp.Expr
    rest: sp.Expr
    total: sp.Expr
    torch_blocks: int = 0

    def at(self, D_value: int, H_value: int) -> int:
        return int(self.total.subs({D: D_value, H: H_value}))

    def torch_at(self, D_value: int, H_value: int) -> int | None:
        """What ``sum(p.numel() for p in module.parameters())`` gives, or None without a module."""
        if not self.torch_blocks:
            return None
        return self.torch_blocks * H_value * (H_value + D_value + 2)


@cache
def parameter_count(cell: Cell) -> ParameterCount:
    d = derive(cell, head=None)
    total = sp.expand(sum((sp.sympify(rows) * sp.sympify(cols) for rows, cols in d.params.values()),
                          sp.S.Zero))
    blocks = total.coeff(H).coeff(D)  # one H×D input matrix per block
    rest = sp.expand(total - blocks * H * (H + D + 1))
    return ParameterCount(blocks, rest, sp.factor(total), int(blocks) if cell.torch_module else 0)
