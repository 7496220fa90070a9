"""Numbers as a sheet writes them: one function, the sheet's language deciding the decimal mark
(:meth:`.languages.Language.number`).

English writes a decimal point, Indonesian a decimal comma, in text, tables, the worked example and
the captions alike; in math mode the comma is braced (``0{,}25``) so that TeX sets no space after it.

>>> number(0.2519, "en", 3), number(0.2519, "id", 3), number(-0.0001, "id", 2)
('0.252', '0{,}252', '0{,}00')
>>> number("0.25", "id"), number(1.5e-08, "en", math=False), number(1.5e-08, "id", math=False)
('0{,}25', '1.5e-08', '1,5e-08')
"""

from __future__ import annotations

from numbers import Real

from bpttlab.reports.sheets.languages import language

__all__ = ["number"]


def number(value: Real | str, lang: str, places: int | None = None, *, math: bool = True) -> str:
    """``value`` with ``places`` decimals (a string is taken as written), in ``lang``'s decimal mark;
    ``math``: for math mode (a comma braced), else for text. A rounded zero has no minus sign."""
    return language(lang).number(value, places, math=math)
