"""The stacked products of ``numeric/engine/stacking.py``: the leaves' rewrite is the same equations.

Putting each stacked product's definition back into the rewritten leaves must give the derived leaves
symbol for symbol, for every registered cell; and a cell whose recurrent deltas share a buffer must
actually get its column products stacked (else the speed-up is lost without a failure elsewhere).
"""

from __future__ import annotations

import pytest
import sympy as sp

from bpttlab.derivations.cells import CELLS
from bpttlab.numeric.engine import build_engine


def _definitions(engine) -> dict[str, sp.MatrixExpr]:
    """Each stacked product's symbol → what it stands for, from the derived equations' own symbols."""
    symbols = {s.name: s for eq in engine.derivation.step_backward for s in eq.atoms(sp.MatrixSymbol)}
    groups = engine._layout.groups
    definitions = {}
    for outer in engine._outers:
        deltas = groups[outer.group].deltas[outer.first:outer.stop]
        for symbol, name in zip(outer.symbols, deltas, strict=True):
            definitions[symbol] = symbols[name] * symbols[outer.operand].T
    for inner in engine._inners:
        deltas = groups[inner.group].deltas[inner.first:inner.stop]
        definitions[inner.symbol] = sp.MatAdd(*(symbols[w].T * symbols[d]
                                                for w, d in zip(inner.weights, deltas, strict=True)))
    return definitions


@pytest.mark.parametrize("cell", CELLS)
def test_stacked_leaves_are_the_derived_leaves(cell: str) -> None:
    engine = build_engine(cell, head="linear")
    definitions = _definitions(engine)
    recurrent = {eq.lhs.name for eq in (*engine._layout.backward_deltas, *engine._layout.backward_states)}
    derived = [eq for eq in engine.derivation.step_backward if eq.lhs.name not in recurrent]
    assert [eq.lhs for eq in engine._leaf_equations] == [eq.lhs for eq in derived]
    for rewritten, original in zip(engine._leaf_equations, derived, strict=True):
        stacked = [s for s in rewritten.rhs.atoms(sp.MatrixSymbol) if s.name in definitions]
        restored = rewritten.rhs.xreplace({s: definitions[s.name] for s in stacked})
        assert (restored - original.rhs).doit() == sp.ZeroMatrix(*original.rhs.shape), original.lhs


@pytest.mark.parametrize("cell", CELLS)
def test_shared_delta_buffers_get_stacked_column_products(cell: str) -> None:
    engine = build_engine(cell, head="linear")
    owners, seen = [], set()  # the groups whose deltas no earlier group holds: they have the buffer
    for g, group in enumerate(engine._layout.groups):
        if group.deltas and not seen & set(group.deltas):
            owners.append(g)
        seen |= set(group.deltas or ())
    shared = [g for g in owners if len(engine._layout.groups[g].deltas) >= 2]
    outer_groups = {outer.group for outer in engine._outers}
    assert set(shared) <= outer_groups, f"{cell}: groups {shared} have no stacked δW products"
    if shared:  # δx_t's terms Wᵀ δu of a shared buffer are one product too
        assert {inner.group for inner in engine._inners} == set(shared)
