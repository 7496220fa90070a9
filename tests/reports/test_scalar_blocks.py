"""bpttlab.reports.sheets.scalar_blocks:
the runnable scalar definitions agree with the derivation's, and the LaTeX
latexify-py renders from them is the expected, deterministic, well-formed formula."""

import math

import numpy as np
import pytest
import sympy as sp

from bpttlab.derivations import LogSoftmax, Softmax, sigmoid, softplus
from bpttlab.reports.sheets.pdflatex import compile_pdf, overfull_boxes, pdf_text
from bpttlab.reports.sheets.scalar_blocks import SCALAR_FUNCTIONS, scalar_blocks

u, y = sp.symbols("u y", real=True)
GRID = np.linspace(-8.0, 8.0, 41)
TARGETS = (0.0, 0.25, 1.0)


def numeric(expression, *symbols):
    """A SymPy expression as a math-module function (the derivation's definition, evaluated)."""
    return sp.lambdify(symbols, expression, "math")


# The derivation's definitions: σ and softplus through their rewrite rules, derivatives through fdiff.
DEFINITIONS = {
    "sigmoid": numeric(sigmoid(u).rewrite(sp.exp), u),
    "sigmoid_derivative": numeric(sp.diff(sigmoid(u), u).rewrite(sp.exp), u),
    "tanh_derivative": numeric(sp.diff(sp.tanh(u), u), u),
    "softplus": numeric(softplus(u).rewrite(sp.log), u),
}


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_elementwise_functions_agree_with_the_derivation(name):
    ours, theirs = SCALAR_FUNCTIONS[name], DEFINITIONS[name]
    np.testing.assert_allclose([ours(x) for x in GRID], [theirs(x) for x in GRID], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(("derivative", "function"), [("sigmoid_derivative", "sigmoid"),
                                                       ("tanh_derivative", "tanh")])
def test_derivatives_are_the_slopes_of_their_functions(derivative, function):
    f = SCALAR_FUNCTIONS.get(function, math.tanh)
    step = 1e-6
    slopes = [(f(x + step) - f(x - step)) / (2 * step) for x in GRID]
    np.testing.assert_allclose([SCALAR_FUNCTIONS[derivative](x) for x in GRID], slopes, atol=1e-8)


def test_cross_entropy_is_minus_the_derived_log_softmax():
    z = sp.MatrixSymbol("z", 3, 1)
    logits = sp.Matrix([0.3, -1.2, 2.0])
    p = [float(v) for v in Softmax(z).as_explicit().subs(z, logits)]
    log_p = [float(v) for v in LogSoftmax(z).as_explicit().subs(z, logits)]
    assert sum(p) == pytest.approx(1.0, abs=1e-15)
    for k in range(3):
        assert SCALAR_FUNCTIONS["cross_entropy"](p, k) == pytest.approx(-log_p[k], rel=1e-13)


def test_softplus_does_not_overflow():
    """log(1 + e^x) overflows for x > 709; the sheet's softplus is x there (issue 13)."""
    assert SCALAR_FUNCTIONS["softplus"](800.0) == 800.0
    assert SCALAR_FUNCTIONS["softplus"](-800.0) == 0.0
    assert SCALAR_FUNCTIONS["binary_cross_entropy_logits"](1000.0, 1.0) == 0.0


def test_binary_cross_entropy_on_logits_is_the_heads_loss_and_the_textbook_form():
    head_loss = numeric(softplus(u).rewrite(sp.log) - y * u, u, y)  # derivations.heads, one entry
    stable = SCALAR_FUNCTIONS["binary_cross_entropy_logits"]
    textbook = SCALAR_FUNCTIONS["binary_cross_entropy"]
    for target in TARGETS:
        values = [stable(s, target) for s in GRID]
        # Both sides subtract y s (|s| ≤ 8) from softplus(s), each rounding differently: near
        # s = 8, y = 1 the difference is ~1e-3 and carries a few ulps of 8 (2e-15) of absolute error.
        np.testing.assert_allclose(values, [head_loss(s, target) for s in GRID], rtol=1e-13, atol=4e-15)
        np.testing.assert_allclose(values, [textbook(s, target) for s in GRID], rtol=1e-9, atol=1e-12)


def test_squared_error_is_half_the_square():
    half_square = numeric(sp.Rational(1, 2) * (u - y) ** 2, u, y)
    for target in TARGETS:
        np.testing.assert_allclose([SCALAR_FUNCTIONS["squared_error"](p, target) for p in GRID],
                                   [half_square(p, target) for p in GRID], rtol=1e-15)


def test_the_blocks_follow_the_functions_in_order():
    blocks = scalar_blocks()
    assert [b.name for b in blocks] == list(SCALAR_FUNCTIONS)
    for block in blocks:
        assert block.source.startswith(f"def {block.name}(")
        assert "return" in block.source.splitlines()[-1]


EXPECTED_LATEX = {
    "sigmoid": r"\sigma(x) = \frac{1}{1 + \exp \mathopen{}\left( -x \mathclose{}\right)}",
    "sigmoid_derivative": r"\sigma'(x) = \sigma \mathopen{}\left( x \mathclose{}\right) \cdot "
                          r"\mathopen{}\left( 1 - \sigma \mathopen{}\left( x \mathclose{}\right) "
                          r"\mathclose{}\right)",
    "tanh_derivative": r"\tanh'(x) = 1 - \mathopen{}\left( \tanh x \mathclose{}\right)^{2}",
    "softplus": r"\mathrm{softplus}(x) = \mathrm{max} \mathopen{}\left( x, 0 \mathclose{}\right) + \log "
                r"\mathopen{}\left( 1 + \exp \mathopen{}\left( -\mathopen{}\left| x \mathclose{}\right| "
                r"\mathclose{}\right) \mathclose{}\right)",
    "cross_entropy": r"\ell_{\mathrm{CE}}(p, k) = -\log p_{k}",
    "binary_cross_entropy_logits": r"\ell_{\mathrm{BCE}}(s, y) = \mathrm{softplus} "
                                   r"\mathopen{}\left( s \mathclose{}\right) - y s",
    "squared_error": r"\ell_{\mathrm{SE}}(p, y) = \frac{\mathopen{}\left( p - y \mathclose{}\right)^{2}}{2}",
}


@pytest.mark.parametrize("name", sorted(EXPECTED_LATEX))
def test_latex_of_each_block(name):
    assert {b.name: b.latex for b in scalar_blocks()}[name] == EXPECTED_LATEX[name]


def test_textbook_binary_cross_entropy_is_one_formula_with_sigma_and_log():
    latex = {b.name: b.latex for b in scalar_blocks()}["binary_cross_entropy"]
    # reduce_assignments folded p, log_p and log_q back in: no helper name is left.
    assert "log_p" not in latex and "log_q" not in latex and " p " not in latex
    assert latex.count(r"\sigma") == 2 and latex.count(r"\log") == 2
    assert r"\mathrm{sigmoid}" not in latex and r"\_" not in latex
    assert latex.startswith(r"\ell_{\mathrm{BCE}}(s, y) = -y \cdot \log \sigma")


def test_expected_symbols_appear_and_nothing_is_left_in_python_spelling():
    text = " ".join(b.latex for b in scalar_blocks())
    for symbol in (r"\sigma", r"\tanh", r"\log", r"\exp"):
        assert symbol in text
    for python in ("math.", "**", "sigmoid", r"\_", "*"):
        assert python not in text


def braces_balance(latex: str) -> bool:
    depth = 0
    for i, char in enumerate(latex):
        if i and latex[i - 1] == "\\":
            continue  # \{ and \} are characters, not groups
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def test_braces_balance():
    assert all(braces_balance(b.latex) for b in scalar_blocks())
    assert not braces_balance(r"\frac{1}{2") and not braces_balance(r"x}{")


def test_blocks_are_deterministic_across_fresh_renders():
    first = scalar_blocks()
    scalar_blocks.cache_clear()
    assert scalar_blocks() == first


def test_every_block_typesets_within_half_the_sheets_page(tmp_path):
    # As the sheet sets them: the listing and the formula side by side, each in 0.48 of the line.
    body = "\n".join(
        f"\\begin{{minipage}}[t]{{0.48\\linewidth}}\n\\begin{{lstlisting}}\n{b.source}\n\\end{{lstlisting}}\n"
        f"\\end{{minipage}}\\hfill\n\\begin{{minipage}}[t]{{0.48\\linewidth}}\n"
        f"$\\displaystyle {b.latex}$\n\\end{{minipage}}\n" for b in scalar_blocks())
    tex = tmp_path / "blocks.tex"
    tex.write_text("\\documentclass[11pt,a4paper]{article}\n\\usepackage[margin=2cm]{geometry}\n"
                   "\\usepackage{amsmath,listings}\n"
                   "\\lstset{language=Python,basicstyle=\\ttfamily\\small,columns=fullflexible,keepspaces=true}\n"
                   f"\\begin{{document}}\n{body}\n\\end{{document}}\n", encoding="utf-8")
    text = pdf_text(compile_pdf(tex, runs=1))
    assert overfull_boxes((tmp_path / "blocks.log").read_text(errors="replace")) == []
    for piece in ("σ(x) =", "softplus", "log", "exp", "tanh", "BCE", "CE", "SE", "def sigmoid(x):"):
        assert piece in text
