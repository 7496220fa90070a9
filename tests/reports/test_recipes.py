"""The recipes of CONTRIBUTING.md, followed in temporary registrations: a third notation (the symbols of
Dive into Deep Learning) and a German language with a few words of its own. Each time a rendered sheet
compiles, and no sentence on it is about another entry: the d2l sheet does not say it follows the
course or the book, the German sheet writes German numbers and says nothing in the words it replaced
in English (pdflatex required)."""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
import torch

from bpttlab.derivations import (
    ACTIVATIONS,
    CELLS,
    HEADS,
    LOSS_AT,
    Activation,
    Elementwise,
    Head,
    TargetKind,
    custom_cell,
    derive,
    prove,
    register,
    register_activation,
    register_head,
    unregister,
    unregister_activation,
    unregister_head,
)
from bpttlab.derivations.printing.notations import (
    NOTATIONS,
    CourseNotation,
    Name,
    Typeset,
    register_notation,
    unregister_notation,
)
from bpttlab.derivations.structure import gates
from bpttlab.derivations.symbols import H, K, matrix, vector
from bpttlab.numeric.decay.study import decay_study
from bpttlab.numeric.engine import build_engine
from bpttlab.numeric.engine.jax_engine import JAX_ACTIVATIONS
from bpttlab.numeric.engine.numpy_functions import NUMPY_ACTIVATIONS
from bpttlab.numeric.verify import verify_gradients
from bpttlab.numeric.verify.torch_cell import TORCH_FUNCTIONS, torch_cell_loss_and_grads
from bpttlab.numeric.verify.torch_reference import TORCH_HEADS, torch_loss_and_grads
from bpttlab.reports.cli.app import build_parser
from bpttlab.reports.sheets.languages import LANGUAGES, load_language, register_language, unregister_language
from bpttlab.reports.sheets.pdflatex import compile_pdf, overfull_boxes, pdf_text
from bpttlab.reports.sheets.writer import COMBINED, all_sheets, render_sheet, write_sheets


class DiveIntoDeepLearning(CourseNotation):
    """d2l's letters: a step's values capitalised (H_t, X_t, I_t, C̃_t …), as its minibatch matrices are;
    the output weights W_{hq}."""

    name = "d2l"
    concatenated_weights = False

    def _value(self, name: Name) -> Typeset:
        typeset = super()._value(name)
        body = typeset.body
        if len(body) == 1 and body.islower():
            body = body.upper()
        return replace(typeset, body=body)

    def _parameter(self, name: Name) -> Typeset:
        typeset = super()._parameter(name)
        return replace(typeset, sub=typeset.sub.replace("y", "q"))


D2L_WORDS = {
    "notation.d2l.name": "d2l",
    "notation.d2l.intro": "The notation follows \\emph{Dive into Deep Learning}: capital letters for a "
                          "step's values.",
}


@pytest.fixture
def d2l():
    """The recipe: a Notation subclass, registered, with its words in every language."""
    saved = dict(LANGUAGES)
    register_notation(DiveIntoDeepLearning())
    for lang in saved.values():
        register_language(replace(lang, words={**lang.words, **D2L_WORDS}), replace=True)
    try:
        yield "d2l"
    finally:
        unregister_notation("d2l")
        for lang in saved.values():
            register_language(lang, replace=True)


@pytest.mark.usefixtures("pdflatex")
def test_a_third_notation_is_one_registration_and_its_words(d2l, tmp_path):
    assert "d2l" in NOTATIONS
    (sheet,) = write_sheets(tmp_path, ["lstm"], ["en"], [d2l], pdf=True)
    tex = sheet.tex.read_text(encoding="utf-8")
    assert "Dive into Deep Learning" in tex
    assert "follows the course" not in tex and "Goodfellow" not in tex  # no sentence about another notation
    assert r"H_t &= O_t \odot \tanh(C_t)" in tex and r"\bm{" not in tex
    assert not overfull_boxes(sheet.tex.with_suffix(".log").read_text(errors="replace"))
    course = render_sheet(COMBINED, "en", "course", worked=False)
    start = course.index(r"\label{tab:key}")
    key = course[start:course.index(r"\end{tabular}", start)]
    assert "d2l" in key and "$H_t$" in key  # the notation key gains its column


