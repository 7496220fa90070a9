"""``verify_gradients``: are the engine's gradients right?

For every cell × head × loss placement, on a seeded random float64 problem, the engine's loss and
gradients are compared with

1. central finite differences of the engine's own loss, on every entry of every parameter, of
   ``xs`` and of ``h0`` (and ``c0``);
2. PyTorch autograd through an independent PyTorch implementation of the same equations;
3. PyTorch's own ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (the last against ``gru_torch``) with our
   parameters copied into theirs: hidden states, loss and gradients.

Errors: ``max abs`` is max |a − b| over every compared entry; ``max rel`` is that divided by the
largest |b| of the same quantity (a norm-wise relative error, so entries near 0 do not blow it up),
the largest over all quantities. Bars: 1e-12 against PyTorch, 1e-7 against finite differences.

PyTorch is optional. Without it the PyTorch comparisons are listed as *skipped* (neither passed nor
failed) and everything else runs; asking for one of them by name raises ``ModuleNotFoundError``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bpttlab.derivations import CELLS, HEADS, LOSS_AT
from bpttlab.numeric.engine.core import Engine, build_engine
from bpttlab.numeric.verify.optional import require_torch, torch_available, torch_missing

__all__ = ["BARS", "CHECKS", "TORCH_CHECKS", "Comparison", "skipped_checks", "verify_gradients"]

BARS = {"finite differences": 1e-7, "torch autograd": 1e-12, "torch nn module": 1e-12}
CHECKS = tuple(BARS)
TORCH_CHECKS = ("torch autograd", "torch nn module")
MODULE_CELLS = ("rnn", "lstm", "gru_torch")  # PyTorch has no reset-before GRU


@dataclass(frozen=True)
class Comparison:
    """One check of one cell × head × loss placement. ``max_abs`` and ``max_rel`` are None where the
    check was skipped (``skipped`` says why)."""

    cell: str
    head: str
    loss_at: str
    check: str
    max_abs: float | None
    max_rel: float | None
    bar: float
    skipped: str | None = None

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


def skipped_checks(results: list[Comparison]) -> dict[str, str]:
    """The checks that were skipped, each with why (in the order they first appear)."""
    return {r.check: r.skipped for r in results if r.skipped is not None}


def _errors(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> tuple[float, float]:
    worst_abs = worst_rel = 0.0
    for name, reference in theirs.items():
        difference = float(np.max(np.abs(np.asarray(ours[name]) - reference), initial=0.0))
        scale = float(np.max(np.abs(reference), initial=0.0))
        worst_abs = max(worst_abs, difference)
        worst_rel = max(worst_rel, difference / scale if scale > 0 else difference)
    return worst_abs, worst_rel


def _problem(engine: Engine, sizes: dict[str, int], seed: int) -> dict:
    T, N, D, H, K = (sizes[k] for k in "TNDHK")
    rng = np.random.default_rng(seed)
    problem = {
        "params": engine.init_params(D, H, K, seed=seed),
        "xs": rng.normal(size=(T, N, D)),
        "h0": rng.normal(scale=0.5, size=(N, H)),
    }
    if engine.cell.name == "lstm":
        problem["c0"] = rng.normal(scale=0.5, size=(N, H))
    shape = (T, N) if engine.loss_at == "every" else (N,)
    if engine.head.name == "softmax":
        problem["targets"] = rng.integers(0, K, size=shape)
    else:
        problem["targets"] = rng.uniform(size=(*shape, K))
    return problem


def _finite_differences(engine: Engine, problem: dict, eps: float) -> dict[str, np.ndarray]:
    """Five-point central differences of the loss with respect to every entry of every input:
    (f(x−2ε) − 8f(x−ε) + 8f(x+ε) − f(x+2ε)) / 12ε, whose error is O(ε⁴) — at ε = 1e-3 both it and
    the rounding error (≈ 1e-16·|L|/ε) stay near 1e-12, where two points at ε = 1e-6 reach 1e-9."""
    params = {k: v.copy() for k, v in problem["params"].items()}
    inputs = {k: problem[k].copy() for k in ("xs", "h0", "c0") if k in problem}

    def loss() -> float:
        return engine.loss(params, inputs["xs"], problem["targets"], inputs["h0"], inputs.get("c0"))

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


def _verify_one(cell: str, head: str, loss_at: str, sizes: dict[str, int], seed: int, eps: float,
                checks: tuple[str, ...]) -> list[Comparison]:
    engine = build_engine(cell, head, loss_at)
    problem = _problem(engine, sizes, seed)
    inputs = (problem["params"], problem["xs"], problem["targets"], problem["h0"], problem.get("c0"))
    loss, grads = engine.loss_and_grads(*inputs)
    results = []
    have_torch = torch_available()

    def compare(check: str, errors: Callable[[], tuple[float, float]]) -> None:
        if check not in checks:
            return
        if check in TORCH_CHECKS and not have_torch:
            why = torch_missing(f"the {check} check")
            results.append(Comparison(cell, head, loss_at, check, None, None, BARS[check], why))
            return
        results.append(Comparison(cell, head, loss_at, check, *errors(), BARS[check]))

    def torch_autograd() -> tuple[float, float]:
        from bpttlab.numeric.verify.torch_reference import torch_loss_and_grads

        torch_loss, torch_grads = torch_loss_and_grads(cell, head, loss_at, *inputs)
        return _errors({**grads, "loss": loss}, {**torch_grads, "loss": np.array(torch_loss)})

    def torch_module() -> tuple[float, float]:
        from bpttlab.numeric.verify.torch_reference import torch_module_loss_and_grads

        module_loss, module_grads, module_h = torch_module_loss_and_grads(cell, head, loss_at, *inputs)
        h = engine.forward(problem["params"], problem["xs"], problem["h0"], problem.get("c0")).h
        ours = {**grads, "loss": loss, "h": h}
        return _errors(ours, {**module_grads, "loss": np.array(module_loss), "h": module_h})

    compare("finite differences", lambda: _errors(grads, _finite_differences(engine, problem, eps)))
    compare("torch autograd", torch_autograd)
    if cell in MODULE_CELLS:
        compare("torch nn module", torch_module)
    return results


def verify_gradients(
    cells: tuple[str, ...] = tuple(CELLS),
    heads: tuple[str, ...] = HEADS,
    loss_at: tuple[str, ...] = LOSS_AT,
    T: int = 4, N: int = 3, D: int = 3, H: int = 4, K: int = 3,
    seed: int = 0,
    eps: float = 1e-3,
    progress: Callable[[str], None] | None = None,
    checks: tuple[str, ...] | None = None,
) -> list[Comparison]:
    """Run every comparison; see the module docstring for what is compared and how.
    ``progress`` is called with a label after each cell × head × placement. ``checks``: which of
    :data:`CHECKS` to run; None runs all of them, the PyTorch ones listed as skipped where PyTorch is
    missing, while naming a PyTorch check without PyTorch raises ``ModuleNotFoundError``."""
    for argument, name, chosen, valid in (("cells", "cell", cells, CELLS), ("heads", "head", heads, HEADS),
                                          ("loss_at", "loss placement", loss_at, LOSS_AT)):
        if isinstance(chosen, str) or not isinstance(chosen, (tuple, list)):
            example = (next(iter(valid)),)
            raise ValueError(f"{argument} must be a tuple of {name} names such as {example!r}, "
                             f"got {chosen!r}")
        unknown = [c for c in chosen if not isinstance(c, str) or c not in valid]
        if unknown:
            raise ValueError(f"unknown {name} {unknown[0]!r}; valid: {', '.join(valid)}")
    sizes = {"T": T, "N": N, "D": D, "H": H, "K": K}
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating)) or not 0 < eps < float("inf"):
        raise ValueError(f"eps must be a positive finite number (the finite-difference step), got {eps!r}")
    if progress is not None and not callable(progress):
        raise ValueError(f"progress must be a function of one label, or None; got {progress!r}")
    if checks is None:
        checks = CHECKS
    elif isinstance(checks, str) or not isinstance(checks, (tuple, list)) or not checks \
            or any(c not in CHECKS for c in checks):
        valid = ", ".join(map(repr, CHECKS))
        raise ValueError(f"checks must be a non-empty tuple of {valid}; got {checks!r}")
    else:
        for check in checks:
            if check in TORCH_CHECKS:
                require_torch(f"the {check} check")
    jobs = [(c, h, at) for c in cells for h in heads for at in loss_at]
    results: list[Comparison] = []
    for c, h, at in jobs:
        results += _verify_one(c, h, at, sizes, seed, eps, tuple(checks))
        if progress:
            progress(f"{c} × {h} × {at}")
    return results
