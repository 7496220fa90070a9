"""The element-wise functions a cell or a loss may apply: one record each, the one place every fact
about a function lives.

A record holds what the symbolic side needs (the SymPy function, whose ``fdiff`` gives the
derivative), how the printers write it (LaTeX and plain text), and what the sheets say about it: the
values it takes (``range``, a SymPy interval), a bound on its derivative (``derivative_bound``, None
where there is none), whether it is smooth (finite differences across a kink are wrong), and whether
a cell's equations may call it (``in_cells``: ``step`` and ``log`` are used only by the derivations).
A *gate* is a function whose values lie in (0, 1), read from the range, never from a name.

The numeric side (NumPy, PyTorch, JAX) keeps one implementation table each, keyed by these names;
a test checks that every table covers every record.

>>> ACTIVATIONS["sigmoid"].is_gate, ACTIVATIONS["tanh"].is_gate
(True, False)
>>> ACTIVATIONS["tanh"].range, ACTIVATIONS["sigmoid"].derivative_bound
(Interval.open(-1, 1), 1/4)
>>> [name for name, a in ACTIVATIONS.items() if not a.smooth]
['relu', 'step']
>>> activation("softsine")
Traceback (most recent call last):
...
ValueError: unknown element-wise function 'softsine'; valid: sigmoid, tanh, relu, softplus, exp, log, step

Adding an activation is one record here (:func:`register_activation`), one NumPy entry
(``NUMPY_ACTIVATIONS.register`` in ``numeric/engine/numpy_functions.py``), one JAX entry
(``JAX_ACTIVATIONS.register`` in ``numeric/engine/jax_engine.py``) and, for a function a cell may call,
one PyTorch entry (``TORCH_FUNCTIONS.register`` in ``numeric/verify/torch_cell.py``); see CONTRIBUTING.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import sympy as sp

from bpttlab.derivations.registry import Registry
from bpttlab.derivations.scalar import relu, sigmoid, softplus, step

__all__ = ["ACTIVATIONS", "Activation", "activation", "cell_functions", "register_activation",
           "unregister_activation"]

#: The interval of a gate's values.
GATE_RANGE = sp.Interval.open(0, 1)


@dataclass(frozen=True)
class Activation:
    """One element-wise function (see the module docstring)."""

    name: str
    function: type[sp.Function]
    latex: str
    text: str
    range: sp.Set
    derivative_bound: sp.Expr | None
    smooth: bool = True
    in_cells: bool = True

    @property
    def is_gate(self) -> bool:
        """Whether the function's values lie in (0, 1): a gate scales what it multiplies."""
        return self.range == GATE_RANGE


#: Name → :class:`Activation`, in registration order (read-only; see :func:`register_activation`).
ACTIVATIONS: Registry[Activation] = Registry(
    "element-wise function", Activation, described="an Activation record",
    check=lambda record: None if record.name.isidentifier() else "its name is not an identifier")
#: Add a record to :data:`ACTIVATIONS`; a name already taken raises unless ``replace``.
register_activation = ACTIVATIONS.register
#: Remove the activation called ``name`` (for temporary registrations, e.g. in tests).
unregister_activation = ACTIVATIONS.unregister
#: The record of the function called ``name``; a ``ValueError`` listing the valid ones otherwise.
activation = ACTIVATIONS.lookup


def cell_functions() -> Iterator[Activation]:
    """The functions a cell's equations may call, in registration order."""
    return (a for a in ACTIVATIONS.values() if a.in_cells)


_oo = sp.oo
for _record in (
    Activation("sigmoid", sigmoid, r"\sigma", "σ", GATE_RANGE, sp.Rational(1, 4)),
    Activation("tanh", sp.tanh, r"\tanh", "tanh", sp.Interval.open(-1, 1), sp.Integer(1)),
    Activation("relu", relu, r"\operatorname{relu}", "relu", sp.Interval(0, _oo), sp.Integer(1),
               smooth=False),
    Activation("softplus", softplus, r"\operatorname{softplus}", "softplus", sp.Interval.open(0, _oo),
               sp.Integer(1)),
    Activation("exp", sp.exp, r"\exp", "exp", sp.Interval.open(0, _oo), None),
    Activation("log", sp.log, r"\log", "log", sp.Interval.open(-_oo, _oo), None, in_cells=False),
    Activation("step", step, r"\operatorname{step}", "step", sp.FiniteSet(0, 1), sp.Integer(0), smooth=False,
               in_cells=False),
):
    register_activation(_record)