GERMAN = {
    "heading.notation": "Notation",
    "heading.forward": "Vorwärtsschritt",
    "heading.heads": "Ausgaben und Verluste",
    "title.cell": r"Backpropagation durch die Zeit: \VAR{title(first)}",
    "and": "und",
}


@pytest.fixture
def german(tmp_path):
    """The recipe: the English words file copied, its [language] table made German, a few words
    translated, the file loaded and registered."""
    english = Path(__file__).parents[2] / "reports" / "sheets" / "words" / "en.toml"
    text = english.read_text(encoding="utf-8")
    text = text.replace('code = "en"', 'code = "de"').replace('name = "English"', 'name = "Deutsch"')
    text = text.replace('babel = "english"', 'babel = "provide=*,german"')
    text = text.replace('decimal_mark = "."', 'decimal_mark = ","').replace(
        'thousands_separator = ","', 'thousands_separator = "."').replace(
        'interval_separator = ","', 'interval_separator = ";"')
    path = tmp_path / "de.toml"
    path.write_text(text, encoding="utf-8")
    lang = load_language(path)
    register_language(replace(lang, words={**lang.words, **GERMAN}))
    try:
        yield "de"
    finally:
        unregister_language("de")


@pytest.mark.usefixtures("pdflatex")
def test_a_german_language_is_a_words_file(german, tmp_path):
    (sheet,) = write_sheets(tmp_path, ["rnn"], [german], ["course"], pdf=True)
    text = " ".join(pdf_text(sheet.pdf).split())
    assert "Backpropagation durch die Zeit: Elman RNN" in text and "Ausgaben und Verluste" in text
    assert "Forward pass" not in text and "Outputs and losses" not in text  # replaced, nowhere in English
    tex = sheet.tex.read_text(encoding="utf-8")
    assert "0{,}5" in tex or "0{,}1" in tex  # German numbers: the decimal comma
    worked = tex[tex.index(r"\texttt{hello}"):tex.index("import torch")]
    assert not __import__("re").search(r"\d\.\d{3}", worked)  # and never a decimal point there


# ------------------------------------------------------------------------------- adding an activation
class softsign_prime(sp.Function):
    """softsign′(u) = 1/(1 + |u|)²: softsign's derivative, a function of its own, since a derivative is
    written with registered functions (|u| is not one), as relu's is with step."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:  # noqa: ARG002 - SymPy's signature
        u = self.args[0]
        return -2 * sp.sign(u) / (1 + sp.Abs(u)) ** 3


class softsign(sp.Function):
    """softsign(u) = u/(1 + |u|)."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:  # noqa: ARG002 - SymPy's signature
        return softsign_prime(self.args[0])


def _numpy_softsign(x, out=None):
    x = np.asarray(x)
    return np.divide(x, 1 + np.abs(x), out=out)


def _numpy_softsign_prime(x, out=None):
    return np.reciprocal(np.square(1 + np.abs(np.asarray(x))), out=out)


#: The recipe's registrations, in its order: (record, NumPy, JAX, PyTorch or None).
SOFTSIGN = (
    (Activation("softsign", softsign, r"\operatorname{softsign}", "softsign", sp.Interval.open(-1, 1),
                sp.Integer(1), smooth=False),
     _numpy_softsign, lambda x: x / (1 + jnp.abs(x)), torch.nn.functional.softsign),
    (Activation("softsign_prime", softsign_prime, r"\operatorname{softsign}'", "softsign′",
                sp.Interval.Lopen(0, 1), sp.Integer(2), smooth=False, in_cells=False),
     _numpy_softsign_prime, lambda x: 1 / (1 + jnp.abs(x)) ** 2, None),
)


