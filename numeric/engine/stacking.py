"""How the engine stacks a step's matrix products: a rewrite of the derived equations, read off them.

Three rewrites, none of which names a cell:

- **input projections**: every ``W @ x_t`` (``W`` a parameter) becomes a symbol of its own, computed for
  all steps at once as one stacked product before the time loop, the biases of the gates folded in;
- **recurrent groups**: every ``W @ s`` for the same previous state ``s`` becomes a row block of one
  (G·H)×H product a step; in the backward pass the terms ``Wᵀ δu`` of δs with those same weights become
  one product ``[W…]ᵀ [δu…]``, with the ``δu`` kept side by side in one buffer;
- **gates**: a pre-activation ``a = W_h·s + W_x·x (+ b)`` is a row block of that product plus the
  projection, written into one buffer for the group, and ``y = f(a)`` of the gates with the same ``f``
  is one call over their rows (the gates are ordered by their function for that).

The rest of the step (the element-wise arithmetic) stays a lambdified group of equations.

After the loop, :func:`stack_leaves` does the same for the products over all T·N columns: the leaves
``δW_k = δu_k vᵀ`` of consecutive δu_k of one group are one product ``[δu…] vᵀ`` split by rows
(:class:`Outer`), and the terms ``Σ W_kᵀ δu_k`` of a leaf (δx_t) are one product ``[W…]ᵀ [δu…]``
(:class:`Inner`), both reading the group's deltas as the one buffer they already are.

>>> from bpttlab.derivations import derive
>>> layout = stack(derive("lstm", "linear"))
>>> [(g.state, [gate.pre for gate in g.gates], [gate.function for gate in g.gates]) for g in layout.groups]
[('h_{t-1}', ['a_{i,t}', 'a_{f,t}', 'a_{o,t}', 'a_{g,t}'], ['sigmoid', 'sigmoid', 'sigmoid', 'tanh'])]
>>> layout.groups[0].deltas
('δa_{i,t}', 'δa_{f,t}', 'δa_{o,t}', 'δa_{g,t}')
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from bpttlab.derivations import Derivation, Elementwise, delta

__all__ = ["Gate", "Group", "Inner", "Layout", "Outer", "Projection", "delta_owners", "stack", "stack_leaves"]


@dataclass(frozen=True)
class Projection:
    """``weight @ x_t`` for every step, replaced by ``symbol``; ``bias`` added in when it is a gate's."""

    weight: str
    symbol: str
    bias: str | None


@dataclass(frozen=True)
class Gate:
    """A pre-activation ``pre`` = product block + projection (+ bias), and ``output`` = ``function(pre)``."""

    pre: str
    projection: Projection
    function: str | None
    output: str | None


@dataclass(frozen=True)
class Group:
    """The products ``W @ state`` of one previous state, as the row blocks of one product a step.

    ``weights[:len(gates)]`` are the gates' (in that order); the rest are plain products, read by the
    remaining equations through ``symbols``. ``deltas`` are the δu with ``Σ Wᵀ δu`` in δ(state), one per
    weight, or None when δ(state) does not have that form (then nothing is stacked backwards)."""

    state: str
    weights: tuple[str, ...]
    symbols: tuple[str, ...]
    gates: tuple[Gate, ...]
    deltas: tuple[str, ...] | None
    back_symbol: str


@dataclass(frozen=True)
class Layout:
    """The rewritten step: projections, groups, and the equations left to lambdify."""

    projections: tuple[Projection, ...]
    groups: tuple[Group, ...]
    forward: tuple[sp.Eq, ...]
    backward_deltas: tuple[sp.Eq, ...]
    backward_states: tuple[sp.Eq, ...]


def _product_of(expr: sp.Basic, params: set[str], operand: sp.MatrixSymbol) -> str | None:
    """The weight's name if ``expr`` is ``W @ operand`` with W a parameter, else None."""
    if isinstance(expr, sp.MatMul) and len(expr.args) == 2 and expr.args[1] == operand:
        weight = expr.args[0]
        if isinstance(weight, sp.MatrixSymbol) and weight.name in params:
            return weight.name
    return None


