"""Where the engine's time goes: ``loss_and_grads`` phase by phase (:data:`bpttlab.numeric.engine.PHASES`),
one line per cell and size, beside the matrix products' floor for the same shapes.

Each call is timed whole and by phase (the engine's own marks, :meth:`Engine.timing_phases`); the
table gives the medians over the calls, after the same settling as the engine benchmark.
"""

from __future__ import annotations

import functools
import statistics
import time
from dataclasses import dataclass

import numpy as np

from bpttlab.derivations import resolve_cell
from bpttlab.derivations.cells import BUILT_IN
from bpttlab.numeric.engine import PHASES, build_engine
from bpttlab.reports.benchmarks.engine import SETTLE, problem, settle_calls

__all__ = ["PhaseRow", "format_phase_rows", "phase_breakdown"]


@dataclass(frozen=True)
class PhaseRow:
    """Median seconds of the whole call and of each phase (by name, in :data:`PHASES` order)."""

    cell: str
    size: str
    total: float
    phases: dict[str, float]


def phase_breakdown(cells: tuple[str, ...] = BUILT_IN, sizes: tuple[str, ...] = ("mid", "large"),
                    dtype: type = np.float32, head: str = "softmax", repeats: int = 5,
                    settle: float | None = None) -> list[PhaseRow]:
    """Time ``loss_and_grads`` (every gradient) by phase for every cell and size."""
    settle = SETTLE if settle is None else settle
    rows = []
    for cell in map(resolve_cell, cells):
        engine = build_engine(cell, head, "every")
        for size in sizes:
            call = functools.partial(engine.loss_and_grads, *problem(engine, size, dtype))
            settle_calls(call, settle)
            totals, by_phase = [], {phase: [] for phase in PHASES}
            for _ in range(repeats):
                with engine.timing_phases() as seconds:
                    started = time.perf_counter()
                    call()
                    totals.append(time.perf_counter() - started)
                for phase in PHASES:
                    by_phase[phase].append(seconds[phase])
            rows.append(PhaseRow(cell.name, size, statistics.median(totals),
                                 {phase: statistics.median(t) for phase, t in by_phase.items()}))
    return rows


def format_phase_rows(rows: list[PhaseRow]) -> str:
    """One line per cell and size, in ms, each phase with its share of the call."""
    widths = [max(len(phase), 12) for phase in PHASES]
    header = f"{'cell':<10} {'size':<6} {'total':>8}  " + "  ".join(
        f"{phase:>{w}}" for phase, w in zip(PHASES, widths, strict=True))
    lines = [header, "-" * len(header)]
    for row in rows:
        cells = [f"{row.phases[p] * 1e3:.2f} ({row.phases[p] / row.total:.0%})" for p in PHASES]
        lines.append(f"{row.cell:<10} {row.size:<6} {row.total * 1e3:>8.2f}  " + "  ".join(
            f"{c:>{w}}" for c, w in zip(cells, widths, strict=True)))
    lines.append("ms, medians of whole calls and of each phase (share of the call); float32, softmax head, "
                 "every gradient")
    return "\n".join(lines)
