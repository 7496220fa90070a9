"""The course sheet's further topics: the RNN types, the unrolled graph and every gated cell's diagram
(TikZ), the comparison table (parameter counts against the engine), why δs = ŷ − y (each printed
step checked by SymPy), why b_f = 1 (measured horizons), gradient clipping and truncated BPTT (the
``clip`` and ``trunc`` files of ``bpttlab decay``, on the sheet), the scalar RNN worked by hand and the
exercises, each number recomputed here; the course sheet compiles with all of it in both languages and
notations (pdflatex required)."""

from __future__ import annotations

import json
import math
import re
import shutil

import numpy as np
import pytest
import sympy as sp
from sympy.parsing.sympy_parser import (
    implicit_multiplication_application,
    parse_expr,
    standard_transformations,
)

from bpttlab.derivations import Elementwise, derive
from bpttlab.derivations.activations import ACTIVATIONS
from bpttlab.derivations.cells import BUILT_IN, resolve_cell
from bpttlab.derivations.printing.notations import NOTATIONS
from bpttlab.numeric import build_engine
from bpttlab.numeric.decay.clipping import clipping_demo
from bpttlab.numeric.decay.truncation import truncation_study
from bpttlab.reports.decay.remedies import WORDS, clip_figure, clip_from_json, clip_json
from bpttlab.reports.sheets.diagrams import RNN_TYPES, cell_diagram, rnn_types
from bpttlab.reports.sheets.pdflatex import overfull_boxes, pdf_text
from bpttlab.reports.sheets.softmax_steps import SoftmaxSteps, check_steps, softmax_steps, steps_latex
from bpttlab.reports.sheets.topics import comparison_table, exercises, forget_bias, load_remedies, scalar_rnn
from bpttlab.reports.sheets.writer import COMBINED, LANGUAGES, render_sheet

SIZES = ({"D": 3, "H": 5}, {"D": 8, "H": 32})


@pytest.fixture(scope="module")
def decay_folder(sheets_decay_folder):
    """One small ``bpttlab decay`` run (conftest's sheets_decay_folder): in a process of its own, in
    English only (so the Indonesian figures are drawn from its data), with the biases b_f = 0 and 1."""
    return sheets_decay_folder


# --- diagrams -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", BUILT_IN)
def test_cell_diagram_follows_the_equations(name):
    """Every value the equations define is a node (a pre-activation read by one function only is
    folded into it), every state a double-bordered node, and every arrow comes from a symbol that the
    value's right side (or its folded pre-activation's) reads."""
    c = resolve_cell(name)
    diagram = cell_diagram(c, "course")
    definitions = {eq.lhs.name: eq.rhs for eq in c.equations}
    shown = {node.name for node in diagram.nodes}
    folded = {rhs.arg.name for rhs in definitions.values() if isinstance(rhs, Elementwise)
              and rhs.arg.name in definitions and rhs.arg.name not in shown}
    assert shown == {c.x.name, *(p.name for p in c.previous_states), *definitions} - folded
    assert {node.name for node in diagram.nodes if node.state} == {s.name for s in c.new_states}

    def reads(name: str) -> set[str]:
        symbols = {s.name for s in definitions[name].atoms(sp.MatrixSymbol)} - {p.name for p in c.params}
        return set().union(*(reads(s) if s in folded else {s} for s in symbols))

    for end in shown & set(definitions):
        assert {start for start, stop in diagram.edges if stop == end} == reads(end)
    assert diagram.tikz.count(r"\node[") == len(diagram.nodes)
    assert diagram.tikz.count(r"\draw[->") == len(diagram.edges)


def test_rnn_types_put_the_loss_where_the_outputs_are():
    for kind in rnn_types("course"):
        assert kind.loss == "L = " + " + ".join(rf"\ell_{t}" for t in kind.outputs)
        assert kind.tikz.count(r"\ell_") == len(kind.outputs)
        assert kind.tikz.count("(x") == 2 * len(kind.inputs)  # a node and its arrow
    assert [k.key for k in RNN_TYPES] == ["one_to_one", "one_to_many", "many_to_one", "many_to_many",
                                          "sequence_to_sequence"]


