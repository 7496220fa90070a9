"""bpttlab.reports.sheets.worked_example:
the "hello" example's numbers are the engine's, and its LaTeX shows them
rounded, deterministically, in both notations, typesetting within the page."""

import re

import numpy as np
import pytest
from conftest import hello_reference, rel_err

import bpttlab.reports.sheets.worked_example as worked
from bpttlab.numeric import build_engine
from bpttlab.reports.sheets.pdflatex import compile_pdf, overfull_boxes, pdf_text
from bpttlab.reports.sheets.worked_example import example_latex, hello_example, matrix_latex

XS = np.eye(4)[[0, 1, 2, 2]][:, None, :]  # "hell", one-hot over (h, e, l, o), batch of one
TARGETS = np.array([[1], [2], [2], [3]])  # "ello"
PARAMETERS = ("W_xh", "W_hh", "b_h", "W_hy", "b_y")


@pytest.fixture(scope="module")
def engine():
    return build_engine("rnn", head="softmax", loss_at="every")


@pytest.fixture(scope="module")
def example():
    return hello_example()


def matrices(fragment: str) -> list[np.ndarray]:
    """Every pmatrix of a LaTeX fragment, parsed back into numbers, in order."""
    found = re.findall(r"\\begin\{pmatrix\} (.*?) \\end\{pmatrix\}", fragment)
    return [np.array([[float(v) for v in row.split(" & ")] for row in body.split(r" \\ ")])
            for body in found]


def assert_rounded(parsed: np.ndarray, exact: np.ndarray, decimals: int = 3) -> None:
    exact = np.asarray(exact, dtype=float).reshape(parsed.shape)
    np.testing.assert_allclose(parsed, np.round(exact, decimals), rtol=0, atol=1e-12)


# ----------------------------------------------------------------- the numbers
def test_the_text_and_the_vocabulary(example):
    assert example.vocabulary == ("h", "e", "l", "o")
    assert (example.inputs, example.targets) == ("hell", "ello")
    np.testing.assert_array_equal(example.x, XS[:, 0])


def printed_params(engine):
    """The engine's initialisation rounded to the three places the sheet prints: the example's own
    parameters, so that every printed number follows from the printed parameters."""
    return {name: np.round(value, 3) for name, value in engine.init_params(D=4, H=3, K=4, seed=0).items()}


def test_parameters_are_the_engines_initialisation_rounded_to_the_printed_places(engine, example):
    params = printed_params(engine)
    assert list(example.params) == list(PARAMETERS)
    for name in PARAMETERS:
        np.testing.assert_array_equal(example.params[name], params[name])
        assert np.all(np.abs(params[name]) <= 1 / np.sqrt(3))  # PyTorch's U(±1/√H), H = 3


def test_forward_values_are_an_independent_engine_calls(engine, example):
    forward = engine.forward(printed_params(engine), XS)
    np.testing.assert_allclose(example.h, forward.h[:, 0], rtol=1e-13, atol=0)
    np.testing.assert_allclose(example.y_hat, forward.y[:, 0], rtol=1e-13, atol=0)


def test_pre_activations_and_logits_are_what_the_equations_say(example):
    p = example.params
    previous = np.zeros(3)  # h_0 = 0
    for t in range(4):
        expected = p["W_xh"] @ example.x[t] + p["W_hh"] @ previous + p["b_h"]
        np.testing.assert_allclose(example.a[t], expected, rtol=1e-12)
        np.testing.assert_allclose(example.h[t], np.tanh(example.a[t]), rtol=1e-12)
        np.testing.assert_allclose(example.s[t], p["W_hy"] @ example.h[t] + p["b_y"], rtol=1e-12)
        softmax = np.exp(example.s[t]) / np.exp(example.s[t]).sum()
        np.testing.assert_allclose(example.y_hat[t], softmax, rtol=1e-12)
        previous = example.h[t]


