"""The standard a learning result must meet before the course sheet states it, as data: one place,
read by the sheet (which prints it) and by the check of a study's ``learn.json``.

A course sheet says what a network learns only from a study of the four course cells, over at
least three seeds, at sequence lengths up to at least 100 steps; anything less (one seed, T up to 20)
is an anecdote, and the sheet leaves the section out, with one sentence saying how to get such data.

>>> STANDARD.seeds, STANDARD.longest, STANDARD.cells
(3, 100, ('rnn', 'lstm', 'gru', 'gru_torch'))
>>> STANDARD.shortfalls({"config": {"seeds": [0], "lengths": [10, 20]}, "settings": [{"cell": "rnn"}]})
['1 seed (at least 3)', 'T up to 20 (at least 100)', 'cells missing: lstm, gru, gru_torch']
"""

from __future__ import annotations

from dataclasses import dataclass

from bpttlab.derivations.cells import BUILT_IN

__all__ = ["STANDARD", "LearningStandard"]


@dataclass(frozen=True)
class LearningStandard:
    """``cells`` every one of which the study trains, over at least ``seeds`` seeds, at lengths up to
    at least ``longest``."""

    cells: tuple[str, ...]
    seeds: int
    longest: int

    def shortfalls(self, data: dict) -> list[str]:
        """What a study's ``learn.json`` (as a dict) lacks to meet the standard; empty when it meets it."""
        config = data.get("config", {})
        seeds = len(config.get("seeds", ()))
        lengths = config.get("lengths", ()) or (0,)
        trained = {setting.get("cell") for setting in data.get("settings", ())}
        missing = [cell for cell in self.cells if cell not in trained]
        found = []
        if seeds < self.seeds:
            found.append(f"{seeds} seed{'s' if seeds != 1 else ''} (at least {self.seeds})")
        if max(lengths) < self.longest:
            found.append(f"T up to {max(lengths)} (at least {self.longest})")
        if missing:
            found.append(f"cells missing: {', '.join(missing)}")
        return found

    def met(self, data: dict) -> bool:
        return not self.shortfalls(data)


#: The course sheet's standard.
STANDARD = LearningStandard(cells=BUILT_IN, seeds=3, longest=100)
