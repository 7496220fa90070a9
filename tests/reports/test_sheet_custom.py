"""Sheets of any cell: a custom cell's sheet compiles and shows its title and equations; its prose is
generated from its equations (p_i is a peephole's weight vector, never a bias; a gate is named by what
it does), in Indonesian too, and says nothing about another cell; whatever a user writes in a cell
file is printed literally, never run; ``bpttlab sheet --cell PATH.cell`` works, a bad name or file is
one line and exit status 2, a cell whose derivation does not prove exact exit status 1 and no sheet."""

import re
from pathlib import Path

import pytest

from bpttlab.derivations import CELLS, VARIANTS, custom_cell
from bpttlab.reports.cli.app import main
from bpttlab.reports.sheets.context import cell_section
from bpttlab.reports.sheets.languages import LANGUAGES
from bpttlab.reports.sheets.pdflatex import pdf_text
from bpttlab.reports.sheets.writer import VARIANTS_SHEET, render_sheet, write_sheets

NASTY = r"\input{/etc/passwd} & $x^2$ #%_{}~^\\"
LEAKY = """
    z_t = sigmoid(W_xz @ x_t + W_hz @ h_prev + p_z * h_prev + b_z)
    n_t = relu(W_xn @ x_t + W_hn @ h_prev + b_n)
    h_t = (1 - z_t) * h_prev + z_t * n_t
"""


def leaky(title: str = "Leaky gated relu cell", name: str = "leaky"):
    return custom_cell(name, LEAKY, states={"h_t": "h_prev"}, params=["p_z"], title=title)


def symbol_rows(tex: str) -> dict[str, str]:
    """The symbol table of the first cell section: symbol → meaning."""
    table = tex[tex.index(r"\midrule", tex.index(r"\label{sec:")):]
    table = table[:table.index(r"\bottomrule")]
    rows = [line.split(" & ") for line in table.splitlines()[1:] if " & " in line]
    return {row[0]: row[2].removesuffix(r" \\") for row in rows}


def section_of(tex: str, label: str) -> str:
    start = tex.index(rf"\label{{sec:{label}}}")
    following = [tex.find(marker, start) for marker in (r"\section", r"\end{document}")]
    return tex[start:min(position for position in following if position > 0)]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    out = tmp_path_factory.mktemp("custom")
    written = write_sheets(out, [leaky(), leaky(NASTY, "nasty")], ("en", "id"), ("course",), pdf=True)
    return {s.name: s for s in written}


def test_a_custom_sheet_shows_its_title_and_equations(compiled):
    text = pdf_text(compiled["leaky.en.course"].pdf)
    flat = " ".join(text.split())
    assert "Backpropagation through time: Leaky gated relu cell" in flat
    assert "1 Leaky gated relu cell" in flat  # the section
    for equation in ("zt = σ(az,t )", "ht = (1 − zt ) ⊙ ht−1 + zt ⊙ h̃t", "h̃t = relu(ah̃,t )"):
        assert equation in text, equation
    assert "step(" in text  # relu's derivative in the backward step
    indonesian = " ".join(pdf_text(compiled["leaky.id.course"].pdf).split())
    assert "Perambatan balik melalui waktu: Leaky gated relu cell" in indonesian


def test_a_title_is_printed_literally_and_never_run(compiled):
    sheet = compiled["nasty.en.course"]
    text = " ".join(pdf_text(sheet.pdf).split())
    assert text.count(NASTY) == 5, text[:600]  # the title, the intro, the section, two captions
    assert "root:" not in text  # /etc/passwd was not read
    tex = sheet.tex.read_text(encoding="utf-8")
    assert r"\input{/etc" not in tex and "$x^2$" not in tex
    assert r"\textbackslash{}input\{/etc/passwd\} \& \$x" in tex


@pytest.mark.parametrize("bad", ["bell\a", "new\nline", "esc\x1b[31m", "rtl\u202eoverride", "nul\x00"])
def test_what_cannot_be_escaped_is_refused_in_one_line(bad):
    with pytest.raises(ValueError) as error:
        render_sheet(leaky(bad), "en", "course")
    message = str(error.value)
    assert "\n" not in message and "control character" in message and "cell title" in message