def test_probabilities_sum_to_one(example):
    np.testing.assert_allclose(example.y_hat.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    assert (example.y_hat > 0).all()


def test_step_losses_are_minus_log_of_the_targets_probability_and_sum_to_the_engines_loss(engine, example):
    targets = TARGETS[:, 0]
    np.testing.assert_allclose(example.step_losses, -np.log(example.y_hat[np.arange(4), targets]),
                               rtol=1e-12)
    loss = engine.loss(printed_params(engine), XS, TARGETS)
    assert example.step_losses.sum() == pytest.approx(loss, rel=1e-13)
    assert example.loss == pytest.approx(loss, rel=1e-15)


def test_gradients_are_an_independent_engine_calls(engine, example):
    _, grads = engine.loss_and_grads(printed_params(engine), XS, TARGETS)
    assert list(example.grads) == list(PARAMETERS)
    for name in PARAMETERS:
        np.testing.assert_allclose(example.grads[name], grads[name], rtol=1e-13, atol=1e-16)
    # "o" is never an input, so the gradient of its input weights is exactly zero.
    np.testing.assert_array_equal(example.grads["W_xh"][:, 3], 0.0)


def test_gradients_are_torch_autograds_on_the_equations(example):
    """The worked example's gradients checked outside the engine: a wrong gradient in the engine would
    reach both the example and the engine comparison above, but not this one."""
    reference = hello_reference(example.params)
    assert rel_err(example.loss, reference.loss) <= 1e-12
    for name in PARAMETERS:
        assert rel_err(example.grads[name], reference.grads[name]) <= 1e-12, name


def test_predicted_letters_are_the_most_probable(example):
    assert example.predicted == "".join("helo"[k] for k in example.y_hat.argmax(axis=1))


def test_arrays_are_read_only(example):
    with pytest.raises(ValueError, match="read-only"):
        example.h[0, 0] = 1.0


def test_another_seed_and_size_give_other_numbers():
    other = hello_example(seed=1, hidden=5)
    assert other.params["W_xh"].shape == (5, 4) and other.h.shape == (4, 5)
    first = hello_example(seed=1)
    assert not np.allclose(first.y_hat, hello_example(seed=0).y_hat)


@pytest.mark.parametrize(("arguments", "message"), [
    ({"hidden": 0}, r"hidden must be an integer ≥ 1, got 0"),
    ({"hidden": 2.5}, r"hidden must be an integer ≥ 1, got 2\.5"),
    ({"seed": -1}, r"seed must be an integer ≥ 0, got -1"),
])
def test_bad_arguments_are_value_errors(arguments, message):
    with pytest.raises(ValueError, match=message):
        hello_example(**arguments)


# ----------------------------------------------------------------- matrix_latex
def test_matrix_latex_rows_columns_and_signs():
    assert matrix_latex([[0.5, -0.25], [1.0, 2.0]], 2) == \
        r"\begin{pmatrix} 0.50 & -0.25 \\ 1.00 & 2.00 \end{pmatrix}"
    assert matrix_latex([1.5, -2.0], 1) == r"\begin{pmatrix} 1.5 \\ -2.0 \end{pmatrix}"  # 1-D: a column
    assert matrix_latex([-0.0001, -0.0, 0.0004], 3) == \
        r"\begin{pmatrix} 0.000 \\ 0.000 \\ 0.000 \end{pmatrix}"
    assert matrix_latex([-0.0006], 3) == r"\begin{pmatrix} -0.001 \end{pmatrix}"
    assert matrix_latex([1.0, 0.0], 0) == r"\begin{pmatrix} 1 \\ 0 \end{pmatrix}"
    assert "−" not in matrix_latex([-1.0])  # an ASCII minus: pdflatex reads it in math mode


@pytest.mark.parametrize(("array", "decimals", "message"), [
    (np.zeros((2, 2, 2)), 3, r"array must be a non-empty 1-D or 2-D array, got shape \(2, 2, 2\)"),
    ([], 3, r"array must be a non-empty 1-D or 2-D array, got shape \(0,\)"),
    ([1.0, np.nan], 3, "array must hold finite numbers only"),
    ([1.0], -1, "decimals must be an integer from 0 to 15, got -1"),
    ([1.0], 2.0, "decimals must be an integer from 0 to 15, got 2.0"),
])
def test_matrix_latex_rejects_bad_input(array, decimals, message):
    with pytest.raises(ValueError, match=message):
        matrix_latex(array, decimals)


# ----------------------------------------------------------------- example_latex
def test_parameter_fragment_is_the_rounded_parameters(example):
    parsed = matrices(example_latex(example).params)
    layout = [name for line in worked.PARAMETER_LINES for name in line]
    assert sorted(layout) == sorted(PARAMETERS) and len(parsed) == len(layout)
    for name, matrix in zip(layout, parsed, strict=True):
        assert_rounded(matrix, example.params[name])


def test_step_fragments_are_the_rounded_engine_numbers(engine, example):
    forward = engine.forward(printed_params(engine), XS)
    latex = example_latex(example)
    assert [(s.t, s.input, s.target) for s in latex.steps] == [(1, "h", "e"), (2, "e", "l"), (3, "l", "l"),
                                                               (4, "l", "o")]
    for t, step in enumerate(latex.steps):
        x, h, s, y_hat = matrices(step.values)
        x_part, h_part, b_h, a = matrices(step.split)  # a_t = W_xh x_t + W_hh h_{t-1} + b_h
        assert_rounded(x, XS[t, 0], decimals=0)
        assert_rounded(a, example.a[t])
        assert_rounded(x_part, example.params["W_xh"] @ XS[t, 0])
        assert_rounded(b_h, example.params["b_h"])
        assert_rounded(h_part, example.params["W_hh"] @ (forward.h[t - 1, 0] if t else np.zeros(3)))
        assert_rounded(h, forward.h[t, 0])
        assert_rounded(s, example.s[t])
        assert_rounded(y_hat, forward.y[t, 0])
        target = "helo".index(step.target)
        shown = re.search(r"-\\log ([0-9.]+) = ([0-9.]+)$", step.values)
        assert float(shown[1]) == np.round(forward.y[t, 0, target], 3)
        assert float(shown[2]) == np.round(-np.log(forward.y[t, 0, target]), 3) == float(step.loss)
        assert step.predicted == "helo"[int(forward.y[t, 0].argmax())]


def test_loss_and_gradient_fragments_are_the_rounded_engine_numbers(engine, example):
    loss, grads = engine.loss_and_grads(printed_params(engine), XS, TARGETS)
    latex = example_latex(example)
    assert latex.loss == f"{loss:.3f}"
    layout = [name for line in worked.PARAMETER_LINES for name in line]
    for name, matrix in zip(layout, matrices(latex.gradients), strict=True):
        assert_rounded(matrix, grads[name])
    assert r"\delta W_{xh} &= \begin{pmatrix}" in latex.gradients
    assert r"\ell_1 &= -\log \hat{y}_{1,\texttt{e}} = " in latex.steps[0].values


def test_decimals_are_respected(example):
    latex = example_latex(example, decimals=5)
    numbers = re.findall(r"-?\d+\.\d+", latex.params + latex.gradients + latex.steps[0].values)
    assert numbers and all(len(n.split(".")[1]) == 5 for n in numbers)
    assert latex.decimals == 5 and latex.loss == f"{example.loss:.5f}"


def test_one_hot_table_lists_the_vocabulary_over_its_vectors(example):
    one_hot = example_latex(example).one_hot
    assert one_hot.startswith("$") and one_hot.endswith("$")
    assert r"\texttt{h} & \texttt{e} & \texttt{l} & \texttt{o}" in one_hot
    np.testing.assert_array_equal(np.hstack(matrices(one_hot)), np.eye(4))


def test_latex_is_deterministic_for_a_seed_and_changes_with_it():
    first = example_latex(hello_example(seed=0))
    worked._hello_example.cache_clear()  # recompute from scratch, not the cached example
    again = example_latex(hello_example(seed=0))
    assert again == first
    other = example_latex(hello_example(seed=7))
    assert other.params != first.params and other.gradients != first.gradients and other.loss != first.loss


def test_dlbook_notation_uses_goodfellows_symbols(example):
    latex = example_latex(example, notation="dlbook")
    for symbol in (r"\bm{U} &=", r"\bm{W} &=", r"\bm{V} &=", r"\bm{b} &=", r"\bm{c} &="):
        assert symbol in latex.params
    assert r"\bm{h}^{(2)} &=" in latex.steps[1].values and r"L^{(2)} &=" in latex.steps[1].values
    assert r"-\log \hat{y}_{\texttt{l}}^{(2)} = " in latex.steps[1].values  # an entry: not bold
    assert r"\delta \bm{U} &=" in latex.gradients
    assert matrices(latex.gradients)[0].tolist() == matrices(example_latex(example).gradients)[0].tolist()


def test_fragments_hold_math_only(example):
    latex = example_latex(example)
    text = " ".join([latex.one_hot, latex.params, latex.gradients, *(s.values for s in latex.steps)])
    words = set(re.findall(r"(?<![\\a-zA-Z])[a-zA-Z]{4,}", text))  # words not part of a command
    assert words == {"pmatrix", "array", "cccc", "softmax"}  # environments, a column spec, an operator


def test_bad_notation_is_a_value_error(example):
    with pytest.raises(ValueError, match=r"unknown notation 'physics'; valid: course, dlbook"):
        example_latex(example, notation="physics")


@pytest.mark.parametrize("notation", ["course", "dlbook"])
def test_fragments_typeset_within_the_sheets_page(tmp_path, example, notation):
    latex = example_latex(example, notation=notation)
    steps = "\n".join(f"\\begin{{align*}}\n{s.values}\n\\end{{align*}}" for s in latex.steps)
    tex = tmp_path / "worked.tex"
    tex.write_text(
        "\\documentclass[11pt,a4paper]{article}\n\\usepackage[margin=2cm]{geometry}\n"
        "\\usepackage{amsmath,amssymb,bm}\n\\begin{document}\n"
        f"\\begin{{center}}\n{latex.one_hot}\n\\end{{center}}\n"
        f"\\begin{{align*}}\n{latex.params}\n\\end{{align*}}\n{steps}\n"
        f"\\begin{{align*}}\n{latex.gradients}\n\\end{{align*}}\n$L = {latex.loss}$\n\\end{{document}}\n",
        encoding="utf-8")
    text = pdf_text(compile_pdf(tex, runs=1))
    assert overfull_boxes((tmp_path / "worked.log").read_text(errors="replace")) == []
    assert f"L = {latex.loss}" in text and "softmax" in text and "tanh" in text


def test_the_pytorch_snippet_reproduces_the_printed_gradients(example, capsys):
    """The snippet the sheet prints, run as printed: its loss and W_hh's gradient are the sheet's."""
    import torch  # required here (CI installs it)

    snippet = example_latex(example).torch
    assert len(snippet.splitlines()) <= 22
    namespace: dict = {}
    exec(snippet, namespace)  # the sheet's own text: a test of what it prints
    torch.set_default_dtype(torch.float32)
    printed = capsys.readouterr().out
    assert printed.startswith(f"{round(example.loss, 3)} ")
    np.testing.assert_allclose(namespace["W_hh"].grad.numpy(), example.grads["W_hh"], rtol=1e-12)
    for name in PARAMETERS:
        np.testing.assert_allclose(namespace[name].grad.numpy().reshape(example.grads[name].shape),
                                   example.grads[name], rtol=1e-12, atol=1e-15)


def test_the_finite_difference_a_calculator_can_repeat(example):
    """From the two printed losses, (L+ − L−)/(2ε) is the printed gradient entry to its printed places."""
    latex = example_latex(example)
    plus, minus, epsilon = (float(v) for v in (latex.loss_plus, latex.loss_minus, latex.epsilon))
    assert f"{(plus - minus) / (2 * epsilon):.3f}" == latex.difference == latex.gradient_entry
