"""What an equation sheet shows, as LaTeX fragments printed from the derivations.

Everything mathematical on a sheet comes from :func:`derivations.derive` through the
:class:`~reports.latex_printer.SheetPrinter`; this module only chooses *which* expressions a section
shows (the forward step, one step of BPTT, the step Jacobians, the chain rule at T = 3, the path that
keeps gradients alive). The prose and the page layout are in ``reports/sheets/templates``.

>>> sheet = cell_sheet("rnn", "course")
>>> sheet.gradients[0].param, sheet.gradients[0].per_step
('W_{xh}', '\\\\delta a_t x_t^{\\\\top}')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

from bpttlab.derivations import Derivation, carry, delta, derive
from bpttlab.derivations.printing.latex_printer import aligned, concatenated_forms, equation, gates, latex
from bpttlab.derivations.printing.notations import notation as notation_of
from bpttlab.derivations.printing.notations import parse_name
from bpttlab.derivations.printing.time_index import at_step
from bpttlab.derivations.tidy import coefficient_and_matrix

__all__ = [
    "CellSheet",
    "Chain",
    "Gradient",
    "HeadSheet",
    "JacobianBlock",
    "Path",
    "SymbolRow",
    "cell_sheet",
    "head_sheet",
    "recurrences",
    "symbols",
]

# Lines of a long sum are broken after about this many characters of LaTeX source.
LINE_WIDTH = 110


@dataclass(frozen=True)
class SymbolRow:
    symbol: str
    space: str
    role: str  # a key of the templates' `roles` table
    gate: str  # a key of their `words` table after "gate_", or ""


@dataclass(frozen=True)
class Gradient:
    param: str
    per_step: str


@dataclass(frozen=True)
class JacobianBlock:
    new: str
    previous: str
    value: str


@dataclass(frozen=True)
class Chain:
    """The chain rule at T = 3: names at steps 1, 2, 3, j, j − 1, t, k, and the factors."""

    coupled: bool  # two states (h, c): the product runs over block Jacobians
    names: dict[str, str]
    steps: tuple[JacobianBlock, ...]
    block_rows: tuple[tuple[str, ...], ...]

    def __getattr__(self, name: str) -> str:  # chain.h_3 in the templates
        try:
            return self.names[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class Path:
    """The diagonal term of a step Jacobian that lets gradients through (LSTM cell state, GRU)."""

    new: str
    previous: str
    previous_k: str
    term: str
    term_j: str
    rest: bool  # the Jacobian has other terms too


@dataclass(frozen=True)
class CellSheet:
    name: str
    sym: dict[str, str]
    symbols: tuple[SymbolRow, ...]
    forward: str
    concatenated: str
    step_backward: str
    gradients: tuple[Gradient, ...]
    jacobians: tuple[JacobianBlock, ...]
    chain: Chain
    bound: dict[str, str] | None
    path: Path | None


@dataclass(frozen=True)
class HeadSheet:
    name: str
    forward: str
    backward: str


def _space(shape: tuple) -> str:
    rows, cols = (sp.latex(n) for n in shape)
    return rf"\mathbb{{R}}^{{{rows}}}" if cols == "1" else rf"\mathbb{{R}}^{{{rows} \times {cols}}}"


def _gate_letter(name: str) -> str:
    """The gate a name belongs to: ``W_xf``, ``b_f``, ``a_{f,t}`` → f; ``b_hn`` → n; RNN → h."""
    labels = parse_name(name).labels
    return labels[0][-1] if labels else "h"


def symbols(d: Derivation, show: Callable[[sp.Basic], str]) -> tuple[SymbolRow, ...]:
    """The symbol table of a cell: inputs, states, intermediates in order of evaluation, parameters."""
    c = d.cell
    roles = {c.x: "input"}
    for (new, prev), kind in zip(c.states, ("hidden", "cell"), strict=False):
        roles[prev], roles[new] = f"previous_{kind}", kind
    for eq in c.equations:
        if eq.lhs in roles:
            continue
        function = getattr(eq.rhs, "name", None)  # Elementwise nodes carry the function's name
        roles[eq.lhs] = ("pre_activation" if eq.lhs.name.startswith("a_") else
                         "gate" if function == "sigmoid" else
                         "candidate" if function == "tanh" else
                         "reset_product" if isinstance(eq.rhs, sp.HadamardProduct) else "recurrent_part")
    for p in c.params:
        roles[p] = ("input_weight" if p.name.startswith("W_x") else "recurrent_weight"
                    if p.name.startswith("W_h") else "recurrent_bias" if p.name == "b_hn" else "bias")
    order = [c.x, *c.previous_states, *(eq.lhs for eq in c.equations), *c.params]
    rows = []
    for s in dict.fromkeys(order):
        role = roles[s]
        gate = (s.name[0] if role in ("gate", "candidate") else
                _gate_letter(s.name) if role in ("pre_activation", "input_weight", "recurrent_weight",
                                                 "bias", "recurrent_bias") else "")
        rows.append(SymbolRow(show(s), _space(s.shape), role, gate))
    return tuple(rows)


def _terms(expr: sp.MatrixExpr) -> list[tuple[str, sp.MatrixExpr]]:
    """(sign, term without its sign) for each term of a sum, positive terms first."""
    terms = []
    for term in expr.args if isinstance(expr, sp.MatAdd) else (expr,):
        coefficient, body = coefficient_and_matrix(term)
        negative = coefficient.could_extract_minus_sign()
        magnitude = -coefficient if negative else coefficient
        terms.append(("-" if negative else "+", body if magnitude == 1 else magnitude * body))
    return sorted(terms, key=lambda t: t[0] == "-")


def _pieces(expr: sp.MatrixExpr, show: Callable[[sp.Basic], str], width: int) -> list[str]:
    """The signed terms of a sum, printed; a long product ending in a sum, ``A (B + C)``, is opened
    up into ``A \\bigl( B``, ``+ C \\bigr)`` so that it can break too."""
    pieces: list[str] = []
    for sign, term in _terms(expr):
        head = "" if not pieces and sign == "+" else f"{sign} "
        factors = term.args if isinstance(term, sp.MatMul) else ()
        if len(show(term)) > width and factors and isinstance(factors[-1], sp.MatAdd):
            inner = _pieces(factors[-1], show, width)
            inner[0] = rf"{head}{show(sp.MatMul(*factors[:-1]))} \bigl( {inner[0]}"
            inner[-1] += r" \bigr)"
            pieces += inner
        else:
            pieces.append(head + show(term))
    return pieces


def broken(expr: sp.MatrixExpr, show: Callable[[sp.Basic], str], width: int = LINE_WIDTH) -> str:
    """``show(expr)``, or for a long sum its terms over several ``align`` lines."""
    whole = show(expr)
    if len(whole) <= width or not isinstance(expr, sp.MatAdd):
        return whole
    lines: list[str] = []
    for piece in _pieces(expr, show, width):
        if lines and len(lines[-1]) + len(piece) < width:
            lines[-1] += f" {piece}"
        else:
            lines.append(piece)
    return r" \\ &\quad ".join(lines)


def _chain(d: Derivation, show: Callable[[sp.Basic], str], notation: str) -> Chain:
    c = d.cell
    h, h_prev = c.states[0]
    names = {f"{kind}_{step}": show(at_step(symbol, step))
             for kind, symbol in (("h", h), ("loss", d.head.loss if d.head else h))
             for step in (1, 2, 3)}
    names |= {"h_t": show(h), "h_k": show(at_step(h, "k")), "h_j": show(at_step(h, "j")),
              "h_j1": show(at_step(h_prev, "j"))}
    coupled = len(c.states) > 1
    if not coupled:
        J = d.jacobian[(h.name, h_prev.name)]
        steps = tuple(JacobianBlock(show(at_step(h, j)), show(at_step(h_prev, j)),
                                    broken(at_step(J, j), show)) for j in (3, 2))
        return Chain(False, names, steps, ())
    for step in (1, 2, 3, "j"):
        names[f"s_{step}"] = ", ".join(show(at_step(new, step)) for new in c.new_states)
    names["s_j1"] = ", ".join(show(at_step(prev, "j")) for prev in c.previous_states)
    body = notation_of(notation).typeset(h.name).body  # h, or a bold h: the rows and columns of h
    names["hh"] = f"{body}{body}"
    rows = tuple(tuple(rf"\dfrac{{\partial {show(at_step(new, 'j'))}}}{{\partial {show(at_step(prev, 'j'))}}}"
                       for prev in c.previous_states) for new in c.new_states)
    return Chain(True, names, (), rows)


def _path(d: Derivation, show: Callable[[sp.Basic], str]) -> Path | None:
    """The purely diagonal term of the last state's own step Jacobian, if it has one."""
    c = d.cell
    new, prev = c.states[-1]
    J = d.jacobian[(new.name, prev.name)]
    terms = list(J.args) if isinstance(J, sp.MatAdd) else [J]
    diagonal = [t for t in terms if isinstance(t, DiagMatrix)]
    if not diagonal:
        return None
    term = diagonal[0]
    return Path(show(new), show(prev), show(at_step(new, "k")), show(term), show(at_step(term, "j")),
                len(terms) > 1)