def test_p_is_a_peephole_weight_not_a_bias(rendered_sheet):
    for lang, weights, bias, inputs in (("en", "weights on", "bias", "input weights"),
                                        ("id", "bobot untuk", "bias", "bobot masukan")):
        rows = symbol_rows(rendered_sheet("lstm_peephole", lang, "course"))
        assert rows["p_i"].startswith(weights) and "bias" not in rows["p_i"], rows["p_i"]
        assert rows["b_i"].startswith(bias)
        assert rows["W_{xi}"].startswith(inputs)
    rows = symbol_rows(rendered_sheet("indrnn", "en", "dlbook"))
    assert rows[r"\bm{u}"].startswith("weights on") and "bias" not in rows[r"\bm{u}"]
    facts = cell_section("lstm_peephole", "course").facts
    assert facts.vectors == ("p_i", "p_f", "p_o") and "p_i" not in facts.biases


#: Words that belong to one kind of cell: a gate's name by its role, the Elman RNN, PyTorch's module.
ABOUT = {"forget gate": "keep", "input gate": "write", "output gate": "read", "update gate": "update",
         "reset gate": "reset"}


@pytest.mark.parametrize("lang", ["en"])
@pytest.mark.parametrize("name", list(CELLS))
def test_no_sentence_is_about_another_cell(rendered_sheet, name, lang):
    """A cell's section names only the gates it has (by what they do), mentions PyTorch's module only
    for a cell PyTorch computes, and the title of no other cell."""
    tex = rendered_sheet(name, lang, "course")
    section = section_of(tex, cell_section(name, "course").label).replace(CELLS[name].title, "")
    section = section.replace("no forget gate", "")  # a cell's own lack is about the cell
    roles = {role["kind"] for gate in cell_section(name, "course").gates for role in gate.roles}
    for words, kind in ABOUT.items():
        assert (words in section) <= (kind in roles), (name, words)
    assert ("nn.GRU" in section or "bias\\_ih" in section) <= bool(CELLS[name].torch_module), name
    others = {CELLS[other].title for other in CELLS if other != name} - {CELLS[name].title}
    assert not [title for title in others if f" {title} " in section or f"{{{title}}}" in section], name


UNGATED = custom_cell("leaky", "a_t = W_in @ x_t + W_rec @ h_prev + b_a\n"
                      "h_t = 0.5 * h_prev + 0.5 * tanh(a_t)", {"h_t": "h_prev"})


def notation_paragraph(tex: str) -> str:
    start = tex.index(r"\section*{")
    return tex[start:tex.index(r"\section", start + 1)]


@pytest.mark.parametrize("lang", ["en", "id"])
@pytest.mark.parametrize("notation", ["course", "dlbook"])
def test_a_one_cell_sheet_names_only_what_its_cell_has(lang, notation):
    """The notation paragraph takes its examples from the sheet's own cell: a cell with neither W_xh,
    W_hh nor gates hears nothing of them, nor of the LSTM's letters, anywhere on its sheet."""
    tex = render_sheet(UNGATED, lang, notation, worked=False)
    for foreign in ("W_{xh}", "W_{hh}", "LSTM", "GRU", "gate", "gerbang", r"\bm{U}", r"\bm{W}$", "^{f}",
                    r"\bm{s}^{(t)}", "10.45"):
        assert foreign not in tex, (lang, notation, foreign)
    paragraph = notation_paragraph(tex)
    own = cell_section(UNGATED, notation).symbols
    weights = [row.symbol for row in own if row.kind.startswith("matrix.")]
    assert len(weights) == 2 and all(f"${w}$" in paragraph for w in weights)
    gated = notation_paragraph(render_sheet("lstm", lang, notation, worked=False))
    lstm = cell_section("lstm", notation)
    assert all(f"${gate.symbol}$" in gated for gate in lstm.gates)  # a gated cell's gates are named
    assert f"${lstm.facts.states[1]}$" in gated


def test_a_custom_cell_called_like_a_built_in_is_described_by_its_own_equations():
    impostor = leaky("Not the Elman RNN", name="rnn")
    tex = render_sheet(impostor, "en", "course")
    assert "Not the Elman RNN" in tex and "update gate" in tex
    assert "Worked example" not in tex  # the hello example is the built-in RNN's


