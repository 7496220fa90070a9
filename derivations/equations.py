"""``Equations``: a tuple of ``sympy.Eq`` that remembers how to print itself.

Every equation list of a :class:`~bpttlab.derivations.Derivation` is one: still a tuple for every
caller, it also carries the notation ("course" or "dlbook") and the cell's gate names (which order
Hadamard factors), so that a notebook shows it as LaTeX through the sheet printer. Slices and sums
keep both.

>>> from bpttlab.derivations import derive
>>> backward = derive("gru", head=None).step_backward
>>> isinstance(backward, tuple), backward.notation, backward.gates
(True, 'course', ('z_t', 'r_t'))
>>> print(backward[:1].latex())
\\delta a_{\\tilde{h},t} &= \\delta h_t \\odot z_t \\odot (1 - \\tilde{h}_t^{2})
>>> print(derive("rnn", head=None).forward[1:].in_notation("dlbook")._repr_latex_())
$$\\begin{aligned}
\\boldsymbol{h}^{(t)} &= \\tanh(\\boldsymbol{a}^{(t)})
\\end{aligned}$$
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, SupportsIndex

import sympy as sp

__all__ = ["Equations", "check_notation"]


def check_notation(name: object) -> str:
    """``name`` if it is one of the printers' notations; otherwise a ``ValueError`` listing them."""
    from bpttlab.derivations.printing.notations import NOTATIONS  # printing imports this package

    return NOTATIONS.lookup(name).name


class Equations(tuple):
    """A tuple of ``sympy.Eq`` with a ``notation`` and the ``gates`` of its cell (read-only)."""

    notation: str
    gates: tuple[str, ...]

    def __new__(cls, equations: Iterable[sp.Eq] = (), notation: str = "course",
                gates: Iterable[str] = ()) -> Equations:
        self = super().__new__(cls, equations)
        object.__setattr__(self, "notation", notation)
        object.__setattr__(self, "gates", tuple(gates))
        return self

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Equations are read-only; use in_notation() for another notation ({name})")

    def __reduce__(self) -> tuple:
        return Equations, (tuple(self), self.notation, self.gates)

    def _like(self, equations: Iterable[sp.Eq]) -> Equations:
        return Equations(equations, self.notation, self.gates)

    def __getitem__(self, index: SupportsIndex | slice) -> Any:
        item = super().__getitem__(index)
        return self._like(item) if isinstance(index, slice) else item

    def __add__(self, other: tuple) -> Any:
        joined = super().__add__(other)
        return self._like(joined) if isinstance(other, tuple) else joined

    def in_notation(self, notation: str) -> Equations:
        """The same equations, printed in ``notation``."""
        return Equations(self, check_notation(notation), self.gates)

    def latex(self) -> str:
        """The body of an ``align*``, one ``lhs &= rhs`` line per equation (the sheet printer's
        :func:`~bpttlab.derivations.printing.aligned`)."""
        from bpttlab.derivations.printing.latex_printer import aligned

        return aligned(self, self.notation, self.gates)

    def _repr_latex_(self) -> str | None:
        """Display math for a notebook; None (the plain-text form is shown) if there is nothing to
        show or the notation has no name for one of the symbols."""
        from bpttlab.derivations.printing.notebook import display_math

        try:
            return display_math(self.latex()) if self else None
        except ValueError:
            return None

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # noqa: ARG002 (IPython's _repr_pretty_ protocol)
        from bpttlab.derivations.printing.text_printer import text

        printer.text("\n".join(text(eq) for eq in self) if self else "Equations()")
