"""Timing of the symbolic core: ``derive`` for every combination (cold, in a fresh interpreter)
and the per-step proofs of every cell. Medians over ``repeats`` runs, in seconds."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

__all__ = ["bench_derive", "bench_step_proofs", "bench_variants", "format_variant_timings"]

_COLD_DERIVE = """
import time
t0 = time.perf_counter()
from bpttlab.derivations import HEADS, LOSS_AT, derive
from bpttlab.derivations.cells import BUILT_IN
for c in BUILT_IN:
    for h in HEADS:
        for at in LOSS_AT:
            derive(c, h, at)
print(time.perf_counter() - t0)
"""


_COLD_VARIANT = """
import sys, time
from bpttlab.derivations import custom_cell, derive
from bpttlab.derivations.cells import LIBRARY, parse_cell_file
from bpttlab.numeric import build_engine
text = (LIBRARY / (sys.argv[1] + ".cell")).read_text()
t0 = time.perf_counter()
cell = parse_cell_file(text)
t1 = time.perf_counter()
derive(cell, "softmax", "every")
t2 = time.perf_counter()
build_engine(cell, "softmax", "every")
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def bench_variants(repeats: int = 3) -> dict[str, tuple[float, float, float]]:
    """For each shipped variant, read as a user's cell would be: median seconds to parse its ``.cell``
    text, to ``derive`` it (softmax head, loss at every step) and to ``build_engine`` it, each in a
    fresh interpreter (the package import not counted), so nothing is cached."""
    from bpttlab.derivations import VARIANTS

    timings = {}
    for name in VARIANTS:
        runs = []
        for _ in range(repeats):
            out = subprocess.run([sys.executable, "-c", _COLD_VARIANT, name], capture_output=True, text=True,
                                 check=True)
            runs.append([float(v) for v in out.stdout.split()])
        timings[name] = tuple(statistics.median(run[i] for run in runs) for i in range(3))
    return timings


def format_variant_timings(timings: dict[str, tuple[float, float, float]]) -> str:
    """The variants' parse / derive / build_engine times as a table (seconds, medians)."""
    lines = [f"{'cell (as a .cell file)':<24} {'parse s':>8} {'derive s':>9} {'engine s':>9}"]
    lines.append("-" * len(lines[0]))
    lines += [f"{name:<24} {p:8.3f} {d:9.2f} {e:9.2f}" for name, (p, d, e) in timings.items()]
    if not timings:
        return "\n".join([*lines, "(no variants registered)"])
    worst = [max(t[i] for t in timings.values()) for i in range(3)]
    lines.append(f"{'slowest':<24} {worst[0]:8.3f} {worst[1]:9.2f} {worst[2]:9.2f}")
    return "\n".join(lines)


def bench_derive(repeats: int = 3) -> float:
    """Median seconds for a fresh interpreter to import the package and derive every built-in cell ×
    head × loss placement (the heads registered when the package is imported)."""
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
    print(f"derive, every built-in cell × head × placement, cold: {bench_derive():.2f} s")
    print(format_variant_timings(bench_variants()))
    proofs = bench_step_proofs()
    for name, seconds in proofs.items():
        print(f"step proofs {name:<10} {seconds:6.2f} s")
    print(f"step proofs, all cells: {sum(proofs.values()):.2f} s")
