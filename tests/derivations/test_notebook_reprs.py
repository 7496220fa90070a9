"""What a Jupyter notebook shows: derivations and their equation lists as LaTeX from the sheet printer,
in the notation they were made with; proofs, verifications and decay results as tables and summaries."""

import dataclasses
import pickle

import numpy as np
import pytest
import sympy as sp
from IPython.core.interactiveshell import InteractiveShell
from IPython.lib.pretty import pretty

from bpttlab.derivations import H, delta, derive, prove
from bpttlab.derivations.cells import BUILT_IN as CELLS
from bpttlab.derivations.equations import Equations
from bpttlab.derivations.printing.latex_printer import aligned, gates
from bpttlab.derivations.printing.notations import NOTATIONS
from bpttlab.derivations.symbols import ones, vector
from bpttlab.numeric import (
    Comparison,
    DecayFit,
    JacobianNorms,
    Verification,
    build_engine,
    decay_study,
    jacobian_products,
    verify_gradients,
)
from bpttlab.reports.sheets.pdflatex import compile_pdf, pdf_text

# The cells every notation can print (the cell library's cells have no dlbook names).


def bundle(obj) -> dict[str, str]:
    """The MIME bundle IPython sends to the notebook for ``obj``."""
    data, _ = InteractiveShell.instance().display_formatter.format(obj)
    return data


# --- equation lists ---------------------------------------------------------------------------------


def test_equation_lists_stay_tuples_of_equations():
    d = derive("lstm", head="softmax")
    for part in (d.forward, d.head_backward, d.recurrence, d.step_backward, d.backward):
        assert isinstance(part, Equations) and isinstance(part, tuple)
        assert all(isinstance(eq, sp.Eq) for eq in part)
    assert d.backward == tuple(d.head_backward) + tuple(d.recurrence) + tuple(d.step_backward)
    assert isinstance(d.step_backward[0], sp.Eq)
    assert isinstance(d.step_backward[:3], Equations) and len(d.step_backward[:3]) == 3
    assert (d.forward + d.step_backward).notation == "course"
    empty: tuple = ()
    assert type(d.forward + empty) is Equations and type(empty + d.forward) is tuple
    first, *rest = d.step_backward
    assert (first, *rest) == d.step_backward


def test_equations_are_read_only_and_survive_pickling():
    forward = derive("gru", head=None).forward
    with pytest.raises(AttributeError):
        forward.notation = "dlbook"
    again = pickle.loads(pickle.dumps(forward))
    assert again == forward and type(again) is Equations
    assert (again.notation, again.gates) == ("course", ("z_t", "r_t"))


def test_equations_render_through_the_sheet_printer():
    d = derive("lstm", head="softmax")
    shown = bundle(d.step_backward)["text/latex"]
    assert shown.startswith("$$\\begin{aligned}\n") and shown.endswith("\n\\end{aligned}$$")
    assert aligned(d.step_backward, "course", gates(d.cell)) in shown
    assert (r"\delta C_t &= \delta h_t \odot o_t \odot (1 - \tanh^{2}(C_t)) + \delta C_t^{(\leftarrow t+1)}"
            in shown)
    assert r"\delta W_{hf} &= \delta a_{f,t} h_{t-1}^{\top}" in shown
    forward = d.forward._repr_latex_()
    assert r"f_t &= \sigma(a_{f,t})" in forward
    assert r"C_t &= f_t \odot C_{t-1} + i_t \odot \tilde{C}_t" in forward
    assert d.head_backward[:0]._repr_latex_() is None  # nothing to show


def test_what_the_printer_refuses_falls_back_to_plain_text(monkeypatch):
    import bpttlab.derivations.printing.latex_printer as latex_printer

    def refuse(*_args, **_kwargs):
        raise ValueError("symbol 'q_t' has no course notation")

    monkeypatch.setattr(latex_printer, "aligned", refuse)
    d = derive("rnn", head=None)
    assert d._repr_latex_() is None and d.forward._repr_latex_() is None
    assert set(bundle(d)) == {"text/plain"} and "h_t = tanh(a_t)" in bundle(d)["text/plain"]


def test_equations_show_as_plain_text_with_hadamard_and_sigma():
    text = bundle(derive("gru", head=None).forward)["text/plain"]
    assert "z_t = σ(a_{z,t})" in text and "(1 - z_t) ⊙ h_{t-1}" in text


# --- derivations ------------------------------------------------------------------------------------


def test_a_derivation_shows_forward_backward_and_jacobians_each_titled():
    d = derive("rnn", head="softmax")
    shown = bundle(d)["text/latex"]
    titles = [shown.index(rf"&\textbf{{{t}}}") for t in ("forward", "backward", "step Jacobians")]
    assert titles == sorted(titles)
    assert r"a_t &= W_{hh} h_{t-1} + W_{xh} x_t + b_h" in shown
    assert r"\delta a_t &= \delta h_t \odot (1 - h_t^{2})" in shown
    assert r"\delta a_{y,t} &= \hat{y}_t - y_t" in shown
    assert r"\frac{\partial h_t}{\partial h_{t-1}} &= \operatorname{diag}(1 - h_t^{2}) W_{hh}" in shown
    assert "⊙" in bundle(d)["text/plain"]


