"""The scalar building blocks of the sheets, as Python a student can run and as LaTeX that
latexify-py renders from that very Python.

The matrix equations apply these functions element-wise (σ, tanh′, softplus) or per example (the
losses). Each is defined once, below, as a plain ``math`` function; the sheet shows its source and
the formula :func:`latexify.get_latex` reads from the source, so the formula cannot drift from the
code. Only scalar code is latexified: latexify-py 0.4.4 prints ``*`` and ``@`` alike and drops
grouping parentheses of matrix products, which would change the meaning of matrix code.

Workarounds for latexify-py 0.4.4, whose ``identifiers`` option only maps Python names to Python
names (google/latexify_py#177, #213) and which always escapes underscores (#215; the option to
keep them came after 0.4.4, in #208), so ``sigmoid_derivative`` would print as
``\\mathrm{sigmoid\\_derivative}``:

- the signature is switched off (``use_signature=False``) and the left-hand side is written from
  :data:`FUNCTION_NAMES` (``\\sigma'``, ``\\ell_{\\mathrm{BCE}}``) and the function's own argument
  names, which are single letters so that they print as themselves;
- ``sigmoid`` is mapped to ``sigma`` and ``use_math_symbols=True`` turns that into ``\\sigma``;
- ``reduce_assignments=True`` folds helper variables back into one formula, so a function can be
  written in short lines that fit the sheet's listing. Its reducer rejects tuple unpacking
  (``a, b = ...``), hence one assignment per line; and a helper that holds a negated product is
  printed as ``+ -(...)`` when added, hence ``-y * log_p - ...`` rather than ``loss_1 + loss_0``.

>>> blocks = {block.name: block for block in scalar_blocks()}
>>> blocks["sigmoid"].latex
'\\\\sigma(x) = \\\\frac{1}{1 + \\\\exp \\\\mathopen{}\\\\left( -x \\\\mathclose{}\\\\right)}'
>>> SCALAR_FUNCTIONS["sigmoid_derivative"](0.0)
0.25
>>> softplus(800.0), softplus(-800.0)
(800.0, 0.0)
>>> IMPORTS
'import math'
"""

from __future__ import annotations

import inspect
import math
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import latexify

__all__ = [
    "FUNCTION_NAMES",
    "IMPORTS",
    "LATEXIFY_OPTIONS",
    "SCALAR_FUNCTIONS",
    "Block",
    "binary_cross_entropy",
    "binary_cross_entropy_logits",
    "cross_entropy",
    "scalar_blocks",
    "sigmoid",
    "sigmoid_derivative",
    "softplus",
    "squared_error",
    "tanh_derivative",
]


# ----------------------------------------------------------------- the definitions a student runs
# Each function is shown on the sheet as it is written here: keep the lines short (they are set in a
# half-page column), without comments, docstrings or type hints (they would crowd the listing).
# softplus is written the stable way, max(x, 0) + log(1 + e^{-|x|}): exp never sees a positive
# argument, so it does not overflow for x > 709 as log(1 + e^x) would.

def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def sigmoid_derivative(x):
    return sigmoid(x) * (1 - sigmoid(x))


def tanh_derivative(x):
    return 1 - math.tanh(x) ** 2


def softplus(x):
    tail = math.log(1 + math.exp(-abs(x)))
    return max(x, 0) + tail


def cross_entropy(p, k):
    return -math.log(p[k])


def binary_cross_entropy_logits(s, y):
    return softplus(s) - y * s


def binary_cross_entropy(s, y):
    p = sigmoid(s)
    log_p = math.log(p)
    log_q = math.log(1 - p)
    return -y * log_p - (1 - y) * log_q


def squared_error(p, y):
    return (p - y) ** 2 / 2


SCALAR_FUNCTIONS: dict[str, Callable[..., float]] = {
    f.__name__: f for f in (sigmoid, sigmoid_derivative, tanh_derivative, softplus, cross_entropy,
                            binary_cross_entropy_logits, binary_cross_entropy, squared_error)
}
"""Name → function, in the order the sheet shows them. ``cross_entropy(p, k)`` is the loss of a
one-hot target k given the probabilities p = ŷ (a sequence); ``binary_cross_entropy_logits`` and
``binary_cross_entropy`` are the same loss of a target y ∈ [0, 1] given the logit s, written the
stable way (as the engine computes it) and the textbook way."""

# The left-hand side's function name in LaTeX; the arguments are the Python function's own.
FUNCTION_NAMES: dict[str, str] = {
    "sigmoid": r"\sigma",
    "sigmoid_derivative": r"\sigma'",
    "tanh_derivative": r"\tanh'",
    "softplus": r"\mathrm{softplus}",
    "cross_entropy": r"\ell_{\mathrm{CE}}",
    "binary_cross_entropy_logits": r"\ell_{\mathrm{BCE}}",
    "binary_cross_entropy": r"\ell_{\mathrm{BCE}}",
    "squared_error": r"\ell_{\mathrm{SE}}",
}

#: What the listings need before they run: printed above them on the sheet.
IMPORTS = "import math"

LATEXIFY_OPTIONS = {
    "use_signature": False,
    "use_math_symbols": True,
    "identifiers": {"sigmoid": "sigma"},
    "reduce_assignments": True,
}


@dataclass(frozen=True)
class Block:
    """One building block: its ``name`` (a key of :data:`SCALAR_FUNCTIONS`), the Python ``source``
    for a listing, and the ``latex`` formula (math-mode content, no delimiters)."""

    name: str
    source: str
    latex: str


def _block(name: str, function: Callable[..., float]) -> Block:
    source = textwrap.dedent(inspect.getsource(function)).rstrip("\n")
    arguments = ", ".join(inspect.signature(function).parameters)
    body = latexify.get_latex(function, **LATEXIFY_OPTIONS)
    return Block(name, source, f"{FUNCTION_NAMES[name]}({arguments}) = {body}")


@cache
def scalar_blocks() -> tuple[Block, ...]:
    """Every function of :data:`SCALAR_FUNCTIONS` as a :class:`Block`, in order."""
    return tuple(_block(name, function) for name, function in SCALAR_FUNCTIONS.items())
