"""Printing derived expressions: LaTeX in the course's or Goodfellow's notation (the equation sheets'
printer), and plain text with ⊙ and σ for the terminal."""

from bpttlab.derivations.printing.escape import check_text, escape_text, math_text
from bpttlab.derivations.printing.latex_printer import (
    SheetPrinter,
    aligned,
    concatenated,
    concatenated_forms,
    equation,
    gates,
    latex,
)
from bpttlab.derivations.printing.notations import NOTATIONS, Name, Notation, notation, parse_name
from bpttlab.derivations.printing.text_printer import TextPrinter, equation_lines, text
from bpttlab.derivations.printing.time_index import at_step, shift_name

__all__ = [
    "NOTATIONS",
    "Name",
    "Notation",
    "SheetPrinter",
    "TextPrinter",
    "aligned",
    "at_step",
    "check_text",
    "concatenated",
    "concatenated_forms",
    "equation",
    "equation_lines",
    "escape_text",
    "gates",
    "latex",
    "math_text",
    "notation",
    "parse_name",
    "shift_name",
    "text",
]
