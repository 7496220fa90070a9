"""Textbook LaTeX for the matrix expressions of :mod:`bpttlab.derivations`.

SymPy's own LaTeX printer writes a Hadamard product as ∘, an element-wise function as
``(d ↦ f(d))_∘(x)``, ``1 - z`` as ``- z + 1`` and every name as it is spelled in the code.
:class:`SheetPrinter` overrides one ``_print_X`` per node type instead:

* ``⊙`` for the Hadamard product, its factors in textbook order — gradients (δ…) first, then the
  gates (the cell's σ outputs), then ``1 - gate``, then the rest (``f_t \\odot c_{t-1}``,
  ``\\delta h_t \\odot (1 - h_t^{2})``); the gates are a setting, found by :func:`gates`;
* element-wise functions as ``f(x)``: ``\\sigma``, ``\\tanh``, ``\\operatorname{softplus}``, ``\\exp``,
  ``\\log``, and a square ``\\tanh^{2}(x)``; ``\\operatorname{softmax}``, ``\\log\\operatorname{softmax}``,
  ``\\operatorname{diag}``;
* ``v^{2}`` for the element-wise square, ``^{\\top}`` for the transpose (merged into a symbol's own
  superscript: ``\\bm{h}^{(t-1)\\top}``), ``\\mathbf{1}`` for the ones vector (``1`` in a sum:
  ``1 - z_t``), positive terms of a sum first and subtraction written as ``-``, products by
  juxtaposition with parentheses only around sums and Hadamard products;
* every symbol through a :mod:`.notations` (``course`` or ``dlbook``).

>>> from bpttlab.derivations import derive
>>> d = derive("lstm", head=None)
>>> equation(d.forward[-2], "course", gates(d.cell))
('C_t', 'f_t \\\\odot C_{t-1} + i_t \\\\odot \\\\tilde{C}_t')
>>> latex(d.jacobian[("c_t", "c_{t-1}")], "dlbook")
'\\\\operatorname{diag}(\\\\bm{f}^{(t)})'
>>> print(aligned(derive("rnn", head=None).forward, "course"))
a_t &= W_{hh} h_{t-1} + W_{xh} x_t + b_h \\\\
h_t &= \\tanh(a_t)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.printing.latex import LatexPrinter

from bpttlab.derivations import Cell, Elementwise, LogSoftmax, Softmax
from bpttlab.derivations.activations import activation
from bpttlab.derivations.printing.notations import GATE_LETTERS, NOTATIONS, Name, notation, parse_name
from bpttlab.derivations.printing.notations import notation as notation_of
from bpttlab.derivations.printing.sums import signed_sum
from bpttlab.derivations.tidy import coefficient_and_matrix

__all__ = [
    "ConcatenatedForm",
    "SheetPrinter",
    "aligned",
    "concatenated",
    "concatenated_forms",
    "equation",
    "gates",
    "latex",
]

# Hadamard factors are sorted by these ranks (stable, so SymPy's canonical order breaks ties).
DELTA, GATE, ONE_MINUS_GATE, OTHER = range(4)


def _key(name: Name) -> tuple[str, tuple[str, ...]]:
    """What identifies a value regardless of its step: ``f_t`` and ``f_3`` are both the forget gate."""
    return name.base, name.labels


class SheetPrinter(LatexPrinter):
    """A ``LatexPrinter`` for the sheets. Settings: ``notation`` (one of :data:`NOTATIONS`) and
    ``gates`` (names of the cell's gate values, e.g. ``("i_t", "f_t", "o_t")``)."""

    _default_settings: ClassVar[dict] = {**LatexPrinter._default_settings, "notation": "course", "gates": ()}

    def __init__(self, settings: dict | None = None) -> None:
        super().__init__(settings)
        self._notation = notation(self._settings["notation"])
        self._gates = {_key(parse_name(g)) for g in self._settings["gates"]}

    # --- symbols and constants -------------------------------------------------------------------

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol) -> str:
        return self._notation.latex(expr.name)

    def _print_OneMatrix(self, expr: sp.OneMatrix) -> str:
        rows, cols = expr.shape
        if rows == 1 and cols == 1:
            return "1"
        return r"\mathbf{1}^{\top}" if rows == 1 else r"\mathbf{1}"

    def _print_ZeroMatrix(self, expr: sp.ZeroMatrix) -> str:  # noqa: ARG002 (SymPy printer's _print_<class>(expr) signature)
        return r"\mathbf{0}"

    def _print_Identity(self, expr: sp.Identity) -> str:
        if expr.rows == 1:
            return "1"
        return self._notation.identity

    # --- sums and products -----------------------------------------------------------------------

    def _scaled(self, coefficient: sp.Expr, body: str) -> str:
        """``coefficient`` (non-negative) times the printed ``body``, by juxtaposition."""
        if coefficient == 1:
            return body
        return f"{self._print(coefficient)} {body}"

    def _print_MatAdd(self, expr: sp.MatAdd) -> str:
        return signed_sum(expr, lambda magnitude, body: self._print(magnitude) if body is None
                          else self._scaled(magnitude, self._scaled_body(body)))

    def _factor(self, expr: sp.MatrixExpr) -> str:
        """``expr`` as one factor of a matrix product: sums and Hadamard products in parentheses."""
        if isinstance(expr, sp.MatMul):
            coefficient, body = coefficient_and_matrix(expr)
            if coefficient != 1:
                return f"({self._print(expr)})"
            return " ".join(self._factor(f) for f in body.args) if isinstance(body, sp.MatMul) else \
                self._factor(body)
        if isinstance(expr, sp.MatAdd | sp.HadamardProduct):
            return f"({self._print(expr)})"
        return self._print(expr)

    def _scaled_body(self, body: sp.MatrixExpr) -> str:
        """The matrix part of a scaled term: a lone Hadamard product needs no parentheses."""
        if isinstance(body, sp.MatMul):
            return " ".join(self._factor(f) for f in body.args)
        return self._print(body) if isinstance(body, sp.HadamardProduct) else self._factor(body)

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        coefficient, body = coefficient_and_matrix(expr)
        negative = coefficient.could_extract_minus_sign()
        magnitude = -coefficient if negative else coefficient
        printed = self._scaled(magnitude, self._scaled_body(body))
        return f"-{printed}" if negative else printed

    def _rank(self, factor: sp.MatrixExpr) -> int:
        if isinstance(factor, sp.MatrixSymbol):
            name = parse_name(factor.name)
            if name.delta:
                return DELTA
            return GATE if _key(name) in self._gates else OTHER
        if isinstance(factor, sp.MatAdd) and len(factor.args) == 2:
            ones = [a for a in factor.args if isinstance(a, sp.OneMatrix)]
            others = [a for a in factor.args if not isinstance(a, sp.OneMatrix)]
            if ones and others:
                coefficient, body = coefficient_and_matrix(others[0])
                if coefficient == -1 and self._rank(body) == GATE:
                    return ONE_MINUS_GATE
        return OTHER

    def _print_HadamardProduct(self, expr: sp.HadamardProduct) -> str:
        factors = sorted(expr.args, key=self._rank)
        return r" \odot ".join(self._hadamard_factor(f) for f in factors)

    def _hadamard_factor(self, expr: sp.MatrixExpr) -> str:
        if isinstance(expr, sp.MatAdd | sp.MatMul):
            return f"({self._print(expr)})"
        return self._print(expr)

    def _print_HadamardPower(self, expr: sp.HadamardPower) -> str:
        base, exponent = expr.args
        power = self._print(exponent)
        if isinstance(base, sp.MatrixSymbol) and not self._notation.has_superscript(base.name):
            return self._notation.latex(base.name, power)
        if isinstance(base, Elementwise):
            return f"{activation(base.name).latex}^{{{power}}}({self._print(base.arg)})"
        return f"({self._print(base)})^{{{power}}}"

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        arg = expr.arg
        if isinstance(arg, sp.MatrixSymbol):
            return self._notation.latex(arg.name, r"\top")
        if isinstance(arg, sp.OneMatrix | sp.Identity):
            return self._print(arg.T)
        return rf"({self._print(arg)})^{{\top}}"

    # --- functions -------------------------------------------------------------------------------

    def _print_Elementwise(self, expr: Elementwise) -> str:
        return f"{activation(expr.name).latex}({self._print(expr.arg)})"

    def _print_Softmax(self, expr: Softmax) -> str:
        return rf"\operatorname{{softmax}}({self._print(expr.arg)})"

    def _print_LogSoftmax(self, expr: LogSoftmax) -> str:
        return rf"\log\operatorname{{softmax}}({self._print(expr.arg)})"

    def _print_DiagMatrix(self, expr: DiagMatrix) -> str:
        return rf"\operatorname{{diag}}({self._print(expr.args[0])})"

    def _print_BlockMatrix(self, expr: sp.BlockMatrix) -> str:
        """A column of blocks stacked as ``[h_{t-1}; x_t]`` (the slides write ``[h_{t-1}, x_t]``), a row
        side by side as ``[W_{hf}\\; W_{xf}]``."""
        rows, cols = expr.blocks.shape
        if cols == 1:
            return "[" + "; ".join(self._print(b) for b in expr.blocks) + "]"
        if rows == 1:
            return "[" + r"\; ".join(self._print(b) for b in expr.blocks) + "]"
        body = r" \\ ".join(" & ".join(self._print(expr.blocks[i, j]) for j in range(cols))
                            for i in range(rows))
        return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"

    def _print_Equality(self, expr: sp.Eq) -> str:
        return f"{self._print(expr.lhs)} = {self._print(expr.rhs)}"


