"""``verify_gradients``: are the engine's gradients right?

For every registered cell (or the cells given: names, ``.cell`` paths, :class:`Cell` objects) ×
head × loss placement, on a seeded random float64 problem, the engine's loss and gradients are
compared with

1. central finite differences of the engine's own loss, on every entry of every parameter, of
   ``xs`` and of every initial state;
2. PyTorch autograd through an independent PyTorch implementation of the same equations: written
   by hand for the built-in cells, the cell's own equation text evaluated on torch tensors for a cell
   written as equations;
3. PyTorch's own ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` for the cells that name one
   (``Cell.torch_module``; the GRU against ``gru_torch``) with our parameters copied into theirs:
   hidden states, loss and gradients.

Errors: ``max abs`` is max |a − b| over every compared entry; ``max rel`` is, for each quantity (a
parameter, ``xs``, an initial state, the loss), max |a − b| divided by the largest |b| of that quantity
(a norm-wise relative error, so entries near 0 do not blow it up), the largest over all quantities;
``quantity`` names the quantity it comes from. Bars: 1e-12 against PyTorch, 1e-7 against finite
differences, each applied to every quantity.

A check cannot tell apart numbers closer than its resolution (:func:`resolution`: the rounding error
of finite differences, about u·|L|/ε, or u·|L| against PyTorch), so a quantity agrees when
max |a − b| ≤ max(bar · max |b|, resolution): the bar relative to the quantity, or the check's
resolution, whichever is larger (``numpy.allclose``'s ``rtol`` and ``atol``, with ``atol`` taken
from the check). Its relative error is reported as max |a − b| / max(max |b|, resolution / bar), at
most the bar exactly when it agrees. Two kinds of quantity meet the resolution:

- a gradient that is identically zero (a parameter that cancels, an input the cell never reads):
  zero against zero, or against finite differences' rounding noise, is agreement;
- a gradient that is a sum of large terms cancelling to a small one (a bias under a saturated
  softmax: terms of size 1 summing to 5e-8), whose rounding, about u · Σ|terms|, is far above
  u · |result|; both sides carry it, and it cannot be smaller than what the check resolves.

PyTorch is optional. Without it the PyTorch comparisons are listed as *skipped* (neither passed nor
failed) and everything else runs; asking for one of them by name raises ``ModuleNotFoundError``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from bpttlab.derivations import CELLS, HEADS, LOSS_AT, Cell, resolve_cell
from bpttlab.derivations.activations import activation
from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.heads import TargetKind
from bpttlab.derivations.printing.notebook import html_table, markdown_table
from bpttlab.numeric.engine import Engine, build_engine
from bpttlab.numeric.verify.optional import require_torch, torch_available, torch_missing

__all__ = [
    "BARS",
    "CHECKS",
    "CHECK_TABLE",
    "FD_ROUNDING",
    "FD_ROUNDING_MEASURED",
    "TORCH_CHECKS",
    "Check",
    "Comparison",
    "Verification",
    "resolution",
    "skipped_checks",
    "verify_gradients",
    "worst_error",
]

#: A relu argument this close to 0 could be crossed by a finite-difference step (±2ε · |x| ≤ 0.006 at
#: ε = 1e-3), so a problem that comes closer is drawn again, up to KINK_ATTEMPTS times.
KINK_MARGIN, KINK_ATTEMPTS = 0.01, 100
#: Finite differences resolve a gradient to about 1e-13 absolute here, so a problem where some
#: quantity's whole gradient is below this (a relu unit dead on nearly every path) is drawn again too.
GRADIENT_FLOOR = 1e-6
#: Finite differences resolve a gradient entry to FD_ROUNDING · u · max(|L|, 1) / ε absolute (u the unit
#: roundoff of float64): each value of the loss carries a rounding error of a few u·|L|, which the
#: five-point stencil multiplies by (1 + 8 + 8 + 1)/12ε. Measured on gradients that are identically
#: zero (three cells that cancel a term or never read one, every head and placement, seeds 0–2, ε =
#: 1e-3; a test recomputes it): at most FD_ROUNDING_MEASURED u·max(|L|, 1)/ε, so the bar leaves a margin
#: of about 20.
FD_ROUNDING, FD_ROUNDING_MEASURED = 4.0, 0.22


@dataclass(frozen=True)
class Check:
    """What one check is held to: its ``bar`` (relative, per quantity), whether it needs PyTorch, and
    its :func:`resolution`, ``rounding`` · u · max(|L|, 1), divided by the step ε when the check
    ``steps`` the loss (finite differences)."""

    bar: float
    needs_torch: bool
    rounding: float = 1.0
    steps: bool = False


#: The checks, in the order they run and are reported.
CHECK_TABLE = {
    "finite differences": Check(1e-7, needs_torch=False, rounding=FD_ROUNDING, steps=True),
    "torch autograd": Check(1e-12, needs_torch=True),
    "torch nn module": Check(1e-12, needs_torch=True),
}
BARS = {name: check.bar for name, check in CHECK_TABLE.items()}
CHECKS = tuple(CHECK_TABLE)
TORCH_CHECKS = tuple(name for name, check in CHECK_TABLE.items() if check.needs_torch)


@dataclass(frozen=True)
class Comparison:
    """One check of one cell × head × loss placement. ``max_abs`` and ``max_rel`` are None where the
    check was skipped (``skipped`` says why); ``quantity`` is the quantity whose relative error is
    ``max_rel`` (a parameter's name, ``xs``, an initial state's, ``loss``)."""

    cell: str
    head: str
    loss_at: str
    check: str
    max_abs: float | None
    max_rel: float | None
    bar: float
    skipped: str | None = None
    quantity: str | None = None

    @property
    def status(self) -> str:
        """``"passed"``, ``"failed"`` or ``"skipped"``."""
        if self.max_rel is None:
            return "skipped"
        return "passed" if self.max_rel <= self.bar else "failed"

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def case(self) -> str:
        """``cell × head × loss at``, e.g. ``lstm × softmax × last``."""
        return f"{self.cell} × {self.head} × {self.loss_at}"

    def __str__(self) -> str:
        """One line: what was compared and how it came out.

        >>> print(Comparison("rnn", "linear", "last", "finite differences", 2e-12, 3e-10, 1e-7))
        rnn × linear × last, finite differences: passed (max rel 3.0e-10, bar 1e-07)
        >>> print(Comparison("rnn", "linear", "last", "torch autograd", 1e-9, 2e-9, 1e-12, quantity="b_h"))
        rnn × linear × last, torch autograd: failed (max rel 2.0e-09 in b_h, bar 1e-12)
        """
        if self.max_rel is None:
            return f"{self.case}, {self.check}: skipped ({self.skipped})"
        where = f" in {self.quantity}" if self.quantity else ""
        return (f"{self.case}, {self.check}: {self.status} "
                f"(max rel {self.max_rel:.1e}{where}, bar {self.bar:.0e})")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # noqa: ARG002 (IPython's _repr_pretty_ protocol)
        printer.text(str(self))


class Verification(list):
    """The :class:`Comparison` list :func:`verify_gradients` returns; a notebook shows it as a table.

    >>> results = Verification([
    ...     Comparison("rnn", "linear", "last", "finite differences", 2e-12, 3e-10, 1e-7, quantity="W_hh"),
    ...     Comparison("rnn", "linear", "last", "torch autograd", 1.0, 0.5, 1e-12, quantity="b_h")])
    >>> results.counts, results.passed
    ({'passed': 1, 'failed': 1, 'skipped': 0}, False)
    >>> print(results._repr_markdown_())
    **1 passed, 1 failed**
    <BLANKLINE>
    | cell × head × loss at | check | max abs | max rel | in | bar | status |
    | --- | --- | --- | --- | --- | --- | --- |
    | rnn × linear × last | finite differences | 2.0e-12 | 3.0e-10 | W_hh | 1e-07 | passed |
    | rnn × linear × last | torch autograd | 1.0e+00 | 5.0e-01 | b_h | 1e-12 | **FAILED** |
    """

    _HEADER = ("cell × head × loss at", "check", "max abs", "max rel", "in", "bar", "status")

    @property
    def counts(self) -> dict[str, int]:
        """How many comparisons passed, failed and were skipped."""
        return {status: sum(r.status == status for r in self) for status in ("passed", "failed", "skipped")}

    @property
    def passed(self) -> bool:
        """No comparison failed (skipped ones neither pass nor fail)."""
        return not any(r.failed for r in self)

    def _summary(self) -> str:
        counts = self.counts
        return f"{counts['passed']} passed, {counts['failed']} failed" + \
            (f", {counts['skipped']} skipped" if counts["skipped"] else "")

    def _rows(self, failed: str) -> list[list[str]]:
        def error(value: float | None) -> str:
            return "—" if value is None else f"{value:.1e}"

        return [[r.case, r.check, error(r.max_abs), error(r.max_rel), r.quantity or "—", f"{r.bar:.0e}",
                 failed if r.failed else r.status] for r in self]

    def _repr_markdown_(self) -> str:
        return markdown_table(self._HEADER, self._rows("**FAILED**"), f"**{self._summary()}**")

    def _repr_html_(self) -> str:
        return html_table(self._HEADER, self._rows("FAILED"), self._summary())

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # noqa: ARG002 (IPython's _repr_pretty_ protocol)
        printer.text("\n".join([f"Verification: {self._summary()}", *(f"  {r}" for r in self)]))


def skipped_checks(results: list[Comparison]) -> dict[str, str]:
    """The checks that were skipped, each with why (in the order they first appear)."""
    return {r.check: r.skipped for r in results if r.skipped is not None}


def resolution(check: str, loss: float, eps: float) -> float:
    """The smallest difference ``check`` tells from zero, absolute: :data:`FD_ROUNDING` · u · max(|L|, 1)/ε
    for finite differences of the loss ``L`` with step ``eps``, u · max(|L|, 1) against PyTorch (both
    sides in float64). Differences below it are agreement (see the module docstring).

    >>> resolution("finite differences", 2.0, 1e-3) == 4.0 * 2.0**-52 * 2.0 / 1e-3
    True
    >>> resolution("torch autograd", 0.5, 1e-3) == 2.0**-52
    True
    """
    if check not in CHECK_TABLE:
        raise ValueError(f"check: expected one of {', '.join(CHECK_TABLE)}, got {check!r}")
    rule = CHECK_TABLE[check]
    roundoff = rule.rounding * float(np.finfo(np.float64).eps) * max(abs(float(loss)), 1.0)
    return roundoff / eps if rule.steps else roundoff


def worst_error(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray], bar: float, floor: float
            ) -> tuple[float, float, str | None]:
    """Max |a − b| over every quantity, the largest relative error of one quantity, and which quantity
    that is (see the module docstring; ``floor`` is the check's :func:`resolution`)."""
    worst_abs = worst_rel = 0.0
    worst = None
    for name, reference in theirs.items():
        reference, value = np.asarray(reference), np.asarray(ours[name])
        if value.shape != reference.shape:  # a wrong shape would broadcast into a meaningless difference
            difference = relative = float("inf")
        else:
            difference = float(np.max(np.abs(value - reference), initial=0.0))
            scale = float(np.max(np.abs(reference), initial=0.0))
            relative = difference / max(scale, floor / bar)
        worst_abs = max(worst_abs, difference)
        if worst is None or relative > worst_rel:
            worst_rel, worst = relative, name
    return worst_abs, worst_rel, worst


def _random_problem(engine: Engine, sizes: dict[str, int], seed: int) -> dict:
    T, N, D, H, K = (sizes[k] for k in "TNDHK")
    rng = np.random.default_rng(seed)
    problem = {
        "params": engine.init_params(D, H, K, seed=seed),
        "xs": rng.normal(size=(T, N, D)),
        "initial": {label: rng.normal(scale=0.5, size=(N, H)) for label in engine.cell.initial},
    }
    shape = (T, N) if engine.loss_at == "every" else (N,)
    if engine.head.target_kind is TargetKind.CLASS:
        problem["targets"] = rng.integers(0, K, size=shape)
    else:  # probabilities, and reals in the same range
        problem["targets"] = rng.uniform(size=(*shape, K))
    return problem


def _kink_distance(engine: Engine, problem: dict) -> float:
    """How close the problem's forward pass comes to a kink: min |a| over the stored arguments a of
    the cell's non-smooth functions (relu(a) at a = 0); inf for a smooth cell."""
    arguments = {node.arg.name for eq in engine.cell.equations for node in eq.rhs.atoms(Elementwise)
                 if not activation(node.name).smooth and isinstance(node.arg, sp.MatrixSymbol)}
    if not arguments:
        return float("inf")
    stored = engine.forward(problem["params"], problem["xs"], initial=problem["initial"]).stored
    return min(float(np.min(np.abs(stored[name]))) for name in arguments)


def _problem(engine: Engine, sizes: dict[str, int], seed: int) -> dict:
    """A seeded random problem that finite differences can judge. For a cell with a kink (relu) that
    is one where no perturbation of ±2ε crosses it and no quantity's gradient all but vanishes, so the
    first of the seeds ``seed``, ``seed + 1``, … whose relu arguments stay :data:`KINK_MARGIN` away
    from 0 and whose every gradient reaches :data:`GRADIENT_FLOOR` is taken (deterministic, like the
    seed). A smooth cell takes ``seed`` itself."""
    for attempt in range(KINK_ATTEMPTS):
        problem = _random_problem(engine, sizes, seed + attempt)
        distance = _kink_distance(engine, problem)
        if distance == float("inf"):
            return problem
        if distance >= KINK_MARGIN:
            _, grads = engine.loss_and_grads(problem["params"], problem["xs"], problem["targets"],
                                             initial=problem["initial"])
            if min(float(np.max(np.abs(g))) for g in grads.values()) >= GRADIENT_FLOOR:
                return problem
    kinked = sorted({n.name for eq in engine.cell.equations for n in eq.rhs.atoms(Elementwise)
                     if not activation(n.name).smooth})
    raise ValueError(f"no problem for {engine.cell.name} whose {', '.join(kinked)} arguments stay "
                     f"{KINK_MARGIN} away from 0 in {KINK_ATTEMPTS} seeds from {seed}; try other sizes")


def _finite_differences(engine: Engine, problem: dict, eps: float) -> dict[str, np.ndarray]:
    """Five-point central differences of the loss with respect to every entry of every input:
    (f(x−2ε) − 8f(x−ε) + 8f(x+ε) − f(x+2ε)) / 12ε, whose error is O(ε⁴) — at ε = 1e-3 both it and
    the rounding error (≈ 1e-16·|L|/ε) stay near 1e-12, where two points at ε = 1e-6 reach 1e-9."""
    params = {k: v.copy() for k, v in problem["params"].items()}
    initial = {k: v.copy() for k, v in problem["initial"].items()}
    inputs = {"xs": problem["xs"].copy(), **initial}

    def loss() -> float:
        return engine.loss(params, inputs["xs"], problem["targets"], initial=initial)

    numeric = {}
    for name, array in [*params.items(), *inputs.items()]:
        gradient = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            values = []
            for step in (-2, -1, 1, 2):
                array[index] = saved + step * eps
                values.append(loss())
            array[index] = saved
            gradient[index] = (values[0] - 8 * values[1] + 8 * values[2] - values[3]) / (12 * eps)
        numeric[name] = gradient
    return numeric


def _verify_one(cell: Cell, head: str, loss_at: str, sizes: dict[str, int], seed: int, eps: float,
                checks: tuple[str, ...]) -> list[Comparison]:
    engine = build_engine(cell, head, loss_at)
    problem = _problem(engine, sizes, seed)
    params, xs, targets, initial = (problem[k] for k in ("params", "xs", "targets", "initial"))
    loss, grads = engine.loss_and_grads(params, xs, targets, initial=initial)
    results = []
    cell_name = cell.name
    have_torch = torch_available()

    def compare(check: str, reference: Callable[[], tuple[dict, dict]]) -> None:
        """``check`` of ``ours`` against ``theirs`` = ``reference()``, quantity by quantity."""
        if check not in checks:
            return
        if check in TORCH_CHECKS and not have_torch:
            why = torch_missing(f"the {check} check")
            results.append(Comparison(cell_name, head, loss_at, check, None, None, BARS[check], why))
            return
        ours, theirs = reference()
        max_abs, max_rel, quantity = worst_error(ours, theirs, BARS[check], resolution(check, loss, eps))
        results.append(Comparison(cell_name, head, loss_at, check, max_abs, max_rel, BARS[check],
                                  quantity=quantity))

    def torch_autograd() -> tuple[dict, dict]:
        if cell.source is not None:  # a cell written as equations: the same text, evaluated by torch
            from bpttlab.numeric.verify.torch_cell import torch_cell_loss_and_grads

            torch_loss, torch_grads = torch_cell_loss_and_grads(cell, head, loss_at, params, xs, targets,
                                                                initial)
        else:  # a built-in cell: its independent, hand-written torch implementation
            from bpttlab.numeric.verify.torch_reference import torch_loss_and_grads

            torch_loss, torch_grads = torch_loss_and_grads(cell_name, head, loss_at, params, xs, targets,
                                                           *initial.values())
        return {**grads, "loss": loss}, {**torch_grads, "loss": np.array(torch_loss)}

    def torch_module() -> tuple[dict, dict]:
        from bpttlab.numeric.verify.torch_reference import torch_module_loss_and_grads

        module_loss, module_grads, module_h = torch_module_loss_and_grads(
            cell_name, head, loss_at, params, xs, targets, *initial.values())
        h = engine.forward(params, xs, initial=initial).h
        return {**grads, "loss": loss, "h": h}, {**module_grads, "loss": np.array(module_loss), "h": module_h}

    compare("finite differences", lambda: (grads, _finite_differences(engine, problem, eps)))
    compare("torch autograd", torch_autograd)
    if cell.torch_module is not None:
        compare("torch nn module", torch_module)
    return results


def _check_names(cells: object, heads: object, loss_at: object) -> None:
    for argument, name, chosen, valid in (("cells", "cell", cells, CELLS), ("heads", "head", heads, HEADS),
                                          ("loss_at", "loss placement", loss_at, LOSS_AT)):
        if isinstance(chosen, str) or not isinstance(chosen, (tuple, list)):
            example = (next(iter(valid)),)
            raise ValueError(f"{argument} must be a tuple of {name} names such as {example!r}, "
                             f"got {chosen!r}")
        if argument != "cells":
            unknown = [c for c in chosen if not isinstance(c, str) or c not in valid]
            if unknown:
                raise ValueError(f"unknown {name} {unknown[0]!r}; valid: {', '.join(valid)}")


def _check_numbers(sizes: dict[str, object], seed: object, eps: object, progress: object) -> None:
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating)) or not 0 < eps < float("inf"):
        raise ValueError(f"eps must be a positive finite number (the finite-difference step), got {eps!r}")
    if progress is not None and not callable(progress):
        raise ValueError(f"progress must be a function of one label, or None; got {progress!r}")


