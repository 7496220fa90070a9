"""The unrolled proof: every gradient of the loss of a T-step sequence, the derived recurrence run
backwards (the claim) against forward-mode differentiation of the explicit forward computation
(the truth), both exact polynomials over the generators of :class:`~.opaque.Opaque`.

The truth never sees a derived equation. Each stored value of the explicit forward pass (a
pre-activation, a cell state, a logit; see :mod:`~bpttlab.derivations.opaque`) and each function
application is a generator whose local partial derivatives are ``sympy.diff`` of its own definition.
Tangents are pushed forwards through them from every value that reads a parameter, an input or an
initial state directly, and ∂L/∂(each) is the sum over its readers (:meth:`.Opaque.gradient`): the
chain rule, summed over every path. The claim runs the derived head and step equations from t = T
down to 1 on the same stored values, with the incoming δh_t (and carried δc_t) as free seeds that
are then replaced by the polynomials the previous backward step produced.

The head enters in two exact stages, which keeps the polynomials small. (1) At each step with a
loss, the derived δs_t equals ∂ℓ_t/∂s_t (forward mode through the head's own generators, s_t held
independent). (2) With free symbols Γ_t in place of δs_t, the derived recurrence equals the
forward-mode gradient of Σ_t Γ_tᵀ s_t. Both sides of (2) are polynomials in the Γ_t, so (2) still
holds with Γ_t := the derived δs_t, which (1) equals ∂ℓ_t/∂s_t; and since ℓ_t reaches every
parameter and state only through s_t (checked from the head's equations), the chain rule makes
Σ_t (∂ℓ_t/∂s_t)ᵀ ṡ_t the tangent of L. So (1) and (2) prove claim = ∂L/∂(each) exactly.

:func:`prove_unrolled` runs the stages in order: :func:`unroll` (the forward pass), :func:`head_stage`
(1), :func:`claimed_gradients` (the derived recurrence, backwards), then the truth and
:func:`compared` (2).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import sympy as sp

from bpttlab.derivations.derivation import Derivation, carry
from bpttlab.derivations.explicit import explicit, symbol_matrix
from bpttlab.derivations.names import shift_name
from bpttlab.derivations.opaque import Opaque
from bpttlab.derivations.polynomial import Polynomial
from bpttlab.derivations.proof.evaluation import head_into_h, inner, run, target
from bpttlab.derivations.proof.results import Check, verdict
from bpttlab.derivations.symbols import D, H, K, delta

__all__ = ["Claim", "Unrolled", "bptt_sizes", "bptt_steps", "claimed_gradients", "compared", "head_stage",
           "prove_unrolled", "unroll"]


def bptt_sizes() -> dict:
    """Sizes of the unrolled proof: H = D = K = 2 for every cell and head. At H = 2 a Hadamard product
    and a matrix product differ and a missing transpose shows (at H = 1 neither does); the stored
    values held opaque (:mod:`~bpttlab.derivations.opaque`) keep the proof of a gated cell to seconds.

    >>> bptt_sizes()
    {D: 2, H: 2, K: 2}
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
class Unrolled:
    """The explicit forward pass over ``steps`` steps, each stored value a generator of ``g``:
    ``params`` and ``initial`` states as matrices of symbols, ``with_loss`` the steps with a loss,
    ``envs[t - 1]`` every value of step t by its step-t name."""

    g: Opaque
    sizes: dict
    steps: int
    params: dict[str, sp.ImmutableMatrix]
    initial: dict[str, sp.ImmutableMatrix]
    with_loss: tuple[int, ...]
    envs: tuple[dict, ...]

    def polynomials(self, matrix: sp.ImmutableMatrix, seeds: dict | None = None) -> list[Polynomial]:
        """The entries of ``matrix`` as polynomials, the free ``seeds`` (symbol → polynomial) put in."""
        values = {self.g.index[s]: v for s, v in (seeds or {}).items()}
        return [self.g.polynomial(e).substitute(values) if values else self.g.polynomial(e) for e in matrix]

    def zeros(self, n: int) -> list[Polynomial]:
        return [Polynomial() for _ in range(n)]

    @property
    def rows(self) -> int:
        """H, the entries of every state."""
        return int(self.sizes[H])