def _printer(notation_name: str, gate_names: Iterable[str]) -> SheetPrinter:
    NOTATIONS.lookup(notation_name)
    return SheetPrinter({"notation": notation_name, "gates": tuple(gate_names)})


def latex(expr: sp.Basic, notation: str = "course", gates: Iterable[str] = ()) -> str:
    """``expr`` as LaTeX in ``notation``, Hadamard factors ordered with ``gates`` (names of gate values).

    >>> from sympy import HadamardProduct, MatrixSymbol, OneMatrix
    >>> z, h = MatrixSymbol("z_t", 3, 1), MatrixSymbol("h_{t-1}", 3, 1)
    >>> latex(HadamardProduct(h, OneMatrix(3, 1) - z), gates=["z_t"])
    '(1 - z_t) \\\\odot h_{t-1}'
    """
    return _printer(notation, gates).doprint(expr)


def equation(eq: sp.Eq, notation: str = "course", gates: Iterable[str] = ()) -> tuple[str, str]:
    """The two sides of ``eq`` as LaTeX."""
    printer = _printer(notation, gates)
    return printer.doprint(eq.lhs), printer.doprint(eq.rhs)


def aligned(equations: Iterable[sp.Eq], notation: str = "course", gates: Iterable[str] = ()) -> str:
    """The body of an ``align*``: one ``lhs &= rhs`` line per equation, ``\\\\`` between lines."""
    gate_names = tuple(gates)
    lines = [" &= ".join(equation(eq, notation, gate_names)) for eq in equations]
    return " \\\\\n".join(lines)