def test_every_jacobian_block_of_the_lstm_is_shown():
    shown = derive("lstm", head=None)._repr_latex_()
    for new, prev in (("h_t", "h_{t-1}"), ("h_t", "C_{t-1}"), ("C_t", "h_{t-1}"), ("C_t", "C_{t-1}")):
        assert rf"\frac{{\partial {new}}}{{\partial {prev}}} &= " in shown
    assert r"\frac{\partial C_t}{\partial C_{t-1}} &= \operatorname{diag}(f_t)" in shown


def test_in_notation_changes_only_how_it_prints():
    d = derive("rnn", head="linear")
    book = d.in_notation("dlbook")
    assert book == d and book.notation == "dlbook" and d.notation == "course"
    assert all(part.notation == "dlbook" for part in (book.forward, book.backward, book.step_backward))
    assert r"\bm{W}" in book.forward.latex()  # the sheets' macro, for a LaTeX document
    shown = book._repr_latex_()
    # browsers' MathJax and KaTeX have \boldsymbol but not the bm package's \bm
    assert r"\boldsymbol{a}^{(t)} &= \boldsymbol{W} \boldsymbol{h}^{(t-1)}" in shown and r"\bm{" not in shown
    assert "W_{hh}" not in shown and "W_{hh}" in d._repr_latex_()
    assert r"\boldsymbol" not in d._repr_latex_()
    assert book.in_notation("course")._repr_latex_() == d._repr_latex_()


def test_derive_takes_the_notation_and_stays_cached():
    book = derive("gru", "sigmoid", "last", notation="dlbook")
    assert book is derive("gru", "sigmoid", "last", notation="dlbook")
    assert derive("gru", "sigmoid", "last") is derive("gru", "sigmoid", "last")
    assert book == derive("gru", "sigmoid", "last") and book.notation == "dlbook"
    assert book._repr_latex_() == derive("gru", "sigmoid", "last").in_notation("dlbook")._repr_latex_()


@pytest.mark.parametrize("bad", ["latex", "Course", None, ["dlbook"]])
def test_an_unknown_notation_is_refused(bad):
    d = derive("rnn")
    for attempt in (lambda: d.in_notation(bad), lambda: d.forward.in_notation(bad),
                    lambda: derive("rnn", notation=bad)):
        with pytest.raises(ValueError, match="valid: course, dlbook"):
            attempt()


def test_a_replaced_derivation_still_renders():
    d = derive("rnn", head="softmax")
    wrong = dataclasses.replace(d, step_backward=tuple(d.step_backward[1:]))
    assert isinstance(wrong.step_backward, Equations)
    assert r"\delta a_t &=" not in wrong._repr_latex_() and r"\delta a_t &=" in d._repr_latex_()


def test_every_derivation_compiles_with_pdflatex(tmp_path):
    """Every cell's notebook LaTeX, in both notations, typeset by pdflatex on one page each."""
    blocks = [derive(c, "softmax").in_notation(n)._repr_latex_() for c in CELLS for n in NOTATIONS]
    body = "\n\\newpage\n".join(blocks)
    tex = tmp_path / "reprs.tex"
    tex.write_text("\\documentclass{article}\n\\usepackage[a3paper,landscape,margin=1cm]{geometry}\n"
                   "\\usepackage{amsmath,amssymb}\n\\begin{document}\n" + body + "\n\\end{document}\n",
                   encoding="utf-8")
    text = pdf_text(compile_pdf(tex, runs=1))
    assert "forward" in text and "step Jacobians" in text
    assert text.count("forward") == len(blocks)


# --- proofs -----------------------------------------------------------------------------------------


def test_a_proof_is_a_table_of_its_checks():
    proof = prove("rnn", head="linear", kind=("step",))
    markdown, html = bundle(proof)["text/markdown"], bundle(proof)["text/html"]
    assert markdown.startswith("**rnn × linear × loss at every: PROVEN**")
    assert "| step δa_t | 2 | yes |" in markdown and "| step ∂h_t/∂h_{t-1} | 4 | yes |" in markdown
    assert html.count("<tr>") == len(proof.checks) + 1
    assert "<caption>rnn × linear × loss at every: PROVEN</caption>" in html
    assert "residual" not in markdown and "NO" not in markdown