def _gate(eq: sp.Eq, product: sp.MatrixSymbol, projections: dict[str, Projection],
          params: dict[str, tuple]) -> tuple[str, str | None] | None:
    """(projection weight, bias) if ``eq`` is ``product + projection (+ bias)``, else None."""
    terms = eq.rhs.args if isinstance(eq.rhs, sp.MatAdd) else (eq.rhs,)
    if product not in terms:
        return None
    projection, bias = None, None
    for term in terms:
        if term == product:
            continue
        if isinstance(term, sp.MatrixSymbol) and term.name in projections and projection is None:
            projection = term.name
        elif isinstance(term, sp.MatrixSymbol) and term.name in params and params[term.name][1] == 1 \
                and bias is None:
            bias = term.name
        else:
            return None
    return None if projection is None else (projection, bias)


def _stack_backward(backward: list[sp.Eq], prev: sp.MatrixSymbol, weights: tuple[str, ...],
                    named: set[str], back_symbol: sp.MatrixSymbol) -> tuple[str, ...] | None:
    """Backwards: Σ W_kᵀ δu_k in δ(prev), every weight of the group with a symbol δu_k, replaced in
    ``backward`` (in place) by ``back_symbol``; the δu_k in the weights' order, or None if not stacked."""
    target = delta(prev).name
    deltas = None
    for i, eq in enumerate(backward):
        if eq.lhs.name != target:
            continue
        terms = eq.rhs.args if isinstance(eq.rhs, sp.MatAdd) else (eq.rhs,)
        pairs = {}
        for term in terms:
            factors = term.args if isinstance(term, sp.MatMul) else ()
            if (len(factors) == 2 and isinstance(factors[0], sp.Transpose)
                    and isinstance(factors[0].arg, sp.MatrixSymbol)
                    and isinstance(factors[1], sp.MatrixSymbol) and factors[0].arg.name in weights):
                pairs[factors[0].arg.name] = term
        us = [pairs[w].args[1].name for w in weights if w in pairs]
        # Only δu kept for every step (named deltas) can sit side by side in one buffer.
        if len(pairs) == len(weights) and len(set(us)) == len(us) and set(us) <= named:
            deltas = tuple(us)
            rest = [t for t in terms if t not in pairs.values()]
            backward[i] = sp.Eq(eq.lhs, sp.MatAdd(back_symbol, *rest) if rest else back_symbol,
                                evaluate=False)
    return deltas


