"""Proofs that the derived backward equations are exact, by SymPy's own element-wise ``diff``.

At concrete small sizes every matrix becomes a matrix of scalar symbols. The *truth* is
``sympy.diff`` of the explicit forward computation; the *claim* is the derived backward equations
evaluated on the same symbols. Each entry of ``claim − truth`` must be exactly 0 in SymPy's
polynomial ring (or field of fractions), with function applications held opaque: no numbers are
sampled.

- ``step``: one cell step, with the incoming gradients δh_t (and the carried δc_t) as free symbols:
  Λ = δh_t·h_t (+ δc_t^{(t+1)}·c_t), and every named delta, δ of the previous states, δx_t and each
  parameter gradient equals ∂Λ/∂(that). The head likewise against ∂ℓ_t/∂(s_t, W_hy, b_y, h_t).
  The step Jacobians ∂s_t/∂s'_{t-1} against ``Matrix.jacobian``.
- ``bptt``: the loss unrolled over T steps and differentiated with respect to every parameter entry,
  every x_t, h_0 (and c_0), against the recurrence run backwards from t = T.
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
from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.explicit import explicit, symbol_matrix
from bpttlab.derivations.symbols import D, H, K, delta

__all__ = ["STEP_SIZES", "Check", "Proof", "bptt_sizes", "prove"]

STEP_SIZES = {D: 2, H: 2, K: 2}


def bptt_sizes(d: Derivation) -> dict:
    """Sizes for the unrolled T = 3 proof, chosen from the cell: small enough for ``diff`` of the
    whole sequence to stay fast. A cell with one element-wise function a step (the RNN) is proven at
    H = D = 2; a cell with more (every gated cell) at H = D = 1, where one GRU check at H = 2 took
    94 s. Softmax needs K = 2; the other heads use K = 1 at H = 1.

    >>> from bpttlab.derivations import derive
    >>> bptt_sizes(derive("rnn", "linear")), bptt_sizes(derive("mgu", "softmax"))
    ({D: 2, H: 2, K: 2}, {D: 1, H: 1, K: 2})
    """
    functions = sum(len(eq.rhs.atoms(Elementwise)) for eq in d.cell.equations)
    n = 2 if functions <= 1 else 1
    softmax = d.head is not None and d.head.name == "softmax"
    return {D: n, H: n, K: 2 if softmax or n == 2 else 1}


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


def _prove_cell_step(d: Derivation) -> list[Check]:
    c, sizes = d.cell, STEP_SIZES
    forward = _run(c.equations, sizes, {})
    seeds = {delta(c.h).name: symbol_matrix(delta(c.h).name, int(sizes[H]), 1)}
    seeds.update({carry(s).name: symbol_matrix(carry(s).name, int(sizes[H]), 1) for s in c.new_states[1:]})
    claims = _run(d.step_backward, sizes, {**forward, **seeds})

    def objective(env: dict) -> sp.Expr:
        total = _inner(seeds[delta(c.h).name], env[c.h.name])
        return total + sum((_inner(seeds[carry(s).name], env[s.name]) for s in c.new_states[1:]), sp.S.Zero)

    checks = []
    for symbol in (*c.previous_states, c.x, *c.params):
        started = time.perf_counter()
        truth = _gradient(objective(forward), forward[symbol.name])
        checks.append(_compare(f"step {delta(symbol).name}", claims[delta(symbol).name], truth, started))
    for position, eq in enumerate(c.equations):  # named intermediates: cut the graph at them
        if eq.lhs not in c.named_deltas:
            continue
        started = time.perf_counter()
        cut = symbol_matrix(eq.lhs.name + "'", *forward[eq.lhs.name].shape)
        env = _run(c.equations[position + 1:], sizes, {**forward, eq.lhs.name: cut})
        truth = _gradient(objective(env), cut).xreplace(dict(zip(cut, forward[eq.lhs.name], strict=True)))
        checks.append(_compare(f"step {delta(eq.lhs).name}", claims[delta(eq.lhs).name], truth, started))
    return checks


def _prove_jacobian(d: Derivation) -> list[Check]:
    c, sizes = d.cell, STEP_SIZES
    forward = _run(c.equations, sizes, {})
    checks = []
    for (new, prev), expression in d.jacobian.items():
        started = time.perf_counter()
        claim = explicit(expression, sizes, dict(forward))
        truth = forward[new].jacobian(forward[prev])
        checks.append(_compare(f"step ∂{new}/∂{prev}", claim, truth, started))
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


def _prove_bptt(d: Derivation, steps: int) -> list[Check]:
    c, hd, sizes = d.cell, d.head, bptt_sizes(d)
    params = {p.name: symbol_matrix(p.name, *(int(n.xreplace(sizes)) for n in p.shape)) for p in
              (*c.params, *(hd.params if hd else ()))}
    initial = {prev.name: symbol_matrix(prev.name.replace("{t-1}", "0"), int(sizes[H]), 1)
               for prev in c.previous_states}
    states, envs, loss = dict(initial), [], sp.S.Zero
    for t in range(1, steps + 1):
        env = {**params, **states, c.x.name: symbol_matrix(f"x_{t}", int(sizes[D]), 1)}
        equations = c.equations
        if hd is not None:
            env[hd.target.name] = _target(d, sizes, f"y_{t}")
            equations += hd.equations
        env = _run(equations, sizes, env)
        envs.append(env)
        if hd is not None and (d.loss_at == "every" or t == steps):
            loss += env[hd.loss.name][0, 0]
        states = {prev.name: env[new.name] for new, prev in c.states}
    if hd is None:  # a bare cell: the loss is a fixed linear read-out of h_T
        weights = symbol_matrix("v", int(sizes[H]), 1)
        loss = _inner(weights, envs[-1][c.h.name])

    totals: dict[str, sp.ImmutableMatrix] = {}
    carried = {carry(new).name: sp.zeros(int(sizes[H]), 1) for new in c.new_states}
    for t in range(steps, 0, -1):
        env = {**envs[t - 1], **carried}
        if hd is not None and (d.loss_at == "every" or t == steps):
            _run(d.head_backward, sizes, env)
            into_h = _head_into_h(d, env)
        else:
            into_h = sp.zeros(int(sizes[H]), 1)
            if hd is None and t == steps:
                into_h = symbol_matrix("v", int(sizes[H]), 1)
        env[delta(c.h).name] = into_h + carried[carry(c.h).name]
        _run(d.step_backward, sizes, env)
        for name, value in params.items():
            gradient = env.get("δ" + name)  # head parameters have none at steps without a loss
            if gradient is not None:
                totals[name] = totals.get(name, sp.zeros(*value.shape)) + gradient
        totals[f"x_{t}"] = env[delta(c.x).name]
        carried = {carry(new).name: env[delta(prev).name] for new, prev in c.states}

    checks = []
    for name, value in params.items():
        started = time.perf_counter()
        claim = totals.get(name, sp.zeros(*value.shape))
        checks.append(_compare(f"BPTT ∂L/∂{name}", claim, _gradient(loss, value), started))
    for t in range(1, steps + 1):
        started = time.perf_counter()
        x = envs[t - 1][c.x.name]
        checks.append(_compare(f"BPTT ∂L/∂x_{t}", totals[f"x_{t}"], _gradient(loss, x), started))
    for new, prev in c.states:
        started = time.perf_counter()
        name = prev.name.replace("{t-1}", "0")
        claim = carried[carry(new).name]
        checks.append(_compare(f"BPTT ∂L/∂{name}", claim, _gradient(loss, initial[prev.name]), started))
    return checks


def prove(
    cell: str,
    head: str | None = "softmax",
    loss_at: str = "every",
    kind: tuple[str, ...] = ("step", "bptt"),
    steps: int = 3,
    derivation: Derivation | None = None,
) -> Proof:
    """Prove the derivation of ``cell`` × ``head`` × ``loss_at`` exact.

    ``kind`` chooses the per-step proofs, the unrolled ``steps``-step BPTT proof, or both.
    ``derivation`` proves a given (for instance deliberately altered) derivation instead.

    >>> print(prove("rnn", head="linear", kind=("step",)).passed)
    True
    """
    unknown = set(kind) - {"step", "bptt"}
    if unknown:
        raise ValueError(f"unknown proof kind {sorted(unknown)}; valid: step, bptt")
    if loss_at not in LOSS_AT:
        raise ValueError(f"unknown loss placement {loss_at!r}; valid: {', '.join(LOSS_AT)}")
    d = derivation if derivation is not None else derive(cell, head, loss_at)
    checks: list[Check] = []
    if "step" in kind:
        checks += _prove_cell_step(d) + _prove_jacobian(d)
        if d.head is not None:
            checks += _prove_head_step(d)
    if "bptt" in kind:
        checks += _prove_bptt(d, steps)
    return Proof(f"{d.cell.name} × {d.head.name if d.head else 'no head'} × loss at {d.loss_at}",
                 tuple(checks))