@dataclass
class Claim:
    """What the derived equations say: each parameter's gradient summed over the steps (by name),
    each x_t's (``x_1``, …), and what step 1 carries back to each initial state (by the carry's name)."""

    totals: dict[str, list[Polynomial]] = field(default_factory=dict)
    carried: dict[str, list[Polynomial]] = field(default_factory=dict)

    def add(self, name: str, gradient: list[Polynomial]) -> None:
        before = self.totals.get(name, [Polynomial() for _ in gradient])
        self.totals[name] = [a + b for a, b in zip(before, gradient, strict=True)]


def logits_only(d: Derivation) -> bool:
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


def unroll(d: Derivation, steps: int, sizes: dict) -> Unrolled:
    """The explicit forward pass of cell and head over ``steps`` steps, each stored value held opaque
    (the logits a generator of their own, for stage (1))."""
    c, hd, g = d.cell, d.head, Opaque()
    params = {p.name: symbol_matrix(p.name, *(int(n.xreplace(sizes)) for n in p.shape)) for p in
              (*c.params, *(hd.params if hd else ()))}
    initial = {prev.name: symbol_matrix(shift_name(prev.name, 1), int(sizes[H]), 1)
               for prev in c.previous_states}
    with_loss = tuple(t for t in range(1, steps + 1)
                      if hd is not None and (d.loss_at == "every" or t == steps))
    states, envs = dict(initial), []
    for t in range(1, steps + 1):
        env = {**params, **states, c.x.name: symbol_matrix(f"x_{t}", int(sizes[D]), 1)}
        equations = c.equations
        if t in with_loss:
            env[hd.target.name] = target(d, sizes, f"y_{t}")
            equations += hd.equations
        for eq in equations:
            value = explicit(eq.rhs, sizes, env)
            name = shift_name(eq.lhs.name, t)
            own = hd is not None and eq.lhs == hd.logits
            env[eq.lhs.name] = sp.ImmutableMatrix(*value.shape, lambda i, j, v=value, n=name, o=own:
                                                  g.node(v[i, j], f"{n}[{i},{j}]", o))
        envs.append(env)
        states = {prev.name: env[new.name] for new, prev in c.states}
    return Unrolled(g, sizes, steps, params, initial, with_loss, tuple(envs))


def _until(equations: tuple[sp.Eq, ...], lhs: sp.MatrixSymbol) -> tuple[sp.Eq, ...]:
    """The equations up to and including the one defining ``lhs``."""
    position = next(i for i, eq in enumerate(equations) if eq.lhs == lhs)
    return tuple(equations[:position + 1])


def head_stage(d: Derivation, u: Unrolled) -> tuple[list[Check], dict[int, sp.ImmutableMatrix], sp.Expr]:
    """Stage (1): at each step with a loss, the derived δs_t against ∂ℓ_t/∂s_t. Returns those checks,
    the free Γ_t that stand for δs_t from here on, and the surrogate loss Σ_t Γ_tᵀ s_t (without a
    head: vᵀ h_T with a free v)."""
    hd, g = d.head, u.g
    checks: list[Check] = []
    gammas: dict[int, sp.ImmutableMatrix] = {}
    if not u.with_loss:
        return checks, gammas, inner(symbol_matrix("v", u.rows, 1), u.envs[-1][d.cell.h.name])
    surrogate = []
    started = time.perf_counter()
    logits = [s for t in u.with_loss for s in u.envs[t - 1][hd.logits.name]]
    partial = g.tangents([u.envs[t - 1][hd.loss.name][0, 0] for t in u.with_loss], logits)
    for t, truth in zip(u.with_loss, partial, strict=True):
        env = run(_until(d.head_backward, delta(hd.logits)), u.sizes, dict(u.envs[t - 1]))
        claim = u.polynomials(env[delta(hd.logits).name])
        s_t = env[hd.logits.name]
        pairs = [(a, truth.get(g.index[s], Polynomial())) for a, s in zip(claim, s_t, strict=True)]
        checks.append(verdict(f"BPTT ∂ℓ_{t}/∂{shift_name(hd.logits.name, t)}", pairs, g, started))
        gammas[t] = symbol_matrix(f"Γ_{t}", *s_t.shape)
        surrogate.append(inner(gammas[t], s_t))
        started = time.perf_counter()
    return checks, gammas, sp.Add(*surrogate)


