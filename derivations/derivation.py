"""``derive``: a cell and a head in, their forward and BPTT backward equations out.

>>> d = derive("rnn", head="softmax")
>>> for eq in d.step_backward[:2]:
...     print(eq.lhs, "=", eq.rhs)
δa_t = HadamardProduct(δh_t, -HadamardPower(h_t, 2) + 1)
δh_{t-1} = W_hh.T*δa_t
>>> d.params["W_hh"]
(H, H)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType

import sympy as sp

from bpttlab.derivations.cells import BUILT_IN, Cell
from bpttlab.derivations.heads import HEADS, Head
from bpttlab.derivations.heads import head as make_head
from bpttlab.derivations.jacobian import jacobians
from bpttlab.derivations.reverse import reverse_pass
from bpttlab.derivations.symbols import delta

__all__ = ["CELLS", "HEADS", "LOSS_AT", "Derivation", "carry", "cell", "derive"]

CELLS = BUILT_IN
LOSS_AT = ("every", "last")


def cell(name: str) -> Cell:
    """The cell called ``name``: one of :data:`CELLS`."""
    if name not in CELLS:
        raise ValueError(f"unknown cell {name!r}; valid cells: {', '.join(CELLS)}")
    return CELLS[name]()


def carry(state: sp.MatrixSymbol) -> sp.MatrixSymbol:
    """δs_t^{(t+1)}: the gradient reaching state ``s_t`` from step t+1 (the δs_{t-1} that step emits)."""
    return sp.MatrixSymbol(f"δ{state.name}^{{(t+1)}}", *state.shape)


@dataclass(frozen=True)
class Derivation:
    """Everything derived for one cell × head × loss placement.

    ``forward``: the cell's equations, then the head's. ``head_backward``: δ of the logits and the
    head's per-step parameter gradients. ``recurrence``: how δh_t is assembled from the head and
    from step t+1 (with ``loss_at="last"``, the first equation holds at t = T only and the second
    for t < T). ``from_head``: the head's part of δh_t (W_hyᵀ δs_t), in step-t names, or None.
    ``step_backward``: one step of BPTT, given δh_t (and the carried δc_t for the LSTM):
    pre-activation deltas, δ of the previous states, δx_t and each parameter's per-step gradient;
    the gradient of the loss is the sum of those over t. ``jacobian``: the blocks
    ∂s_t/∂s'_{t-1} of the step Jacobian. ``params``: parameter name → shape.
    """

    cell: Cell
    head: Head | None
    loss_at: str
    forward: tuple[sp.Eq, ...]
    head_backward: tuple[sp.Eq, ...]
    recurrence: tuple[sp.Eq, ...]
    from_head: sp.MatrixExpr | None
    step_backward: tuple[sp.Eq, ...]
    jacobian: MappingProxyType = field(repr=False)
    params: MappingProxyType = field(repr=False)

    @property
    def backward(self) -> tuple[sp.Eq, ...]:
        """All backward equations in the order a reader follows them."""
        return self.head_backward + self.recurrence + self.step_backward

    @property
    def gradients(self) -> dict[str, sp.MatrixExpr]:
        """Parameter name → its per-step gradient (∂L/∂W is the sum of these over the steps)."""
        names = {delta(sp.MatrixSymbol(n, *s)).name: n for n, s in self.params.items()}
        return {names[eq.lhs.name]: eq.rhs for eq in self.head_backward + self.step_backward
                if eq.lhs.name in names}


@cache
def _head_backward(hd: Head) -> tuple[tuple[sp.Eq, ...], sp.MatrixExpr]:
    identities = {}
    if hd.one_hot_target:  # Σ_k y_{t,k} = 1
        identities[sp.OneMatrix(1, hd.target.rows) * hd.target] = sp.Identity(1)
    equations = reverse_pass(hd.equations, {hd.loss: sp.Identity(1)}, wrt=[hd.h, *hd.params],
                             named=[hd.logits], identities=identities)
    into_h = next(eq.rhs for eq in equations if eq.lhs == delta(hd.h))
    return tuple(eq for eq in equations if eq.lhs != delta(hd.h)), into_h


def _recurrence(c: Cell, from_head: sp.MatrixExpr | None, loss_at: str) -> tuple[sp.Eq, ...]:
    h = c.h
    if from_head is None:
        return (sp.Eq(delta(h), carry(h), evaluate=False),)
    if loss_at == "every":
        return (sp.Eq(delta(h), from_head + carry(h), evaluate=False),)
    last = {h: sp.MatrixSymbol("h_T", *h.shape)}
    at_T = sp.Eq(delta(last[h]), from_head.xreplace(
        {s: sp.MatrixSymbol(s.name.replace("_t", "_T"), *s.shape) for s in from_head.atoms(sp.MatrixSymbol)}
    ), evaluate=False)
    return at_T, sp.Eq(delta(h), carry(h), evaluate=False)


@cache
def _cell_parts(cell_name: str) -> tuple[Cell, tuple[sp.Eq, ...], MappingProxyType]:
    c = cell(cell_name)
    seeds = {c.h: delta(c.h)}
    seeds.update({new: carry(new) for new in c.new_states[1:]})
    step = reverse_pass(c.equations, seeds, wrt=[*c.previous_states, c.x, *c.params], named=c.named_deltas)
    return c, tuple(step), MappingProxyType(jacobians(c))


def derive(cell_name: str, head: str | None = "softmax", loss_at: str = "every") -> Derivation:
    """Derive the BPTT equations of ``cell_name`` with ``head`` ("softmax", "sigmoid", "linear" or
    None for the bare cell), the loss summed over every step or taken at the last one; cached."""
    # The names are checked before they become a cache key: a list is unhashable (TypeError).
    if not isinstance(cell_name, str) or cell_name not in CELLS:
        raise ValueError(f"unknown cell {cell_name!r}; valid cells: {', '.join(CELLS)}")
    if head is not None and (not isinstance(head, str) or head not in HEADS):
        raise ValueError(f"unknown head {head!r}; valid heads: {', '.join(HEADS)}")
    if not isinstance(loss_at, str) or loss_at not in LOSS_AT:
        raise ValueError(f"unknown loss placement {loss_at!r}; valid: {', '.join(LOSS_AT)}")
    return _derive(cell_name, head, loss_at)


@cache
def _derive(cell_name: str, head: str | None, loss_at: str) -> Derivation:
    c, step, jacobian = _cell_parts(cell_name)
    hd = None if head is None else make_head(head)
    head_backward, into_h = _head_backward(hd) if hd else ((), None)
    params = {p.name: p.shape for p in (*c.params, *(hd.params if hd else ()))}
    return Derivation(
        cell=c,
        head=hd,
        loss_at=loss_at,
        forward=c.equations + (hd.equations if hd else ()),
        head_backward=head_backward,
        recurrence=_recurrence(c, into_h, loss_at),
        from_head=into_h,
        step_backward=step,
        jacobian=jacobian,
        params=MappingProxyType(params),
    )