def test_english_prose_says_what_the_equations_say(rendered_sheet):
    tex = " ".join(rendered_sheet("lstm_peephole", "en", "course").split())
    assert "It has two states, $h_t$ and $C_t$; the output layer reads the first, $h_t$." in tex
    assert "three parameter vectors ($p_i$, $p_f$ and $p_o$)" in tex
    assert "four biases ($b_i$, $b_f$, $b_C$ and $b_o$)" in tex
    nfg = " ".join(rendered_sheet("lstm_nfg", "en", "course").split())
    assert "The term is the identity" in nfg and "constant error carousel" in nfg
    ind = " ".join(rendered_sheet("indrnn", "en", "course").split())
    assert r"\lambda_1 = \max_i |u_i|" in ind  # IndRNN's bound, from its diagonal Jacobian


def test_indonesian_prose(rendered_sheet):
    tex = " ".join(rendered_sheet("lstm_peephole", "id", "course").split())
    assert tex.count(r"(\emph{gate})") <= 1 and tex.count(r"(\emph{pre-activation})") == 1
    assert "Sel ini memiliki dua keadaan, yaitu $h_t$ dan $C_t$" in tex
    assert r"tiga vektor parameter ($p_i$, $p_f$, dan $p_o$)" in tex
    assert "(0; 1)" in tex and "(0, 1)" not in tex.replace(r"\frac", "")
    for english in ("is defined by", "weight matrices", "element by element", "The derivatives", "feeds the"):
        assert english not in tex, english


def test_the_variants_sheet_glosses_each_english_term_once(rendered_sheet):
    tex = rendered_sheet(VARIANTS_SHEET, "id", "course")
    assert tex.count(r"(\emph{step Jacobian})") == 1
    for name in VARIANTS:
        assert rf"\label{{sec:{name}}}" in tex


def test_the_variants_sheet_shows_forward_backward_and_jacobian_of_each(rendered_sheet):
    tex = rendered_sheet(VARIANTS_SHEET, "en", "course")
    sections = tex.split(r"\section[")[1:]
    assert len(sections) == len(VARIANTS)
    for section in sections:
        for heading in ("Forward pass", "Backpropagation through time", "The step Jacobian"):
            assert rf"\subsection*{{{heading}}}" in section
        assert r"\frac{\partial h_t}{\partial h_{t-1}}" in section
    assert "Outputs and losses" not in tex and "Worked example" not in tex
    for source in ("Greff et al. (2017)", "Gers et al. (2002)", "Zhou et al. (2016)", "Li et al. (2018)"):
        assert source in tex, source
    assert r"\operatorname{step}(v)$ is 1" in tex


CELL_FILE = """# a student's cell
name: leaky_file
title: Leaky cell from a file
states: h_t <- h_prev
params: p_z
""" + LEAKY