def _head_backward_at(d: Derivation, u: Unrolled, gamma: sp.ImmutableMatrix, env: dict, claim: Claim
                      ) -> list[Polynomial]:
    """The head's backward equations at a step with a loss, δs_t := Γ_t: its parameters' gradients added to
    ``claim``; returns its part of δh_t."""
    for eq in d.head_backward:
        if eq.lhs == delta(d.head.logits):
            env[eq.lhs.name] = gamma
        else:
            run((eq,), u.sizes, env)
    cell_gradients = {"δ" + p.name for p in d.cell.params}
    for name in u.params:
        if "δ" + name in env and "δ" + name not in cell_gradients:
            claim.add(name, u.polynomials(env["δ" + name]))
    return u.polynomials(head_into_h(d, u.sizes, env))


def claimed_gradients(d: Derivation, u: Unrolled, gammas: dict[int, sp.ImmutableMatrix]) -> Claim:
    """The derived head and step equations run from t = T down to 1 on the forward pass's stored
    values, δh_t (and every carried δs_t) free seeds replaced by what step t + 1 sent back."""
    c, claim = d.cell, Claim()
    carried = {carry(new).name: u.zeros(u.rows) for new in c.new_states}
    for t in range(u.steps, 0, -1):
        env = dict(u.envs[t - 1])
        into_h = u.zeros(u.rows)
        if t in gammas:
            into_h = _head_backward_at(d, u, gammas[t], env, claim)
        elif d.head is None and t == u.steps:
            into_h = u.polynomials(symbol_matrix("v", u.rows, 1))
        incoming = {delta(c.h).name: [a + b for a, b in zip(into_h, carried[carry(c.h).name], strict=True)]}
        incoming.update({carry(new).name: carried[carry(new).name] for new in c.new_states[1:]})
        seeds = {}  # δh_t and the carried δs_t as free symbols, replaced after the step
        for name, value in incoming.items():
            env[name] = symbol_matrix(f"{name}@{t}", u.rows, 1)
            seeds.update(zip(map(u.g.leaf, env[name]), value, strict=True))
        run(d.step_backward, u.sizes, env)
        for p in c.params:
            claim.add(p.name, u.polynomials(env[delta(p).name], seeds))
        claim.totals[f"x_{t}"] = u.polynomials(env[delta(c.x).name], seeds)
        carried = {carry(new).name: u.polynomials(env[delta(prev).name], seeds) for new, prev in c.states}
    claim.carried = carried
    return claim


def compared(d: Derivation, u: Unrolled, claim: Claim, truth: dict[int, Polynomial], started: float
             ) -> list[Check]:
    """Stage (2): every parameter's, every x_t's and every initial state's claimed gradient against
    the truth, every entry. The first check's seconds are counted from ``started``."""
    checks = []

    def compare(what: str, gradient: list[Polynomial], wrt: sp.ImmutableMatrix) -> None:
        nonlocal started
        pairs = [(a, truth.get(u.g.index[s], Polynomial())) for a, s in zip(gradient, wrt, strict=True)]
        checks.append(verdict(what, pairs, u.g, started))
        started = time.perf_counter()

    for name, value in u.params.items():
        compare(f"BPTT ∂L/∂{name}", claim.totals.get(name, u.zeros(len(value))), value)
    for t in range(1, u.steps + 1):
        compare(f"BPTT ∂L/∂x_{t}", claim.totals[f"x_{t}"], u.envs[t - 1][d.cell.x.name])
    for new, prev in d.cell.states:
        compare(f"BPTT ∂L/∂{shift_name(prev.name, 1)}", claim.carried[carry(new).name], u.initial[prev.name])
    return checks


def prove_unrolled(d: Derivation, steps: int, sizes: dict | None = None) -> list[Check]:
    """The unrolled proof of ``d`` over ``steps`` steps at ``sizes`` (default :func:`bptt_sizes`); see
    the module docstring. The seconds of the first ∂L/∂ check include running the claim and the
    truth, which all the checks after it share; theirs are the comparisons alone."""
    hd = d.head
    if hd is not None and not logits_only(d):
        raise ValueError(f"head {hd.name!r}: the loss must depend on the cell only through {hd.logits}")
    u = unroll(d, steps, sizes or bptt_sizes())
    checks, gammas, surrogate = head_stage(d, u)
    started = time.perf_counter()
    claim = claimed_gradients(d, u, gammas)
    leaves = [*(s for m in u.params.values() for s in m), *(s for e in u.envs for s in e[d.cell.x.name]),
              *(s for m in u.initial.values() for s in m)]
    truth = u.g.gradient(surrogate, leaves)
    return checks + compared(d, u, claim, truth, started)
