"""Numbers as a sheet writes them: one function, chosen by the sheet's language.

English writes a decimal point, Indonesian a decimal comma, in text, tables, the worked example and
the captions alike; in math mode the comma is braced (``0{,}25``) so that TeX sets no space after it.

>>> number(0.2519, "en", 3), number(0.2519, "id", 3), number(-0.0001, "id", 2)
('0.252', '0{,}252', '0{,}00')
>>> number("0.25", "id"), number(1.5e-08, "en", math=False), number(1.5e-08, "id", math=False)
('0{,}25', '1.5e-08', '1,5e-08')
"""

from __future__ import annotations

from numbers import Real

__all__ = ["DECIMAL_MARKS", "number"]

#: The decimal mark of each sheet language.
DECIMAL_MARKS = {"en": ".", "id": ","}


def number(value: Real | str, lang: str, places: int | None = None, *, math: bool = True) -> str:
    """``value`` with ``places`` decimals (a string is taken as written), in ``lang``'s decimal mark;
    ``math``: for math mode (a comma braced), else for text. A rounded zero has no minus sign."""
    if lang not in DECIMAL_MARKS:
        raise ValueError(f"lang must be one of {', '.join(DECIMAL_MARKS)}, got {lang!r}")
    if isinstance(value, str):
        text = value
    else:
        if places is not None and (isinstance(places, bool) or not isinstance(places, int)
                                   or not 0 <= places <= 15):
            raise ValueError(f"places must be an integer from 0 to 15, got {places!r}")
        text = f"{value:.{places}f}" if places is not None else f"{value:.3g}"
        if text.startswith("-") and float(text) == 0:
            text = text[1:]  # no "-0.000"
    mark = DECIMAL_MARKS[lang]
    if mark == ".":
        return text
    return text.replace(".", "{,}" if math else ",")