# --- the table ----------------------------------------------------------------------------------

def _formula(text: str) -> sp.Expr:
    D, H = sp.symbols("D H")
    return parse_expr(text, {"D": D, "H": H},
                      transformations=(*standard_transformations, implicit_multiplication_application))


@pytest.mark.parametrize("notation", NOTATIONS)
def test_table_counts_equal_the_engines_parameter_sizes(notation):
    rows = comparison_table(BUILT_IN, notation)
    assert [row.name for row in rows] == list(BUILT_IN)
    for row in rows:
        engine = build_engine(row.name)
        for sizes in SIZES:
            allocated = sum(p.size for p in engine.init_params(sizes["D"], sizes["H"]).values())
            D, H = sp.symbols("D H")
            assert _formula(row.count).subs({D: sizes["D"], H: sizes["H"]}) == allocated
        assert row.example == sum(p.size for p in engine.init_params(8, 32).values())
    counts = {row.name: row.count for row in rows}
    assert counts["rnn"] == "H(H + D + 1)"
    assert counts["lstm"] == "4H(H + D + 1)" and counts["gru"] == "3H(H + D + 1)"


def test_table_gates_are_the_gate_activations_and_their_products():
    for row in comparison_table(BUILT_IN, "course"):
        c = resolve_cell(row.name)
        gated = [eq.lhs for eq in c.equations
                 if isinstance(eq.rhs, Elementwise) and ACTIVATIONS[eq.rhs.name].is_gate]
        assert len(row.gates) == len(gated)
        for gate in row.gates:
            assert gate.products and all(gate.symbol in product for product, _ in gate.products)
    lstm = comparison_table(["lstm"], "course")[0]
    assert dict((g.symbol, g.products) for g in lstm.gates)["f_t"] == ((r"f_t \odot C_{t-1}", "C_t"),)


# --- softmax + cross-entropy ------------------------------------------------------------------

@pytest.mark.parametrize("size", [2, 3, 4])
def test_softmax_steps_are_checked_by_sympy(size):
    assert check_steps(size)


def test_a_wrong_softmax_step_fails_the_check():
    steps = softmax_steps()
    wrong = SoftmaxSteps(steps.s, steps.y, steps.y_hat, steps.loss, steps.gradient,
                         steps.y_hat[sp.Symbol("m", integer=True, positive=True)] - 2 * steps.y[
                             sp.Symbol("m", integer=True, positive=True)])
    assert not check_steps(3, wrong)


@pytest.mark.parametrize(("notation", "entry", "vector"), [
    ("course", r"\hat{y}_{t,m} - y_{t,m}", (r"\delta a_{y,t}", r"\hat{y}_t - y_t")),
    ("dlbook", r"\hat{y}_m^{(t)} - y_m^{(t)}",
     (r"\delta \bm{o}^{(t)}", r"\hat{\bm{y}}^{(t)} - \bm{y}^{(t)}")),
])
def test_printed_softmax_steps_end_in_the_derivations_delta(notation, entry, vector):
    """The last printed step is the entry of the derivation's own first head line, in the notation."""
    printed = steps_latex(notation)
    d = derive("rnn", "softmax")
    assert d.head_backward[0].rhs == d.head.prediction - d.head.target
    assert printed.lines[-1][1] == entry and printed.vector == vector
    assert r"\bm" not in "".join(rhs for _, rhs in printed.lines)  # an entry is a scalar


# --- b_f, clipping, truncation ------------------------------------------------------------------

