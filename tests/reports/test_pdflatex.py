"""bpttlab.reports.sheets.pdflatex: compiling, failing with the relevant lines of the log and no partial PDF,
reading overfull boxes and the PDF's text."""

from pathlib import Path

import pytest

import bpttlab.reports.sheets.pdflatex as pdflatex
from bpttlab.reports.sheets.pdflatex import (
    INSTALL_TEX,
    LatexError,
    compile_pdf,
    error_excerpt,
    overfull_boxes,
    pdf_text,
    pdflatex_available,
)

VALID = r"""\documentclass{article}
\begin{document}
\section{Start}\label{start}
Backpropagation through time, see section~\ref{start}.
\end{document}
"""

# The undefined control sequence is on line 5.
UNDEFINED = r"""\documentclass{article}
\begin{document}
A first paragraph.

\thisisnotdefined{x}
\end{document}
"""

# Fine on the first run; the second run reads the file the first one wrote and fails.
FAILS_ON_SECOND_RUN = r"""\documentclass{article}
\begin{document}
\IfFileExists{\jobname.later}{\input{\jobname.later}}{}
\immediate\newwrite\later\immediate\openout\later=\jobname.later
\immediate\write\later{\string\undefinedonthesecondrun}
\immediate\closeout\later
Text.
\end{document}
"""

# Line 3: a paragraph 20pt too wide; line 5: a display 15pt too wide.
OVERFULL = r"""\documentclass{article}
\begin{document}
\noindent\rule{\dimexpr\linewidth+20pt}{1pt}

\[ \rule{\dimexpr\displaywidth+15pt}{1pt} \]
\end{document}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def leftovers(folder: Path) -> list[str]:
    """Hidden build directories (or anything else hidden) left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_pdflatex_is_found_here():
    assert pdflatex_available()


def test_a_valid_document_compiles_and_its_text_is_readable(tmp_path):
    pdf = compile_pdf(write(tmp_path, "valid.tex", VALID))
    assert pdf == tmp_path / "valid.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    text = pdf_text(pdf)
    assert "Backpropagation through time" in text
    assert "see section 1." in text  # the reference resolved: the second run happened
    assert (tmp_path / "valid.log").is_file()
    assert leftovers(tmp_path) == []


def test_a_relative_path_is_compiled_in_its_own_directory(tmp_path, monkeypatch):
    write(tmp_path, "valid.tex", VALID)
    monkeypatch.chdir(tmp_path.parent)
    pdf = compile_pdf(Path(tmp_path.name) / "valid.tex", runs=1)
    assert pdf == Path(tmp_path.name) / "valid.pdf"
    assert (tmp_path / "valid.pdf").is_file() and (tmp_path / "valid.log").is_file()


def test_an_undefined_control_sequence_shows_only_the_relevant_lines(tmp_path):
    tex = write(tmp_path, "broken.tex", UNDEFINED)
    with pytest.raises(LatexError) as caught:
        compile_pdf(tex)
    message = str(caught.value)
    assert "broken.tex:5: Undefined control sequence" in message
    assert r"l.5 \thisisnotdefined" in message
    assert len(message.splitlines()) < 30
    assert "LaTeX Font Info" not in message and "memory you used" not in message
    assert "run 1 of 2" in message


def test_a_failure_leaves_no_pdf_and_no_build_directory(tmp_path):
    tex = write(tmp_path, "broken.tex", UNDEFINED)
    with pytest.raises(LatexError):
        compile_pdf(tex)
    assert not (tmp_path / "broken.pdf").exists()
    assert (tmp_path / "broken.log").is_file()  # kept: it explains the failure
    assert leftovers(tmp_path) == []


def test_a_failure_on_the_second_run_keeps_the_previous_pdf(tmp_path):
    tex = write(tmp_path, "sheet.tex", VALID)
    before = compile_pdf(tex).read_bytes()
    tex.write_text(FAILS_ON_SECOND_RUN, encoding="utf-8")
    with pytest.raises(LatexError, match=r"run 2 of 2") as caught:
        compile_pdf(tex)
    assert "Undefined control sequence" in str(caught.value)
    # The first run produced a PDF in the build directory; it must not replace the good one.
    assert (tmp_path / "sheet.pdf").read_bytes() == before
    assert leftovers(tmp_path) == []


