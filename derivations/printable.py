"""What text may reach a sheet at all: a cell's title and names may come from anyone's ``.cell`` file.

Control and format characters (Unicode category C: tabs, newlines, escape, zero-width joiners,
bidirectional overrides) and line or paragraph separators cannot be printed safely; every other
character can (:mod:`bpttlab.derivations.printing.escape` spells each one out for LaTeX).

>>> check_text("Sel memori é", "cell title")
'Sel memori é'
>>> check_text("bell\\a", "cell title")
Traceback (most recent call last):
...
ValueError: cell title 'bell\\x07' contains the control character U+0007; remove it
"""

from __future__ import annotations

import unicodedata

__all__ = ["check_text"]


def check_text(text: object, what: str = "text") -> str:
    """``text`` if it is a string that can be printed safely; a one-line ``ValueError`` naming
    ``what`` and the first character that cannot (a control or format character, a separator)."""
    if not isinstance(text, str):
        raise ValueError(f"{what} must be a string, got {text!r}")
    for char in text:
        category = unicodedata.category(char)
        if category.startswith("C") or category in ("Zl", "Zp"):
            raise ValueError(f"{what} {text!r} contains the control character U+{ord(char):04X}; remove it")
    return text