@contextmanager
def registered_activations(entries):
    """Each record in the registry and its implementation in every library's table, removed after."""
    try:
        for record, numpy_f, jax_f, torch_f in entries:
            register_activation(record)
            NUMPY_ACTIVATIONS.register(record.name, numpy_f)
            JAX_ACTIVATIONS.register(record.name, jax_f)
            if torch_f is not None:
                TORCH_FUNCTIONS.register(record.name, torch_f)
        yield
    finally:
        for record, *_ in entries:
            unregister_activation(record.name)
            for table in (NUMPY_ACTIVATIONS, JAX_ACTIVATIONS, TORCH_FUNCTIONS):
                table.unregister(record.name)


SOFTSIGN_RNN = "h_t = softsign(W_xh @ x_t + W_hh @ h_prev + b_h)"


@pytest.mark.usefixtures("pdflatex")
def test_an_activation_is_a_record_and_one_entry_per_library(tmp_path):
    with registered_activations(SOFTSIGN):
        cell = custom_cell("softsign_rnn", SOFTSIGN_RNN, {"h_t": "h_prev"}, title="Softsign RNN")
        d = derive(cell, "linear", "every")
        assert "softsign_prime(a_{h,t})" in str(d.step_backward[0].rhs)
        for at in LOSS_AT:
            proof = prove(cell, "linear", at, kind=("step", "bptt"))
            kinds = {c.what.split()[0] for c in proof.checks}
            assert proof.passed and kinds == {"step", "head", "BPTT"}, proof
        result = verify_gradients(cells=(cell,), heads=("linear",))
        assert result.passed and not any(c.skipped for c in result)
        assert {c.check for c in result} == {"finite differences", "torch autograd"}
        tex_path = tmp_path / "softsign_rnn.tex"
        tex_path.write_text(render_sheet(cell, "en", "course"), encoding="utf-8")
        text = " ".join(pdf_text(compile_pdf(tex_path)).split())
    assert "softsign" not in ACTIVATIONS and "softsign" not in NUMPY_ACTIVATIONS  # the registrations are gone
    assert "softsign" not in TORCH_FUNCTIONS and "softsign_prime" not in JAX_ACTIVATIONS
    assert "ht = softsign(ah,t )" in text  # the forward step
    assert "softsign(ah,t ), values in (−1, 1)" in text  # its range, in the symbol table
    assert "γ = sup | softsign′ | = 1" in text  # its derivative's bound, in the bound
    assert "not bounded" not in text and "tanh" not in text.split("Forward pass")[1].split("Outputs")[0]


@pytest.mark.usefixtures("pdflatex")
def test_an_activation_of_a_multi_state_cell_gets_the_bound_sentence():
    """Where the sheet has no single-state bound, its sentence on the functions' derivatives names
    softsign's bound, and nothing about it being unbounded."""
    with registered_activations(SOFTSIGN):
        cell = custom_cell("softsign_pair", """
            h_t = softsign(W_xh @ x_t + W_hm @ m_prev + b_h)
            m_t = softsign(W_mh @ h_prev + b_m)
            """, {"h_t": "h_prev", "m_t": "m_prev"})
        tex = render_sheet(cell, "en", "course")
    assert r"bounded, $\operatorname{softsign}' \le 1$" in " ".join(tex.split())
    assert "is not" not in tex.split(r"\operatorname{softsign}' \le 1")[1].split(".")[0]


def test_an_activation_missing_from_the_torch_table_is_one_line():
    """Registered and implemented for NumPy and JAX, but not for PyTorch: the PyTorch reference names the
    function and the table (never 'unsupported call')."""
    record, numpy_f, jax_f, _ = SOFTSIGN[0]
    with registered_activations([(record, numpy_f, jax_f, None), SOFTSIGN[1]]):
        cell = custom_cell("softsign_rnn", SOFTSIGN_RNN, {"h_t": "h_prev"})
        engine = build_engine(cell, "linear", "last")
        params = engine.init_params(D=2, H=3, K=1, seed=0)
        with pytest.raises(ValueError) as error:
            torch_cell_loss_and_grads(cell, "linear", "last", params, np.ones((2, 2, 2)), np.zeros((2, 1)))
    message = str(error.value)
    assert "\n" not in message and "torch has no implementation of the activation 'softsign'" in message
    assert "numeric/verify/torch_cell.py: TORCH_FUNCTIONS.register" in message


