"""The LaTeX and plain-text printers, one node at a time, on the forms a mistake in a ``_print_X``
would change: the parentheses a composite operand needs (a transposed sum, a squared sum, a sum inside
a Hadamard or matrix product), signs and coefficients, transposes, a squared function, diag and the
column sums; and the RNN's backward step as text, every transpose in place."""

import pytest
import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

from bpttlab.derivations import Elementwise, derive
from bpttlab.derivations.printing.latex_printer import latex
from bpttlab.derivations.printing.text_printer import text

W, a, b, h = (sp.MatrixSymbol("W_hh", 3, 3), sp.MatrixSymbol("a_t", 3, 1), sp.MatrixSymbol("b_h", 3, 1),
              sp.MatrixSymbol("h_t", 3, 1))
ones, row = sp.OneMatrix(3, 1), sp.OneMatrix(1, 3)

FORMS = [  # (expression, LaTeX in the course notation, plain text)
    (sp.Transpose(a + b), r"(a_t + b_h)^{\top}", "(a_t + b_h)ᵀ"),
    (W.T * a, r"W_{hh}^{\top} a_t", "W_hhᵀ a_t"),
    (a * b.T, r"a_t b_h^{\top}", "a_t b_hᵀ"),
    (sp.HadamardPower(a + b, 2), r"(a_t + b_h)^{2}", "(a_t + b_h)²"),
    (sp.HadamardPower(h, 2), r"h_t^{2}", "h_t²"),
    (sp.HadamardPower(Elementwise("tanh", a), 2), r"\tanh^{2}(a_t)", "tanh(a_t)²"),
    (sp.HadamardProduct(a + b, h), r"(a_t + b_h) \odot h_t", "(a_t + b_h) ⊙ h_t"),
    (sp.MatMul(W, a + b), r"W_{hh} (a_t + b_h)", "W_hh (a_t + b_h)"),
    (-2 * sp.HadamardProduct(a, h), r"-2 a_t \odot h_t", "-2 a_t ⊙ h_t"),
    (ones - sp.HadamardPower(h, 2), r"1 - h_t^{2}", "1 - h_t²"),
    (sp.Rational(1, 2) * a, r"\frac{1}{2} a_t", "(1/2) a_t"),
    (DiagMatrix(ones - h) * W, r"\operatorname{diag}(1 - h_t) W_{hh}", "diag(1 - h_t) W_hh"),
    (row * a, r"\mathbf{1}^{\top} a_t", "1ᵀ a_t"),
    (Elementwise("sigmoid", a), r"\sigma(a_t)", "σ(a_t)"),
]


@pytest.mark.parametrize(("expr", "in_latex", "in_text"), FORMS, ids=[f[2] for f in FORMS])
def test_each_form_prints_as_a_textbook_writes_it(expr, in_latex, in_text):
    assert latex(expr) == in_latex
    assert text(expr) == in_text


def test_the_rnn_backward_step_as_text_keeps_every_transpose():
    lines = [text(eq) for eq in derive("rnn", "softmax").step_backward]
    assert lines == ["δa_t = δh_t ⊙ (1 - h_t²)", "δh_{t-1} = W_hhᵀ δa_t", "δx_t = W_xhᵀ δa_t",
                     "δW_xh = δa_t x_tᵀ", "δW_hh = δa_t h_{t-1}ᵀ", "δb_h = δa_t"]
