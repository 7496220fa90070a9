"""What a proof reports: one :class:`Check` per compared quantity, gathered in a :class:`Proof`.

>>> check = Check("step δx_t", 2, True, 0.01)
>>> Proof("rnn × no head × loss at every", (check,)).passed
True
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bpttlab.derivations.opaque import Opaque
from bpttlab.derivations.polynomial import Polynomial

__all__ = ["Check", "Proof", "verdict"]


@dataclass(frozen=True)
class Check:
    """One compared quantity: ``entries`` scalar identities, all proven or not."""

    what: str
    entries: int
    passed: bool
    seconds: float
    counterexample: str = ""


@dataclass(frozen=True)
class Proof:
    """The checks made for one derivation; ``passed`` only if every identity simplified to 0.

    A notebook shows it as a table of its checks:

    >>> from bpttlab.derivations import prove
    >>> print(prove("rnn", head=None, kind=("step",))._repr_markdown_())
    **rnn × no head × loss at every: PROVEN**
    <BLANKLINE>
    | what | identities | passed |
    | --- | --- | --- |
    | step δh_{t-1} | 2 | yes |
    | step δx_t | 2 | yes |
    | step δW_xh | 4 | yes |
    | step δW_hh | 4 | yes |
    | step δb_h | 2 | yes |
    | step δa_t | 2 | yes |
    | step ∂h_t/∂h_{t-1} | 4 | yes |
    """

    name: str
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def __str__(self) -> str:
        lines = [f"{self.name}: {'PROVEN' if self.passed else 'FAILED'}"]
        for c in self.checks:
            mark = "ok " if c.passed else "BAD"
            lines.append(f"  {mark} {c.what:<34} {c.entries:>4} identities  {c.seconds:6.2f} s")
            if c.counterexample:
                lines.append(f"      residual ≠ 0: {c.counterexample}")
        return "\n".join(lines)

    def _table(self) -> tuple[list[str], list[list[object]], str]:
        """Header, rows and caption of the notebook's table: a row per check, the residual of any
        failed one."""
        header = ["what", "identities", "passed"]
        failed = any(c.counterexample for c in self.checks)
        rows: list[list[object]] = [[c.what, c.entries, "yes" if c.passed else "NO"] for c in self.checks]
        if failed:
            header.append("residual ≠ 0")
            for row, c in zip(rows, self.checks, strict=True):
                row.append(c.counterexample)
        return header, rows, f"{self.name}: {'PROVEN' if self.passed else 'FAILED'}"

    def _repr_markdown_(self) -> str:
        from bpttlab.derivations.printing.notebook import markdown_table  # printing imports this package

        header, rows, caption = self._table()
        return markdown_table(header, rows, f"**{caption}**")

    def _repr_html_(self) -> str:
        from bpttlab.derivations.printing.notebook import html_table

        return html_table(*self._table())

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # noqa: ARG002 (IPython's _repr_pretty_ protocol)
        printer.text(str(self))


def shortened(text: str) -> str:
    """A residual as the report shows it: at most 200 characters."""
    return text if len(text) < 200 else text[:200] + " …"


def verdict(what: str, pairs: list[tuple[Polynomial, Polynomial]], g: Opaque, started: float) -> Check:
    """Each claim polynomial against its truth, every pair: equal term by term (both are kept without
    zero coefficients, so equal dictionaries are equal polynomials); else the first residual."""
    for claim, truth in pairs:
        if claim.terms != truth.terms:
            residual = claim - truth
            text = str(residual.as_expr(g.name)) if len(residual) < 40 else f"{len(residual)} terms"
            return Check(what, len(pairs), False, time.perf_counter() - started, shortened(text))
    return Check(what, len(pairs), True, time.perf_counter() - started)
