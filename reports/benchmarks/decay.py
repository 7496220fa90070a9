"""How long the gradient-decay analysis takes at the issue's scale: T = 1000 steps, H = 256 hidden
units, one sequence, for the RNN, the LSTM and the GRU.

Rows: ``gradient_norms`` (forward, the head, and the engine's backward loop keeping δh_k, δc_k),
with PyTorch autograd computing the same ∂L/∂h_k (``retain_grad`` on every state of the torch-ops
reference, float64, the same threads) timed in the same run for the ratio;
``jacobian_products`` with exact spectral norms at 64 log-spaced k; and, with ``every_step``, the
same at every k (the product runs over every step either way; the symmetric eigensolver per k is
what costs). Each time is the median of ``repeats`` runs after a short warm-up run (T = 5) that
compiles the lambdified functions.

>>> rows = decay_benchmark(T=20, H=8, cells=("rnn",), repeats=1)
>>> [row.what for row in rows]
['gradient_norms', 'jacobian_products, 64 k', 'jacobian_products, every k']
>>> rows[0].torch is not None
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bpttlab.derivations import Cell, resolve_cell
from bpttlab.numeric.decay.norms import gradient_norms, random_targets
from bpttlab.numeric.decay.products import jacobian_products, spaced_steps
from bpttlab.numeric.engine import build_engine
from bpttlab.numeric.verify.optional import torch_available
from bpttlab.reports.benchmarks.engine import median_seconds

__all__ = ["DecayBenchRow", "decay_benchmark", "format_decay_rows"]

D, K = 8, 4


@dataclass(frozen=True)
class DecayBenchRow:
    """The median time in seconds of one analysis of one cell at T × H."""

    cell: str
    what: str
    T: int
    H: int
    seconds: float
    torch: float | None = None  # PyTorch autograd doing the same, when it has an equivalent


def _torch_seconds(cell: Cell, params: dict, xs: np.ndarray, targets: np.ndarray, repeats: int
                   ) -> float | None:
    """PyTorch autograd's time for ∂L/∂h_k, or None where PyTorch is not installed: the hand-written
    reference of a built-in cell, the equation text evaluated by torch for a cell written as equations."""
    if not torch_available():
        return None
    if cell.source is not None:
        from bpttlab.numeric.verify.torch_cell import torch_cell_state_grads as state_grads
    else:
        from bpttlab.numeric.verify.torch_reference import torch_state_grads as state_grads
    name_or_cell = cell if cell.source is not None else cell.name
    state_grads(name_or_cell, "linear", params, xs[:5], targets)  # warm-up
    return median_seconds(lambda: state_grads(name_or_cell, "linear", params, xs, targets), repeats,
                          warm_up=False)


def decay_benchmark(T: int = 1000, H: int = 256, cells: Sequence[str | Cell] = ("rnn", "lstm", "gru"),
                    repeats: int = 3, every_step: bool = True) -> list[DecayBenchRow]:
    """Time :func:`gradient_norms` and :func:`jacobian_products` for each cell; medians of ``repeats``."""
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
    rows = []
    xs = np.random.default_rng(0).normal(size=(T, 1, D))
    for cell in map(resolve_cell, cells):
        engine = build_engine(cell, "linear", "last")
        params = engine.init_params(D, H, K, seed=0)
        gradient_norms(engine, params, xs[:5])  # warm-up: compiles, touches the code paths
        jacobian_products(engine, params, xs[:5])
        jobs = {
            "gradient_norms": lambda e=engine, p=params: gradient_norms(e, p, xs),
            "jacobian_products, 64 k": lambda e=engine, p=params: jacobian_products(e, p, xs,
                                                                                   steps=spaced_steps(T)),
        }
        if every_step:
            jobs["jacobian_products, every k"] = lambda e=engine, p=params: jacobian_products(e, p, xs)
        reference = _torch_seconds(cell, params, xs, random_targets(engine, 1, K), repeats)
        rows += [DecayBenchRow(cell.name, what, T, H, median_seconds(job, repeats, warm_up=False),
                               reference if what == "gradient_norms" else None) for what, job in jobs.items()]
    return rows


def format_decay_rows(rows: Sequence[DecayBenchRow]) -> str:
    """A table of the rows, then the total of each analysis over the cells."""
    header = f"{'cell':<10} {'analysis':<28} {'T':>5} {'H':>4} {'median s':>9} {'torch s':>8} {'÷torch':>7}"
    lines = [header, "-" * len(header)]

    def line(cell: str, what: str, T: object, H: object, ours: float, torch: float | None) -> str:
        theirs = f"{torch:8.2f} {ours / torch:7.2f}" if torch else f"{'':>8} {'':>7}"
        return f"{cell:<10} {what:<28} {T:>5} {H:>4} {ours:9.2f} {theirs}"

    lines += [line(r.cell, r.what, r.T, r.H, r.seconds, r.torch) for r in rows]
    for what in dict.fromkeys(r.what for r in rows):
        chosen = [r for r in rows if r.what == what]
        torch = sum(r.torch for r in chosen) if all(r.torch for r in chosen) else None
        lines.append(line("all cells", what, "", "", sum(r.seconds for r in chosen), torch))
    return "\n".join(lines)
