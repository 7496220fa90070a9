"""A reviewer's look at a compiled sheet, done on its rendered pages: what a lecturer would flag before
handing it out.

* ``under-filled``: a page before the last whose ink stops above 70 % of the text block (not one the
  source ends on purpose), from :mod:`.page_fill`;
* ``split sentence``: a sentence cut by a float (a figure or a table) between its halves: the page
  ends mid-sentence and a float stands at the bottom of that page or the top of the next, or a float
  set down "here" inside a paragraph, between two lines of one sentence;
* ``split table``: a table continued on the next page (its header repeated there);
* ``operator left``: a continuation line of a display that starts with an operator (+, −) to the left
  of the relation (=) of the line it continues;
* ``small label``: text in an included figure smaller than 7 pt at print size (the figure's own font
  size scaled by the width it is printed at).

Text positions come from ``pdftotext -bbox-layout`` (poppler), the figures' font sizes from their own
PDF content streams. Run it on any sheet::

    python -m bpttlab.reports.sheets.review build/sheets/course.en.course.pdf
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import zlib
from dataclasses import dataclass
from html import unescape
from pathlib import Path

from bpttlab.reports.sheets.page_fill import MIN_FILL, forced_pages, pages, under_filled

__all__ = ["LINE_WIDTH_PT", "MIN_LABEL_PT", "Finding", "Line", "figure_font_sizes", "main", "review"]

#: The text block's width in points (A4, 2 cm margins, as base.tex sets it).
LINE_WIDTH_PT = 483.69687
#: The smallest type a figure may print: 7 pt.
MIN_LABEL_PT = 7.0
_CAPTION = re.compile(r"^(Figure|Table|Gambar|Tabel|Abbildung|Tabelle)\s+\d+:")
_OPERATORS = ("+", "−", "-")
#: A signed number (a matrix entry, a table cell), not an operator beginning a line.
_NUMBER = re.compile(r"^[+−-][\d.,]+$")
_ENDS = (".", ":", ";", "!", "?")
_MARGIN_PT = 2 / 2.54 * 72
#: A line of a paragraph starts at the left margin (or its indent) and, unless it ends the paragraph,
#: reaches the right one: a display is indented and shorter.
_PROSE_LEFT, _PROSE_RIGHT = _MARGIN_PT + 20, 595.276 - _MARGIN_PT - 30


def _width(line: Line) -> float:
    """About how wide a line is: from its left edge to the start of its last word, plus that word."""
    last_word, last_x = line.words[-1]
    return last_x - line.x + 5 * len(last_word)


@dataclass(frozen=True)
class Finding:
    kind: str
    page: int
    detail: str

    def __str__(self) -> str:
        return f"page {self.page}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class Line:
    """One line of text on a page: its words and their box (points, from the top left)."""

    page: int
    text: str
    x: float
    y: float
    bottom: float
    block: int
    words: tuple[tuple[str, float], ...]  # (word, its left edge)


def _lines(pdf: Path) -> dict[int, list[Line]]:
    xhtml = subprocess.run(["pdftotext", "-bbox-layout", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout
    found: dict[int, list[Line]] = {}
    for number, page in enumerate(re.findall(r"<page [^>]*>(.*?)</page>", xhtml, re.S), start=1):
        lines = found.setdefault(number, [])
        for index, block in enumerate(re.findall(r"<block [^>]*>(.*?)</block>", page, re.S)):
            for line in re.findall(r"<line ([^>]*)>(.*?)</line>", block, re.S):
                box = dict(re.findall(r'(\w+)="(-?[\d.]+)"', line[0]))
                words = tuple((unescape(w), float(dict(re.findall(r'(\w+)="(-?[\d.]+)"', a))["xMin"]))
                              for a, w in re.findall(r"<word ([^>]*)>(.*?)</word>", line[1]))
                text = " ".join(w for w, _ in words)
                lines.append(Line(number, text, float(box["xMin"]), float(box["yMin"]), float(box["yMax"]),
                                  index, words))
    return found


def _body(lines: list[Line], height: float = 841.89) -> list[Line]:
    """The lines of the page but its number (a lone number in the bottom margin)."""
    return [line for line in lines if not (line.text.isdigit() and line.y > height - _MARGIN_PT)]


def _captions(lines: list[Line]) -> list[Line]:
    return [line for line in lines if _CAPTION.match(line.text)]


def _caption_blocks(lines: list[Line]) -> set[int]:
    """The blocks that begin with a caption ("Figure 3: …")."""
    first: dict[int, Line] = {}
    for line in sorted(lines, key=lambda line: line.y):
        first.setdefault(line.block, line)
    return {block for block, line in first.items() if _CAPTION.match(line.text)}


def _full(line: Line) -> bool:
    """A justified line of a paragraph: from the left margin to the right one, its words evenly spaced
    (a table's row has wide gaps between its columns)."""
    if not (line.x < _PROSE_LEFT and line.words and line.x + _width(line) > _PROSE_RIGHT):
        return False
    gaps = [x - (previous_x + 4.5 * len(word)) for (word, previous_x), (_, x)
            in itertools.pairwise(line.words)]
    return max(gaps, default=0.0) < 30


def _continues(line: Line) -> bool:
    """A line that carries on a sentence begun before it (it starts with a small letter)."""
    first = line.words[0][0] if line.words else ""
    return first[:1].isalpha() and first[:1].islower()


def split_sentences(lines_by_page: dict[int, list[Line]]) -> list[Finding]:
    """Page breaks inside a sentence with a float between the two halves: the page ends in a justified
    line that does not end the sentence, or the next page's text carries the sentence on (after a
    display that ended the page), and a float stands at the bottom of the one or the top of the other."""
    found = []
    for number in sorted(lines_by_page)[:-1]:
        here, there = _body(lines_by_page[number]), _body(lines_by_page[number + 1])
        if not here or not there:
            continue
        blocks_here, blocks_there = _caption_blocks(here), _caption_blocks(there)
        prose = [line for line in here if line.block not in blocks_here]
        if not prose:
            continue
        last = max(prose, key=lambda line: line.bottom)
        full_here = [line for line in prose if _full(line)]
        # a float at the bottom: a caption with no paragraph line below it
        float_below = any(all(line.y < c.y for line in full_here) for c in _captions(here))
        captions_there = _captions(there)
        full_there = [line for line in there if line.block not in blocks_there and _full(line)]
        float_above = any(all(line.y > c.y for line in full_there) for c in captions_there)
        below_floats = max((c.y for c in captions_there if all(line.y > c.y for line in full_there)),
                           default=0.0)
        text_there = [line for line in there if line.block not in blocks_there and line.x < _PROSE_LEFT
                      and line.y > below_floats]
        first = min(text_there or there, key=lambda line: line.y)
        # a sentence carried on: the next page's text opens with a paragraph line in small letters
        carried = bool(text_there) and _full(first) and _continues(first)
        cut_line = _full(last) and not last.text.rstrip().endswith(_ENDS)
        if cut_line and (float_below or float_above or first.y > 150):  # or a picture without text at the top
            found.append(Finding("split sentence", number, f"…{last.text[-40:]} | {first.text[:40]}…"))
        elif carried and (float_below or float_above):
            found.append(Finding("split sentence", number, f"…{last.text[-40:]} | {first.text[:40]}…"))
    return found


def sentences_around_floats(lines_by_page: dict[int, list[Line]]) -> list[Finding]:
    """A float set down inside a sentence on one page: a caption between two lines of prose, the line
    above it a full justified line that does not end the sentence."""
    found = []
    for number, lines in lines_by_page.items():
        body = _body(lines)
        captions = _captions(body)
        if not captions:
            continue
        blocks = _caption_blocks(body)
        # lines of text that begin at the left margin (a table's cells and a display begin further in)
        prose = sorted((line for line in body if line.block not in blocks and line.x < _PROSE_LEFT),
                       key=lambda line: line.y)
        for above, below in itertools.pairwise(prose):
            if not any(above.bottom < c.y < below.y for c in captions):
                continue
            full = above.x < _PROSE_LEFT and above.x + _width(above) > _PROSE_RIGHT
            if full and not above.text.rstrip().endswith(_ENDS) and below.x < _PROSE_LEFT:
                found.append(Finding("split sentence", number, f"…{above.text[-40:]} | {below.text[:40]}…"))
    return found


def split_tables(lines_by_page: dict[int, list[Line]], headers: tuple[str, ...]) -> list[Finding]:
    """Tables continued on a later page: a table header (one of ``headers``, e.g. "symbol space
    meaning") on a page without a caption above it, or one caption ("Table 3: …") on two pages (a
    long table repeating its head)."""
    found, seen = [], {}
    for number in sorted(lines_by_page):
        body = _body(lines_by_page[number])
        for line in body:
            if any(line.text.startswith(header) for header in headers):
                if not any(c.y < line.y for c in _captions(body)):
                    found.append(Finding("split table", number, line.text[:60]))
        for caption in _captions(body):
            label = caption.text.split(":")[0]
            if label in seen and seen[label] != number:
                found.append(Finding("split table", number, f"{label} continued from page {seen[label]}"))
            seen.setdefault(label, number)
    return found


def operators_left(lines_by_page: dict[int, list[Line]]) -> list[Finding]:
    """Continuation lines of a display starting with an operator left of the relation they continue."""
    found = []
    for number, lines in lines_by_page.items():
        ordered = sorted(_body(lines), key=lambda line: (line.y, line.x))
        for i, line in enumerate(ordered):
            first = line.words[0][0] if line.words else ""
            if not first.startswith(_OPERATORS) or _NUMBER.match(first):
                continue
            above = [other for other in ordered[:i] if 0 < line.y - other.y < 40
                     and any(word == "=" for word, _ in other.words)]
            if not above:
                continue
            relation = min(x for word, x in above[-1].words if word == "=")
            if line.x <= relation:
                found.append(Finding("operator left", number, f"{line.text[:50]} (x {line.x:.0f} ≤ = at "
                                                              f"{relation:.0f})"))
    return found


def figure_font_sizes(pdf: str | os.PathLike) -> tuple[list[float], float]:
    """(every font size set in a figure's PDF, in its own points; the figure's width in points), read
    from its content streams."""
    data = Path(pdf).read_bytes()
    box = re.search(rb"/MediaBox\s*\[\s*[\d.]+\s+[\d.]+\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    width = float(box.group(1)) if box else 0.0
    sizes: list[float] = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            text = zlib.decompress(match.group(1))
        except zlib.error:
            text = match.group(1)
        sizes += [float(s) for s in re.findall(rb"/F\w* ([\d.]+) Tf", text)]
    return sizes, width


def small_labels(tex: Path) -> list[Finding]:
    """Text of an included figure under :data:`MIN_LABEL_PT` at the width the sheet prints it."""
    source = tex.read_text(encoding="utf-8")
    found = []
    for fraction, path in re.findall(r"\\includegraphics\[width=([\d.]*)\\linewidth\]\{([^}]+)\}", source):
        figure = (tex.parent / path)
        if not figure.is_file():
            continue
        sizes, width = figure_font_sizes(figure)
        if not sizes or not width:
            continue
        scale = float(fraction or 1) * LINE_WIDTH_PT / width
        smallest = min(sizes) * scale
        if smallest < MIN_LABEL_PT:
            found.append(Finding("small label", 0, f"{path}: {smallest:.1f} pt at print size"))
    return found


def review(pdf: str | os.PathLike, headers: tuple[str, ...] = ("symbol space meaning", "simbol ruang arti")
           ) -> list[Finding]:
    """Everything a reviewer would flag on the compiled sheet ``pdf`` (its ``.tex`` and ``.log``
    beside it)."""
    pdf = Path(pdf)
    log = pdf.with_suffix(".log")
    forced = forced_pages(log.read_text(errors="replace")) if log.is_file() else frozenset()
    found = [Finding("under-filled", page.number, f"{page.fill:.0%} full")
             for page in under_filled(pages(pdf), MIN_FILL, forced)]
    lines = _lines(pdf)
    found += (split_sentences(lines) + sentences_around_floats(lines) + split_tables(lines, headers)
              + operators_left(lines))
    if pdf.with_suffix(".tex").is_file():
        found += small_labels(pdf.with_suffix(".tex"))
    return found


def main(argv: list[str] | None = None) -> int:
    """Review each PDF given; print one line per finding; exit 1 if there is any."""
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python -m bpttlab.reports.sheets.review SHEET.pdf …", file=sys.stderr)
        return 2
    findings = []
    for path in paths:
        for finding in review(path):
            print(f"{path}: {finding}")
            findings.append(finding)
    print(f"{len(findings)} finding(s) in {len(paths)} sheet(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
