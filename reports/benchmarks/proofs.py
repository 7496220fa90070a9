"""Timing of the unrolled proofs: CPU seconds of ``prove(cell, head, loss_at, kind=("bptt",))`` for
every registered cell × head (and no head) × loss placement, the derivation made beforehand, as the
README's table prints them (``python -m bpttlab.reports.benchmarks.proofs``).

>>> seconds = bench_unrolled_proofs(cells=("indrnn",), heads=(None,))
>>> sorted(seconds), all(s > 0 for s in seconds.values())
([('indrnn', None, 'every'), ('indrnn', None, 'last')], True)
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from bpttlab.derivations import CELLS, HEADS, LOSS_AT, derive, prove
from bpttlab.derivations.proof import bptt_steps

__all__ = ["bench_unrolled_proofs", "format_proof_table"]

Key = tuple[str, str | None, str]


def bench_unrolled_proofs(cells: Iterable[str] | None = None, heads: Iterable[str | None] | None = None
                          ) -> dict[Key, float]:
    """(cell, head, loss placement) → CPU seconds of its unrolled proof; every registered cell and head
    (and no head) by default. A proof that fails raises ``AssertionError``."""
    seconds = {}
    for cell in (tuple(CELLS) if cells is None else tuple(cells)):
        for head in ((None, *HEADS) if heads is None else tuple(heads)):
            for loss_at in LOSS_AT:
                d = derive(cell, head, loss_at)
                started = time.process_time()
                proof = prove(cell, head, loss_at, kind=("bptt",), derivation=d)
                seconds[(cell, head, loss_at)] = time.process_time() - started
                if not proof.passed:
                    raise AssertionError(f"the unrolled proof failed:\n{proof}")
    return seconds


def format_proof_table(seconds: dict[Key, float]) -> str:
    """A Markdown row per cell: T, then every head's seconds with the loss at every / the last step,
    and the cell's total.

    >>> print(format_proof_table({("rnn", None, "every"): 0.041, ("rnn", None, "last"): 0.04}))
    | cell | T | no head | all 2 |
    | --- | --- | --- | --- |
    | rnn | 3 | 0.04 / 0.04 | 0.1 |
    """
    cells = list(dict.fromkeys(cell for cell, _, _ in seconds))
    heads = list(dict.fromkeys(head for _, head, _ in seconds))
    placements = list(dict.fromkeys(at for _, _, at in seconds))
    count = len(heads) * len(placements)
    lines = ["| cell | T | " + " | ".join(head or "no head" for head in heads) + f" | all {count} |",
             "| --- | --- | " + " | ".join("---" for _ in heads) + " | --- |"]
    for cell in cells:
        columns = [" / ".join(f"{seconds[(cell, head, at)]:.2f}" for at in placements) for head in heads]
        total = sum(seconds[(cell, head, at)] for head in heads for at in placements)
        steps = bptt_steps(derive(cell, None))
        lines.append(f"| {cell} | {steps} | " + " | ".join(columns) + f" | {total:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    timings = bench_unrolled_proofs()
    print(format_proof_table(timings))
    print(f"{len(timings)} proofs, {sum(timings.values()):.0f} s CPU in all")