def test_the_forget_bias_figure_and_the_slower_fading_are_shown_from_the_data(decay_folder, tmp_path):
    """Finding 10: §11 shows the decay folder's forget-bias figure (drawn for the sheet from
    decay.json); finding 11: the LSTM's decay section says the fitted factor exceeds σ(b_f) exactly when
    the data say so, recomputed here from decay.json."""
    from bpttlab.reports.sheets.decay_figure import cell_decay_figures

    found = forget_bias(decay_folder, "course", "id", tmp_path)
    assert found.figure == "figures/forget_bias.course.id.pdf" and (tmp_path / found.figure).is_file()
    assert forget_bias(None, "course").figure is None
    data = json.loads((decay_folder / "decay.json").read_text())
    entry = next(e for e in data["figures"]["cells"] if e["cell"] == "lstm" and e["quantity"] == "dL/dh_k")
    bias = entry["setting"]["forget_bias"]
    slower = entry["fit_of_median"]["factor_per_step"] > 1 / (1 + math.exp(-bias))
    figure = cell_decay_figures(decay_folder, tmp_path, ("lstm",), "en", "course")["lstm"]
    assert figure.slower_than_gate == slower
    tex = render_sheet("lstm", "en", "course", decay_figures={"lstm": figure})
    assert ("Yet the fitted factor" in tex) == slower
    course = render_sheet(COMBINED, "en", "course", decay_folder=decay_folder, relative_to=tmp_path)
    assert r"\label{fig:forget_bias}" in course and "figures/forget_bias.course.en.pdf" in course
    # finding 47: the cells side by side, drawn from the same data, in §10
    table = course[course.index(r"\label{tab:cells}"):course.index(r"\label{fig:forget_bias}")]
    assert r"\label{fig:cells}" in table and (tmp_path / "figures/cells.course.en.pdf").is_file()
    assert r"\label{fig:cells}" not in render_sheet(COMBINED, "en", "course")  # no data, no figure
    # the same LSTM fading by ×0.84 a step, slower than σ(1) ≈ 0.73: now the sentence is there
    for entry in data["figures"]["cells"]:
        if entry["cell"] == "lstm":
            entry["by_seed_log10"] = {seed: [(data["T"] - k) * math.log10(0.84) for k in entry["k"]]
                                      for seed in entry["by_seed_log10"]}
    folder = tmp_path / "slower"
    folder.mkdir()
    (folder / "decay.json").write_text(json.dumps(data))
    figure = cell_decay_figures(folder, tmp_path, ("lstm",), "en", "course")["lstm"]
    assert figure.slower_than_gate and figure.curves[0].factor == "0.84"
    assert r"Yet the fitted factor, $\times 0.84$, is larger than $0.73$" in render_sheet(
        "lstm", "en", "course", decay_figures={"lstm": figure})


def test_forget_bias_horizons_grow_with_the_bias(decay_folder):
    found = forget_bias(decay_folder, "course")
    data = json.loads((decay_folder / "decay.json").read_text())
    assert found.T == data["T"] == 12 and found.bias == "b_f" and found.gate == "f_t"
    assert [h.bias for h in found.horizons] == [0.0, 1.0]
    assert found.horizons[0].factor < found.horizons[1].factor
    for h, entry in zip(found.horizons, data["figures"]["forget_bias"], strict=True):
        median = entry["median_log10"]
        assert h.first == pytest.approx(10 ** (median[-2] - median[-1]))  # the first step back alone
    measured = forget_bias(None, "course")
    steps = [h.steps if h.steps is not None else measured.T for h in measured.horizons]
    assert steps == sorted(steps) and steps[0] < steps[-1]


