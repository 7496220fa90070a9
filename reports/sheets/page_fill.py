"""How full each page of a compiled sheet is, and whether a page opens in the middle of a display:
the checks a reader makes by looking at the pages, done on the rendered pages themselves.

:func:`pages` renders every page of a PDF in grey (``pdftoppm``) and measures how far down the text
block the lowest ink reaches (figures and diagrams count, the page number in the bottom margin does
not), and reads each page's first line of text (``pdftotext``). :func:`under_filled` lists the pages
before the last that stop short; :func:`continued` the pages whose first line is the continuation of
an equation (it starts with an operator such as ``+``, ``−`` or ``=``). A page the source ends with
``\\clearpage`` on purpose (the exercises stand on pages of their own) is not under-filled:
:func:`forced_pages` reads those from the log.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CONTINUATIONS", "MARGIN_CM", "MIN_FILL", "NEAR_EMPTY", "Page", "continued", "forced_pages",
           "pages", "under_filled"]

#: The sheets' margins on every side (``\usepackage[margin=2cm]{geometry}`` in base.tex.j2).
MARGIN_CM = 2.0
#: A page before the last is under-filled when its ink stops above this fraction of the text block:
#: a display is never split, so up to about a quarter of a page may stay empty before a tall one.
MIN_FILL = 0.7
#: A page the source ends on purpose is still flagged when its ink stops above this fraction: a
#: section that spills a line or two onto a page of its own before a ``\\clearpage``.
NEAR_EMPTY = 0.1
#: How a line that continues an equation begins.
CONTINUATIONS = ("+", "−", "-", "=", "&", "·", "⊙", "\\")
_DPI = 30
_INK = 160  # grey levels below this are ink (0 black, 255 white)


@dataclass(frozen=True)
class Page:
    """One page: its ``number`` (from 1), ``fill`` (0–1, how far down the text block ink reaches)
    and ``first_line`` (its first line of text, stripped)."""

    number: int
    fill: float
    first_line: str


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found; install poppler-utils to measure the pages of a sheet")
    return found


def _read_pgm(path: Path) -> np.ndarray:
    data = path.read_bytes()
    header, offset = [], 0
    while len(header) < 4:  # P5, width, height, maxval, separated by whitespace
        while data[offset:offset + 1].isspace():
            offset += 1
        end = offset
        while not data[end:end + 1].isspace():
            end += 1
        header.append(data[offset:end])
        offset = end
    width, height = int(header[1]), int(header[2])
    return np.frombuffer(data[offset + 1:offset + 1 + width * height], dtype=np.uint8).reshape(height, width)


def _first_line(pdf: Path, number: int) -> str:
    command = [_tool("pdftotext"), "-f", str(number), "-l", str(number), "-layout", str(pdf), "-"]
    text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def pages(pdf: str | os.PathLike) -> tuple[Page, ...]:
    """Every page of ``pdf`` with its fill and first line."""
    pdf = Path(pdf)
    if not pdf.is_file():
        raise ValueError(f"pdf: no file {pdf}")
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([_tool("pdftoppm"), "-r", str(_DPI), "-gray", str(pdf), str(Path(folder) / "p")],
                       check=True, capture_output=True)
        images = sorted(Path(folder).glob("p-*.pgm"), key=lambda p: int(p.stem.split("-")[-1]))
        result = []
        for number, image in enumerate(images, start=1):
            grey = _read_pgm(image)
            height = grey.shape[0]
            margin = round(MARGIN_CM / 2.54 * _DPI)
            top, bottom = margin, height - margin  # the text block; the page number lies below it
            rows = np.flatnonzero((grey[top:bottom] < _INK).any(axis=1))
            fill = 0.0 if rows.size == 0 else (rows[-1] + 1) / (bottom - top)
            result.append(Page(number, round(float(fill), 3), _first_line(pdf, number)))
    return tuple(result)


def forced_pages(log: str) -> frozenset[int]:
    """The pages that start after a ``\\clearpage`` of the source, from the sheet's ``.log`` (base.tex.j2
    notes each as ``bpttlab: forced page N``)."""
    return frozenset(int(match) for match in re.findall(r"^bpttlab: forced page (\d+)$", log, re.M))


def under_filled(measured: tuple[Page, ...], minimum: float = MIN_FILL,
                 forced: frozenset[int] = frozenset()) -> list[Page]:
    """The pages before the last whose ink stops above ``minimum`` of the text block, except those
    the source ends on purpose (the page before each of ``forced``, :func:`forced_pages`) unless
    even such a page is nearly empty (under :data:`NEAR_EMPTY`)."""
    return [page for page in measured[:-1] if page.fill < minimum
            and (page.number + 1 not in forced or page.fill < min(minimum, NEAR_EMPTY))]


def continued(measured: tuple[Page, ...]) -> list[Page]:
    """The pages after the first whose first line continues an equation."""
    return [page for page in measured[1:] if page.first_line.startswith(CONTINUATIONS)]