class tanh_gate(sp.Function):
    """(1 + tanh u)/2: a gate (values in (0, 1)) under a name no code knows."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:  # noqa: ARG002 - SymPy's signature
        g = tanh_gate(self.args[0])
        return 2 * g * (1 - g)


@pytest.mark.usefixtures("pdflatex")
def test_a_function_with_values_in_0_1_is_a_gate_by_its_range(tmp_path):
    record = Activation("tanh_gate", tanh_gate, r"\operatorname{g}", "g", sp.Interval.open(0, 1),
                        sp.Rational(1, 2))
    with registered_activations([(record, lambda x, out=None: np.multiply(np.tanh(x) + 1, 0.5, out=out),
                                  lambda x: (jnp.tanh(x) + 1) / 2, lambda x: (torch.tanh(x) + 1) / 2)]):
        cell = custom_cell("tanh_gated", """
            f_t = tanh_gate(W_xf @ x_t + W_hf @ h_prev + b_f)
            n_t = tanh(W_xn @ x_t + W_hn @ h_prev + b_n)
            h_t = f_t * h_prev + (1 - f_t) * n_t
            """, {"h_t": "h_prev"})
        assert ACTIVATIONS["tanh_gate"].is_gate and [g.name for g in gates(cell)] == ["f_t"]
        tex_path = tmp_path / "tanh_gated.tex"
        tex_path.write_text(render_sheet(cell, "en", "course"), encoding="utf-8")
        text = " ".join(pdf_text(compile_pdf(tex_path)).split())
    assert "ft RH the update gate, values in (0, 1)" in text  # a gate by its range, and its role
    assert "made of the gate ft alone" in text  # the direct path through the gate


def test_no_name_of_a_function_or_head_stands_in_for_a_fact():
    """Gates come from the range, heads' behaviour from their records: no comparison with a name."""
    root = Path(__file__).parents[2]
    compared = re.compile(r"""(==|!=)\s*["'](sigmoid|tanh|relu|softplus|softmax|linear)["']|"""
                          r"""["'](sigmoid|tanh|relu|softplus|softmax|linear)["']\s*(==|!=)""")
    found = [f"{path.relative_to(root)}:{n}" for folder in ("derivations", "numeric", "reports")
             for path in sorted((root / folder).rglob("*")) if path.suffix in (".py", ".j2")
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if compared.search(line)]
    assert found == []


# ------------------------------------------------------------------------------------- adding a head
TANH_TITLE = "tanh output, squared error"


def tanh_squared_head() -> Head:
    """ŷ_t = tanh(W_hy h_t + b_y), ℓ_t = ½ 1ᵀ(ŷ_t − y_t)²: a head with logits, real targets."""
    h, W_hy, b_y = vector("h_t", H), matrix("W_hy", K, H), vector("b_y", K)
    a, y, y_hat, loss = vector("a_{y,t}", K), vector("y_t", K), vector("ŷ_t", K), matrix("ℓ_t", 1, 1)
    equations = (
        sp.Eq(a, W_hy * h + b_y, evaluate=False),
        sp.Eq(y_hat, Elementwise("tanh", a), evaluate=False),
        sp.Eq(loss, sp.Rational(1, 2) * sp.OneMatrix(1, K) * sp.HadamardPower(y_hat - y, 2), evaluate=False),
    )
    return Head("tanh_squared", TANH_TITLE, h, (W_hy, b_y), a, y_hat, y, loss, equations, TargetKind.REAL)