def test_the_bounds_numbers_are_recomputed_from_the_decay_studys_networks(decay_folder, tmp_path):
    """λ₁ and ρ printed beside the bound: recomputed here from the study's own W_hh per seed (singular
    values, eigenvalues), and the fitted factor from its decay.json; the figure of the spectral radii
    is drawn in the sheet's notation."""
    from bpttlab.numeric.decay.initialisation import decay_params
    from bpttlab.reports.sheets.topics import measured_bound

    data = json.loads((decay_folder / "decay.json").read_text())
    engine = build_engine("rnn", data["head"], data["loss_at"])
    weights = [np.asarray(decay_params(engine, data["D"], data["H"], data["K"], seed)["W_hh"])
               for seed in data["seeds"]]
    largest = [np.linalg.svd(W, compute_uv=False)[0] for W in weights]
    radius = [max(abs(np.linalg.eigvals(W))) for W in weights]
    found = measured_bound(decay_folder, "rnn", "id", tmp_path, "dlbook")
    assert found.lambdas == pytest.approx(largest) and found.rhos == pytest.approx(radius)
    assert (found.lambda_low, found.rho_high) == (f"{min(largest):.2f}".replace(".", "{,}"),
                                                  f"{max(radius):.2f}".replace(".", "{,}"))
    assert found.bound_holds == all(v < 1 for v in largest)  # γ = 1 for tanh
    entry = next(e for e in data["figures"]["cells"] if e["cell"] == "rnn" and e["quantity"] == "dL/dh_k")
    assert found.factor == f"{entry['fit_of_median']['factor_per_step']:.2f}".replace(".", "{,}")
    assert found.radii_figure == "figures/radii.dlbook.id.pdf" and found.T == data["T"]


def test_the_radii_figures_conclusion_is_read_from_its_fitted_factors(decay_folder, tmp_path):
    """Which spectral radii fade and which grow (and which fade although ρ ≥ 1) comes from the fitted
    factor per step of each curve of the radii figure in decay.json, recomputed here; the sentence
    names each radius and factor."""
    from bpttlab.reports.sheets.topics import measured_bound

    folder = tmp_path / "decay"
    shutil.copytree(decay_folder, folder)
    data = json.loads((folder / "decay.json").read_text())
    first = data["figures"]["radii"][0]  # the small study has one radius: two more, one fading, one growing
    for radius, factor in ((1.5, 0.99), (3.0, 1.15)):
        fit = {**first["fit_of_median"], "factor_per_step": factor}
        data["figures"]["radii"].append({**first, "label": f"rho={radius:g}", "setting": {"radius": radius},
                                         "fit_of_median": fit})
    (folder / "decay.json").write_text(json.dumps(data))
    decay_folder = folder
    fits = [(e["setting"]["radius"], e["fit_of_median"]["factor_per_step"]) for e in data["figures"]["radii"]]
    for lang in LANGUAGES:
        words = LANGUAGES[lang]
        found = measured_bound(decay_folder, "rnn", lang, tmp_path)
        assert found.fading == tuple((words.number(f"{r:g}"), words.number(f, 3)) for r, f in fits if f < 1)
        assert found.growing == tuple((words.number(f"{r:g}"), words.number(f, 3)) for r, f in fits if f > 1)
        assert found.saturated == tuple(words.number(f"{r:g}") for r, f in fits if r >= 1 and f < 1)
        tex = render_sheet(COMBINED, lang, "course", decay_folder=decay_folder, relative_to=tmp_path)
        start = tex.index(r"~\ref{fig:radii}")
        paragraph = tex[start:tex.index(r"\begin{figure}", start)]
        for rho, factor, _ in found.radii:
            assert f"${rho}$" in paragraph and rf"$\times {factor}$" in paragraph
        grows = paragraph[paragraph.index(words.word("measured.radii.growing")[:8]):]
        assert all(f"${rho}$" in grows for rho, _ in found.growing)
        assert not any(f"${rho}$" in grows for rho, _ in found.fading)


def test_each_decay_figures_first_step_is_its_medians_own(decay_folder, tmp_path):
    """The sentence under a cell's decay figure reports the first step back apart from the fitted
    factor: the ratio of the median over the seeds at k = T − 1 and k = T, recomputed here."""
    from bpttlab.reports.sheets.decay_figure import cell_decay_figures

    data = json.loads((decay_folder / "decay.json").read_text())
    figure = cell_decay_figures(decay_folder, tmp_path, ("rnn",), "en", "course")["rnn"]
    entry = next(e for e in data["figures"]["cells"] if e["cell"] == "rnn" and e["quantity"] == "dL/dh_k")
    median = np.median([[-np.inf if v is None else v for v in values]
                        for values in entry["by_seed_log10"].values()], axis=0)
    assert figure.curves[0].first == f"{10 ** (median[-2] - median[-1]):.2f}"


