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
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from tqdm import tqdm

from derivations import CELLS, HEADS, LOSS_AT

from .engine import Engine, build_engine

__all__ = ["BARS", "Comparison", "main", "verify_gradients"]

BARS = {"finite differences": 1e-7, "torch autograd": 1e-12, "torch nn module": 1e-12}
MODULE_CELLS = ("rnn", "lstm", "gru_torch")  # PyTorch has no reset-before GRU


@dataclass(frozen=True)
class Comparison:
    cell: str
    head: str
    loss_at: str
    check: str
    max_abs: float
    max_rel: float
    bar: float

    @property
    def passed(self) -> bool:
        return bool(self.max_rel <= self.bar)


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


def _verify_one(cell: str, head: str, loss_at: str, sizes: dict[str, int], seed: int, eps: float
                ) -> list[Comparison]:
    from .torch_reference import torch_loss_and_grads, torch_module_loss_and_grads

    engine = build_engine(cell, head, loss_at)
    problem = _problem(engine, sizes, seed)
    inputs = (problem["params"], problem["xs"], problem["targets"], problem["h0"], problem.get("c0"))
    loss, grads = engine.loss_and_grads(*inputs)
    results = []

    def add(check: str, max_abs: float, max_rel: float) -> None:
        results.append(Comparison(cell, head, loss_at, check, max_abs, max_rel, BARS[check]))

    add("finite differences", *_errors(grads, _finite_differences(engine, problem, eps)))
    torch_loss, torch_grads = torch_loss_and_grads(cell, head, loss_at, *inputs)
    abs_err, rel_err = _errors({**grads, "loss": loss}, {**torch_grads, "loss": np.array(torch_loss)})
    add("torch autograd", abs_err, rel_err)
    if cell in MODULE_CELLS:
        module_loss, module_grads, module_h = torch_module_loss_and_grads(cell, head, loss_at, *inputs)
        h = engine.forward(problem["params"], problem["xs"], problem["h0"], problem.get("c0")).h
        ours = {**grads, "loss": loss, "h": h}
        add("torch nn module", *_errors(ours, {**module_grads, "loss": np.array(module_loss), "h": module_h}))
    return results


def verify_gradients(
    cells: tuple[str, ...] = tuple(CELLS),
    heads: tuple[str, ...] = HEADS,
    loss_at: tuple[str, ...] = LOSS_AT,
    T: int = 4, N: int = 3, D: int = 3, H: int = 4, K: int = 3,
    seed: int = 0,
    eps: float = 1e-3,
    progress: Callable[[str], None] | None = None,
) -> list[Comparison]:
    """Run every comparison; see the module docstring for what is compared and how.
    ``progress`` is called with a label after each cell × head × placement."""
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
    jobs = [(c, h, at) for c in cells for h in heads for at in loss_at]
    results: list[Comparison] = []
    for c, h, at in jobs:
        results += _verify_one(c, h, at, sizes, seed, eps)
        if progress:
            progress(f"{c} × {h} × {at}")
    return results


def jobs_count(args: argparse.Namespace) -> int:
    """How many cell × head × placement combinations ``args`` asks for."""
    return len(args.cells) * len(args.heads) * len(args.loss_at)


def format_table(results: list[Comparison]) -> str:
    header = (f"{'cell':<10} {'head':<8} {'loss at':<7} {'check':<19} {'max abs':>9} {'max rel':>9} "
              f"{'bar':>7}  pass")
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(f"{r.cell:<10} {r.head:<8} {r.loss_at:<7} {r.check:<19} {r.max_abs:9.1e} "
                     f"{r.max_rel:9.1e} {r.bar:7.0e}  {'yes' if r.passed else 'NO'}")
    failed = sum(not r.passed for r in results)
    lines.append(f"{len(results) - failed} passed, {failed} failed")
    return "\n".join(lines)


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(
        prog="verify_gradients", description=__doc__.split("\n\n")[0],
        epilog="example: verify_gradients --cells lstm gru_torch --heads softmax --json")
    parser.add_argument("--cells", nargs="+", choices=list(CELLS), default=list(CELLS))
    parser.add_argument("--heads", nargs="+", choices=list(HEADS), default=list(HEADS))
    parser.add_argument("--loss-at", nargs="+", choices=list(LOSS_AT), default=list(LOSS_AT))
    for size, default in (("T", 4), ("N", 3), ("D", 3), ("H", 4), ("K", 3)):
        parser.add_argument(f"--{size}", type=_positive, default=default, help=f"default {default}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    with tqdm(total=jobs_count(args), desc="verify", unit="case", disable=args.json or None,
              leave=False) as bar:
        def advance(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update()

        results = verify_gradients(tuple(args.cells), tuple(args.heads), tuple(args.loss_at), args.T,
                                   args.N, args.D, args.H, args.K, args.seed, progress=advance)
    if args.json:
        print(json.dumps([{**asdict(r), "passed": r.passed} for r in results], indent=2))
    else:
        print(format_table(results))
        print(f"in {time.perf_counter() - started:.1f} s")
    return 0 if all(r.passed for r in results) else 1


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
