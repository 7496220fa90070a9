"""The general formulas a sheet prints around the derived equations, as SymPy objects: truncated
BPTT's cut recurrence and the double sum of the full gradient. The sheet prints them from here, and
:class:`Reading` evaluates them as printed, on numbers, so that a test can hold each one against the
engine (``loss_and_grads``, with ``truncate=(k1, k2)`` for the first).

Truncated BPTT(k₁, k₂) cuts the sequence into blocks that end at e = k₁, 2k₁, …, and T (the last
block is shorter when k₁ does not divide T); e′ is the end of the block before (0 for the first).
Within block e the recurrence runs back from t = e to max(1, e − k₂ + 1) and counts the loss of
step t only where e′ < t ≤ e, so that every loss is counted once:

>>> cut = TRUNCATED
>>> cut.ends(10, 4), [cut.counts(t, 8, 10) for t in (8, 9, 10)], cut.lowest(10, 5)
((4, 8, 10), [False, True, True], 6)
>>> print(cut.indicator_latex())
e' < t \\leq e

The double sum of the full gradient runs, for every loss ℓ_t and every earlier step k, through the
product of the cell's own step Jacobians (the block Jacobian of all its states):

>>> DoubleSum.of("lstm").states
('h_t', 'c_t')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, partial

import numpy as np
import sympy as sp

from bpttlab.derivations import Cell, carry, delta, derive, resolve_cell
from bpttlab.derivations.printing.latex_printer import gates, latex
from bpttlab.derivations.printing.notations import notation as notation_of
from bpttlab.derivations.printing.notations import parse_index
from bpttlab.derivations.printing.time_index import at_step
from bpttlab.numeric.engine.compiled import Compiled

__all__ = ["TRUNCATED", "DoubleSum", "Reading", "TruncatedRecurrence"]

t, e, e_prev, k1, k2, T = sp.symbols("t e e' k_1 k_2 T", integer=True, positive=True)
#: Block e counts the loss of step t when e′ < t ≤ e, and runs back to step max(1, e − k₂ + 1).
COUNTED = sp.And(sp.StrictLessThan(e_prev, t), sp.LessThan(t, e))
LOWEST = sp.Max(1, e - k2 + 1)


@dataclass(frozen=True)
class TruncatedRecurrence:
    """The cut recurrence of truncated BPTT: which losses block ``e`` counts (``indicator``, in t, e′
    and e), how far back it runs (``lowest``, in e and k₂) and where the blocks end (``ends``)."""

    indicator: sp.Boolean = COUNTED
    lowest_step: sp.Expr = LOWEST

    @cached_property
    def _counts(self) -> Callable[[int, int, int], bool]:
        return sp.lambdify((t, e_prev, e), self.indicator, modules="math")

    def counts(self, step: int, previous_end: int, end: int) -> bool:
        """Whether the block ending at ``end`` (the one before ended at ``previous_end``) counts the
        loss of ``step``: the indicator, evaluated."""
        return bool(self._counts(step, previous_end, end))

    def lowest(self, end: int, length: int) -> int:
        """The earliest step block ``end`` reaches back to, for k₂ = ``length``."""
        return int(self.lowest_step.subs({e: end, k2: length}))

    @staticmethod
    def ends(steps: int, block: int) -> tuple[int, ...]:
        """The block ends k₁, 2k₁, … below T, then T."""
        return (*range(block, steps, block), steps)

    def indicator_latex(self) -> str:
        """The indicator's condition as one chain, ``e' < t \\le e``."""
        return _chain(self.indicator)

    def lowest_latex(self) -> str:
        return sp.latex(self.lowest_step).replace(r"\left(", "(").replace(r"\right)", ")")


def _chain(condition: sp.Boolean) -> str:
    """``a < b ∧ b ≤ c`` printed as the chain ``a < b \\le c``."""
    first, second = condition.args
    if first.rhs != second.lhs:
        first, second = second, first
    left = sp.latex(first).replace(sp.latex(first.rhs), "").strip()
    return f"{left} {sp.latex(second)}"


#: The recurrence the sheets print.
TRUNCATED = TruncatedRecurrence()


@dataclass(frozen=True)
class DoubleSum:
    """The full gradient written out for one cell: Σ_t Σ_{k ≤ t} ∂ℓ_t/∂s_t (Π_{j=k+1}^{t} ∂s_j/∂s_{j−1})
    ∂⁺s_k/∂θ, with s the cell's own states (``states``, their derivation names at step t)."""

    cell: Cell
    states: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, cell: str | Cell) -> DoubleSum:
        c = resolve_cell(cell)
        return cls(c, tuple(s.name for s in c.new_states))

    @property
    def coupled(self) -> bool:
        """More than one state: the product runs over the block Jacobian of all of them."""
        return len(self.states) > 1

    def latex(self, notation: str = "course") -> str:
        """The display ``∂L/∂θ = Σ_t Σ_k …`` in ``notation``, the states at steps t, j, j − 1, k."""
        c = self.cell
        show = partial(latex, notation=notation, gates=gates(c))
        fixed = c.params

        def state(step: str, previous: bool = False) -> str:
            symbols = c.previous_states if previous else c.new_states
            names = ", ".join(show(at_step(s, step, fixed=fixed)) for s in symbols)
            return f"({names})" if self.coupled else names

        loss = show(at_step(sp.MatrixSymbol("ℓ_t", 1, 1), "t"))
        length = notation_of(notation).time(parse_index("T"))
        step = rf"\frac{{\partial {state('j')}}}{{\partial {state('j', True)}}}"
        return (rf"\frac{{\partial L}}{{\partial \theta}} &= \sum_{{t=1}}^{{{length}}} \sum_{{k=1}}^{{t}} "
                rf"\frac{{\partial {loss}}}{{\partial {state('t')}}} "
                + (r"\\ &\qquad " if self.coupled else "") +  # a line each: the states are long
                rf"\Biggl( \prod_{{j=k+1}}^{{t}} {step} \Biggr) "
                rf"\frac{{\partial^{{+}} {state('k')}}}{{\partial \theta}}")