@pytest.fixture
def tanh_head():
    """The recipe: the Head registered, its PyTorch loss registered, its title in every language."""
    saved = dict(LANGUAGES)
    titles = {"en": TANH_TITLE, "id": "keluaran tanh dengan galat kuadrat"}
    try:
        register_head(tanh_squared_head())
        TORCH_HEADS.register("tanh_squared", lambda s, y: 0.5 * ((torch.tanh(s) - y) ** 2).sum())
        for code, lang in saved.items():
            register_language(replace(lang, words={**lang.words, f"titles.{TANH_TITLE}": titles[code]}),
                              replace=True)
        yield "tanh_squared"
    finally:
        unregister_head("tanh_squared")
        TORCH_HEADS.unregister("tanh_squared")
        for lang in saved.values():
            register_language(lang, replace=True)


@pytest.mark.usefixtures("pdflatex")
def test_a_head_is_a_record_a_torch_loss_and_its_titles(tanh_head, tmp_path):
    assert list(HEADS)[-1] == tanh_head and len(HEADS) == 4
    d = derive("rnn", tanh_head, "every")
    assert str(d.head_backward[0].rhs) == "HadamardProduct(-y_t + ŷ_t, -HadamardPower(ŷ_t, 2) + 1)"
    for at in LOSS_AT:
        assert prove("rnn", tanh_head, at).passed
        assert prove("mgu", tanh_head, at, kind=("step",)).passed
    # the built-in rnn (PyTorch's own equations and nn.RNN) and a cell written as equations (torch_cell)
    result = verify_gradients(cells=("rnn", "mgu"), heads=(tanh_head,))
    assert result.passed and not any(c.skipped for c in result)
    assert {(c.cell, c.check) for c in result} == {
        ("rnn", "finite differences"), ("rnn", "torch autograd"), ("rnn", "torch nn module"),
        ("mgu", "finite differences"), ("mgu", "torch autograd")}
    rng = np.random.default_rng(3)
    for at in LOSS_AT:
        engine = build_engine("rnn", tanh_head, at)
        params = engine.init_params(D=2, H=3, K=2, seed=1)
        xs = rng.normal(size=(4, 5, 2))
        ys = rng.uniform(-1, 1, size=(4, 5, 2) if at == "every" else (5, 2))
        loss, grads = engine.loss_and_grads(params, xs, ys)
        hs = engine.forward(params, xs).h if at == "every" else engine.forward(params, xs).h[-1]
        by_hand = 0.5 * ((np.tanh(hs @ params["W_hy"].T + params["b_y"]) - ys) ** 2).sum() / 5
        assert loss == pytest.approx(by_hand, rel=1e-13) and set(grads) >= {"W_hy", "b_y", "W_hh"}
    (sheet,) = write_sheets(tmp_path, ["rnn"], ["en"], ["course"], pdf=True)
    text = " ".join(pdf_text(sheet.pdf).split())
    assert "The four output layers below work with every cell" in text and "three output layers" not in text
    assert "linear output, squared error; and tanh output, squared error." in text  # the heads' list
    assert "Tanh output, squared error" in text  # its section's heading
    assert r"\text{(softmax, sigmoid, tanh\texttt{\char`\_}squared)}" in sheet.tex.read_text(encoding="utf-8")


@pytest.mark.usefixtures("tanh_head", "pdflatex")
def test_a_head_in_indonesian_is_listed_by_its_indonesian_title(tmp_path):
    (sheet,) = write_sheets(tmp_path, ["rnn"], ["id"], ["course"], pdf=True)
    text = " ".join(pdf_text(sheet.pdf).split())
    assert "keluaran tanh dengan galat kuadrat" in text and "tanh output, squared error" not in text
    assert "empat" in text and " tiga lapisan keluaran" not in text


def test_a_head_without_a_title_in_a_language_is_refused_in_one_line():
    register_head(replace(tanh_squared_head(), title="tanh output, half squared error"))
    try:
        with pytest.raises(ValueError) as error:
            render_sheet("rnn", "id", "course", worked=False)
    finally:
        unregister_head("tanh_squared")
    assert str(error.value) == ("language 'id' has no title for the head 'tanh_squared': add 'tanh output, "
                                "half squared error' to [words.titles] in its words file (id.toml)")