def test_a_failed_proof_shows_which_checks_failed():
    d = derive("rnn", head="softmax")
    h = vector("h_t", H)
    step = tuple(sp.Eq(eq.lhs, sp.HadamardProduct(delta(h), ones(H) - h), evaluate=False)
                 if eq.lhs.name == "δa_t" else eq for eq in d.step_backward)
    proof = prove("rnn", kind=("step",), derivation=dataclasses.replace(d, step_backward=step))
    markdown, html = proof._repr_markdown_(), proof._repr_html_()
    assert "FAILED" in markdown.splitlines()[0] and "| residual ≠ 0 |" in markdown
    assert "| step δa_t | 2 | NO | " in markdown and "| head δW_hy | 4 | yes |  |" in markdown
    assert "<td>step δa_t</td><td>2</td><td>NO</td>" in html


# --- verification -----------------------------------------------------------------------------------


def test_verify_gradients_returns_a_list_shown_as_a_table():
    results = verify_gradients(cells=("rnn",), heads=("linear",), loss_at=("last",),
                               checks=("finite differences",))
    assert isinstance(results, list) and isinstance(results, Verification)
    assert [r.check for r in results] == ["finite differences"] and results.passed
    html = bundle(results)["text/html"]
    assert "<caption>1 passed, 0 failed</caption>" in html
    assert "<td>rnn × linear × last</td><td>finite differences</td>" in html and "<td>passed</td>" in html
    assert str(results[0]).startswith("rnn × linear × last, finite differences: passed (max rel ")
    assert bundle(results)["text/plain"].startswith("Verification: 1 passed, 0 failed")


def test_failed_and_skipped_comparisons_are_shown_as_such():
    results = Verification([
        Comparison("lstm", "softmax", "last", "finite differences", 1e-12, 2e-10, 1e-7),
        Comparison("lstm", "softmax", "last", "torch autograd", 0.5, 0.25, 1e-12, quantity="b_f"),
        Comparison("lstm", "softmax", "last", "torch nn module", None, None, 1e-12,
                   "PyTorch is not installed"),
    ])
    assert results.counts == {"passed": 1, "failed": 1, "skipped": 1} and not results.passed
    markdown, html = results._repr_markdown_(), results._repr_html_()
    assert markdown.startswith("**1 passed, 1 failed, 1 skipped**")
    assert "| torch autograd | 5.0e-01 | 2.5e-01 | b_f | 1e-12 | **FAILED** |" in markdown
    assert "| torch nn module | — | — | — | 1e-12 | skipped |" in markdown
    assert "<td>FAILED</td>" in html and "<td>skipped</td>" in html
    assert str(results[1]) == ("lstm × softmax × last, torch autograd: failed (max rel 2.5e-01 in b_f, "
                               "bar 1e-12)")
    assert str(results[2]) == "lstm × softmax × last, torch nn module: skipped (PyTorch is not installed)"
    assert Verification([results[0]]).passed and Verification([results[2]]).passed


# --- decay ------------------------------------------------------------------------------------------


def test_a_decay_fit_reads_as_a_factor_per_step_and_a_horizon():
    fit = DecayFit(slope=np.log10(0.5), horizon=20)
    assert str(fit) == "×0.5 per step (slope -0.301 log10/step), horizon 20 steps"
    assert pretty(fit) == str(fit)
    assert "no horizon within the sequence" in str(DecayFit(slope=0.0, horizon=None))
    assert str(DecayFit(slope=float("nan"), horizon=None)).startswith("no slope")


def test_jacobian_norms_summarise_their_decay():
    engine = build_engine("rnn", "linear", "last")
    norms = jacobian_products(engine, engine.init_params(D=2, H=3, K=1, seed=0), np.ones((6, 1, 2)))
    assert str(norms).startswith("‖∂h_T/∂h_k‖₂, T = 6, 6 steps: ×")
    assert pretty(norms) == str(norms)
    exact = JacobianNorms(T=3, steps=np.arange(1, 4), log10_norms=np.array([-8.0, -4.0, 0.0]))
    assert str(exact).endswith("×0.0001 per step (slope -4.000 log10/step), horizon 2 steps")


def test_a_decay_study_is_a_table_of_its_curves():
    study = decay_study(T=12, H=4, seeds=(0, 1), radii=(0.5, 3.0), forget_biases=(0.0,))
    curves = (*study.cells, *study.radii, *study.forget_biases)
    markdown, html = bundle(study)["text/markdown"], bundle(study)["text/html"]
    assert markdown.splitlines()[0].startswith("T = 12, H = 4, seeds 0, 1: Pascanu et al.'s bound kept in ")
    for curve in curves:
        factor = curve.fit.factor_per_step
        assert f"<tr><td>{curve.label}</td><td>{curve.what}</td><td>{factor:.3f}</td>" in html
    rnn = study.cells[0].fit
    assert f"| rnn | dL/dh_k | {rnn.factor_per_step:.3f} | {rnn.horizon} |" in markdown
    large = study.radii[1].fit
    horizon = "> 11" if large.horizon is None else str(large.horizon)
    assert f"| rho=3 | dh_T/dh_k | {large.factor_per_step:.3f} | {horizon} |" in markdown
    assert bundle(study)["text/plain"].startswith("DecayStudy(T = 12, H = 4")
