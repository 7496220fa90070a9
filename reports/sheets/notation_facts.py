"""What a sheet's notation paragraph names, read from the cells on the sheet.

The paragraph gives the notation's conventions and then the sheet's own names as examples: which
weight matrices multiply what (the first cell's), the cells' pre-activations, their gates and further
states, and the first gate's parameters. Nothing is said about a weight, a gate or a state that no cell
on the sheet has.

>>> from bpttlab.reports.sheets.context import cell_section
>>> facts = notation_facts([cell_section("rnn", "course")], "W_{hy}", "h_t")
>>> [(group.weights, group.on) for group in facts.weights], facts.gated
([(('W_{xh}',), 'x_t'), (('W_{hh}',), 'h_{t-1}')], False)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bpttlab.reports.sheets.context import CellSection

__all__ = ["GateContrast", "GateWeights", "NotationFacts", "WeightGroup", "gate_contrasts", "notation_facts"]


@dataclass(frozen=True)
class WeightGroup:
    """The weight matrices of one cell that multiply the same operand ``on`` (math)."""

    weights: tuple[str, ...]
    on: str


@dataclass(frozen=True)
class GateWeights:
    """A gate (its ``name``, a words key of :mod:`.context`, and ``symbol``) and its parameters."""

    name: str
    symbol: str
    weights: tuple[str, ...]
    biases: tuple[str, ...]


@dataclass(frozen=True)
class NotationFacts:
    weights: tuple[WeightGroup, ...]  # the first cell's weight matrices, grouped by what they multiply
    output: WeightGroup  # the output layer's weights and the state they read
    pre_activations: tuple[str, ...]  # every cell's, in order, each once
    gates: tuple[tuple[str, str], ...]  # (words key, symbol) of every cell's gates, each once
    states: tuple[str, ...]  # every cell's further states (a cell state), each once
    first_gate: GateWeights | None  # the first gated cell's first gate

    @property
    def gated(self) -> bool:
        return bool(self.gates)

    @property
    def update(self) -> bool:
        """A gate that updates the state (mixes the old state and the candidate): the GRU's."""
        return any(key.startswith("value.gate.update|") for key, _ in self.gates)


def _of(row) -> str:
    return row.values.get("of", "")


def notation_facts(sections: Sequence[CellSection], output_weights: str, output_on: str) -> NotationFacts:
    """The names of ``sections`` (the sheet's cells, in one notation) that the notation paragraph
    gives as examples; ``output_weights`` multiplies ``output_on`` in the output layer."""
    first = sections[0]
    groups: dict[str, list[str]] = {}
    for row in first.symbols:
        if row.kind.startswith("matrix."):
            groups.setdefault(row.values.get("on", ""), []).append(row.symbol)
    pre = dict.fromkeys(row.symbol for s in sections for row in s.symbols if row.kind == "pre_activation")
    gates = dict.fromkeys((f"value.gate.{g.role}|symbol={g.symbol}", g.symbol)
                          for s in sections for g in s.gates)
    states = dict.fromkeys(state for s in sections for state in s.facts.states[1:])
    first_gate = None
    gated = next((s for s in sections if s.gates), None)
    if gated is not None:
        gate = gated.gates[0]
        key = f"value.gate.{gate.role}|symbol={gate.symbol}"
        mine = [row for row in gated.symbols if _of(row) == key]
        first_gate = GateWeights(key, gate.symbol,
                                 tuple(row.symbol for row in mine if row.kind.startswith("matrix.")),
                                 tuple(row.symbol for row in mine if row.kind.startswith("bias.")))
    return NotationFacts(tuple(WeightGroup(tuple(w), on) for on, w in groups.items() if on),
                         WeightGroup((output_weights,), output_on), tuple(pre), tuple(gates),
                         tuple(states), first_gate)


@dataclass(frozen=True)
class GateContrast:
    """A gate letter that a cell on the sheet uses the other way round from an earlier cell: the
    update gate ``symbol`` weights the candidate (``weights_new``) here and the old state there, or the
    reverse; ``earlier`` is the earlier cell's section label."""

    symbol: str
    earlier: str
    weights_new: bool
    acts_on: str  # what the gate multiplies here (the candidate or the old state)


def gate_contrasts(sections: Sequence[CellSection]) -> dict[str, GateContrast]:
    """For each cell (by section label) whose update gate shares its letter with an earlier cell's
    update gate but weights the other term, the contrast to warn about at the start of its section."""
    seen: dict[str, tuple[str, bool]] = {}
    found = {}
    for section in sections:
        for gate in section.gates:
            for role in gate.roles:
                if role["kind"] != "update":
                    continue
                earlier = seen.get(gate.symbol)
                if earlier is not None and earlier[1] != role["weights_new"] and section.label not in found:
                    found[section.label] = GateContrast(gate.symbol, earlier[0], role["weights_new"],
                                                        role["acts_on"])
                seen.setdefault(gate.symbol, (section.label, role["weights_new"]))
    return found
