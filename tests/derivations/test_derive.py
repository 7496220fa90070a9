import pytest
import sympy as sp

from bpttlab.derivations import CELLS, HEADS, LOSS_AT, D, Elementwise, H, K, delta, derive
from bpttlab.derivations.cells import BUILT_IN
from bpttlab.derivations.symbols import ones, vector

EXPECTED_PARAMS = {
    "rnn": {"W_xh": (H, D), "W_hh": (H, H), "b_h": (H, 1)},
    "lstm": {**{f"W_x{g}": (H, D) for g in "ifgo"}, **{f"W_h{g}": (H, H) for g in "ifgo"},
             **{f"b_{g}": (H, 1) for g in "ifgo"}},
    "gru": {**{f"W_x{g}": (H, D) for g in "zrn"}, **{f"W_h{g}": (H, H) for g in "zrn"},
            **{f"b_{g}": (H, 1) for g in "zrn"}},
}
EXPECTED_PARAMS["gru_torch"] = {**EXPECTED_PARAMS["gru"], "b_hn": (H, 1)}


def equation(equations, name):
    return next(eq.rhs for eq in equations if eq.lhs.name == name)


@pytest.mark.parametrize("cell", BUILT_IN)
def test_params_are_the_public_vocabulary(cell):
    params = dict(derive(cell, head="linear").params)
    assert params == {**EXPECTED_PARAMS[cell], "W_hy": (K, H), "b_y": (K, 1)}
    assert list(params)[: len(EXPECTED_PARAMS[cell])] == list(EXPECTED_PARAMS[cell])


def test_bare_cell_has_no_head_parameters():
    assert dict(derive("rnn", head=None).params) == EXPECTED_PARAMS["rnn"]


@pytest.mark.parametrize(("kwargs", "listed"), [
    ({"cell": "elman"}, "rnn, lstm, gru, gru_torch, indrnn, .*, or a path to a .cell file"),
    ({"cell": "rnn", "head": "tanh"}, "softmax, sigmoid, linear"),
    ({"cell": "rnn", "loss_at": "first"}, "every, last"),
])
def test_unknown_names_list_the_valid_ones(kwargs, listed):
    with pytest.raises(ValueError, match=listed):
        derive(**kwargs)


def test_rnn_backward_is_the_textbook_one_in_stored_values():
    d = derive("rnn", head="softmax")
    h, a, dh = vector("h_t", H), vector("a_t", H), delta(vector("h_t", H))
    assert equation(d.step_backward, "δa_t") == sp.HadamardProduct(dh, ones(H) - sp.HadamardPower(h, 2))
    assert equation(d.step_backward, "δh_{t-1}") == sp.MatrixSymbol("W_hh", H, H).T * delta(a)
    assert equation(d.step_backward, "δW_hh") == delta(a) * vector("h_{t-1}", H).T
    assert equation(d.step_backward, "δb_h") == delta(a)


@pytest.mark.parametrize("head", ["softmax", "sigmoid"])
def test_classification_heads_give_prediction_minus_target(head):
    d = derive("rnn", head=head)
    assert equation(d.head_backward, "δa_{y,t}") == vector("ŷ_t", K) - vector("y_t", K)


def test_squared_error_gives_prediction_minus_target():
    d = derive("rnn", head="linear")
    assert equation(d.head_backward, "δŷ_t") == vector("ŷ_t", K) - vector("y_t", K)


@pytest.mark.parametrize("cell", CELLS)
def test_backward_never_recomputes_a_preactivation(cell):
    d = derive(cell, head="softmax")
    pre_activations = {eq.lhs for eq in d.cell.equations if eq.lhs.name.startswith("a_")}
    for eq in d.backward:
        for node in eq.rhs.atoms(Elementwise):
            assert node.arg not in pre_activations, f"{eq.lhs} recomputes {node}"


def test_lstm_cell_path_is_diag_of_forget_gate():
    from sympy.matrices.expressions.diagonal import DiagMatrix

    d = derive("lstm")
    assert d.jacobian[("c_t", "c_{t-1}")] == DiagMatrix(vector("f_t", H))
    assert set(d.jacobian) == {(a, b) for a in ("h_t", "c_t") for b in ("h_{t-1}", "c_{t-1}")}


def test_rnn_jacobian_is_diag_one_minus_h_squared_times_w_hh():
    from sympy.matrices.expressions.diagonal import DiagMatrix

    d = derive("rnn")
    expected = DiagMatrix(ones(H) - sp.HadamardPower(vector("h_t", H), 2)) * sp.MatrixSymbol("W_hh", H, H)
    assert d.jacobian[("h_t", "h_{t-1}")] == expected


def outer_product(rhs):
    """The names (u, v) of an outer product u vᵀ."""
    assert isinstance(rhs, sp.MatMul) and len(rhs.args) == 2, rhs
    left, right = rhs.args
    assert isinstance(right, sp.Transpose), rhs
    return left.name, right.arg.name


def hadamard_factors(rhs):
    assert isinstance(rhs, sp.HadamardProduct), rhs
    return {arg.name for arg in rhs.args}


def test_gru_variants_differ_in_their_gradients_as_their_reset_placements_say():
    """Course GRU: a_n = W_hn (r ⊙ h_{t−1}) + …, so δW_hn = δa_n (r ⊙ h_{t−1})ᵀ = δa_n u_tᵀ.
    PyTorch's GRU: a_n = r ⊙ (W_hn h_{t−1} + b_hn) + …, so δW_hn = (δa_n ⊙ r) h_{t−1}ᵀ = δm_t h_{t−1}ᵀ,
    and δb_hn = δm_t."""
    course, torch_style = derive("gru"), derive("gru_torch")
    assert outer_product(equation(course.step_backward, "δW_hn")) == ("δa_{n,t}", "u_t")
    assert hadamard_factors(equation(course.cell.equations, "u_t")) == {"r_t", "h_{t-1}"}
    assert outer_product(equation(torch_style.step_backward, "δW_hn")) == ("δm_t", "h_{t-1}")
    assert hadamard_factors(equation(torch_style.step_backward, "δm_t")) == {"δa_{n,t}", "r_t"}
    assert equation(torch_style.step_backward, "δb_hn").name == "δm_t"
    assert "b_hn" in torch_style.params and "b_hn" not in course.params


@pytest.mark.parametrize("loss_at", LOSS_AT)
def test_recurrence_depends_on_loss_placement(loss_at):
    d = derive("rnn", head="softmax", loss_at=loss_at)
    names = [eq.lhs.name for eq in d.recurrence]
    assert names == (["δh_t"] if loss_at == "every" else ["δh_T", "δh_t"])


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("head", HEADS)
def test_gradients_cover_every_parameter(cell, head):
    d = derive(cell, head=head)
    assert set(d.gradients) == set(d.params)
    for name, gradient in d.gradients.items():
        assert gradient.shape == d.params[name]
