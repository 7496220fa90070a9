"""Golden sheets: three rendered sheets pinned byte for byte, one English in the course's notation, one
Indonesian, one in Goodfellow's dlbook notation, so that any change to the text, the math or the layout
of a sheet shows up as a diff to review.

The version of bpttlab (``\\author{bpttlab X.Y.Z}``) is not part of the compared bytes: the line is
normalised on both sides, so the files neither fail uninstalled nor after a version bump.

Regenerate after a deliberate change, then review the diff (``git diff tests/reports/golden``)::

    BPTTLAB_UPDATE_GOLDEN=1 python -m pytest tests/reports/test_golden.py

With the variable set the test writes the files and still compares (so it passes); without it a missing
or different golden file fails.
"""

import os
import re
from pathlib import Path

import pytest

from bpttlab.reports.sheets.writer import render_sheet

GOLDEN = Path(__file__).parent / "golden"
#: (sheet, language, notation): English × course, Indonesian × course, English × dlbook.
PINNED = [("rnn", "en", "course"), ("rnn", "id", "course"), ("lstm", "en", "dlbook")]
AUTHOR = re.compile(r"^\\author\{bpttlab [^}]*\}$", re.MULTILINE)
NORMALISED = r"\\author{bpttlab VERSION}"


def normalised(tex: str) -> str:
    """The sheet with its version line replaced by a placeholder (exactly one such line)."""
    text, count = AUTHOR.subn(NORMALISED, tex)
    assert count == 1, f"expected one \\author{{bpttlab ...}} line, found {count}"
    return text


@pytest.mark.parametrize(("sheet", "lang", "notation"), PINNED)
def test_golden_sheet(sheet, lang, notation):
    path = GOLDEN / f"{sheet}.{lang}.{notation}.tex"
    tex = normalised(render_sheet(sheet, lang, notation))
    if os.environ.get("BPTTLAB_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(tex, encoding="utf-8")
    assert path.is_file(), f"{path} is missing: run BPTTLAB_UPDATE_GOLDEN=1 python -m pytest {__file__}"
    assert tex == path.read_text(encoding="utf-8"), f"{path.name} differs: review, then regenerate"


def test_the_version_is_not_in_the_golden_files():
    for path in sorted(GOLDEN.glob("*.tex")):
        text = path.read_text(encoding="utf-8")
        assert NORMALISED.replace("\\\\", "\\") in text, path.name
        assert not re.search(r"bpttlab \d+\.\d+", text), path.name


def test_a_version_bump_does_not_change_the_compared_bytes():
    tex = render_sheet("rnn", "en", "course")
    bumped = AUTHOR.sub(r"\\author{bpttlab 99.0.0.dev1+local}", tex)
    assert bumped != tex and normalised(bumped) == normalised(tex)
