"""Cells written with every construct of the grammar agree with PyTorch evaluating the same text: a
power of a scaled value (``(0.5 * v) ** 2`` is ¼ v², not ½ v²), a residual path, a cancellation."""

import pytest

from bpttlab.derivations import custom_cell
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
