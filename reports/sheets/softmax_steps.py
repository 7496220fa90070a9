"""Why δa_{y,t} = ŷ_t − y_t for a softmax output with cross-entropy: the short derivation the course
sheet prints, as SymPy expressions over the entries s_k = a_{y,t,k} of the logits, y_{t,k}, ŷ_{t,k}
(k = 1..K), and a check of every step by SymPy at a concrete K (:func:`check_steps`).

1. ℓ_t = −Σ_k y_{t,k} log ŷ_{t,k}                                  (cross-entropy)
2.     = −Σ_k y_{t,k} (s_k − log Σ_j e^{s_j})                       (log of the softmax)
3.     = −Σ_k y_{t,k} s_k + (Σ_k y_{t,k}) log Σ_j e^{s_j}
4. ∂ℓ_t/∂s_m = −y_{t,m} + (Σ_k y_{t,k}) e^{s_m} / Σ_j e^{s_j}
5.           = ŷ_{t,m} − y_{t,m}                                     (Σ_k y_{t,k} = 1, one-hot y_t)

The entries are printed in the sheet's notation (``a_{y,t,k}``, or the book's ``o^{(t)}_k``), never
bold: an entry is a scalar.

>>> check_steps(3)
True
>>> printed = steps_latex("course")
>>> printed.lines[-1]
('', '\\\\hat{y}_{t,m} - y_{t,m}')
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import cache

import sympy as sp
from sympy.printing.latex import LatexPrinter

from bpttlab.derivations import derive
from bpttlab.derivations.printing.latex_printer import latex as sheet_latex
from bpttlab.derivations.printing.notations import Typeset
from bpttlab.derivations.printing.notations import notation as notation_of

__all__ = ["SoftmaxSteps", "check_steps", "softmax_steps", "steps_latex"]

K = sp.Symbol("K", integer=True, positive=True)
k, j, m = sp.symbols("k j m", integer=True, positive=True)


@dataclass(frozen=True)
class SoftmaxSteps:
    """The steps as SymPy: ``loss`` (1–3, each equal to the one before), ``gradient`` (4, the
    derivative of step 3 by s_{t,m}) and ``result`` (5)."""

    s: sp.IndexedBase
    y: sp.IndexedBase
    y_hat: sp.IndexedBase
    loss: tuple[sp.Expr, ...]
    gradient: sp.Expr
    result: sp.Expr


@dataclass(frozen=True)
class PrintedSteps:
    """The steps as LaTeX ``align`` lines (left, right); an empty left side continues the one above."""

    lines: tuple[tuple[str, str], ...]
    vector: tuple[str, str]  # δs_t = ŷ_t − y_t, as the derivation prints it


def _sum(term: sp.Expr, index: sp.Symbol) -> sp.Sum:
    return sp.Sum(term, (index, 1, K))


@cache
def softmax_steps() -> SoftmaxSteps:
    """The derivation, with the softmax head's own names for s_t, y_t and ŷ_t."""
    head = derive("rnn", "softmax").head
    s, y, y_hat = (sp.IndexedBase(symbol.name) for symbol in (head.logits, head.target, head.prediction))
    partition = _sum(sp.exp(s[j]), j)
    def product(*factors: sp.Expr) -> sp.Expr:
        return sp.Mul(*factors, evaluate=False)  # in the order written

    loss = (
        -_sum(product(y[k], sp.log(y_hat[k])), k),
        -_sum(product(y[k], sp.Add(s[k], -sp.log(partition), evaluate=False)), k),
        sp.Add(-_sum(product(y[k], s[k]), k), product(_sum(y[k], k), sp.log(partition)), evaluate=False),
    )
    gradient = sp.Add(-y[m], _sum(y[k], k) * sp.exp(s[m]) / partition, evaluate=False)
    return SoftmaxSteps(s, y, y_hat, loss, gradient, sp.Add(y_hat[m], -y[m], evaluate=False))


def check_steps(size: int = 3, steps: SoftmaxSteps | None = None) -> bool:
    """Every step checked by SymPy at K = ``size``: the three forms of ℓ_t are equal once ŷ_{t,k} is
    the softmax of s_t; step 4 is the derivative of step 3 by each s_{t,m}; step 5 equals step 4 once
    y_t is one-hot (its entries sum to 1). ``steps`` defaults to :func:`softmax_steps`."""
    steps = softmax_steps() if steps is None else steps
    s, y, y_hat = steps.s, steps.y, steps.y_hat
    entries = range(1, size + 1)
    partition = sum(sp.exp(s[i]) for i in entries)
    softmax = {y_hat[i]: sp.exp(s[i]) / partition for i in entries}

    def concrete(expr: sp.Expr, at: int | None = None) -> sp.Expr:
        expr = expr.subs(K, size).doit()
        expr = expr.subs(m, at) if at is not None else expr
        return sp.expand_log(expr.xreplace(softmax), force=True)

    forms = [concrete(form) for form in steps.loss]
    if any(sp.simplify(a - b) != 0 for a, b in itertools.pairwise(forms)):
        return False
    one_hot = {y[size]: 1 - sum(y[i] for i in entries if i != size)}
    for entry in entries:
        derivative = sp.diff(forms[-1], s[entry])
        if sp.simplify(derivative - concrete(steps.gradient, entry)) != 0:
            return False
        if sp.simplify((concrete(steps.gradient, entry) - concrete(steps.result, entry)).subs(one_hot)) != 0:
            return False
    return True


class _EntryPrinter(LatexPrinter):
    """SymPy's LaTeX with an entry ``s_t[k]`` printed in the sheet's notation as a scalar."""

    def __init__(self, notation: str):
        super().__init__({"order": "none"})
        self.notation = notation_of(notation)

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        typeset = self.notation.typeset(expr.base.label.name)
        body = re.sub(r"\\bm\{([^{}]*)\}", r"\1", typeset.body)  # an entry is a scalar: never bold
        index = self._print(expr.indices[0])
        sub = f"{typeset.sub},{index}" if typeset.sub else index
        return Typeset(body, sub, typeset.sup).latex()


def steps_latex(notation: str = "course") -> PrintedSteps:
    """The derivation as ``align`` lines in ``notation``."""
    steps = softmax_steps()
    printer = _EntryPrinter(notation)
    head = derive("rnn", "softmax").head
    loss = sheet_latex(head.loss, notation)
    entry = printer.doprint(steps.s[m])
    derivative = rf"\frac{{\partial {loss}}}{{\partial {entry}}}"
    lines = [(loss, printer.doprint(steps.loss[0]))]
    lines += [("", printer.doprint(form)) for form in steps.loss[1:]]
    lines += [(derivative, printer.doprint(steps.gradient)), ("", printer.doprint(steps.result))]
    first = derive("rnn", "softmax").head_backward[0]
    vector = (sheet_latex(first.lhs, notation), sheet_latex(first.rhs, notation))
    return PrintedSteps(tuple(lines), vector)
