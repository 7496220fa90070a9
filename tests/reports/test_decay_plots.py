"""``bpttlab decay``: the figures are real images of the expected size, the PDFs are PDFs, the data
files are byte-identical across runs, labels follow ``--lang``, the exit status follows the bound
check, and bad options or an unwritable folder give one line."""

import argparse
import json

import matplotlib.image
import numpy as np
import pytest

import bpttlab.numeric.decay.study
from bpttlab.derivations import CELLS
from bpttlab.numeric.decay.study import CELLS as FIRST_FIGURE_CELLS
from bpttlab.numeric.decay.study import Curve, DecayStudy, decay_study
from bpttlab.reports.cli import decay as decay_command
from bpttlab.reports.decay.job import write_decay
from bpttlab.reports.decay.plots import FIGURES, OKABE_ITO, PIXELS, WORDS, cell_labels, decay_figures
from bpttlab.reports.sheets.languages import LANGUAGES

SMALL = {"T": 20, "H": 6, "seeds": (0, 1), "radii": (0.5, 3.0), "forget_biases": (0.0, 3.0)}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    return write_decay(first, **SMALL), write_decay(second, **SMALL, langs=("en",))


def test_every_figure_is_a_png_of_slide_size_and_a_pdf(written):
    result, _ = written
    folder = result.headline.parent
    expected = {"decay.csv", "decay.json", "clip.json", "trunc.json"} | {
        f"{name}.{lang}.{suffix}" for name in (*FIGURES, "clip", "trunc") for lang in LANGUAGES
        for suffix in ("png", "pdf")}
    assert {p.name for p in result.written} == expected == {p.name for p in folder.iterdir()}
    assert result.headline.name == "cells.en.png" and result.passed
    for path in result.written:
        if path.suffix == ".png":
            image = matplotlib.image.imread(path)
            assert image.shape[:2] == (PIXELS[1], PIXELS[0]) == (720, 1280)
            assert image[..., :3].std() > 0.05  # drawn on, not a blank canvas
        elif path.suffix == ".pdf":
            data = path.read_bytes()
            assert data.startswith(b"%PDF") and len(data) > 5000 and b"CreationDate" not in data


def test_data_files_are_identical_across_runs(written):
    first, second = written
    for name in ("decay.csv", "decay.json"):
        a, b = (r.headline.parent / name for r in (first, second))
        assert a.read_bytes() == b.read_bytes()


def test_the_data_hold_every_curve_and_step(written):
    folder = written[0].headline.parent
    data = json.loads((folder / "decay.json").read_text())
    assert (data["T"], data["H"], data["seeds"]) == (20, 6, [0, 1]) and data["bound_check"]["passed"]
    labels = {name: [c["label"] for c in curves] for name, curves in data["figures"].items()}
    variants = labels.pop("variants")
    assert labels == {"cells": ["rnn", "lstm", "lstm c", "gru"], "radii": ["rho=0.5", "rho=3"],
                      "forget_bias": ["b_f=0", "b_f=3"]}
    # The variants figure: the LSTM as the reference, then every registered cell the first figure leaves out.
    assert variants[:2] == ["lstm", "lstm c"]
    assert {label.split()[0] for label in variants} == {"lstm"} | set(CELLS) - set(FIRST_FIGURE_CELLS)
    rnn = data["figures"]["cells"][0]
    assert rnn["k"] == list(range(1, 21)) and rnn["median_log10"][-1] > rnn["median_log10"][0]
    lines = (folder / "decay.csv").read_text().splitlines()
    assert lines[0].endswith("seed_0_log10,seed_1_log10")
    assert len(lines) == 1 + 20 * (4 + 2 + 2 + len(variants))  # a row per curve and step


def test_labels_follow_the_language_and_colours_are_okabe_ito():
    study = decay_study(T=10, H=4, seeds=(0,), radii=(0.5,), forget_biases=(1.0,), cells=("rnn", "gru"))
    for lang in LANGUAGES:
        figures = decay_figures(study, lang)
        axes = figures["forget_bias"].axes[0]
        assert axes.get_xlabel() == WORDS[lang]["step"]
        assert axes.get_title(loc="left") == WORDS[lang]["forget_bias"]
        legend = [t.get_text() for t in figures["radii"].axes[0].get_legend().get_texts()]
        assert legend[-1] == WORDS[lang]["bound"]
        assert ("0,5" if lang == "id" else "0.5") in legend[0]
        colours = {line.get_color() for fig in figures.values() for line in fig.axes[0].get_lines()}
        assert colours <= set(OKABE_ITO) | {"#555555"}
    assert WORDS["en"].keys() == WORDS["id"].keys()
    with pytest.raises(ValueError, match="lang must be one of en, id"):
        decay_figures(study, "de")
    with pytest.raises(ValueError, match="langs must be"):
        write_decay("unused", langs=("fr",))