def test_sheet_command_takes_a_cell_file(tmp_path, capsys):
    path = tmp_path / "leaky.cell"
    path.write_text(CELL_FILE, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["sheet", "--cell", str(path), "rnn", "--lang", "id", "--no-pdf", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["leaky_file.id.course.tex", "rnn.id.course.tex"]
    assert "Leaky cell from a file" in (out / "leaky_file.id.course.tex").read_text(encoding="utf-8")
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(("argument", "named"), [
    ("elman", "'elman'"),
    ("missing.cell", "missing.cell"),
    ("BAD", "bad.cell:8"),
])
def test_sheet_command_refuses_a_bad_name_or_file_in_one_line(tmp_path, capsys, argument, named):
    if argument == "BAD":
        argument = str(tmp_path / "bad.cell")
        Path(argument).write_text(CELL_FILE.replace("h_prev + b_n", "h_prv + b_n"), encoding="utf-8")
    code = main(["sheet", "--cell", argument, "--no-pdf", "--out", str(tmp_path / "out")])
    error = capsys.readouterr().err
    assert code == 2 and len(error.strip().splitlines()) == 1 and named in error, error
    assert not (tmp_path / "out").exists()


def test_sheet_command_refuses_a_title_with_a_control_character_in_one_line(tmp_path, capsys):
    path = tmp_path / "evil.cell"
    path.write_text(CELL_FILE.replace("Leaky cell from a file", "Leaky \x1b[31m cell"), encoding="utf-8")
    try:  # refused as the file is read: one line, exit status 2
        code = main(["sheet", "--cell", str(path), "--no-pdf", "--out", str(tmp_path / "out")])
    except SystemExit as exit_:
        code = exit_.code
    error = capsys.readouterr().err
    assert code == 2 and len(error.strip().splitlines()) == 1
    assert re.search(r"evil.cell:3: cell title .* control character U\+001B", error)


def test_no_sheet_is_written_for_a_cell_whose_proof_fails(tmp_path, capsys, monkeypatch):
    """A derivation that does not prove exact (here: the proof is told it failed) stops the writer
    before any sheet: one line naming the cell and the check, exit status 1, nothing written."""
    from bpttlab.reports.sheets import writer

    path = tmp_path / "leaky.cell"
    path.write_text(CELL_FILE, encoding="utf-8")
    monkeypatch.setattr(writer, "_proof", lambda _cell: (False, "step δh_{t-1}"))
    with pytest.raises(writer.ProofFailed, match=r"cell 'leaky_file'.*step δh_\{t-1\}"):
        render_sheet(str(path), "en", "course")
    code = main(["sheet", "--cell", str(path), "--no-pdf", "--out", str(tmp_path / "out")])
    error = capsys.readouterr().err
    assert code == 1 and len(error.strip().splitlines()) == 1 and "leaky_file" in error
    assert not list((tmp_path / "out").glob("*.tex"))


# Cells the cell generator found (NOTES.md, S1–S3): values no equation reads, parameters that cancel,
# a vector added rather than multiplied, a cell without parameters of its own.
ODD_CELLS = {
    "unread": "name: g\nstates: c_t <- c_prev, a_t <- a_prev\nparams: w2, p_i\nu_t = c_prev\nz_t = -(b_e)\n"
              "c_t = softplus(u_t)\na_t = -(W_h0 @ ((b_c - b_c)))\n",
    "no_parameters": "name: g\nstates: m_t <- m_prev, s_t <- s_prev, c_t <- c_prev\nparams:\nc_t = m_prev\n"
                     "s_t = m_prev\nm_t = c_prev\n",
    "cancelled": "name: g\nstates: h_t <- h_prev\nparams:\na_t = (b_a - b_a)\n"
                 "h_t = tanh(W_hh @ h_prev + W_xh @ x_t + a_t)\n",
}


@pytest.mark.parametrize("kind", ODD_CELLS)
@pytest.mark.usefixtures("pdflatex")
def test_an_odd_cell_gets_a_sheet_that_compiles_and_says_what_is_unused(tmp_path, kind):
    path = tmp_path / f"{kind}.cell"
    path.write_text(ODD_CELLS[kind], encoding="utf-8")
    for lang in LANGUAGES:
        tex = render_sheet(str(path), lang, "course")
        assert "$$" not in tex  # never math around nothing
    sheet = write_sheets(tmp_path / "out", [str(path)], ("en",), ("course",), pdf=True)[0]
    text = " ".join(pdf_text(sheet.pdf).split())
    said = {"unread": "a value that no equation reads", "no_parameters": "It has no parameters of its own",
            "cancelled": "a parameter that no equation reads"}[kind]
    assert said in text


def test_a_gate_letter_used_the_other_way_round_is_pointed_out_where_it_changes():
    """Finding 13: the course GRU's z_t weights the candidate, PyTorch's the old state; the second
    section on a sheet with both says so first (read from the gates' roles), a sheet with one says
    nothing."""
    from bpttlab.reports.sheets.notation_facts import gate_contrasts

    sections = [cell_section(name, "course") for name in ("gru", "gru_torch")]
    update = {s.label: next(r for g in s.gates for r in g.roles if r["kind"] == "update") for s in sections}
    assert update[sections[0].label]["weights_new"] != update[sections[1].label]["weights_new"]
    contrast = gate_contrasts(sections)
    assert list(contrast) == [sections[1].label]
    assert contrast[sections[1].label].acts_on == update[sections[1].label]["acts_on"] == "h_{t-1}"
    assert gate_contrasts(sections[:1]) == {} and gate_contrasts(sections[1:]) == {}
    for lang, words in (("en", "In this section $z_t$ weights the old state $h_{t-1}$"),
                        ("id", "Di bagian ini $z_t$ membobot keadaan lama $h_{t-1}$")):
        tex = render_sheet("course", lang, "course", worked=False)
        section = section_of(tex, sections[1].label)
        assert words in section and rf"\ref{{sec:{sections[0].label}}}" in section
        assert words not in render_sheet("gru_torch", lang, "course", worked=False)
