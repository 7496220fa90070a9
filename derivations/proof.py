"""Proofs that the derived backward equations are exact, by SymPy's own element-wise ``diff``.

At concrete small sizes every matrix becomes a matrix of scalar symbols. The *truth* is
differentiation of the explicit forward computation; the *claim* is the derived backward equations
evaluated on the same symbols. Each entry of ``claim − truth`` must be exactly 0 in SymPy's
polynomial ring (or field of fractions), or in the polynomials of :mod:`.polynomial`, with function
applications held opaque: no numbers are sampled.

- ``step``: one cell step, with the incoming gradients δh_t (and the carried δc_t) as free symbols:
  Λ = δh_t·h_t (+ δc_t^{(t+1)}·c_t), and every named delta, δ of the previous states, δx_t and each
  parameter gradient equals ∂Λ/∂(that) by ``sympy.diff``. The head likewise against
  ∂ℓ_t/∂(s_t, W_hy, b_y, h_t). The step Jacobians ∂s_t/∂s'_{t-1} against ``Matrix.jacobian``.
  At H = D = K = 2 (:data:`STEP_SIZES`).
- ``bptt``: the loss unrolled over T steps (:func:`bptt_steps`) at H = D = K = 2 (:func:`bptt_sizes`),
  differentiated with respect to every parameter entry, every x_t, h_0 (and c_0) by forward mode
  over the explicit forward computation, its stored values held opaque (:mod:`.opaque`), against
  the derived recurrence run backwards from t = T (:func:`_prove_bptt`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.polys.domains import QQ
from sympy.polys.fields import field
from sympy.polys.rings import ring

from bpttlab.derivations.derivation import LOSS_AT, Derivation, carry, derive
from bpttlab.derivations.explicit import explicit, symbol_matrix
from bpttlab.derivations.names import shift_name
from bpttlab.derivations.opaque import Opaque
from bpttlab.derivations.polynomial import Polynomial, TooLarge, work_budget
from bpttlab.derivations.symbols import D, H, K, delta

__all__ = ["STEP_SIZES", "Check", "Proof", "bptt_sizes", "bptt_steps", "prove"]

STEP_SIZES = {D: 2, H: 2, K: 2}


def bptt_sizes(d: Derivation) -> dict:
    """Sizes for the unrolled T = 3 proof: H = D = K = 2 for every cell and head. At H = 2 a
    Hadamard product and a matrix product differ and a missing transpose shows (at H = 1 neither
    does); the stored values held opaque (:mod:`.opaque`) keep the proof of a gated cell to seconds.
    ``d`` is the derivation to be proven (every one is proven at the same sizes).

    >>> from bpttlab.derivations import derive
    >>> bptt_sizes(derive("rnn", "linear")), bptt_sizes(derive("mgu", "softmax"))
    ({D: 2, H: 2, K: 2}, {D: 2, H: 2, K: 2})
    """
    return {D: 2, H: 2, K: 2}


def bptt_steps(d: Derivation) -> int:
    """Steps T of the unrolled proof: 3 for a cell with at most two states (every built-in cell and
    all but one variant), 2 beyond. Expanded in full, the unrolled polynomials grow with the width of
    the step Jacobian to the power T: lstm_fgr (five states: h, c and the three gates) needs more
    than 8 GB at T = 3 and 0.4 s at T = 2. With the step proofs (every step rule at H = D = 2, for
    any incoming gradient), T = 2 already checks every carried gradient crossing a step boundary.

    >>> from bpttlab.derivations import derive
    >>> bptt_steps(derive("lstm")), bptt_steps(derive("lstm_fgr"))
    (3, 2)
    """
    return 3 if len(d.cell.states) <= 2 else 2


@dataclass(frozen=True)
class Check:
    """One compared quantity: ``entries`` scalar identities, all proven or not."""

    what: str
    entries: int
    passed: bool
    seconds: float
    counterexample: str = ""


@dataclass(frozen=True)
class Proof:
    """The checks made for one derivation; ``passed`` only if every identity simplified to 0.

    A notebook shows it as a table of its checks:

    >>> print(prove("rnn", head=None, kind=("step",))._repr_markdown_())
    **rnn × no head × loss at every: PROVEN**
    <BLANKLINE>
    | what | identities | passed |
    | --- | --- | --- |
    | step δh_{t-1} | 2 | yes |
    | step δx_t | 2 | yes |
    | step δW_xh | 4 | yes |
    | step δW_hh | 4 | yes |
    | step δb_h | 2 | yes |
    | step δa_t | 2 | yes |
    | step ∂h_t/∂h_{t-1} | 4 | yes |
    """

    name: str
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def __str__(self) -> str:
        lines = [f"{self.name}: {'PROVEN' if self.passed else 'FAILED'}"]
        for c in self.checks:
            mark = "ok " if c.passed else "BAD"
            lines.append(f"  {mark} {c.what:<34} {c.entries:>4} identities  {c.seconds:6.2f} s")
            if c.counterexample:
                lines.append(f"      residual ≠ 0: {c.counterexample}")
        return "\n".join(lines)

    def _table(self) -> tuple[list[str], list[list[object]], str]:
        """Header, rows and caption of the notebook's table: a row per check, the residual of any
        failed one."""
        header = ["what", "identities", "passed"]
        failed = any(c.counterexample for c in self.checks)
        rows: list[list[object]] = [[c.what, c.entries, "yes" if c.passed else "NO"] for c in self.checks]
        if failed:
            header.append("residual ≠ 0")
            for row, c in zip(rows, self.checks, strict=True):
                row.append(c.counterexample)
        return header, rows, f"{self.name}: {'PROVEN' if self.passed else 'FAILED'}"

    def _repr_markdown_(self) -> str:
        from bpttlab.derivations.printing.notebook import markdown_table  # printing imports this package

        header, rows, caption = self._table()
        return markdown_table(header, rows, f"**{caption}**")

    def _repr_html_(self) -> str:
        from bpttlab.derivations.printing.notebook import html_table

        return html_table(*self._table())

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def _opaque(exprs: list[sp.Expr]) -> list[sp.Expr]:
    """Replace every outermost function application (tanh(…), σ(…), exp(…), log(…)), then every
    reciprocal of a sum (softmax's 1/Σ e^{s_k}), by a symbol of its own.

    Both sides are built from the same explicit forward values, so equal applications are the
    same object on both sides. An identity that holds with these symbols as independent variables
    holds for their actual values too, so this is sound; it turns each side into a polynomial and
    keeps the arithmetic out of the nested arguments (an unrolled LSTM is a tree of ~10^5 nodes).
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
    if claim.shape != truth.shape:
        return Check(what, 0, False, time.perf_counter() - started, f"shape {claim.shape} ≠ {truth.shape}")
    for c, t in zip(claim, truth, strict=True):
        residual = _residual(c, t)
        if residual != 0:
            text = str(residual)
            return Check(what, len(truth), False, time.perf_counter() - started,
                         text if len(text) < 200 else text[:200] + " …")
    return Check(what, len(truth), True, time.perf_counter() - started)


def _gradient(scalar: sp.Expr, wrt: sp.ImmutableMatrix) -> sp.ImmutableMatrix:
    return wrt.applyfunc(lambda v: sp.diff(scalar, v))


def _inner(a: sp.ImmutableMatrix, b: sp.ImmutableMatrix) -> sp.Expr:
    return sum((x * y for x, y in zip(a, b, strict=True)), sp.S.Zero)


def _run(equations: Iterable[sp.Eq], sizes: dict, env: dict) -> dict:
    for eq in equations:
        env[eq.lhs.name] = explicit(eq.rhs, sizes, env)
    return env


def _target(d: Derivation, sizes: dict, name: str) -> sp.ImmutableMatrix:
    y = symbol_matrix(name, int(sizes[K]), 1)
    if d.head.one_hot_target:  # the targets lie on the simplex: y_K = 1 − Σ_{k<K} y_k
        y = sp.ImmutableMatrix([*y[:-1], 1 - sum(y[:-1])])
    return y


def _step_inputs(d: Derivation, sizes: dict) -> dict:
    """Every input of the step and every parameter as a matrix of symbols, whether or not an equation
    reads it (a cell may ignore x_t, or a parameter may cancel: its gradient is then exactly zero)."""
    return {s.name: explicit(s, sizes, {}) for s in (*d.cell.inputs, *d.cell.params)}


def _prove_cell_step(d: Derivation) -> list[Check]:
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
    leaves = {name: value.applyfunc(g.leaf) for name, value in _step_inputs(d, sizes).items()}

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
        total = _inner(seeds[delta(c.h)], env[c.h.name])
        total += sum((_inner(seeds[carry(s)], env[s.name]) for s in c.new_states[1:]), sp.S.Zero)
        live = [w for w in cut if delta(w).name in derived]  # a dead value's δ is checked to be 0 apart
        return total + sum((_inner(free(delta(w)), definitions[w]) for w in live), sp.S.Zero)

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
        checks.append(_verdict(what, pairs, g, started))
    return checks


def _stored_sum(g: Opaque, value: sp.Expr) -> bool:
    """Whether ``value`` is a generator standing for a stored sum (a pre-activation, a cell state)."""
    return value in g.index and isinstance(g.definition.get(g.index[value]), sp.Add)


def _prove_jacobian(d: Derivation) -> list[Check]:
    """Each block ∂s_t/∂s'_{t-1} of the derived step Jacobian against forward-mode differentiation of
    the step over the generators of :class:`~.opaque.Opaque` (each stored sum a generator of its own,
    so no nested expression is ever expanded)."""
    c, sizes, g = d.cell, STEP_SIZES, Opaque()
    env = {name: value.applyfunc(g.leaf) for name, value in _step_inputs(d, sizes).items()}
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
        checks.append(_verdict(f"step ∂{new}/∂{prev}", pairs, g, started))
    return checks


def _head_into_h(d: Derivation, env: dict) -> sp.ImmutableMatrix:
    """The head's part of δh_t, as the engine uses it."""
    return explicit(d.from_head, STEP_SIZES, env)


def _prove_head_step(d: Derivation) -> list[Check]:
    hd, sizes = d.head, STEP_SIZES
    env = {hd.target.name: _target(d, sizes, hd.target.name)}
    forward = _run(hd.equations, sizes, env)
    claims = _run(d.head_backward, sizes, dict(forward))
    loss = forward[hd.loss.name][0, 0]
    checks = []
    for symbol in hd.params:
        started = time.perf_counter()
        truth = _gradient(loss, forward[symbol.name])
        checks.append(_compare(f"head {delta(symbol).name}", claims[delta(symbol).name], truth, started))
    started = time.perf_counter()
    cut = symbol_matrix(hd.logits.name + "'", *forward[hd.logits.name].shape)
    position = next(i for i, eq in enumerate(hd.equations) if eq.lhs == hd.logits)
    after = _run(hd.equations[position + 1:], sizes, {**forward, hd.logits.name: cut})
    back = dict(zip(cut, forward[hd.logits.name], strict=True))
    truth = _gradient(after[hd.loss.name][0, 0], cut).xreplace(back)
    checks.append(_compare(f"head {delta(hd.logits).name}", claims[delta(hd.logits).name], truth, started))
    started = time.perf_counter()
    truth = _gradient(loss, forward[hd.h.name])
    checks.append(_compare("head → δh_t", _head_into_h(d, claims), truth, started))
    return checks


def _logits_only(d: Derivation) -> bool:
    """True if the head's loss reaches the cell and the parameters only through the logits s_t:
    no equation after the logits' reads anything but the logits, the target and its own results."""
    hd = d.head
    position = next(i for i, eq in enumerate(hd.equations) if eq.lhs == hd.logits)
    allowed = {hd.logits, hd.target}
    for eq in hd.equations[position + 1:]:
        if not eq.rhs.atoms(sp.MatrixSymbol) <= allowed:
            return False
        allowed.add(eq.lhs)
    return True


def _prove_bptt(d: Derivation, steps: int, sizes: dict | None = None) -> list[Check]:
    """The unrolled proof: every gradient of the ``steps``-step loss L, the derived recurrence run
    backwards (the claim) against forward-mode differentiation of the explicit forward computation
    (the truth), both exact polynomials over the generators of :class:`~.opaque.Opaque`.

    The truth never sees a derived equation. Each stored value of the explicit forward pass (a
    pre-activation, a cell state, a logit; see :mod:`.opaque`) and each function application is a
    generator whose local partial derivatives are ``sympy.diff`` of its own definition. Tangents
    are pushed forwards through them from every value that reads a parameter, an input or an
    initial state directly, and ∂L/∂(each) is the sum over its readers (:meth:`.Opaque.gradient`):
    the chain rule, summed over every path. The claim runs the derived head and step equations
    from t = T down to 1 on the same stored values, with the incoming δh_t (and carried δc_t) as
    free seeds that are then replaced by the polynomials the previous backward step produced.

    The head enters in two exact stages, which keeps the polynomials small. (1) At each step with a
    loss, the derived δs_t equals ∂ℓ_t/∂s_t (forward mode through the head's own generators, s_t
    held independent). (2) With free symbols Γ_t in place of δs_t, the derived recurrence equals the
    forward-mode gradient of Σ_t Γ_tᵀ s_t. Both sides of (2) are polynomials in the Γ_t, so (2)
    still holds with Γ_t := the derived δs_t, which (1) equals ∂ℓ_t/∂s_t; and since ℓ_t reaches
    every parameter and state only through s_t (checked from the head's equations), the chain rule
    makes Σ_t (∂ℓ_t/∂s_t)ᵀ ṡ_t the tangent of L. So (1) and (2) prove claim = ∂L/∂(each) exactly.

    The seconds of the first ∂L/∂ check include running the claim and the truth, which all the
    checks after it share; theirs are the comparisons alone.
    """
    c, hd, sizes = d.cell, d.head, sizes or bptt_sizes(d)
    if hd is not None and not _logits_only(d):
        raise ValueError(f"head {hd.name!r}: the loss must depend on the cell only through {hd.logits}")
    g = Opaque()
    params = {p.name: symbol_matrix(p.name, *(int(n.xreplace(sizes)) for n in p.shape)) for p in
              (*c.params, *(hd.params if hd else ()))}
    initial = {prev.name: symbol_matrix(shift_name(prev.name, 1), int(sizes[H]), 1)
               for prev in c.previous_states}
    with_loss = [t for t in range(1, steps + 1) if hd is not None and (d.loss_at == "every" or t == steps)]
    states, envs = dict(initial), []
    for t in range(1, steps + 1):
        env = {**params, **states, c.x.name: symbol_matrix(f"x_{t}", int(sizes[D]), 1)}
        equations = c.equations
        if t in with_loss:
            env[hd.target.name] = _target(d, sizes, f"y_{t}")
            equations += hd.equations
        for eq in equations:  # the explicit forward pass, each stored value held opaque
            value = explicit(eq.rhs, sizes, env)
            name = shift_name(eq.lhs.name, t)
            own = hd is not None and eq.lhs == hd.logits  # stage (1) differentiates by the logits
            env[eq.lhs.name] = sp.ImmutableMatrix(*value.shape, lambda i, j, v=value, n=name, o=own:
                                                  g.node(v[i, j], f"{n}[{i},{j}]", o))
        envs.append(env)
        states = {prev.name: env[new.name] for new, prev in c.states}

    totals: dict[str, list[Polynomial]] = {}  # the claim: each gradient summed over the steps

    def polynomials(matrix: sp.ImmutableMatrix, seeds: dict | None = None) -> list[Polynomial]:
        values = {g.index[s]: v for s, v in (seeds or {}).items()}
        return [g.polynomial(e).substitute(values) if values else g.polynomial(e) for e in matrix]

    def zeros(n: int) -> list[Polynomial]:
        return [Polynomial() for _ in range(n)]

    def add(name: str, gradient: list[Polynomial]) -> None:
        totals[name] = [a + b for a, b in zip(totals.get(name, zeros(len(gradient))), gradient, strict=True)]

    checks: list[Check] = []
    gammas, surrogate = {}, []  # stage (1): δs_t against ∂ℓ_t/∂s_t; Γ_t stands for it after
    if with_loss:
        started = time.perf_counter()
        logits = [s for t in with_loss for s in envs[t - 1][hd.logits.name]]
        partial = g.tangents([envs[t - 1][hd.loss.name][0, 0] for t in with_loss], logits)
        for t, truth in zip(with_loss, partial, strict=True):
            env = dict(envs[t - 1])
            _run(_until(d.head_backward, delta(hd.logits)), sizes, env)
            claim = polynomials(env[delta(hd.logits).name])
            s_t = env[hd.logits.name]
            pairs = [(a, truth.get(g.index[s], Polynomial())) for a, s in zip(claim, s_t, strict=True)]
            logit = shift_name(hd.logits.name, t)
            checks.append(_verdict(f"BPTT ∂ℓ_{t}/∂{logit}", pairs, g, started))
            gammas[t] = symbol_matrix(f"Γ_{t}", *s_t.shape)
            surrogate.append(_inner(gammas[t], s_t))
            started = time.perf_counter()
    else:
        surrogate.append(_inner(symbol_matrix("v", int(sizes[H]), 1), envs[-1][c.h.name]))

    started = time.perf_counter()  # the first check below is timed with the claim and the truth
    carried = {carry(new).name: zeros(int(sizes[H])) for new in c.new_states}
    cell_gradients = {"δ" + p.name for p in c.params}
    for t in range(steps, 0, -1):
        env = dict(envs[t - 1])
        into_h = zeros(int(sizes[H]))
        if t in gammas:  # the head's equations, δs_t := Γ_t
            for eq in d.head_backward:
                if eq.lhs == delta(hd.logits):
                    env[eq.lhs.name] = gammas[t]
                else:
                    _run((eq,), sizes, env)
            into_h = polynomials(_head_into_h(d, env))
            for name in params:
                if "δ" + name in env and "δ" + name not in cell_gradients:
                    add(name, polynomials(env["δ" + name]))
        elif hd is None and t == steps:
            into_h = polynomials(symbol_matrix("v", int(sizes[H]), 1))
        seeds = {}  # δh_t and the carried δs_t as free symbols, replaced after the step
        incoming = {delta(c.h).name: [a + b for a, b in zip(into_h, carried[carry(c.h).name], strict=True)]}
        incoming.update({carry(new).name: carried[carry(new).name] for new in c.new_states[1:]})
        for name, value in incoming.items():
            env[name] = symbol_matrix(f"{name}@{t}", int(sizes[H]), 1)
            seeds.update(zip(map(g.leaf, env[name]), value, strict=True))
        _run(d.step_backward, sizes, env)
        for name in params:
            if "δ" + name in cell_gradients:
                add(name, polynomials(env["δ" + name], seeds))
        totals[f"x_{t}"] = polynomials(env[delta(c.x).name], seeds)
        carried = {carry(new).name: polynomials(env[delta(prev).name], seeds) for new, prev in c.states}

    # stage (2): the truth, by forward mode
    leaves = [*(s for m in params.values() for s in m), *(s for e in envs for s in e[c.x.name]),
              *(s for m in initial.values() for s in m)]
    truth = g.gradient(sp.Add(*surrogate), leaves)

    def compare(what: str, claim: list[Polynomial], wrt: sp.ImmutableMatrix) -> Check:
        pairs = [(a, truth.get(g.index[s], Polynomial())) for a, s in zip(claim, wrt, strict=True)]
        return _verdict(what, pairs, g, started)

    for name, value in params.items():
        checks.append(compare(f"BPTT ∂L/∂{name}", totals.get(name, zeros(len(value))), value))
        started = time.perf_counter()
    for t in range(1, steps + 1):
        checks.append(compare(f"BPTT ∂L/∂x_{t}", totals[f"x_{t}"], envs[t - 1][c.x.name]))
        started = time.perf_counter()
    for new, prev in c.states:
        name = shift_name(prev.name, 1)
        checks.append(compare(f"BPTT ∂L/∂{name}", carried[carry(new).name], initial[prev.name]))
        started = time.perf_counter()
    return checks


def _until(equations: tuple[sp.Eq, ...], lhs: sp.MatrixSymbol) -> tuple[sp.Eq, ...]:
    """The equations up to and including the one defining ``lhs``."""
    position = next(i for i, eq in enumerate(equations) if eq.lhs == lhs)
    return tuple(equations[:position + 1])


def _verdict(what: str, pairs: list[tuple[Polynomial, Polynomial]], g: Opaque, started: float) -> Check:
    """Each claim polynomial against its truth: equal term by term (both are kept without zero
    coefficients, so equal dictionaries are equal polynomials); else the first residual."""
    for claim, truth in pairs:
        if claim.terms != truth.terms:
            residual = claim - truth
            text = str(residual.as_expr(g.name)) if len(residual) < 40 else f"{len(residual)} terms"
            return Check(what, len(pairs), False, time.perf_counter() - started,
                         text if len(text) < 200 else text[:200] + " …")
    return Check(what, len(pairs), True, time.perf_counter() - started)


def prove(
    cell: str,
    head: str | None = "softmax",
    loss_at: str = "every",
    kind: tuple[str, ...] = ("step", "bptt"),
    steps: int | None = None,
    derivation: Derivation | None = None,
    sizes: dict | None = None,
) -> Proof:
    """Prove the derivation of ``cell`` × ``head`` × ``loss_at`` exact.

    ``kind`` chooses the per-step proofs, the unrolled ``steps``-step BPTT proof (by default
    :func:`bptt_steps`), or both.
    ``derivation`` proves a given (for instance deliberately altered) derivation instead.
    ``sizes`` ({D: …, H: …, K: …}) overrides the unrolled proof's sizes (:func:`bptt_sizes`).

    >>> print(prove("rnn", head="linear", kind=("step",)).passed)
    True
    """
    unknown = set(kind) - {"step", "bptt"}
    if unknown:
        raise ValueError(f"unknown proof kind {sorted(unknown)}; valid: step, bptt")
    if loss_at not in LOSS_AT:
        raise ValueError(f"unknown loss placement {loss_at!r}; valid: {', '.join(LOSS_AT)}")
    if steps is not None and (not isinstance(steps, int) or isinstance(steps, bool) or steps < 1):
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if sizes is not None and (not isinstance(sizes, dict) or set(sizes) != {D, H, K} or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in sizes.values())):
        raise ValueError(f"sizes must map D, H and K to positive integers, got {sizes!r}")
    d = derivation if derivation is not None else derive(cell, head, loss_at)
    checks: list[Check] = []
    if "step" in kind:
        try:
            with work_budget(inherit=True):
                checks += _prove_cell_step(d) + _prove_jacobian(d)
        except TooLarge as error:
            raise ValueError(f"the step proof of {d.cell.name} is too large to expand ({error}): its "
                             f"derivatives multiply out past what an exact proof can hold") from None
        if d.head is not None:
            checks += _prove_head_step(d)
    if "bptt" in kind:
        # By default the unrolled proof runs over bptt_steps(d), and over two steps (which already
        # carry a gradient across a step boundary) where that grows too large to expand.
        tries = [steps] if steps is not None else sorted({bptt_steps(d), min(2, bptt_steps(d))}, reverse=True)
        for attempt in tries:
            try:
                with work_budget(inherit=True):
                    checks += _prove_bptt(d, attempt, sizes)
                break
            except TooLarge as error:
                if attempt == tries[-1]:
                    raise ValueError(f"steps={attempt}: the unrolled proof of {d.cell.name} is too large to "
                                     f"expand ({error}); prove it over fewer steps, or prove the step rules "
                                     f"alone (kind=('step',))") from None
    return Proof(f"{d.cell.name} × {d.head.name if d.head else 'no head'} × loss at {d.loss_at}",
                 tuple(checks))
