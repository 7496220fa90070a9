"""Cells written with every construct of the grammar agree with PyTorch evaluating the same text: a
power of a scaled value (``(0.5 * v) ** 2`` is ¼ v², not ½ v²), a residual path, a cancellation."""

import pytest

from bpttlab.derivations import HEADS, LOSS_AT, custom_cell
from bpttlab.numeric.verify import verify_gradients

WRITTEN = {
    "scaled_square": "h_t = tanh(W_xh @ x_t + W_hh @ h_prev + b_h) * (0.5 * h_prev) ** 2 + h_prev",
    "cube": "a_t = W_xh @ x_t + W_hh @ h_prev + b_h\nh_t = tanh(-(2 * a_t) ** 3 / 4)",
}


@pytest.mark.parametrize("name", WRITTEN)
def test_a_written_cell_with_powers_agrees_with_torch_evaluating_its_text(name):
    cell = custom_cell(name, WRITTEN[name], {"h_t": "h_prev"})
    results = verify_gradients(cells=(cell,), heads=("linear",), loss_at=("every",),
                               checks=("torch autograd",))
    assert results.passed, "\n".join(map(str, results))


#: Values that depend on no sequence: lambdified, each is one column or a number, and the engine must
#: still store it for every sequence and step (cells the cell generator found, tests/test_generated_cells.py).
CONSTANT = {
    "state_is_a_bias": ("c_t = b_e", {"c_t": "c_prev"}, ()),
    "state_is_a_parameter_vector": ("h_t = softplus(w2)\ng2_t = b_f - g2_prev",
                                    {"h_t": "h_prev", "g2_t": "g2_prev"}, ("w2",)),
    "second_state_a_bias": ("s_t = tanh(s_prev)\nc_t = b_f", {"s_t": "s_prev", "c_t": "c_prev"}, ()),
    "zero_state": ("m_t = c_prev / 2\ns_t = 0 * m_prev\nc_t = b_b",
                   {"m_t": "m_prev", "s_t": "s_prev", "c_t": "c_prev"}, ()),
    # a function of a constant (σ(0) = ½ everywhere), and a weight times one: a number in the engine's code
    "function_of_zero": ("h_t = tanh(W_xh @ x_t) + sigmoid(0 * b_b)", {"h_t": "h_prev"}, ()),
    "weight_times_constant": ("h_t = tanh(W_xh @ x_t) * (W_h0 @ tanh(u - u) + W_h1 @ sigmoid(0 * u) + b_h)",
                              {"h_t": "h_prev"}, ("u",)),
    # δW_h0 = δs_t (−b_f)ᵀ: an outer product with a bias, summed over every sequence and step
    "outer_product_with_a_bias": ("s_t = W_h0 @ (-b_f)\nh_t = tanh(W_xh @ x_t + W_hh @ h_prev + s_t)",
                                  {"h_t": "h_prev"}, ()),
    # no parameter of its own: H comes from the head's W_hy (K × H)
    "no_parameters": ("h_t = tanh(h_prev) + 0.5 * h_prev", {"h_t": "h_prev"}, ()),
    # a second state nothing reads: δ of it carried back is a number, multiplied by W_h2ᵀ
    # δW_h1 = δc_t (¼ 1)ᵀ: equal columns, printed as one column
    "weight_times_a_constant": ("h_t = tanh(W_xh @ x_t + W_hh @ h_prev)\n"
                                "c_t = W_h1 @ (0.25 + b_a - b_a) * h_t",
                                {"h_t": "h_prev", "c_t": "c_prev"}, ()),
    "unread_second_state": ("h_t = tanh(W_xh @ x_t + W_hh @ h_prev)\ny_t = W_h2 @ tanh(W_x2 @ x_t)",
                            {"h_t": "h_prev", "y_t": "y_prev"}, ()),
}


@pytest.mark.parametrize("name", CONSTANT)
def test_a_value_that_depends_on_no_sequence_is_stored_for_every_sequence(name):
    text, states, params = CONSTANT[name]
    cell = custom_cell(name, text, states, params)
    results = verify_gradients(cells=(cell,), heads=tuple(HEADS), loss_at=LOSS_AT)
    assert results.passed, "\n".join(map(str, results))
    assert {r.check for r in results} == {"finite differences", "torch autograd"}