def stack(d: Derivation) -> Layout:
    """The stacked layout of ``d``'s step (see the module docstring)."""
    cell = d.cell
    params = dict(d.params)
    names = set(params)
    x = cell.x
    # Input projections: W @ x_t → a symbol, in the order they first appear.
    found: dict[str, sp.MatrixSymbol] = {}
    replacements = {}
    for eq in cell.equations:
        for m in sorted(eq.rhs.atoms(sp.MatMul), key=str):
            weight = _product_of(m, names, x)
            if weight is not None:
                replacements[m] = found.setdefault(weight, sp.MatrixSymbol(f"{weight}·{x.name}", *m.shape))
    forward = [sp.Eq(eq.lhs, eq.rhs.xreplace(replacements), evaluate=False) for eq in cell.equations]
    by_symbol = {s.name: w for w, s in found.items()}

    groups: list[Group] = []
    gate_biases: dict[str, str | None] = {}
    named = {delta(s).name for s in cell.named_deltas}
    backward = list(d.step_backward)
    for prev in cell.previous_states:
        products = {}
        for eq in forward:
            for m in sorted(eq.rhs.atoms(sp.MatMul), key=str):
                weight = _product_of(m, names, prev)
                if weight is not None and weight not in products:
                    products[weight] = (m, sp.MatrixSymbol(f"{weight}·{prev.name}", *m.shape))
        if not products:
            continue
        forward = [sp.Eq(eq.lhs, eq.rhs.xreplace({m: s for m, s in products.values()}), evaluate=False)
                   for eq in forward]
        users = {}  # pre-activation → the equation applying one function to it
        for eq in forward:
            if isinstance(eq.rhs, Elementwise) and isinstance(eq.rhs.arg, sp.MatrixSymbol):
                users.setdefault(eq.rhs.arg.name, eq)
        gates, plain = [], []
        for weight, (_, symbol) in products.items():
            pre = next((eq for eq in forward if _gate(eq, symbol, by_symbol, params)), None)
            if pre is None or sum(1 for eq in forward if symbol in eq.rhs.free_symbols) != 1:
                plain.append(weight)
                continue
            projection, bias = _gate(pre, symbol, by_symbol, params)
            user = users.get(pre.lhs.name)
            gates.append((weight, pre, projection, bias, user))
        gates.sort(key=lambda g: (g[4] is None, g[4].rhs.name if g[4] is not None else ""))
        gate_records = []
        for _, pre, projection, bias, user in gates:
            gate_biases[projection] = bias
            gate_records.append(Gate(pre.lhs.name, Projection(by_symbol[projection], projection, bias),
                                     user.rhs.name if user is not None else None,
                                     user.lhs.name if user is not None else None))
        fused = {g.pre for g in gate_records} | {g.output for g in gate_records if g.output}
        forward = [eq for eq in forward if eq.lhs.name not in fused]
        weights = tuple([g[0] for g in gates] + plain)
        back_symbol = sp.MatrixSymbol(f"[W·{prev.name}]ᵀδ", *prev.shape)
        deltas = _stack_backward(backward, prev, weights, named, back_symbol)
        groups.append(Group(prev.name, weights, tuple(products[w][1].name for w in weights),
                            tuple(gate_records), deltas, back_symbol.name))

    gate_order = [g.projection.symbol for group in groups for g in group.gates]
    ordered = gate_order + [s.name for s in found.values() if s.name not in gate_order]
    projections = tuple(Projection(by_symbol[s], s, gate_biases.get(s)) for s in ordered)
    previous = {delta(prev).name for prev in cell.previous_states}
    deltas_eqs = tuple(eq for eq in backward if eq.lhs.name in named)

    state_eqs = tuple(eq for eq in backward if eq.lhs.name in previous)
    return Layout(projections, tuple(groups), tuple(forward), deltas_eqs, state_eqs)


@dataclass(frozen=True)
class Outer:
    """The leaves ``δu_k vᵀ`` of the group's deltas ``first:stop`` as one product: its row blocks are
    ``symbols``, one per δu_k, which the rewritten leaves read."""

    group: int
    first: int
    stop: int
    operand: str
    symbols: tuple[str, ...]


@dataclass(frozen=True)
class Inner:
    """The terms ``W_kᵀ δu_k`` of one leaf, δu_k the group's deltas ``first:stop``, as one product
    ``[W…]ᵀ [δu…]`` read as ``symbol``."""

    group: int
    first: int
    stop: int
    weights: tuple[str, ...]
    symbol: str


def delta_owners(layout: Layout) -> dict[str, tuple[int, int]]:
    """δu → (group, place in its deltas) for the group whose buffer holds it: the first group naming it
    (groups of other previous states may read the same δu)."""
    owners: dict[str, tuple[int, int]] = {}
    for g, group in enumerate(layout.groups):
        for k, name in enumerate(group.deltas or ()):
            owners.setdefault(name, (g, k))
    return owners


