"""Where an engine call spends its time, phase by phase, for the benchmarks.

:meth:`NumpyEngine.timing_phases <bpttlab.numeric.engine.NumpyEngine.timing_phases>` lends the engine a
:class:`PhaseClock`; the engine marks the end of each phase of ``loss_and_grads`` on it, and the time
since the previous mark goes to that phase. Outside that block the engine has no clock and marks nothing.

>>> clock = PhaseClock()
>>> clock.start()
>>> clock.lap("back through time")
>>> list(clock.seconds), clock.seconds["back through time"] >= 0
(['back through time'], True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["PHASES", "PhaseClock"]

#: The phases of ``loss_and_grads``, in the order they run: the inputs checked and laid out; the time
#: loop forward (the input projections for all steps included); the head, its loss and its backward
#: pass on all T·N columns; the time loop backward; the products over all T·N columns (δW, δx) and
#: the rest of the gradients.
PHASES = ("set-up", "forward loop", "head and loss", "back through time", "column products")


@dataclass
class PhaseClock:
    """Seconds by phase, summed over the calls timed."""

    seconds: dict[str, float] = field(default_factory=dict)
    _last: float = 0.0

    def start(self) -> None:
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        """The time since the last mark (or the start) goes to ``phase``."""
        now = time.perf_counter()
        self.seconds[phase] = self.seconds.get(phase, 0.0) + now - self._last
        self._last = now