def _chosen_checks(checks: object) -> tuple[str, ...]:
    """The checks to run: all of :data:`CHECKS` for None; a PyTorch one named without PyTorch raises."""
    if checks is None:
        return CHECKS
    if isinstance(checks, str) or not isinstance(checks, (tuple, list)) or not checks \
            or any(c not in CHECKS for c in checks):
        valid = ", ".join(map(repr, CHECKS))
        raise ValueError(f"checks must be a non-empty tuple of {valid}; got {checks!r}")
    for check in checks:
        if check in TORCH_CHECKS:
            require_torch(f"the {check} check")
    return tuple(checks)


def verify_gradients(
    cells: tuple[str | Cell, ...] | None = None,
    heads: tuple[str, ...] | None = None,
    loss_at: tuple[str, ...] = LOSS_AT,
    T: int = 4, N: int = 3, D: int = 3, H: int = 4, K: int = 3,
    seed: int = 0,
    eps: float = 1e-3,
    progress: Callable[[str], None] | None = None,
    checks: tuple[str, ...] | None = None,
) -> Verification:
    """Run every comparison; see the module docstring for what is compared and how.
    ``progress`` is called with a label after each cell × head × placement. ``checks``: which of
    :data:`CHECKS` to run; None runs all of them, the PyTorch ones listed as skipped where PyTorch is
    missing, while naming a PyTorch check without PyTorch raises ``ModuleNotFoundError``. ``cells``:
    names, ``.cell`` paths or :class:`Cell` objects; None is every cell registered at the call. The result
    is a list of :class:`Comparison` (a :class:`Verification`, which a notebook shows as a table)."""
    cells = tuple(CELLS) if cells is None else cells  # every registered cell, as registered now
    heads = tuple(HEADS) if heads is None else heads  # and every registered head
    _check_names(cells, heads, loss_at)
    cells = tuple(resolve_cell(c) for c in cells)  # a name, a .cell path or a Cell
    sizes = {"T": T, "N": N, "D": D, "H": H, "K": K}
    _check_numbers(sizes, seed, eps, progress)
    checks = _chosen_checks(checks)
    jobs = [(c, h, at) for c in cells for h in heads for at in loss_at]
    results = Verification()
    for c, h, at in jobs:
        results += _verify_one(c, h, at, sizes, seed, eps, checks)
        if progress:
            progress(f"{c.name} × {h} × {at}")
    return results
