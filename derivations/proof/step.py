"""The step proofs: one backward step of the cell, its step Jacobians, and the head, each at
:data:`STEP_SIZES` with the incoming gradients as free symbols.

- The cell's backward step, each derived equation checked *locally* (:func:`prove_cell_step`): the
  truth for δv is the derivative of v's own piece of the graph, cut at the named deltas.
- The step Jacobians ∂s_t/∂s'_{t-1} against forward-mode differentiation (:func:`prove_jacobian`).
- The head: δ of its parameters, of the logits and its part of δh_t against ``sympy.diff`` of ℓ_t
  (:func:`prove_head_step`).
"""

from __future__ import annotations

import time

import sympy as sp
from sympy.polys.domains import QQ
from sympy.polys.fields import field
from sympy.polys.rings import ring

from bpttlab.derivations.derivation import Derivation, carry
from bpttlab.derivations.explicit import explicit, symbol_matrix
from bpttlab.derivations.opaque import Opaque
from bpttlab.derivations.polynomial import Polynomial
from bpttlab.derivations.proof.evaluation import head_into_h, inner, run, step_inputs, target
from bpttlab.derivations.proof.results import Check, shortened, verdict
from bpttlab.derivations.symbols import D, H, K, delta

__all__ = ["STEP_SIZES", "prove_cell_step", "prove_head_step", "prove_jacobian"]

#: The sizes of the step proofs. At H = 2 a Hadamard product and a matrix product differ and a
#: missing transpose shows (at H = 1 neither does).
STEP_SIZES = {D: 2, H: 2, K: 2}


def _opaque(exprs: list[sp.Expr]) -> list[sp.Expr]:
    """Replace every outermost function application (tanh(…), σ(…), exp(…), log(…)), then every
    reciprocal of a sum (softmax's 1/Σ e^{s_k}), by a symbol of its own.

    Both sides are built from the same explicit forward values, so equal applications are the
    same object on both sides. An identity that holds with these symbols as independent variables
    holds for their actual values too, so this is sound; it turns each side into a polynomial and
    keeps the arithmetic out of the nested arguments.
    """
    atoms = set().union(*(e.atoms(sp.Function) for e in exprs))
    names = {atom: sp.Dummy(f"φ{i}") for i, atom in enumerate(sorted(atoms, key=sp.default_sort_key))}
    exprs = [e.xreplace(names) for e in exprs]
    bases = {p.base for e in exprs for p in e.atoms(sp.Pow) if p.exp.is_Integer and p.exp < 0}
    inverse = {b: sp.Dummy(f"ψ{i}") for i, b in enumerate(sorted(bases, key=sp.default_sort_key))}

    def is_reciprocal(e: sp.Basic) -> bool:
        return isinstance(e, sp.Pow) and e.base in inverse and e.exp.is_Integer and e.exp < 0

    return [e.replace(is_reciprocal, lambda p: inverse[p.base] ** (-p.exp)) for e in exprs]


def _residual(claim: sp.Expr, truth: sp.Expr) -> sp.Expr:
    """0 if ``claim`` equals ``truth`` identically; otherwise their difference."""
    a, b = _opaque([claim, truth])
    symbols = sorted(a.free_symbols | b.free_symbols, key=sp.default_sort_key) or [sp.Dummy()]
    polynomials, *_ = ring(symbols, QQ)
    try:
        difference = polynomials.from_expr(a) - polynomials.from_expr(b)
    except ValueError:  # not polynomial after all: exact rational-function arithmetic
        fractions, *_ = field(symbols, QQ)
        difference = fractions.from_expr(a) - fractions.from_expr(b)
    # Non-zero here means no polynomial identity in the held-opaque applications. That can only
    # err towards "not proven" (never a false proof); every true identity derived here closes.
    return difference.as_expr()


def _compare(what: str, claim: sp.ImmutableMatrix, truth: sp.ImmutableMatrix, started: float) -> Check:
    """Every entry of ``claim`` against the same entry of ``truth``."""
    if claim.shape != truth.shape:
        return Check(what, 0, False, time.perf_counter() - started, f"shape {claim.shape} ≠ {truth.shape}")
    for c, t in zip(claim, truth, strict=True):
        residual = _residual(c, t)
        if residual != 0:
            return Check(what, len(truth), False, time.perf_counter() - started, shortened(str(residual)))
    return Check(what, len(truth), True, time.perf_counter() - started)