def gates(cell: Cell) -> tuple[str, ...]:
    """Names of the cell's gates: the values it computes with a gate function (values in (0, 1),
    :attr:`~bpttlab.derivations.activations.Activation.is_gate`), in evaluation order.

    >>> from bpttlab.derivations import resolve_cell
    >>> gates(resolve_cell("lstm")), gates(resolve_cell("gru")), gates(resolve_cell("rnn"))
    (('i_t', 'f_t', 'o_t'), ('z_t', 'r_t'), ())
    """
    return tuple(eq.lhs.name for eq in cell.equations
                 if isinstance(eq.rhs, Elementwise) and activation(eq.rhs.name).is_gate)


# --- the course's concatenated form -------------------------------------------------------------


@dataclass(frozen=True)
class ConcatenatedForm:
    """A gate's pre-activation, as the course writes it and as the derivations split it.

    ``lhs`` a_{k,t}; ``form`` W_k [h_{t-1}; x_t] + b_k; ``split`` W_{hk} h_{t-1} + W_{xk} x_t + b_k;
    ``weight`` W_k; ``blocks`` [W_{hk}\\; W_{xk}].
    """

    lhs: str
    form: str
    split: str
    weight: str
    blocks: str

    def line(self) -> str:
        """One ``align*`` line: the equality of the two forms, and what the concatenated weight is."""
        return f"{self.lhs} &= {self.form} = {self.split}, & {self.weight} &= {self.blocks}"


