"""A recurrent cell: its forward equations over one step, as data the rest of the toolkit reads."""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

__all__ = ["Cell", "by_kind"]


@dataclass(frozen=True)
class Cell:
    """One step of a recurrent cell.

    ``equations`` are ``sympy.Eq(name, expression)`` in evaluation order; every left side is a
    ``MatrixSymbol`` whose value the forward pass stores. ``states`` pairs each new state with the
    previous one it replaces (``(h_t, h_{t-1})``, and ``(c_t, c_{t-1})`` for the LSTM).
    ``named_deltas`` are the intermediates whose gradient gets an equation of its own in the
    backward step (pre-activations and states); the others are inlined.
    """

    name: str
    title: str
    x: sp.MatrixSymbol
    states: tuple[tuple[sp.MatrixSymbol, sp.MatrixSymbol], ...]
    params: tuple[sp.MatrixSymbol, ...]
    equations: tuple[sp.Eq, ...]
    named_deltas: tuple[sp.MatrixSymbol, ...]

    @property
    def h(self) -> sp.MatrixSymbol:
        return self.states[0][0]

    @property
    def new_states(self) -> tuple[sp.MatrixSymbol, ...]:
        return tuple(new for new, _ in self.states)

    @property
    def previous_states(self) -> tuple[sp.MatrixSymbol, ...]:
        return tuple(prev for _, prev in self.states)

    @property
    def inputs(self) -> tuple[sp.MatrixSymbol, ...]:
        """What the step reads besides its parameters: ``x_t`` and the previous states."""
        return (self.x, *self.previous_states)


def by_kind(params: list[sp.MatrixSymbol]) -> tuple[sp.MatrixSymbol, ...]:
    """Input weights ``W_x*`` first, then recurrent weights ``W_h*``, then biases; stable within each."""

    def kind(p: sp.MatrixSymbol) -> int:
        return 0 if p.name.startswith("W_x") else 1 if p.name.startswith("W_h") else 2

    return tuple(sorted(params, key=kind))