def _gradient(scalar: sp.Expr, wrt: sp.ImmutableMatrix) -> sp.ImmutableMatrix:
    return wrt.applyfunc(lambda v: sp.diff(scalar, v))


def _stored_sum(g: Opaque, value: sp.Expr) -> bool:
    """Whether ``value`` is a generator standing for a stored sum (a pre-activation, a cell state)."""
    return value in g.index and isinstance(g.definition.get(g.index[value]), sp.Add)


def prove_cell_step(d: Derivation) -> list[Check]:
    """Every equation of one backward step, each checked *locally*. The graph is cut at the named
    values that are stored sums (pre-activations, cell states): each becomes a free variable w', and
    the truth for δv is ∂Λ/∂v with

        Λ = <δh_t, h_t> + Σ_s <δs^{(t+1)}, s_t> + Σ_w <δw, F_w>,

    w over the cut values, F_w w's definition in terms of the step's inputs, its parameters and the
    other cut values, and every δw and seed a free symbol. The claims read the same cut values, the δw
    of cut values as free symbols and the δ of the other named values (a gate that is also a state,
    the GRU's r ⊙ h) as their own derived formulas, each of which is checked with its value made a
    free variable in turn. A claim equal to its local truth for any values of those symbols is, by
    induction from the last value back to the inputs, the true gradient of
    <δh_t, h_t> + Σ_s <δs^{(t+1)}, s_t>. A named value with no derived equation (it reaches no state)
    is claimed to have δ = 0, and that claim is checked too. Everything is written over the generators
    of :class:`~.opaque.Opaque` (function applications and stored sums held opaque), so each check
    costs what its own piece of the graph costs, however deep the cell."""
    c, sizes, g = d.cell, STEP_SIZES, Opaque()
    named = [eq.lhs for eq in c.equations if eq.lhs in set(c.named_deltas)]
    derived = {eq.lhs.name: eq for eq in d.step_backward}
    leaves = {name: value.applyfunc(g.leaf) for name, value in step_inputs(d, sizes).items()}

    def free(symbol: sp.MatrixSymbol, name: str | None = None) -> sp.ImmutableMatrix:
        return symbol_matrix(name or symbol.name, *explicit(symbol, sizes, {}).shape).applyfunc(g.leaf)

    seeds = {delta(c.h): free(delta(c.h)), **{carry(s): free(carry(s)) for s in c.new_states[1:]}}

    def forward(leaf_at: sp.MatrixSymbol | None) -> tuple[dict, dict, list]:
        """The step over the generators, each named stored sum (and ``leaf_at``) cut to a free variable."""
        env, definitions, cut = dict(leaves), {}, []
        for eq in c.equations:
            value = explicit(eq.rhs, sizes, env)
            definitions[eq.lhs] = value.applyfunc(lambda e, n=eq.lhs.name: g.node(e, n))
            if eq.lhs in named and (eq.lhs == leaf_at or all(_stored_sum(g, e) for e in definitions[eq.lhs])):
                env[eq.lhs.name] = free(eq.lhs, f"{eq.lhs.name}'")
                cut.append(eq.lhs)
            else:
                env[eq.lhs.name] = definitions[eq.lhs]
        return env, definitions, cut

    def claims(env: dict, cut: list) -> dict:
        """What the derived equations read: the cut values' deltas free, the other named values'
        deltas by their own derived formulas (zero where none was derived)."""
        values = {**env, **{k.name: v for k, v in seeds.items()}}
        for eq in d.step_backward:
            w = next((v for v in named if delta(v) == eq.lhs), None)
            if w is not None and w not in cut:
                values[eq.lhs.name] = explicit(eq.rhs, sizes, dict(values))
        for w in named:
            if delta(w).name not in derived:
                values[delta(w).name] = explicit(sp.ZeroMatrix(*w.shape), sizes, {})
            elif w in cut:
                values[delta(w).name] = free(delta(w))
        return values

    def objective(env: dict, definitions: dict, cut: list) -> sp.Expr:
        total = inner(seeds[delta(c.h)], env[c.h.name])
        total += sum((inner(seeds[carry(s)], env[s.name]) for s in c.new_states[1:]), sp.S.Zero)
        live = [w for w in cut if delta(w).name in derived]  # a dead value's δ is checked to be 0 apart
        return total + sum((inner(free(delta(w)), definitions[w]) for w in live), sp.S.Zero)

    base = forward(None)
    checks = []
    for symbol in (*c.previous_states, c.x, *c.params, *named):
        started = time.perf_counter()
        what = f"step {delta(symbol).name}"
        env, definitions, cut = base if symbol not in named or symbol in base[2] else forward(symbol)
        eq = derived.get(delta(symbol).name)
        rhs = eq.rhs if eq is not None else sp.ZeroMatrix(*symbol.shape)  # δ of a value that reaches nothing
        claim = explicit(rhs, sizes, claims(env, cut))
        wrt = env[symbol.name]
        truth = g.gradient(objective(env, definitions, cut), list(wrt))
        pairs = [(g.polynomial(a), truth.get(g.index[v], Polynomial()))
                 for a, v in zip(claim, wrt, strict=True)]
        checks.append(verdict(what, pairs, g, started))
    return checks


