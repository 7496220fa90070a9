r"""Breaking a long printed sum over the lines of an ``align*``: where, and how wide each line is.

A sum is cut into its signed terms; a long product ending in a sum, ``A (B + C)``, is opened up into
``A \bigl( B``, ``+ C \bigr)`` so that it can break inside too. The pieces are then set on lines as
TeX sets a paragraph: of all the ways to fill lines no wider than :data:`LINE_WIDTH`, the one with the
least squared slack (so no piece is left alone on a short line between two full ones). Widths are
those of the *printed* symbols, estimated from the LaTeX in points (:func:`visible_width`: a letter
5.8, a binary operator with its spacing 12, a script 0.7 of its size), not the length of the source.

>>> visible_width(r"\operatorname{diag}(\bm{r}^{(t)})")
47.0
>>> pieces = ["A", "+ B", "+ C"]
>>> lines(pieces, width=40), lines(pieces, width=80)
(['A + B', '+ C'], ['A + B + C'])
"""

from __future__ import annotations

import re
from collections.abc import Callable

import sympy as sp

from bpttlab.derivations.tidy import coefficient_and_matrix

__all__ = ["LINE_WIDTH", "broken", "lines", "pieces", "visible_width"]

#: How wide, in points, the right-hand side of a broken display may be: an A4 text block with 2 cm
#: margins is 483 pt at 11 pt type, less the left-hand side, the relation and the continuation's indent.
LINE_WIDTH = 340.0
#: A line break inside an align* right-hand side, indented past the relation.
BREAK = r" \\ &\quad "

# Widths in points of 11 pt math (cmmi, cmr, cmsy), measured on the sheets' Jacobians: within ±15 %.
_LETTER, _BINARY, _PARENTHESIS, _COMMA, _SCRIPT, _BOLD = 5.8, 12.0, 3.9, 3.0, 0.7, 1.12
_NAMED = {"tanh": 4, "log": 3, "exp": 3, "max": 3, "min": 3, "dots": 3, "ldots": 3, "cdots": 3, "infty": 1.5}
_BINARIES = {"odot", "cdot", "le", "leq", "ge", "geq", "times", "leftarrow", "in", "approx"}
_INVISIBLE = {"left", "right", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", "Biggl", "Biggr",
              "displaystyle", "textstyle", "!", ",", ";", "quad", "qquad", "mathbf", "mathit", "mathrm",
              "tilde", "hat", "operatorname", "text", "texttt", "frac", "dfrac", "mathbb"}
_TOKEN = re.compile(r"\\([A-Za-z]+|.)|([_^])|([{}])|(\s+)|(.)")


def _group(latex: str, start: int) -> tuple[str, int]:
    """The argument at ``start`` (a braced group or one token) and the index after it."""
    if latex[start] != "{":
        token = _TOKEN.match(latex, start)
        return token.group(0), token.end()
    depth = 0
    for end in range(start, len(latex)):
        depth += {"{": 1, "}": -1}.get(latex[end], 0)
        if depth == 0:
            return latex[start + 1:end], end + 1
    return latex[start + 1:], len(latex)


def visible_width(latex: str, scale: float = 1.0) -> float:
    """About how wide, in points, ``latex`` prints as display math at 11 pt: a letter 5.8, a binary
    operator with its spacing 12, a sub- or superscript 0.7 of its own width, bold 1.12 times;
    sizing and spacing commands nothing."""
    total, index = 0.0, 0
    while index < len(latex):
        token = _TOKEN.match(latex, index)
        index = token.end()
        command, script, _brace, _space, character = token.groups()
        if command == "bm":
            inner, index = _group(latex, index)
            total += _BOLD * visible_width(inner, scale)
        elif command is not None and command not in _INVISIBLE:
            total += (_BINARY if command in _BINARIES else _LETTER * _NAMED.get(command, 1)) * scale
        elif script:
            inner, index = _group(latex, index)
            total += visible_width(inner, scale * _SCRIPT)
        elif character is not None:
            size = (_BINARY if character in "+-=<>" else _PARENTHESIS if character in "()[]|"
                    else _COMMA if character in ",;" else _LETTER)
            total += size * scale
    return round(total, 1)


def _terms(expr: sp.MatrixExpr) -> list[tuple[str, sp.MatrixExpr]]:
    """(sign, term without its sign) for each term of a sum, positive terms first."""
    terms = []
    for term in expr.args if isinstance(expr, sp.MatAdd) else (expr,):
        coefficient, body = coefficient_and_matrix(term)
        negative = coefficient.could_extract_minus_sign()
        magnitude = -coefficient if negative else coefficient
        terms.append(("-" if negative else "+", body if magnitude == 1 else magnitude * body))
    return sorted(terms, key=lambda t: t[0] == "-")


def pieces(expr: sp.MatrixExpr, show: Callable[[sp.Basic], str], width: float = LINE_WIDTH) -> list[str]:
    """The signed terms of a sum, printed; a product ending in a sum that is wider than half a line,
    ``A (B + C)``, is opened up into ``A \\bigl(``, ``B``, ``+ C \\bigr)``, so that the lines can be
    filled evenly."""
    found: list[str] = []
    for sign, term in _terms(expr):
        head = "" if not found and sign == "+" else f"{sign} "
        factors = term.args if isinstance(term, sp.MatMul) else ()
        if visible_width(show(term)) > width / 2 and factors and isinstance(factors[-1], sp.MatAdd):
            inner = pieces(factors[-1], show, width)
            inner[-1] += r" \bigr)"
            # the factor before the parenthesis is a piece of its own: the lines decide what it shares
            # a line with
            found += [rf"{head}{show(sp.MatMul(*factors[:-1]))} \bigl(", *inner]
        else:
            found.append(head + show(term))
    return found


def lines(parts: list[str], width: float = LINE_WIDTH) -> list[str]:
    """``parts`` joined into lines of at most ``width`` printed characters (a part wider than that
    stands alone), the least squared slack over all lines but the last."""
    sizes = [visible_width(p) + 2 for p in parts]
    count = len(parts)
    best: list[float] = [0.0] * (count + 1)  # best[i]: the cost of setting parts[i:]
    choice = [count] * (count + 1)
    for i in range(count - 1, -1, -1):
        best[i], total = float("inf"), 0.0
        for j in range(i + 1, count + 1):
            total += sizes[j - 1]
            if total > width and j > i + 1:
                break
            slack = 0.0 if j == count else max(width - total, 0.0) ** 2
            if slack + best[j] < best[i]:
                best[i], choice[i] = slack + best[j], j
    out, i = [], 0
    while i < count:
        out.append(" ".join(parts[i:choice[i]]))
        i = choice[i]
    return out


def broken(expr: sp.MatrixExpr, show: Callable[[sp.Basic], str], width: float = LINE_WIDTH) -> str:
    """``show(expr)``, or for a sum (or a product ending in one) too wide for a line, its terms over
    several ``align`` lines, each continuation indented past the relation."""
    whole = show(expr)
    opens = isinstance(expr, sp.MatMul) and isinstance(expr.args[-1], sp.MatAdd)  # A (B + C)
    if visible_width(whole) <= width or not (isinstance(expr, sp.MatAdd) or opens):
        return whole
    return BREAK.join(lines(pieces(expr, show, width), width))
