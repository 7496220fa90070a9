"""What a Jupyter notebook shows of derivations, proofs and numeric results.

Equations go through the sheet printer (:func:`.latex_printer.aligned`) into one display-math
``aligned`` block; proofs, verifications and decay studies become small tables, as HTML and as
Markdown. Browsers typeset with MathJax or KaTeX, which know ``\\boldsymbol`` but not the ``bm``
package's ``\\bm``, so :func:`display_math` writes the book notation's bold symbols with the former.

>>> from bpttlab.derivations import derive
>>> d = derive("rnn", head=None)
>>> print(display_math(aligned_sections(d)))
$$\\begin{aligned}
&\\textbf{forward} \\\\
a_t &= W_{hh} h_{t-1} + W_{xh} x_t + b_h \\\\
h_t &= \\tanh(a_t) \\\\
&\\textbf{backward} \\\\
\\delta h_t &= \\delta h_t^{(\\leftarrow t+1)} \\\\
\\delta a_t &= \\delta h_t \\odot (1 - h_t^{2}) \\\\
\\delta h_{t-1} &= W_{hh}^{\\top} \\delta a_t \\\\
\\delta x_t &= W_{xh}^{\\top} \\delta a_t \\\\
\\delta W_{xh} &= \\delta a_t x_t^{\\top} \\\\
\\delta W_{hh} &= \\delta a_t h_{t-1}^{\\top} \\\\
\\delta b_h &= \\delta a_t \\\\
&\\textbf{step Jacobians} \\\\
\\frac{\\partial h_t}{\\partial h_{t-1}} &= \\operatorname{diag}(1 - h_t^{2}) W_{hh}
\\end{aligned}$$
>>> print(markdown_table(["what", "passed"], [["δa_t", "yes"], ["a | b", "no"]]))
| what | passed |
| --- | --- |
| δa_t | yes |
| a \\| b | no |
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from bpttlab.derivations.printing.latex_printer import latex

if TYPE_CHECKING:
    from bpttlab.derivations.derivation import Derivation

__all__ = ["BROWSER_MACROS", "aligned_sections", "display_math", "html_table", "markdown_table"]

#: LaTeX macros of the sheets that browser math renderers lack, and what they write instead.
BROWSER_MACROS = {r"\bm{": r"\boldsymbol{"}


def display_math(body: str) -> str:
    """``body`` (lines of an ``aligned`` environment) as one display-math block a notebook typesets."""
    for macro, instead in BROWSER_MACROS.items():
        body = body.replace(macro, instead)
    return "$$\\begin{aligned}\n" + body + "\n\\end{aligned}$$"


def _title(text: str) -> str:
    return rf"&\textbf{{{text}}}"


def aligned_sections(d: Derivation) -> str:
    """The ``aligned`` lines of a derivation: its forward and backward equations and its step
    Jacobians ∂s_t/∂s'_{t-1}, each section under a title, in the derivation's notation."""
    gates = d.forward.gates
    lines = [_title("forward"), d.forward.latex(), _title("backward"), d.backward.latex(),
             _title("step Jacobians")]
    state = {s.name: s for s in (*d.cell.new_states, *d.cell.previous_states)}
    for (new, prev), block in d.jacobian.items():
        numerator, denominator = (latex(state[name], d.notation) for name in (new, prev))
        value = latex(block, d.notation, gates)
        lines.append(rf"\frac{{\partial {numerator}}}{{\partial {denominator}}} &= {value}")
    return " \\\\\n".join(line for line in lines if line)


def _cells(row: Iterable[object]) -> list[str]:
    return [str(cell) for cell in row]


def markdown_table(header: Sequence[str], rows: Iterable[Iterable[object]], caption: str = "") -> str:
    """A Markdown table (``|`` inside a cell escaped), with ``caption`` as a paragraph above it."""
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", r"\|") for c in cells) + " |"

    lines = [caption, ""] if caption else []
    lines += [line(list(header)), "| " + " | ".join("---" for _ in header) + " |"]
    lines += [line(_cells(row)) for row in rows]
    return "\n".join(lines)


def html_table(header: Sequence[str], rows: Iterable[Iterable[object]], caption: str = "") -> str:
    """An HTML table, every cell escaped, with ``caption`` as its caption.

    >>> print(html_table(["check"], [["a < b"]], caption="one"))
    <table>
    <caption>one</caption>
    <tr><th>check</th></tr>
    <tr><td>a &lt; b</td></tr>
    </table>
    """
    def line(tag: str, cells: list[str]) -> str:
        return "<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>"

    lines = ["<table>"] + ([f"<caption>{html.escape(caption)}</caption>"] if caption else [])
    lines += [line("th", list(header))] + [line("td", _cells(row)) for row in rows] + ["</table>"]
    return "\n".join(lines)