def _runs(positions: list[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive positions, two long or more: (first, stop)."""
    runs: list[tuple[int, int]] = []
    for p in sorted(positions):
        if runs and runs[-1][1] == p:
            runs[-1] = (runs[-1][0], p + 1)
        else:
            runs.append((p, p + 1))
    return [(a, b) for a, b in runs if b - a >= 2]


def stack_leaves(layout: Layout, leaves: tuple[sp.Eq, ...], params: set[str]
                 ) -> tuple[tuple[sp.Eq, ...], tuple[Outer, ...], tuple[Inner, ...]]:
    """``leaves`` with their stacked products replaced by symbols, and those products (see the module
    docstring). Only a group whose deltas share one buffer is stacked.

    >>> from bpttlab.derivations import derive
    >>> from bpttlab.numeric.engine import build_engine
    >>> engine = build_engine("lstm", "linear")
    >>> [o.operand for o in engine._outers], [i.weights for i in engine._inners]
    (['x_t', 'h_{t-1}'], [('W_xi', 'W_xf', 'W_xo', 'W_xg')])
    """
    position = delta_owners(layout)
    # Outer products: δW = δu @ vᵀ, by (group, v)
    by_operand: dict[tuple[int, str], dict[int, sp.Eq]] = {}
    for eq in leaves:
        rhs = eq.rhs
        if (isinstance(rhs, sp.MatMul) and len(rhs.args) == 2 and isinstance(rhs.args[0], sp.MatrixSymbol)
                and rhs.args[0].name in position and isinstance(rhs.args[1], sp.Transpose)
                and isinstance(rhs.args[1].arg, sp.MatrixSymbol)):
            g, k = position[rhs.args[0].name]
            by_operand.setdefault((g, rhs.args[1].arg.name), {}).setdefault(k, eq)
    outers, replaced = [], {}
    for (g, operand), found in by_operand.items():
        for first, stop in _runs(list(found)):
            head = layout.groups[g].deltas[first]
            symbols = tuple(f"[{head}…]·{operand}ᵀ[{k - first}]" for k in range(first, stop))
            outers.append(Outer(g, first, stop, operand, symbols))
            for k, symbol in zip(range(first, stop), symbols, strict=True):
                eq = found[k]
                replaced[eq] = sp.Eq(eq.lhs, sp.MatrixSymbol(symbol, *eq.lhs.shape), evaluate=False)
    rewritten = [replaced.get(eq, eq) for eq in leaves]
    # Inner products: Σ W_kᵀ δu_k within one leaf, by group
    inners = []
    for i, eq in enumerate(rewritten):
        terms = eq.rhs.args if isinstance(eq.rhs, sp.MatAdd) else (eq.rhs,)
        by_group: dict[int, dict[int, tuple[str, sp.Basic]]] = {}
        for term in terms:
            factors = term.args if isinstance(term, sp.MatMul) else ()
            if (len(factors) == 2 and isinstance(factors[0], sp.Transpose)
                    and isinstance(factors[0].arg, sp.MatrixSymbol) and factors[0].arg.name in params
                    and isinstance(factors[1], sp.MatrixSymbol) and factors[1].name in position):
                g, k = position[factors[1].name]
                by_group.setdefault(g, {}).setdefault(k, (factors[0].arg.name, term))
        kept, stacked = list(terms), []
        for g, found in by_group.items():
            for first, stop in _runs(list(found)):
                symbol = sp.MatrixSymbol(f"[W…]ᵀ[{layout.groups[g].deltas[first]}…]→{eq.lhs.name}",
                                         *eq.lhs.shape)
                weights = tuple(found[k][0] for k in range(first, stop))
                inners.append(Inner(g, first, stop, weights, symbol.name))
                kept = [t for t in kept if t not in {found[k][1] for k in range(first, stop)}]
                stacked.append(symbol)
        if stacked:
            kept += stacked
            rewritten[i] = sp.Eq(eq.lhs, sp.MatAdd(*kept) if len(kept) > 1 else kept[0], evaluate=False)
    return tuple(rewritten), tuple(outers), tuple(inners)