class Reading:
    """One sequence (a batch of one) through ``cell`` and ``head`` with the loss at every step, step
    by step from the derived equations: the values of every step, the head's gradient into the
    first state, the block step Jacobians and one step's vector–Jacobian product. What the printed
    formulas compute, evaluated as they are written."""

    def __init__(self, cell: str | Cell, head: str, params: dict[str, np.ndarray], xs: np.ndarray,
                 targets: np.ndarray):
        self.derivation = d = derive(cell, head, "every")
        c = d.cell
        self.cell = c
        self.params = {name: np.asarray(value, dtype=np.float64).reshape(len(value), -1)
                       for name, value in params.items()}
        self.xs = np.asarray(xs, dtype=np.float64)  # (T, 1, D)
        self.steps = self.xs.shape[0]
        hd = d.head
        K = self.params[hd.params[0].name].shape[0]
        targets = np.asarray(targets)
        if np.issubdtype(targets.dtype, np.integer):  # class indices: one-hot in the maths
            self.targets = np.eye(K)[targets[:, 0]][:, :, None]
        else:
            self.targets = np.asarray(targets, dtype=np.float64).reshape(self.steps, K, 1)
        forward = Compiled(c.equations)
        sizes = {prev.name: self.params[c.params[0].name].shape[0] for prev in c.previous_states}
        previous = {prev.name: np.zeros((sizes[prev.name], 1)) for prev in c.previous_states}
        self.values: list[dict[str, np.ndarray]] = []
        for step in range(self.steps):
            env = {**self.params, **previous, c.x.name: self.xs[step, 0][:, None]}
            forward(env)
            self.values.append(env)
            previous = {prev.name: env[new.name] for new, prev in c.states}
        into_h = sp.MatrixSymbol("into_h", *c.h.shape)
        head = Compiled((*hd.equations, *d.head_backward, sp.Eq(into_h, d.from_head, evaluate=False)))
        for step, env in enumerate(self.values):
            env[hd.target.name] = self.targets[step]
            head(env)
            env["into_h"] = env.pop(into_h.name)
        self.head_params = tuple(p.name for p in hd.params)
        self._head_terms = {p: delta(sp.MatrixSymbol(p, 1, 1)).name for p in self.head_params}
        blocks = [sp.Eq(sp.MatrixSymbol(f"J[{i},{j}]", *new.shape[:1], *prev.shape[:1]),
                        d.jacobian[(new.name, prev.name)], evaluate=False)
                  for i, new in enumerate(c.new_states) for j, prev in enumerate(c.previous_states)]
        self._jacobian = Compiled(blocks)
        self._step = Compiled(d.step_backward)
        self._sizes = [self.params[c.params[0].name].shape[0]] * len(c.states)

    # --- the pieces the formulas are made of ----------------------------------------------------
    def loss_gradient(self, step: int) -> np.ndarray:
        """∇_{s_t} ℓ_t for the stacked states s_t (the head reads the first only), t from 1."""
        into_h = self.values[step - 1]["into_h"][:, 0]
        return np.concatenate([into_h, np.zeros(sum(self._sizes[1:]))])

    def jacobian(self, step: int) -> np.ndarray:
        """∂s_t/∂s_{t−1}, the block step Jacobian of step t (from 1), as one matrix."""
        env = dict(self.values[step - 1])
        blocks = self._jacobian(env)
        n = len(self._sizes)
        return np.block([[np.atleast_2d(blocks[f"J[{i},{j}]"]) for j in range(n)] for i in range(n)])

    def parameter_terms(self, step: int, cotangent: np.ndarray) -> dict[str, np.ndarray]:
        """(∂⁺s_t/∂θ)ᵀ v for every parameter θ of the cell: step t's derived backward step with
        ``cotangent`` v as the gradient reaching its states (δh_t, and the carries of the others)."""
        c = self.cell
        env = dict(self.values[step - 1])
        pieces = np.split(cotangent, np.cumsum(self._sizes)[:-1])
        env[delta(c.h).name] = pieces[0][:, None]
        for new, piece in zip(c.new_states[1:], pieces[1:], strict=True):
            env[carry(new).name] = piece[:, None]
        out = self._step(env)
        return {p.name: out[delta(p).name] for p in c.params}

    def head_terms(self, step: int) -> dict[str, np.ndarray]:
        """Step t's terms of the head's parameter gradients, δW_hy^{(t)} and δb_y^{(t)}."""
        env = self.values[step - 1]
        return {p: env[self._head_terms[p]] for p in self.head_params}

    # --- the formulas, evaluated --------------------------------------------------------------
    def double_sum(self) -> dict[str, np.ndarray]:
        """Σ_t Σ_{k ≤ t} ∂ℓ_t/∂s_t (Π_{j=k+1}^{t} ∂s_j/∂s_{j−1}) ∂⁺s_k/∂θ for every parameter θ of
        the cell, each (t, k) term by itself: O(T²) products, as the sheet writes it."""
        total = {p.name: 0.0 for p in self.cell.params}
        for last in range(1, self.steps + 1):
            row = self.loss_gradient(last)
            for k in range(last, 0, -1):
                for name, term in self.parameter_terms(k, row).items():
                    total[name] = total[name] + term
                row = self.jacobian(k).T @ row
        return total

    def truncated(self, recurrence: TruncatedRecurrence, k1_value: int, k2_value: int
                  ) -> dict[str, np.ndarray]:
        """The gradient of truncated BPTT(k₁, k₂) as ``recurrence`` prints it: for each block end e,
        δs_t^{[e]} = [indicator] ∇ℓ_t + (∂s_{t+1}/∂s_t)ᵀ δs_{t+1}^{[e]} from t = e down to the lowest
        step, δs_{e+1}^{[e]} = 0; every parameter sums step t's terms of every block (the head's
        where the block counts the loss of step t)."""
        names = [p.name for p in self.cell.params] + list(self.head_params)
        total = {name: 0.0 for name in names}
        previous = 0
        for end in recurrence.ends(self.steps, k1_value):
            following = np.zeros(sum(self._sizes))
            for step in range(end, recurrence.lowest(end, k2_value) - 1, -1):
                counted = recurrence.counts(step, previous, end)
                if step < end:
                    following = self.jacobian(step + 1).T @ following
                cotangent = following + (self.loss_gradient(step) if counted else 0.0)
                for name, term in self.parameter_terms(step, cotangent).items():
                    total[name] = total[name] + term
                if counted:
                    for name, term in self.head_terms(step).items():
                        total[name] = total[name] + term
                following = cotangent
            previous = end
        return total
