"""Proofs that the derived backward equations are exact, by SymPy's own element-wise ``diff``.

At concrete small sizes every matrix becomes a matrix of scalar symbols. The *truth* is
differentiation of the explicit forward computation; the *claim* is the derived backward equations
evaluated on the same symbols. Each entry of ``claim − truth`` must be exactly 0 in SymPy's
polynomial ring (or field of fractions), or in the polynomials of :mod:`~bpttlab.derivations.polynomial`,
with function applications held opaque: no numbers are sampled. Every entry of every identity is
compared.

- ``step`` (:mod:`.step`): one cell step, each derived equation against the derivative of its own
  piece of the graph, cut at the named deltas (the incoming gradients δh_t, the carried δc_t and the
  downstream deltas free symbols); the step Jacobians ∂s_t/∂s'_{t-1}; the head against
  ∂ℓ_t/∂(s_t, W_hy, b_y, h_t). At H = D = K = 2 (:data:`.step.STEP_SIZES`).
- ``bptt`` (:mod:`.unrolled`): the loss unrolled over T steps (:func:`bptt_steps`) at H = D = K = 2
  (:func:`.unrolled.bptt_sizes`), differentiated with respect to every parameter entry, every x_t, h_0
  (and c_0) by forward mode over the explicit forward computation, its stored values held opaque
  (:mod:`~bpttlab.derivations.opaque`), against the derived recurrence run backwards from t = T.

What a proof reports is in :mod:`.results`: a :class:`Proof` of :class:`Check` records.
"""

from __future__ import annotations

from bpttlab.derivations.derivation import LOSS_AT, Derivation, derive
from bpttlab.derivations.polynomial import TooLarge, work_budget
from bpttlab.derivations.proof.results import Check, Proof
from bpttlab.derivations.proof.step import STEP_SIZES, prove_cell_step, prove_head_step, prove_jacobian
from bpttlab.derivations.proof.unrolled import bptt_sizes, bptt_steps, prove_unrolled
from bpttlab.derivations.symbols import D, H, K

__all__ = ["STEP_SIZES", "Check", "Proof", "bptt_sizes", "bptt_steps", "prove"]


def _check_arguments(kind: tuple[str, ...], loss_at: str, steps: int | None, sizes: dict | None) -> None:
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


def _step_checks(d: Derivation) -> list[Check]:
    try:
        with work_budget(inherit=True):
            checks = prove_cell_step(d) + prove_jacobian(d)
    except TooLarge as error:
        raise ValueError(f"the step proof of {d.cell.name} is too large to expand ({error}): its "
                         f"derivatives multiply out past what an exact proof can hold") from None
    return checks + (prove_head_step(d) if d.head is not None else [])


def _unrolled_checks(d: Derivation, steps: int | None, sizes: dict | None) -> list[Check]:
    """By default over :func:`bptt_steps` steps, and over two (which already carry a gradient across
    a step boundary) where that grows too large to expand."""
    *fallbacks, last = [steps] if steps is not None else sorted({bptt_steps(d), min(2, bptt_steps(d))},
                                                                reverse=True)
    for attempt in fallbacks:
        try:
            with work_budget(inherit=True):
                return prove_unrolled(d, attempt, sizes)
        except TooLarge:
            pass
    try:
        with work_budget(inherit=True):
            return prove_unrolled(d, last, sizes)
    except TooLarge as error:
        raise ValueError(f"steps={last}: the unrolled proof of {d.cell.name} is too large to expand "
                         f"({error}); prove it over fewer steps, or prove the step rules alone "
                         f"(kind=('step',))") from None


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
    _check_arguments(kind, loss_at, steps, sizes)
    d = derivation if derivation is not None else derive(cell, head, loss_at)
    checks: list[Check] = []
    if "step" in kind:
        checks += _step_checks(d)
    if "bptt" in kind:
        checks += _unrolled_checks(d, steps, sizes)
    return Proof(f"{d.cell.name} × {d.head.name if d.head else 'no head'} × loss at {d.loss_at}",
                 tuple(checks))