def prove_jacobian(d: Derivation) -> list[Check]:
    """Each block ∂s_t/∂s'_{t-1} of the derived step Jacobian against forward-mode differentiation of
    the step over the generators of :class:`~.opaque.Opaque` (each stored sum a generator of its own,
    so no nested expression is ever expanded)."""
    c, sizes, g = d.cell, STEP_SIZES, Opaque()
    env = {name: value.applyfunc(g.leaf) for name, value in step_inputs(d, sizes).items()}
    for eq in c.equations:
        value = explicit(eq.rhs, sizes, env)
        env[eq.lhs.name] = value.applyfunc(lambda e, n=eq.lhs.name: g.node(e, n))
    checks = []
    for (new, prev), expression in d.jacobian.items():
        started = time.perf_counter()
        claim = explicit(expression, sizes, dict(env))
        outputs, directions = list(env[new]), list(env[prev])
        tangents = g.tangents(outputs, directions)
        truth = [[tangent.get(g.index[v], Polynomial()) for v in directions] for tangent in tangents]
        rows, cols = claim.shape
        if (rows, cols) != (len(outputs), len(directions)):
            checks.append(Check(f"step ∂{new}/∂{prev}", 0, False, time.perf_counter() - started,
                                f"shape {claim.shape} ≠ {(len(outputs), len(directions))}"))
            continue
        pairs = [(g.polynomial(claim[i, j]), truth[i][j]) for i in range(rows) for j in range(cols)]
        checks.append(verdict(f"step ∂{new}/∂{prev}", pairs, g, started))
    return checks


def prove_head_step(d: Derivation) -> list[Check]:
    """The head's derived gradients (its parameters, the logits, its part of δh_t) against
    ``sympy.diff`` of ℓ_t, every entry."""
    hd, sizes = d.head, STEP_SIZES
    env = {hd.target.name: target(d, sizes, hd.target.name)}
    forward = run(hd.equations, sizes, env)
    claims = run(d.head_backward, sizes, dict(forward))
    loss = forward[hd.loss.name][0, 0]
    checks = []
    for symbol in hd.params:
        started = time.perf_counter()
        truth = _gradient(loss, forward[symbol.name])
        checks.append(_compare(f"head {delta(symbol).name}", claims[delta(symbol).name], truth, started))
    started = time.perf_counter()
    cut = symbol_matrix(hd.logits.name + "'", *forward[hd.logits.name].shape)
    position = next(i for i, eq in enumerate(hd.equations) if eq.lhs == hd.logits)
    after = run(hd.equations[position + 1:], sizes, {**forward, hd.logits.name: cut})
    back = dict(zip(cut, forward[hd.logits.name], strict=True))
    truth = _gradient(after[hd.loss.name][0, 0], cut).xreplace(back)
    checks.append(_compare(f"head {delta(hd.logits).name}", claims[delta(hd.logits).name], truth, started))
    started = time.perf_counter()
    truth = _gradient(loss, forward[hd.h.name])
    checks.append(_compare("head → δh_t", head_into_h(d, sizes, claims), truth, started))
    return checks
