"""``derive``: a cell and a head in, their forward and BPTT backward equations out.

>>> d = derive("rnn", head="softmax")
>>> for eq in d.step_backward[:2]:
...     print(eq.lhs, "=", eq.rhs)
δa_t = HadamardProduct(δh_t, -HadamardPower(h_t, 2) + 1)
δh_{t-1} = W_hh.T*δa_t
>>> d.params["W_hh"]
(H, H)

In a notebook a derivation shows itself as LaTeX through the sheet printer, in the notation it was
made with; ``in_notation`` gives the same derivation printed in another one:

>>> book = d.in_notation("dlbook")
>>> book == d, book.notation, book.step_backward.notation
(True, 'dlbook', 'dlbook')
>>> print(book.step_backward[1:2].latex())
\\delta \\bm{h}^{(t-1)} &= \\bm{W}^{\\top} \\delta \\bm{a}^{(t)}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache
from types import MappingProxyType
from typing import Any

import sympy as sp

from bpttlab.derivations.cells import CELLS, Cell, resolve_cell
from bpttlab.derivations.equations import Equations, check_notation
from bpttlab.derivations.heads import HEADS, Head
from bpttlab.derivations.jacobian import jacobians
from bpttlab.derivations.names import at_step, shift_name
from bpttlab.derivations.reverse import reverse_pass
from bpttlab.derivations.symbols import delta
from bpttlab.derivations.tidy import live

__all__ = ["CELLS", "HEADS", "LOSS_AT", "Derivation", "carry", "derive"]

LOSS_AT = ("every", "last")


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

    The equation lists are :class:`Equations` (tuples of ``sympy.Eq``) printed in ``notation``
    ("course" or "dlbook"), which plays no part in equality; a notebook shows the derivation as
    LaTeX: forward, backward and the step Jacobians.
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
    notation: str = field(default="course", compare=False)

    def __post_init__(self) -> None:
        from bpttlab.derivations.printing.latex_printer import gates  # printing imports this package

        gate_names = gates(self.cell)
        for name in ("forward", "head_backward", "recurrence", "step_backward"):
            object.__setattr__(self, name, Equations(getattr(self, name), self.notation, gate_names))

    @property
    def backward(self) -> Equations:
        """All backward equations in the order a reader follows them."""
        return self.head_backward + self.recurrence + self.step_backward

    def in_notation(self, notation: str) -> Derivation:
        """This derivation, printed in ``notation`` ("course" or "dlbook")."""
        return replace(self, notation=check_notation(notation))

    def _repr_latex_(self) -> str | None:
        """Forward, backward and the step Jacobians as display math for a notebook; None (the
        plain-text form is shown) if the notation has no name for one of the symbols."""
        from bpttlab.derivations.printing.notebook import aligned_sections, display_math

        try:
            return display_math(aligned_sections(self))
        except ValueError:
            return None

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # noqa: ARG002 (IPython's _repr_pretty_ protocol)
        from bpttlab.derivations.printing.text_printer import equation_lines

        printer.text("\n".join(equation_lines(self)))

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
    at_T = sp.Eq(delta(at_step(h, "T")), at_step(from_head, "T"), evaluate=False)
    return at_T, sp.Eq(delta(h), carry(h), evaluate=False)


@cache
def _cell_parts(c: Cell) -> tuple[Cell, tuple[sp.Eq, ...], MappingProxyType]:
    seeds = {c.h: delta(c.h)}
    seeds.update({new: carry(new) for new in c.new_states[1:]})
    step = reverse_pass(c.equations, seeds, wrt=[*c.previous_states, c.x, *c.params], named=c.named_deltas,
                        readable=live(c.equations, c.new_states))
    return c, tuple(step), MappingProxyType(jacobians(c))


def derive(cell: str | Cell, head: str | None = "softmax", loss_at: str = "every", *,
           notation: str = "course") -> Derivation:
    """Derive the BPTT equations of ``cell`` (a name in :data:`CELLS`, a ``.cell`` path or a
    :class:`Cell`) with ``head`` ("softmax", "sigmoid", "linear" or None for the bare cell), the loss
    summed over every step or taken at the last one; cached. ``notation`` is how the result prints
    (see :meth:`Derivation.in_notation`)."""
    # The names are checked before they become a cache key: a list is unhashable (TypeError).
    c = resolve_cell(cell)
    if head is not None:
        HEADS.lookup(head)
    if not isinstance(loss_at, str) or loss_at not in LOSS_AT:
        raise ValueError(f"unknown loss placement {loss_at!r}; valid: {', '.join(LOSS_AT)}")
    # keyed by the head's record, not its name: a head registered again under its name is derived again
    return _derive(c, None if head is None else HEADS[head], loss_at, check_notation(notation))


_BASE = re.compile(r"^(δ?[^\W\d_]+)")


def _primed(name: str) -> str:
    """``name`` with a prime after its base letters: ``y_t`` → ``y'_t``, ``a_{y,t}`` → ``a'_{y,t}``."""
    return _BASE.sub(lambda m: m[1] + "'", name, count=1) if _BASE.match(name) else name + "'"


def _head_on(hd: Head, c: Cell) -> Head:
    """The head ``hd`` reading the cell's first state, its own values renamed out of the way of the
    cell's names (a cell may call a state ``s_t`` or ``y_t``: the head's target then becomes ``y'_t``),
    so that no symbol means two things in one derivation."""
    taken = {s.name for eq in c.equations for s in (eq.lhs, *eq.rhs.atoms(sp.MatrixSymbol))}
    taken |= {s.name for s in (*c.inputs, *c.params)}
    taken |= {shift_name(s.name, "T") for s in c.new_states}
    renamed: dict[sp.MatrixSymbol, sp.MatrixSymbol] = {hd.h: c.h}
    for value in hd.values:
        new = value.name
        while new in taken or shift_name(new, "T") in taken:
            new = _primed(new)
        if new != value.name:
            renamed[value] = sp.MatrixSymbol(new, *value.shape)
        taken.add(new)
    if renamed == {hd.h: hd.h}:
        return hd
    equations = tuple(sp.Eq(renamed.get(eq.lhs, eq.lhs), eq.rhs.xreplace(renamed), evaluate=False)
                      for eq in hd.equations)
    return replace(hd, h=c.h, equations=equations,
                   **{role: renamed.get(getattr(hd, role), getattr(hd, role))
                      for role in ("logits", "prediction", "target", "loss")})


@cache
def _derive(c: Cell, head: Head | None, loss_at: str, notation: str = "course") -> Derivation:
    if notation != "course":
        return _derive(c, head, loss_at).in_notation(notation)
    c, step, jacobian = _cell_parts(c)
    hd = None if head is None else _head_on(head, c)
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