def test_the_variants_figure_splits_the_cells_by_their_states_and_the_axes_say_what_they_show():
    """The variants in two panels, those with a further state (the LSTM's kin) and those with one,
    each cell once, the LSTM's dashed reference in both; the cells figure, with a cell state's curve
    among the hidden states', labels its axis as a gradient norm; the bound's legend defines λ₁."""
    study = decay_study(T=10, H=4, seeds=(0,), radii=(0.5,), forget_biases=(1.0,), cells=("rnn", "lstm"))
    for lang in LANGUAGES:
        words = WORDS[lang]
        figures = decay_figures(study, lang)
        top, bottom = figures["variants"].axes
        assert [top.get_title("left"), bottom.get_title("left")] == [words["variants_gated"],
                                                                       words["variants_single"]]
        labels = cell_labels([*CELLS, *(c.cell for c in study.variants)], lang)
        reference = study.variants[0].cell
        for axes, more in ((top, True), (bottom, False)):
            shown = [t.get_text() for t in axes.get_legend().get_texts()]
            cells = [c.cell for c in study.variants[1:] if c.what == "dL/dh_k"
                     and (len(CELLS[c.cell].states) > 1) == more]
            assert len(shown) == len(cells) + 1 and shown[-1].startswith(labels[reference])
            assert all(text.startswith(labels[cell]) for text, cell in zip(shown, cells, strict=False))
        assert figures["cells"].axes[0].get_ylabel() == words["gradient_norm"]
        assert "W_{hh}" in words["bound"] and r"\lambda_1$:" in words["bound"]


def parse(*argv):
    parser = argparse.ArgumentParser(prog="bpttlab decay")
    decay_command.build_parser(parser)
    return parser.parse_args(list(argv))


def test_run_writes_and_reports_and_fails_when_the_bound_check_fails(tmp_path, capsys, monkeypatch):
    args = parse("--T", "12", "--H", "4", "--seeds", "1", "--out", str(tmp_path / "ok"), "--lang", "id",
                 "--radii", "0.5", "--forget-biases", "1", "--cells", "rnn")
    assert decay_command.run(args) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'ok' / 'cells.id.png'}" in out and "holds on all 3 RNNs" in out
    monkeypatch.setattr(bpttlab.numeric.decay.study, "BOUND_TOLERANCE", -np.inf)  # no norm can pass now
    args.out = str(tmp_path / "failing")
    assert decay_command.run(args) == 1
    assert "bound check FAILED on 3 of 3 RNNs" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["--T", "1"], "argument --T: must be ≥ 2"),
    (["--T", "many"], "argument --T: expected an integer"),
    (["--H", "0"], "argument --H: must be ≥ 1"),
    (["--seeds", "0"], "argument --seeds: must be ≥ 1"),
    (["--radii", "-1"], "argument --radii: expected a positive number"),
    (["--forget-biases", "nan"], "argument --forget-biases: expected a finite number"),
    (["--lang", "de"], "argument --lang: invalid choice"),
    (["--cells", "elman"], "argument --cells: unknown cell 'elman'"),
])
def test_bad_options_exit_2_with_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse(*argv)
    assert exit_.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and message in errors[0]


def test_an_unwritable_folder_is_one_line_and_status_1(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert decay_command.run(parse("--T", "5", "--seeds", "1", "--out", str(blocker / "sub"))) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and str(blocker / "sub") in captured.err


def test_norms_beyond_the_float_range_are_cut_not_stretched(recwarn):
    steps = np.arange(1, 501)

    def curve(label, what, setting, log10):
        return Curve(label, "rnn", what, setting, steps, (0,), log10[None, :], (5.0,))
    vanishing, exploding = -1.2 * (500 - steps), 0.9 * (500 - steps)  # to 10^-598 and 10^449
    study = DecayStudy(T=500, H=4, seeds=(0,), every_step=True,
                       cells=(curve("rnn", "dL/dh_k", {}, vanishing),),
                       radii=(curve("rho=3", "dh_T/dh_k", {"radius": 3.0}, exploding),),
                       forget_biases=(curve("b_f=0", "dL/dh_k", {"forget_bias": 0.0}, vanishing),))
    for figure in decay_figures(study).values():
        figure.canvas.draw()
        bottom, top = figure.axes[0].get_ylim()
        assert 1e-301 <= bottom < top <= 1e301
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_cell_labels_come_from_the_registry():
    study = decay_study(T=6, H=3, seeds=(0,), radii=(0.5,), forget_biases=(0.0,),
                        cells=("rnn", "mgu", "indrnn"))
    axes = decay_figures(study, "id")["cells"].axes[0]
    legend = [t.get_text() for t in axes.get_legend().get_texts()]
    # the cells' titles in the figure's language, listed as the language lists
    assert [label.split("  (")[0] for label in legend] == ["RNN Elman", "Unit bergerbang minimal", "IndRNN"]
    title = "RNN Elman, Unit bergerbang minimal, dan IndRNN pada barisan masukan yang sama"
    assert axes.get_title(loc="left") == title
    labels = cell_labels(["gru", "gru_torch", "lstm"])
    assert labels == {"gru": CELLS["gru"].title, "gru_torch": CELLS["gru_torch"].title, "lstm": "LSTM"}
    assert cell_labels(["my_cell"]) == {"my_cell": "my_cell"}  # not registered: a .cell path's cell


def test_decay_cells_take_names_and_cell_files(tmp_path, capsys):
    path = tmp_path / "mine.cell"
    path.write_text("name: mine\nstates: h_t <- h_prev\nh_t = tanh(W_xh @ x_t + W_hh @ h_prev + b_h)\n")
    parser = argparse.ArgumentParser(prog="decay")
    decay_command.build_parser(parser)
    assert [c.name for c in parser.parse_args(["--cells", "mgu", str(path)]).cells] == ["mgu", "mine"]
    for bad, named in (("elman", "'elman'"), (str(tmp_path / "missing.cell"), "missing.cell")):
        with pytest.raises(SystemExit) as exit_:
            parser.parse_args(["--cells", bad])
        error = capsys.readouterr().err.strip().splitlines()
        assert exit_.value.code == 2 and named in error[-1] and "error" in error[-1]
