"""Compile a ``.tex`` file with pdflatex, read the log and the PDF's text.

pdflatex runs non-interactively and without shell escape (``-no-shell-escape
-interaction=nonstopmode -halt-on-error -file-line-error``), as
many times as asked (twice by default, so that references settle), in the directory of the ``.tex``
so that relative paths in it (figures) resolve. Its output goes to a temporary directory beside the
``.tex``; only a complete PDF is renamed into place, so a failed run, a timeout or Ctrl-C leaves
either the previous PDF or none. The log is moved beside the ``.tex`` in every case (it explains a
failure). A failure raises :class:`LatexError` with the few lines of the log that matter — the
error, its ``file:line:`` position and TeX's context lines — not the whole log.

:func:`overfull_boxes` reads TeX's overfull-box warnings from a log:

>>> boxes = overfull_boxes("Overfull \\\\hbox (12.3pt too wide) in paragraph at lines 10--12\\n"
...                        "Overfull \\\\hbox (4.5pt too wide) detected at line 40\\n")
>>> [(b.points, b.lines, b.in_display_math) for b in boxes]
[(12.3, (10, 12), False), (4.5, (40, 40), True)]
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "INSTALL_TEX",
    "LatexError",
    "OverfullBox",
    "compile_pdf",
    "error_excerpt",
    "overfull_boxes",
    "pdf_text",
    "pdflatex_available",
]

INSTALL_TEX = ("install TeX Live with `sudo apt-get install texlive-latex-base texlive-latex-recommended "
               "texlive-pictures poppler-utils` (or `make tex`)")

# -no-shell-escape: a sheet holds text from users' cell files; \write18 must never run a command,
# whatever texmf.cnf says (restricted shell escape is on by default in TeX Live).
PDFLATEX_OPTIONS = ("-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error")

# Lines of context kept after each error line of the log, and errors shown at most.
CONTEXT_LINES = 6
MAX_ERRORS = 3

# TeX wraps its log at 79 characters, which splits file names and error messages; kpathsea reads
# these limits from the environment. SOURCE_DATE_EPOCH / FORCE_SOURCE_DATE fix the dates pdfTeX
# writes (creation date, \today), which makes repeated runs as reproducible as pdfTeX allows.
TEX_ENVIRONMENT = {
    "max_print_line": "10000",
    "error_line": "254",
    "half_error_line": "238",
    "SOURCE_DATE_EPOCH": "0",
    "FORCE_SOURCE_DATE": "1",
}

_ERROR_LINE = re.compile(r"^(?:! .*|.+:\d+: .*)$")
_CONTEXT_END = re.compile(r"^l\.\d+ ")
_LOG_STATISTICS = "Here is how much of TeX's memory you used"
_OVERFULL = re.compile(
    r"^Overfull \\(?P<box>[hv])box \((?P<points>[0-9.]+)pt too (?:wide|high)\) "
    r"(?P<where>in paragraph|in alignment|detected|has occurred while \\output is active)"
    r"(?: at lines? (?P<first>\d+)(?:--(?P<last>\d+))?)?",
    re.MULTILINE,
)


class LatexError(RuntimeError):
    """pdflatex failed (or is missing); the message holds the relevant lines of the log."""


@dataclass(frozen=True)
class OverfullBox:
    """One ``Overfull \\hbox``/``\\vbox`` warning.

    ``points`` is how much too wide (or too high) the box is; ``lines`` the source lines TeX names
    (first, last), None when it names none (a vbox built by the output routine).

    ``in_display_math`` follows what TeX reports: an hbox "detected at line" is a box of a fixed
    width, which in our documents is a displayed equation (``\\[...\\]``, ``align``, ``gather``:
    amsmath sets each display line in a box as wide as the line) and an hbox "in alignment" is a
    row of a vertical-mode ``\\halign`` (``eqnarray``). An hbox "in paragraph" is running text,
    inline math and ``tabular``\\s inside a paragraph included; vboxes are never display math.
    (A ``\\makebox[width]`` in text is also "detected at line": TeX cannot tell it apart.)
    """

    box: str
    points: float
    lines: tuple[int, int] | None
    in_display_math: bool
    message: str


def pdflatex_available() -> bool:
    """Whether ``pdflatex`` is on the PATH."""
    return shutil.which("pdflatex") is not None


def overfull_boxes(log_text: str) -> list[OverfullBox]:
    """Every overfull-box warning in ``log_text`` (a pdflatex log), in order."""
    boxes = []
    for match in _OVERFULL.finditer(log_text):
        where = match["where"]
        lines = None
        if match["first"] is not None:
            first = int(match["first"])
            lines = (first, int(match["last"]) if match["last"] is not None else first)
        display = match["box"] == "h" and where in ("detected", "in alignment")
        boxes.append(OverfullBox(f"{match['box']}box", float(match["points"]), lines, display, match[0]))
    return boxes


def error_excerpt(log_text: str, context: int = CONTEXT_LINES, max_errors: int = MAX_ERRORS) -> str:
    r"""The lines of a pdflatex log that explain a failure: each error line (``! ...`` or
    ``file:line: ...``) followed by TeX's context up to its ``l.<line>`` line and the rest of that
    source line (at most ``context`` lines, blank ones dropped); the last lines of the log if it has
    no error line (a run that stopped for another reason).

    >>> log = "noise\n./a.tex:5: Undefined control sequence.\nl.5 \\foo\n        {bar}\nstatistics"
    >>> print(error_excerpt(log))
    ./a.tex:5: Undefined control sequence.
    l.5 \foo
            {bar}
    """
    lines = log_text.splitlines()
    starts = [i for i, line in enumerate(lines) if _ERROR_LINE.match(line)]
    if not starts:
        return "\n".join(lines[-2 * context:])
    kept: list[str] = []
    for start in starts[:max_errors]:
        kept.append(lines[start])
        following = iter(lines[start + 1:])
        for _, line in zip(range(context), following, strict=False):
            if _ERROR_LINE.match(line) or line.startswith(_LOG_STATISTICS):
                break
            if line.strip():
                kept.append(line)
            if _CONTEXT_END.match(line):  # TeX's "l.5 \foo": add the rest of the source line
                rest = next(following, "")
                if rest.startswith(" ") and rest.strip():
                    kept.append(rest)
                break
    if len(starts) > max_errors:
        kept.append(f"... and {len(starts) - max_errors} more error line(s) in the log")
    return "\n".join(kept)


def _check_tex(tex_path: str | os.PathLike, runs: int, timeout: float) -> Path:
    tex = Path(tex_path)
    if tex.suffix != ".tex":
        raise ValueError(f"tex_path must name a .tex file, got {str(tex)!r}")
    if not tex.is_file():
        raise FileNotFoundError(f"tex_path {str(tex)!r} does not exist (or is not a file)")
    if not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be a positive integer, got {runs!r}")
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return tex.resolve()


def compile_pdf(tex_path: str | os.PathLike, *, runs: int = 2, timeout: float = 120) -> Path:
    """Compile ``tex_path`` with pdflatex ``runs`` times; return the path of the PDF written beside
    it (relative if ``tex_path`` is).

    Raises :class:`LatexError` when pdflatex is missing, fails, or takes longer than ``timeout``
    seconds for one run; the log is then left beside the ``.tex`` and no partial PDF is written.
    """
    tex = _check_tex(tex_path, runs, timeout)  # absolute
    if not pdflatex_available():
        raise LatexError(f"pdflatex not found; {INSTALL_TEX}")
    destination, log_destination = tex.with_suffix(".pdf"), tex.with_suffix(".log")
    environment = {**os.environ, **TEX_ENVIRONMENT}
    build = Path(tempfile.mkdtemp(dir=tex.parent, prefix=f".{tex.stem}.pdflatex."))
    try:
        built, log = build / f"{tex.stem}.pdf", build / f"{tex.stem}.log"
        for run in range(1, runs + 1):
            try:
                finished = subprocess.run(
                    ["pdflatex", *PDFLATEX_OPTIONS, f"-output-directory={build}", tex.name],
                    cwd=tex.parent, env=environment, stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, check=False)
            except subprocess.TimeoutExpired:
                _keep_log(log, log_destination)
                raise LatexError(f"pdflatex on {tex.name} took longer than {timeout} s (run {run} of "
                                 f"{runs}); log: {log_destination}") from None
            if finished.returncode != 0 or not built.is_file():
                log_text = _keep_log(log, log_destination)
                if log_text is None:  # no log at all: pdflatex's own output says why
                    log_text = finished.stdout.decode("utf-8", errors="replace")
                raise LatexError(f"pdflatex failed on {tex.name} (run {run} of {runs}, exit code "
                                 f"{finished.returncode}); log: {log_destination}\n"
                                 f"{error_excerpt(log_text)}")
        _keep_log(log, log_destination)
        os.replace(built, destination)  # same directory tree, so the rename is atomic
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return Path(tex_path).with_suffix(".pdf")  # as the caller named it, relative or not


def _keep_log(log: Path, destination: Path) -> str | None:
    """Move the run's log beside the ``.tex``; its text, or None when pdflatex wrote none."""
    if not log.is_file():
        return None
    text = log.read_text(encoding="utf-8", errors="replace")
    os.replace(log, destination)
    return text


def pdf_text(pdf_path: str | os.PathLike) -> str:
    """The text of a PDF as ``pdftotext -layout`` extracts it (UTF-8)."""
    pdf = Path(pdf_path)
    if not pdf.is_file():
        raise FileNotFoundError(f"pdf_path {str(pdf)!r} does not exist (or is not a file)")
    if shutil.which("pdftotext") is None:
        raise LatexError(f"pdftotext not found; {INSTALL_TEX}")
    finished = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(pdf), "-"],
                              stdin=subprocess.DEVNULL, capture_output=True, check=False, timeout=60)
    if finished.returncode != 0:
        raise LatexError(f"pdftotext failed on {pdf.name}: "
                         f"{finished.stderr.decode('utf-8', errors='replace').strip()}")
    return finished.stdout.decode("utf-8")