def test_decay_writes_the_clip_and_trunc_files(decay_folder):
    names = {p.name for p in decay_folder.iterdir()}
    assert {"clip.json", "trunc.json", "clip.en.png", "clip.en.pdf", "trunc.en.png", "trunc.en.pdf"} <= names
    clip = json.loads((decay_folder / "clip.json").read_text())
    plain, clipped = clip["runs"]
    assert clip["spectral_radius"] == 3.0 and clipped["threshold"] == clip["threshold"]
    # θ is the median of the unclipped run's norms: it acts on the larger half, not on every update
    assert clip["threshold"] == pytest.approx(float(np.median(plain["grad_norm"])), rel=1e-9)
    assert max(plain["grad_norm"]) > 5 * clip["threshold"]  # the spikes
    touched = sum(n > clip["threshold"] for n in clipped["grad_norm"])
    assert 0 < touched < len(clipped["grad_norm"])
    assert clipped["loss_per_step"][-1] < plain["loss_per_step"][-1]
    trunc = json.loads((decay_folder / "trunc.json").read_text())
    assert {c["cell"] for c in trunc["curves"]} == set(BUILT_IN)
    assert all(trunc["T"] % k == 0 for c in trunc["curves"] for k in c["k2"])  # no shorter last block


def test_the_clipping_paragraph_says_one_run_and_the_chance_level_from_the_data(decay_folder, tmp_path):
    """Finding 14: the clipping demonstration is one run (its seed named), and its losses are set
    against ln K, the loss of a uniform guess; whether a run ends worse than guessing is recomputed."""
    clip = json.loads((decay_folder / "clip.json").read_text())
    plain, clipped = clip["runs"]
    chance = math.log(clip["K"])
    for lang in LANGUAGES:
        found = load_remedies(decay_folder, lang, tmp_path).clipping
        assert (found.K, found.seed) == (clip["K"], clip["seed"])
        assert found.chance == LANGUAGES[lang].number(chance, 2)
        assert found.plain_worse == (plain["loss_per_step"][-1] > chance)
        assert found.clipped_worse == (clipped["loss_per_step"][-1] > chance)
        tex = render_sheet(COMBINED, lang, "course", decay_folder=decay_folder, relative_to=tmp_path)
        assert rf"$\ln {clip['K']} \approx" in tex and f"${clip['seed']}$" in tex
        worse = " ".join(LANGUAGES[lang].word("clipping.chance.worse").split()).split(": ")[-1][:20]
        assert (worse in " ".join(tex.split())) == (found.plain_worse and not found.clipped_worse)


def test_the_clipping_data_are_the_same_bytes_in_another_process(decay_folder):
    assert clip_json(clipping_demo()) == (decay_folder / "clip.json").read_text()


def test_truncation_error_is_zero_once_k2_reaches_T():
    T = 8
    study = truncation_study(T=T, H=4, seeds=(0, 1), k2s=(1, 3, T - 1, T, T + 4))
    for curve in study.curves:
        errors = dict(zip(curve.k2s.tolist(), curve.errors.T, strict=True))
        assert np.all(errors[T] == 0.0) and np.all(errors[T + 4] == 0.0)
        assert np.all(errors[1] > 1e-3)


def test_indonesian_figures_write_a_decimal_comma(decay_folder):
    demo = clip_from_json((decay_folder / "clip.json").read_text())
    def note(lang: str) -> str:  # the sizes, in small print as the legend's title on a slide
        return clip_figure(demo, lang).legends[0].get_title().get_text()

    assert "laju pembelajaran 0,05" in note("id") and "learning rate 0.05" in note("en")
    assert WORDS["id"]["decimal"] == ","


