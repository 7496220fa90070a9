"""A recurrent cell: its forward equations over one step, as data the rest of the toolkit reads."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sympy as sp

from bpttlab.derivations.activations import activation
from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.symbols import D, H

__all__ = ["Cell", "by_kind"]


@dataclass(frozen=True)
class Cell:
    """One step of a recurrent cell.

    ``equations`` are ``sympy.Eq(name, expression)`` in evaluation order; every left side is a
    ``MatrixSymbol`` whose value the forward pass stores. ``states`` pairs each new state with the
    previous one it replaces (``(h_t, h_{t-1})``, and ``(c_t, c_{t-1})`` for the LSTM).
    ``named_deltas`` are the intermediates whose gradient gets an equation of its own in the
    backward step (pre-activations and states); the others are inlined.

    ``initial`` names the initial value of each previous state where the engine takes it (``h0``,
    ``c0`` for the built-in cells; a custom cell's previous states as written, e.g. ``h_prev``).
    ``source`` is the equation text a custom cell was written in (None for the built-in cells) and
    ``spelling`` pairs each previous state's symbol with the name it was written as.
    ``torch_module`` names the ``torch.nn`` module computing the same cell, if any.
    """

    name: str
    title: str
    x: sp.MatrixSymbol
    states: tuple[tuple[sp.MatrixSymbol, sp.MatrixSymbol], ...]
    params: tuple[sp.MatrixSymbol, ...]
    equations: tuple[sp.Eq, ...]
    named_deltas: tuple[sp.MatrixSymbol, ...]
    initial: tuple[str, ...] = ("h0",)
    source: str | None = field(default=None, compare=False)  # the text, not the math it says
    spelling: tuple[tuple[str, str], ...] = ()
    torch_module: str | None = None

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
    def forget_gate_bias(self) -> str | None:
        """The bias of the cell's forget gate: of the gate output (σ) that multiplies a further state's
        previous value (the LSTM's f_t ⊙ c_{t-1}), read from the equations; None where there is no
        such gate (the GRU's and the MGU's gates act on h_{t-1}, where a gate of 1 means forgetting).

        >>> from bpttlab.derivations import resolve_cell
        >>> [resolve_cell(c).forget_gate_bias for c in ("lstm", "lstm_peephole", "lstm_nfg", "mgu", "gru")]
        ['b_f', 'b_f', None, None, None]
        """
        defined = {eq.lhs: eq.rhs for eq in self.equations}
        for new, prev in self.states[1:]:
            for product in defined[new].atoms(sp.HadamardProduct):
                gates = [f for f in product.args
                         if isinstance(defined.get(f), Elementwise) and activation(defined[f].name).is_gate]
                if prev not in product.args or len(product.args) != 2 or not gates:
                    continue
                pre_activation = defined.get(defined[gates[0]].arg, sp.S.Zero)
                for symbol in sorted(pre_activation.atoms(sp.MatrixSymbol), key=lambda s: s.name):
                    if symbol in self.params and symbol.shape[1] == 1 and symbol.name.startswith("b_"):
                        return symbol.name
        return None

    @property
    def inputs(self) -> tuple[sp.MatrixSymbol, ...]:
        """What the step reads besides its parameters: ``x_t`` and the previous states."""
        return (self.x, *self.previous_states)


def by_kind(params: Iterable[sp.MatrixSymbol]) -> tuple[sp.MatrixSymbol, ...]:
    """Input weights (H×D) first, then recurrent weights (H×H), then vectors; stable within each.
    Read from the shapes, so a cell written as equations is ordered the same way as a built-in one."""

    def kind(p: sp.MatrixSymbol) -> int:
        return 0 if p.shape[1] == D else 1 if p.shape[1] == H else 2

    return tuple(sorted(params, key=kind))