def cell_sheet(name: str, notation: str) -> CellSheet:
    """Everything one cell's section shows, printed in ``notation`` ("course" or "dlbook")."""
    d = derive(name, head=None)
    show = partial(latex, notation=notation, gates=gates(d.cell))
    c = d.cell
    h, h_prev = c.states[0]
    sym = {"inputs": ", ".join(show(s) for s in c.inputs),
           "outputs": ", ".join(show(s) for s in c.new_states),
           "delta_h": show(delta(h)),
           "c_t": show(c.states[-1][0])}
    gradients = tuple(Gradient(show(sp.MatrixSymbol(p, *d.params[p])), show(g))
                      for p, g in d.gradients.items())
    state = {s.name: s for s in (*c.new_states, *c.previous_states)}
    jacobians = tuple(JacobianBlock(show(state[new]), show(state[prev]), broken(J, show))
                      for (new, prev), J in d.jacobian.items())
    bound = None
    if name == "rnn":
        J = d.jacobian[(h.name, h_prev.name)]
        diagonal, weight = J.args[-2:]
        bound = {"diagonal": show(at_step(diagonal, "j")), "weight": show(weight)}
    return CellSheet(
        name=name, sym=sym, symbols=symbols(d, show),
        forward=aligned(c.equations, notation=notation, gates=gates(c)),
        concatenated=concatenated_forms(c, notation) if notation == "course" else "",
        step_backward=aligned(d.step_backward, notation=notation, gates=gates(c)),
        gradients=gradients, jacobians=jacobians,
        chain=_chain(derive(name, "softmax", "last"), show, notation),
        bound=bound, path=_path(d, show),
    )


def head_sheet(name: str, notation: str) -> HeadSheet:
    """A head's forward equations (logits, prediction, loss) and its backward step."""
    d = derive("rnn", head=name)
    return HeadSheet(name, aligned(d.head.equations, notation=notation),
                     aligned(d.head_backward, notation=notation))


def recurrences(notation: str) -> dict[str, list[tuple[str, str]]]:
    """How δh_t is assembled, for the loss at every step and at the last step only."""
    return {at: [equation(eq, notation=notation) for eq in derive("rnn", "softmax", at).recurrence]
            for at in ("every", "last")}


def common_symbols(notation: str) -> dict[str, str]:
    """Names the prose mentions: ℓ_t, ℓ_T, h_t, h_k and the carry δh_t^{(t+1)}."""
    d = derive("rnn", "softmax")
    show = partial(latex, notation=notation)
    h, loss = d.cell.h, d.head.loss
    return {"loss_t": show(loss), "loss_T": show(at_step(loss, "T")), "h_t": show(h),
            "h_k": show(at_step(h, "k")), "carry_h": show(carry(h))}