def test_a_head_without_a_torch_loss_is_refused_in_one_line():
    register_head(tanh_squared_head())
    try:
        engine = build_engine("rnn", "tanh_squared", "last")
        params = engine.init_params(D=2, H=3, K=1, seed=0)
        with pytest.raises(ValueError) as error:
            torch_cell_loss_and_grads("mgu", "tanh_squared", "last", build_engine(
                "mgu", "tanh_squared", "last").init_params(D=2, H=3, K=1, seed=0), np.ones((2, 2, 2)),
                np.zeros((2, 1)))
        with pytest.raises(ValueError) as built_in:
            torch_loss_and_grads("rnn", "tanh_squared", "last", params, np.ones((2, 2, 2)), np.zeros((2, 1)))
    finally:
        unregister_head("tanh_squared")
    for raised in (error, built_in):
        assert str(raised.value) == ("torch has no implementation of the head 'tanh_squared': register one "
                                     "with numeric/verify/torch_reference.py: TORCH_HEADS.register "
                                     "(CONTRIBUTING.md)")


def test_a_head_registered_again_under_its_name_is_derived_and_built_again():
    """derive and build_engine are cached; the key is the head's record, so a second head under the
    same name (a recipe tried twice in one session) never gets the first one's derivation or engine."""
    first = tanh_squared_head()
    a, y_hat = first.logits, first.prediction
    sigmoid_equations = tuple(sp.Eq(eq.lhs, Elementwise("sigmoid", a), evaluate=False) if eq.lhs == y_hat
                              else eq for eq in first.equations)
    second = replace(first, title="sigmoid output, squared error", equations=sigmoid_equations)
    seen = []
    for record in (first, second):
        register_head(record)
        try:
            d = derive("rnn", "tanh_squared", "last")
            engine = build_engine("rnn", "tanh_squared", "last")
            seen.append((d.head.title, engine.head.title, str(d.head_backward[0].rhs)))
        finally:
            unregister_head("tanh_squared")
    assert [s[:2] for s in seen] == [(TANH_TITLE,) * 2, ("sigmoid output, squared error",) * 2]
    assert seen[0][2] == "HadamardProduct(-y_t + ŷ_t, -HadamardPower(ŷ_t, 2) + 1)"  # tanh′ = 1 − ŷ²
    assert seen[1][2] == "HadamardProduct(-y_t + ŷ_t, -ŷ_t + 1, ŷ_t)"  # σ′ = ŷ(1 − ŷ)


# ------------------------------------------------------------------------------------- adding a cell
@pytest.fixture
def leaky_rnn():
    """The recipe: a cell written as equations, registered under its name (a .cell file loads the same)."""
    cell = custom_cell("leaky_rnn", "h_t = 0.5 * h_prev + 0.5 * tanh(W_xh @ x_t + W_hh @ h_prev + b_h)",
                       {"h_t": "h_prev"}, title="Leaky RNN")
    try:
        yield register(cell).name
    finally:
        unregister(cell.name)


@pytest.mark.usefixtures("pdflatex")
def test_a_cell_is_one_registration(leaky_rnn, tmp_path):
    """By its name alone: proven, verified, written as a sheet, in the decay study and the CLI's choices
    (tests/test_registry_coverage.py checks every consumer's loop over the registry)."""
    assert leaky_rnn in CELLS and leaky_rnn in all_sheets()
    assert prove(leaky_rnn, "softmax", "every").passed
    result = verify_gradients(cells=(leaky_rnn,), heads=("sigmoid",), loss_at=("last",))
    assert result.passed and {c.check for c in result} == {"finite differences", "torch autograd"}
    (sheet,) = write_sheets(tmp_path, [leaky_rnn], ["en"], ["course"], pdf=True)
    text = " ".join(pdf_text(sheet.pdf).split())
    assert "Backpropagation through time: Leaky RNN" in text
    study = decay_study(T=6, H=2, seeds=(0,), radii=(0.5,), forget_biases=(1.0,))
    assert leaky_rnn in {c.cell for c in study.variants}
    assert leaky_rnn in build_parser().parse_args(["prove"]).cells  # the CLI's default: every cell
