"""Timing of the symbolic core: ``derive`` for every combination (cold, in a fresh interpreter)
and the per-step proofs of every cell. Medians over ``repeats`` runs, in seconds."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

__all__ = ["bench_derive", "bench_step_proofs"]

_COLD_DERIVE = """
import time
t0 = time.perf_counter()
from derivations import CELLS, HEADS, LOSS_AT, derive
for c in CELLS:
    for h in HEADS:
        for at in LOSS_AT:
            derive(c, h, at)
print(time.perf_counter() - t0)
"""


def bench_derive(repeats: int = 3) -> float:
    """Median seconds for a fresh interpreter to import the package and derive all 24
    cell × head × loss placements."""
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", _COLD_DERIVE], capture_output=True, text=True, check=True)
        times.append(float(out.stdout.strip()))
    return statistics.median(times)


def bench_step_proofs() -> dict[str, float]:
    """Seconds for the per-step proofs (cell, head, Jacobian) of every cell with every head."""
    from bpttlab.derivations.derivation import CELLS, HEADS
    from bpttlab.derivations.proof import prove

    times = {}
    for c in CELLS:
        started = time.perf_counter()
        for h in HEADS:
            if not prove(c, h, kind=("step",)).passed:
                raise AssertionError(f"the step proof of {c} × {h} failed")
        times[c] = time.perf_counter() - started
    return times


if __name__ == "__main__":
    print(f"derive, all 24 combinations, cold: {bench_derive():.2f} s")
    proofs = bench_step_proofs()
    for name, seconds in proofs.items():
        print(f"step proofs {name:<10} {seconds:6.2f} s")
    print(f"step proofs, all cells: {sum(proofs.values()):.2f} s")