def _affine_parts(eq: sp.Eq) -> tuple[str, sp.MatMul, sp.MatMul, sp.MatrixSymbol] | None:
    """(k, W_xk x, W_hk v, b_k) of a gate's pre-activation ``a = W_xk x + W_hk v + b_k``, else None."""
    rhs = eq.rhs
    if not isinstance(rhs, sp.MatAdd) or len(rhs.args) != 3:
        return None
    by_role: dict[str, tuple[str, sp.MatrixExpr]] = {}
    for term in rhs.args:
        symbol = term.args[0] if isinstance(term, sp.MatMul) and len(term.args) == 2 else term
        name = parse_name(symbol.name) if isinstance(symbol, sp.MatrixSymbol) else None
        if name is None or len(name.labels) != 1 or not name.is_parameter:
            return None
        if term is symbol and name.base == "b":
            role, label = "bias", name.labels[0]
        elif term is not symbol and name.base == "W":
            label = name.labels[0]
            role = {"x": "input", "h": "recurrent"}.get(label[0], "") if len(label) == 2 else ""
            label = label[-1]
        else:
            return None
        if not role or role in by_role or label not in GATE_LETTERS:
            return None
        by_role[role] = (label, term)
    if len(by_role) != 3 or len({label for label, _ in by_role.values()}) != 1:
        return None
    return by_role["bias"][0], by_role["input"][1], by_role["recurrent"][1], by_role["bias"][1]


def concatenated(eq: sp.Eq, notation: str = "course", gates: Iterable[str] = (),
                 definitions: dict[sp.MatrixSymbol, sp.MatrixExpr] | None = None) -> ConcatenatedForm:
    """The course's form ``W_k [v, x_t] + b_k`` of a pre-activation ``a_{k,t} = W_xk x_t + W_hk v + b_k``.

    ``definitions`` are inlined inside the bracket (the GRU's ``u_t = r_t ⊙ h_{t-1}`` gives the
    course's ``[r_t \\odot h_{t-1}; x_t]``). Only the course notation has concatenated weights.

    >>> from bpttlab.derivations import resolve_cell
    >>> lstm = resolve_cell("lstm")
    >>> form = concatenated(lstm.equations[2])
    >>> form.form, form.blocks
    ('W_f [h_{t-1}; x_t] + b_f', '[W_{hf}\\\\; W_{xf}]')
    >>> form.split
    'W_{hf} h_{t-1} + W_{xf} x_t + b_f'
    """
    parts = _affine_parts(eq)
    if parts is None:
        raise ValueError(f"eq: {sp.sstr(eq.lhs)} = {sp.sstr(eq.rhs)} is not a gate's pre-activation "
                         "W_xk x_t + W_hk v + b_k (k a gate or candidate), so it has no concatenated form")
    k, input_term, recurrent_term, bias = parts
    if not notation_of(notation).concatenated_weights:
        raise ValueError(f"symbol 'W_{k}' has no {notation} notation: it does not write a gate's "
                         "weights as one matrix on a concatenated vector")
    W_x, x = input_term.args
    W_h, v = recurrent_term.args
    v = (definitions or {}).get(v, v)
    weight = sp.MatrixSymbol(f"W_{k}", W_h.rows, W_h.cols + W_x.cols)
    printer = _printer(notation, gates)
    show = printer.doprint
    return ConcatenatedForm(
        lhs=show(eq.lhs),
        form=f"{show(weight)} {show(sp.BlockMatrix([[v], [x]]))} + {show(bias)}",
        split=show(eq.rhs),
        weight=show(weight),
        blocks=show(sp.BlockMatrix([[W_h, W_x]])),
    )


def concatenated_forms(cell: Cell, notation: str = "course") -> str:
    """``align*`` lines stating, for each of the cell's gate pre-activations that the course writes on
    a concatenated vector, that form's equality with the split one (empty for the Elman RNN, whose
    pre-activation the course writes split)."""
    definitions = {eq.lhs: eq.rhs for eq in cell.equations if isinstance(eq.rhs, sp.HadamardProduct)}
    gate_names = gates(cell)
    return " \\\\\n".join(concatenated(eq, notation, gate_names, definitions).line()
                         for eq in cell.equations if _affine_parts(eq) is not None)
