"""The parts of the "hello" example issue 13 added: the last step backward, the split of a_t, the
zero column of δW_xh, one step of gradient descent, and numbers in the sheet's decimal mark. The
expected values are computed here with NumPy from the example's forward values and parameters."""

import re

import numpy as np

from bpttlab.reports.sheets.worked_example import LEARNING_RATE, example_latex, hello_example


def forward_loss(params, example):
    h, loss = np.zeros(example.hidden), 0.0
    for x, target in zip(example.x, example.targets, strict=True):
        h = np.tanh(params["W_xh"] @ x + params["W_hh"] @ h + params["b_h"])
        s = params["W_hy"] @ h + params["b_y"]
        loss += -(s[example.vocabulary.index(target)] - np.log(np.exp(s).sum()))
    return loss


def test_the_last_step_backward_is_the_derived_recurrence_in_numbers():
    example = hello_example()
    p, T = example.params, len(example.inputs)
    y = np.eye(4)[example.vocabulary.index(example.targets[-1])]
    delta_s = example.y_hat[T - 1] - y
    delta_h = p["W_hy"].T @ delta_s  # nothing from step T + 1
    delta_a = delta_h * (1 - example.h[T - 1] ** 2)
    np.testing.assert_allclose(example.backward["s"], delta_s, rtol=1e-12)
    np.testing.assert_allclose(example.backward["h"], delta_h, rtol=1e-12)
    np.testing.assert_allclose(example.backward["a"], delta_a, rtol=1e-12)
    np.testing.assert_allclose(example.backward["h_prev"], p["W_hh"].T @ delta_a, rtol=1e-12)


def test_one_step_of_gradient_descent_lowers_the_loss_to_the_printed_value():
    example = hello_example()
    assert np.isclose(forward_loss(example.params, example), example.loss, rtol=1e-12)
    updated = {name: value - LEARNING_RATE * example.grads[name] for name, value in example.params.items()}
    assert np.isclose(forward_loss(updated, example), example.updated_loss, rtol=1e-12)
    assert example.updated_loss < example.loss
    latex = example_latex(example)
    assert latex.updated_loss == f"{example.updated_loss:.3f}" and latex.learning_rate == "0.1"


def test_the_split_of_a_t_adds_up_and_o_has_a_zero_column():
    example = hello_example()
    np.testing.assert_allclose(example.x_part + example.h_part + example.params["b_h"], example.a, rtol=1e-12)
    latex = example_latex(example)
    assert latex.zero_columns == ("o",)  # never an input
    assert not example.grads["W_xh"][:, 3].any() and example.grads["W_xh"][:, :3].any()
    assert [step.predicted for step in latex.steps] == list(example.predicted)
    assert latex.correct == sum(p == q for p, q in zip(example.predicted, example.targets, strict=True))


def test_numbers_follow_the_language():
    example = hello_example()
    english, indonesian = example_latex(example, lang="en"), example_latex(example, lang="id")
    for latex, point, comma in ((english, True, False), (indonesian, False, True)):
        text = " ".join([latex.params, latex.gradients, latex.backward, latex.loss, latex.updated_loss,
                         latex.learning_rate, *(s.values + s.split for s in latex.steps)])
        assert bool(re.search(r"\d\.\d", text)) is point
        assert ("{,}" in text) is comma