def test_ctrl_c_during_the_second_run_leaves_no_pdf(tmp_path, monkeypatch):
    tex = write(tmp_path, "valid.tex", VALID)
    real_run, calls = pdflatex.subprocess.run, []

    def interrupted_on_the_second_run(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_run(*args, **kwargs)

    monkeypatch.setattr(pdflatex.subprocess, "run", interrupted_on_the_second_run)
    with pytest.raises(KeyboardInterrupt):
        compile_pdf(tex)
    assert len(calls) == 2
    assert not (tmp_path / "valid.pdf").exists()  # the first run's PDF stayed in the build directory
    assert leftovers(tmp_path) == []


def test_a_run_that_never_ends_times_out(tmp_path):
    tex = write(tmp_path, "loop.tex", "\\documentclass{article}\n\\begin{document}\n\\def\\x{\\x}\\x\n"
                                      "\\end{document}\n")
    with pytest.raises(LatexError, match=r"pdflatex on loop\.tex took longer than 0\.5 s \(run 1 of 2\)"):
        compile_pdf(tex, timeout=0.5)
    assert not (tmp_path / "loop.pdf").exists()
    assert leftovers(tmp_path) == []


def test_overfull_boxes_of_a_crafted_document(tmp_path):
    compile_pdf(write(tmp_path, "wide.tex", OVERFULL), runs=1)
    boxes = overfull_boxes((tmp_path / "wide.log").read_text(errors="replace"))
    assert [(b.box, b.points, b.lines, b.in_display_math) for b in boxes] == [
        ("hbox", pytest.approx(20.0, abs=0.01), (3, 4), False),
        ("hbox", pytest.approx(15.0, abs=0.01), (5, 5), True),
    ]


def test_overfull_boxes_parses_every_kind_of_warning():
    log = "\n".join([
        r"Overfull \hbox (12.3pt too wide) in paragraph at lines 10--12",
        r"[]\OT1/cmr/m/n/10 text",
        r"Overfull \hbox (0.51254pt too wide) in alignment at lines 20--25",
        r"Overfull \hbox (4.0pt too wide) detected at line 40",
        r"Overfull \vbox (7.5pt too high) has occurred while \output is active",
        r"Overfull \vbox (2.25pt too high) detected at line 50",
        r"Underfull \hbox (badness 10000) in paragraph at lines 1--2",
    ])
    boxes = overfull_boxes(log)
    assert [(b.box, b.points, b.lines, b.in_display_math) for b in boxes] == [
        ("hbox", 12.3, (10, 12), False),
        ("hbox", 0.51254, (20, 25), True),
        ("hbox", 4.0, (40, 40), True),
        ("vbox", 7.5, None, False),
        ("vbox", 2.25, (50, 50), False),
    ]
    assert boxes[0].message == r"Overfull \hbox (12.3pt too wide) in paragraph at lines 10--12"


def test_error_excerpt_falls_back_to_the_end_of_a_log_without_error_lines():
    log = "\n".join(f"line {i}" for i in range(100))
    assert error_excerpt(log, context=3).splitlines() == ["line 94", "line 95", "line 96", "line 97",
                                                          "line 98", "line 99"]


def test_error_excerpt_caps_the_number_of_errors():
    log = "\n".join(f"./a.tex:{i}: Undefined control sequence.\nl.{i} \\x{i}" for i in range(1, 11))
    lines = error_excerpt(log, max_errors=3).splitlines()
    assert lines == ["./a.tex:1: Undefined control sequence.", r"l.1 \x1",
                     "./a.tex:2: Undefined control sequence.", r"l.2 \x2",
                     "./a.tex:3: Undefined control sequence.", r"l.3 \x3",
                     "... and 7 more error line(s) in the log"]


def test_a_missing_tex_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "nowhere.tex"
    with pytest.raises(FileNotFoundError, match=r"tex_path '.*nowhere\.tex' does not exist"):
        compile_pdf(missing)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("arguments", "message"), [
    ({"tex_path": "notes.txt"}, r"tex_path must name a \.tex file, got 'notes\.txt'"),
    ({"runs": 0}, r"runs must be a positive integer, got 0"),
    ({"timeout": 0}, r"timeout must be a positive number of seconds, got 0"),
])
def test_bad_arguments_are_value_errors(tmp_path, arguments, message):
    tex = write(tmp_path, "valid.tex", VALID)
    arguments = {"tex_path": tex, **arguments}
    with pytest.raises(ValueError, match=message):
        compile_pdf(arguments.pop("tex_path"), **arguments)


def test_a_missing_pdf_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"pdf_path '.*absent\.pdf' does not exist"):
        pdf_text(tmp_path / "absent.pdf")


def test_the_install_hint_names_the_packages_and_the_make_target():
    assert "sudo apt-get install texlive-latex-base texlive-latex-recommended" in INSTALL_TEX
    assert "make tex" in INSTALL_TEX


# \pdfshellescape is 0 when \write18 is disabled, 2 when restricted (TeX Live's default), 1 when on.
SHELL_ESCAPE = r"""\documentclass{article}
\begin{document}
\typeout{SHELL ESCAPE=\the\pdfshellescape}
\immediate\write18{kpsewhich --version}
Text.
\end{document}
"""


def test_pdflatex_runs_without_shell_escape(tmp_path):
    """A sheet holds text from users' cell files: pdflatex must never run a command for it."""
    assert "-no-shell-escape" in pdflatex.PDFLATEX_OPTIONS
    tex = tmp_path / "shell.tex"
    tex.write_text(SHELL_ESCAPE)
    compile_pdf(tex, runs=1)
    log = tex.with_suffix(".log").read_text(errors="replace")
    assert "SHELL ESCAPE=0" in log
    assert "\\write18 disabled" in log or "runsystem(kpsewhich --version)...disabled" in log