def test_remedies_numbers_use_the_languages_mark(decay_folder, tmp_path):
    english = load_remedies(decay_folder, "en", tmp_path)
    indonesian = load_remedies(decay_folder, "id", tmp_path)
    assert english.clipping.learning_rate == "0.05" and indonesian.clipping.learning_rate == "0{,}05"
    # each redrawn from clip.json / trunc.json at print size, in its own language and notation
    assert english.clipping.figure == "figures/clip.course.en.pdf"
    assert indonesian.clipping.figure == "figures/clip.course.id.pdf"
    assert (tmp_path / "figures" / "trunc.course.id.pdf").is_file()


# --- exercises and the scalar RNN -------------------------------------------------------------------

def test_each_exercises_answer_is_recomputed():
    found = {e.key: e for e in exercises("en", "course")}
    assert list(found) == ["bound", "cost", "types", "forget", "clip"]
    bound = found["bound"]
    W = np.array([[0.6, -0.4], [0.3, 0.5]])  # the W_hh the question prints
    assert bound.values["W"] == r"\begin{pmatrix} 0.6 & -0.4 \\ 0.3 & 0.5 \end{pmatrix}"
    gram = W.T @ W  # λ₁² is the larger root of x² − tr(G) x + det(G)
    largest = (np.trace(gram) + np.sqrt(np.trace(gram) ** 2 - 4 * np.linalg.det(gram))) / 2
    assert bound.values["lambda"] == f"{np.sqrt(largest):.3f}"
    assert bound.values["answer"] == ("vanishes" if np.sqrt(largest) < 1 else "nothing")
    assert bound.values["power"] == f"{np.sqrt(largest) ** 20:.4f}"
    cost = found["cost"]
    # the blocks end at 20, 40, …, 1000 and each runs back 50 steps, never before step 1
    exact = sum(len(range(max(1, end - 50 + 1), end + 1)) for end in range(20, 1001, 20))
    assert exact == 2460
    assert cost.numbers == {"memory": 50, "steps": 1000 // 20 * 50, "exact": exact}
    assert cost.values["steps"] == "2{,}500" and cost.values["T"] == "1{,}000"
    assert cost.values["exact"] == "2{,}460" and cost.values["answer"] == "about"
    assert cost.values["short"] == sum(end < 50 for end in range(20, 1001, 20)) == 2
    forget = found["forget"]
    assert forget.values["gate"] == f"{0.5 ** (1 / 100):.5f}"
    assert forget.values["bias"] == f"{np.log(0.5 ** 0.01 / (1 - 0.5 ** 0.01)):.2f}"
    clip = found["clip"]
    assert clip.values["clipped"] == "0.8, 3, 5, 1.5, 5" and clip.values["touched"] == 2
    indonesian = {e.key: e for e in exercises("id", "course")}
    assert indonesian["cost"].values["steps"] == "2.500"
    assert indonesian["forget"].values["gate"].startswith("0{,}99")
    assert indonesian["clip"].values["clipped"] == "0{,}8; 3; 5; 1{,}5; 5"  # a list beside decimal commas


def test_the_scalar_rnn_table_is_recomputed():
    table = scalar_rnn("en")
    for w, row, products in zip(table.weights, table.rows, table.values, strict=True):
        h = [0.0]
        for _ in range(table.steps):
            h.append(np.tanh(w * h[-1] + 0.5))
        factors = [w * (1 - v * v) for v in h[1:]]
        assert row.fixed == f"{h[-1]:.3f}" and row.factor == f"{factors[-1]:.3f}"
        for span, value in zip(table.spans, products, strict=True):
            assert value == pytest.approx(abs(np.prod(factors[-span:])), rel=1e-12)
    assert table.values[2][0] < 0.1 < 3  # w = 3 saturates: its factor is far below |w|


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_scalar_rnns_prose_is_what_its_table_shows(rendered_sheet, lang):
    """Each row's saturation, the weight above one that saturation damps and the pair where the larger
    weight decays faster: recomputed here, and the sheet says exactly these."""
    table = scalar_rnn(lang)
    words = LANGUAGES[lang]
    h_star = {}
    for w in table.weights:
        h = 0.0
        for _ in range(table.steps):
            h = np.tanh(w * h + 0.5)
        h_star[w] = h
    derivative = {w: 1 - h * h for w, h in h_star.items()}
    level = {w: "saturated" if d < 0.05 else "partly" if d < 0.5 else "none" for w, d in derivative.items()}
    assert [row.level for row in table.rows] == [level[w] for w in table.weights]
    assert level == {0.5: "none", 1.0: "partly", 3.0: "saturated"}  # today's table, as the reviewer read it
    factor = {w: w * d for w, d in derivative.items()}
    assert [row.w for row in table.damped] == [words.number(f"{w:g}") for w in table.weights
                                               if abs(w) > 1 > abs(factor[w])]
    pairs = zip(table.weights, table.weights[1:], strict=False)  # the weights are in increasing order
    inverted = [(a, b) for a, b in pairs if factor[b] < factor[a] < 1]
    pair = table.inversion
    assert (pair.low.w, pair.high.w) == tuple(words.number(f"{w:g}") for w in inverted[0])
    tex = " ".join(rendered_sheet(COMBINED, lang, "course").split())
    inversion = " ".join(words.word("scalar.inversion").split())
    first = inversion.split(r"\VAR")[0]
    assert tex.count(first) == 1
    for w in table.weights:
        printed = f"$w = {words.number(f'{w:g}')}$"
        clause = " ".join(words.word(f"scalar.row.{level[w]}").split()).split(r"\VAR")[0]
        assert clause + printed[len("$w = "):] in tex or (clause + printed[5:]).replace("$$", "$") in tex, w
    assert "does not saturate" not in tex and "tidak jenuh, dan faktornya hanya sedikit" not in tex


# --- the sheets ---------------------------------------------------------------------------------

def test_only_the_course_sheet_has_the_topics(rendered_sheet):
    assert "Types of recurrent networks" not in rendered_sheet("rnn", "en", "course")
    assert "Types of recurrent networks" in rendered_sheet(COMBINED, "en", "course")


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("notation", NOTATIONS)
def test_course_sheet_compiles_with_the_topics(written_sheet, lang, notation):
    """The course sheet as ``bpttlab sheet --decay-figures`` writes it from the decay folder: each cell's
    decay figure, the horizons, the clipping and truncation numbers and figures (conftest's written_sheet;
    test_sheet_layout.py checks the pages of two of them)."""
    sheet = written_sheet(COMBINED, lang, notation, decay_figures=True)
    tex = sheet.tex
    source = tex.read_text()
    figures = re.findall(r"\\includegraphics\[[^]]*\]\{([^}]*(?:clip|trunc)[^}]*)\}", source)
    # redrawn at print size with the notation's length symbol and the sheet's words
    assert [f.rsplit("/", 1)[-1] for f in figures] == [f"clip.{notation}.{lang}.pdf",
                                                        f"trunc.{notation}.{lang}.pdf"]
    gated = [name for name in BUILT_IN
             if any(ACTIVATIONS[eq.rhs.name].is_gate for eq in resolve_cell(name).equations
                    if isinstance(eq.rhs, Elementwise))]
    assert source.count(r"\begin{tikzpicture}") == len(RNN_TYPES) + 1 + len(gated)
    text = " ".join(pdf_text(sheet.pdf).split())
    assert not overfull_boxes(tex.with_suffix(".log").read_text(errors="replace"))
    headings = {"en": ("Types of recurrent networks", "Gradient clipping", "Truncated backpropagation",
                       "Exercises", "Solutions"),
                "id": ("Jenis-jenis jaringan rekuren", "Pemangkasan gradien",
                       "Perambatan balik melalui waktu yang terpotong", "Latihan", "Penyelesaian")}[lang]
    for heading in headings:
        assert heading in text
    assert {"en": "learning rate 0.05", "id": "laju pembelajaran 0,05"}[lang] in text
