"""The sheet printer: exact LaTeX for the key equations in both notations, textbook factor order,
and nothing of SymPy's own notation (∘, ↦, class names) in any printed equation."""

import re

import pytest
import sympy as sp

from bpttlab.derivations import CELLS, HEADS, LOSS_AT, derive, resolve_cell
from bpttlab.derivations.printing.latex_printer import (
    aligned,
    concatenated,
    concatenated_forms,
    equation,
    gates,
    latex,
)
from bpttlab.derivations.printing.notations import NOTATIONS


def forward_equation(cell_name: str, lhs: str) -> sp.Eq:
    return next(eq for eq in derive(cell_name, head=None).forward if eq.lhs.name == lhs)


def backward_equation(cell_name: str, lhs: str, head: str | None = None) -> sp.Eq:
    d = derive(cell_name, head=head)
    return next(eq for eq in d.backward if eq.lhs.name == lhs)


def show(eq: sp.Eq, notation: str, cell_name: str = "rnn") -> str:
    lhs, rhs = equation(eq, notation, gates(resolve_cell(cell_name)))
    return f"{lhs} = {rhs}"


KEY_EQUATIONS = [
    ("rnn", "a_t", "course", r"a_t = W_{hh} h_{t-1} + W_{xh} x_t + b_h"),
    ("rnn", "a_t", "dlbook", r"\bm{a}^{(t)} = \bm{W} \bm{h}^{(t-1)} + \bm{U} \bm{x}^{(t)} + \bm{b}"),
    ("rnn", "h_t", "course", r"h_t = \tanh(a_t)"),
    ("rnn", "h_t", "dlbook", r"\bm{h}^{(t)} = \tanh(\bm{a}^{(t)})"),
    ("lstm", "f_t", "course", r"f_t = \sigma(a_{f,t})"),
    ("lstm", "c_t", "course", r"C_t = f_t \odot C_{t-1} + i_t \odot \tilde{C}_t"),
    ("lstm", "c_t", "dlbook",
     r"\bm{s}^{(t)} = \bm{f}^{(t)} \odot \bm{s}^{(t-1)} + \bm{g}^{(t)} \odot \tilde{\bm{s}}^{(t)}"),
    ("lstm", "h_t", "course", r"h_t = o_t \odot \tanh(C_t)"),
    ("lstm", "h_t", "dlbook", r"\bm{h}^{(t)} = \bm{q}^{(t)} \odot \tanh(\bm{s}^{(t)})"),
    ("gru", "h_t", "course", r"h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde{h}_t"),
    ("gru", "h_t", "dlbook",
     r"\bm{h}^{(t)} = (1 - \bm{z}^{(t)}) \odot \bm{h}^{(t-1)} + \bm{z}^{(t)} \odot \tilde{\bm{h}}^{(t)}"),
    ("gru", "u_t", "course", r"u_t = r_t \odot h_{t-1}"),
    ("gru_torch", "h_t", "course", r"h_t = (1 - z_t) \odot \tilde{h}_t + z_t \odot h_{t-1}"),
    ("gru_torch", "m_t", "course", r"m_t = W_{h\tilde{h}} h_{t-1} + b_{h\tilde{h}}"),
    ("lstm", "f_t", "dlbook", r"\bm{f}^{(t)} = \sigma(\bm{a}_f^{(t)})"),
    ("gru", "u_t", "dlbook", r"\bm{v}^{(t)} = \bm{r}^{(t)} \odot \bm{h}^{(t-1)}"),
    ("gru_torch", "h_t", "dlbook",
     r"\bm{h}^{(t)} = (1 - \bm{z}^{(t)}) \odot \tilde{\bm{h}}^{(t)} + \bm{z}^{(t)} \odot \bm{h}^{(t-1)}"),
    ("gru_torch", "m_t", "dlbook", r"\bm{m}^{(t)} = \bm{W}^{h} \bm{h}^{(t-1)} + \bm{b}^{hh}"),
]


@pytest.mark.parametrize(("cell_name", "lhs", "notation", "expected"), KEY_EQUATIONS)
def test_forward_equations(cell_name, lhs, notation, expected):
    assert show(forward_equation(cell_name, lhs), notation, cell_name) == expected


KEY_BACKWARD = [
    ("rnn", "δa_t", None, "course", r"\delta a_t = \delta h_t \odot (1 - h_t^{2})"),
    ("rnn", "δa_t", None, "dlbook",
     r"\delta \bm{a}^{(t)} = \delta \bm{h}^{(t)} \odot (1 - (\bm{h}^{(t)})^{2})"),
    ("rnn", "δh_{t-1}", None, "course", r"\delta h_{t-1} = W_{hh}^{\top} \delta a_t"),
    ("rnn", "δW_hh", None, "course", r"\delta W_{hh} = \delta a_t h_{t-1}^{\top}"),
    ("rnn", "δW_hh", None, "dlbook", r"\delta \bm{W} = \delta \bm{a}^{(t)} \bm{h}^{(t-1)\top}"),
    ("lstm", "δa_{f,t}", None, "course",
     r"\delta a_{f,t} = \delta C_t \odot f_t \odot (1 - f_t) \odot C_{t-1}"),
    ("lstm", "δc_t", None, "course",
     r"\delta C_t = \delta h_t \odot o_t \odot (1 - \tanh^{2}(C_t)) + \delta C_t^{(\leftarrow t+1)}"),
    ("gru", "δa_{z,t}", None, "course",
     r"\delta a_{z,t} = \delta h_t \odot z_t \odot (1 - z_t) \odot (\tilde{h}_t - h_{t-1})"),
    ("rnn", "δh_t", "softmax", "course",
     r"\delta h_t = W_{hy}^{\top} \delta a_{y,t} + \delta h_t^{(\leftarrow t+1)}"),
    ("rnn", "δh_t", "softmax", "dlbook",
     r"\delta \bm{h}^{(t)} = \bm{V}^{\top} \delta \bm{o}^{(t)} + \delta \bm{h}^{(t \leftarrow t+1)}"),
    ("rnn", "δa_{y,t}", "sigmoid", "course", r"\delta a_{y,t} = \hat{y}_t - y_t"),
    # the LSTM's and the GRUs' backward steps, each written out by hand from the forward equations
    # (C_t = f ⊙ C_{t−1} + i ⊙ C̃, h_t = o ⊙ tanh C_t; course GRU h_t = (1 − z) ⊙ h_{t−1} + z ⊙ h̃ with
    # h̃ = tanh(W (r ⊙ h_{t−1}) + …); PyTorch's h_t = (1 − z) ⊙ h̃ + z ⊙ h_{t−1} with r ⊙ (W h_{t−1} + b)),
    # in both notations
    ("lstm", "δa_{f,t}", None, "dlbook", r"\delta \bm{a}_f^{(t)} = \delta \bm{s}^{(t)} \odot \bm{f}^{(t)} "
     r"\odot (1 - \bm{f}^{(t)}) \odot \bm{s}^{(t-1)}"),
    ("lstm", "δc_t", None, "dlbook", r"\delta \bm{s}^{(t)} = \delta \bm{h}^{(t)} \odot \bm{q}^{(t)} "
     r"\odot (1 - \tanh^{2}(\bm{s}^{(t)})) + \delta \bm{s}^{(t \leftarrow t+1)}"),
    ("lstm", "δa_{i,t}", None, "course",
     r"\delta a_{i,t} = \delta C_t \odot i_t \odot (1 - i_t) \odot \tilde{C}_t"),
    ("lstm", "δa_{i,t}", None, "dlbook", r"\delta \bm{a}_g^{(t)} = \delta \bm{s}^{(t)} \odot \bm{g}^{(t)} "
     r"\odot (1 - \bm{g}^{(t)}) \odot \tilde{\bm{s}}^{(t)}"),
    ("lstm", "δa_{g,t}", None, "course",
     r"\delta a_{C,t} = \delta C_t \odot i_t \odot (1 - \tilde{C}_t^{2})"),
    ("lstm", "δa_{g,t}", None, "dlbook", r"\delta \bm{a}_{\tilde{s}}^{(t)} = \delta \bm{s}^{(t)} "
     r"\odot \bm{g}^{(t)} \odot (1 - (\tilde{\bm{s}}^{(t)})^{2})"),
    ("lstm", "δa_{o,t}", None, "course",
     r"\delta a_{o,t} = \delta h_t \odot o_t \odot (1 - o_t) \odot \tanh(C_t)"),
    ("lstm", "δa_{o,t}", None, "dlbook", r"\delta \bm{a}_q^{(t)} = \delta \bm{h}^{(t)} \odot \bm{q}^{(t)} "
     r"\odot (1 - \bm{q}^{(t)}) \odot \tanh(\bm{s}^{(t)})"),
    ("lstm", "δc_{t-1}", None, "course", r"\delta C_{t-1} = \delta C_t \odot f_t"),
    ("lstm", "δc_{t-1}", None, "dlbook", r"\delta \bm{s}^{(t-1)} = \delta \bm{s}^{(t)} \odot \bm{f}^{(t)}"),
    ("gru", "δa_{z,t}", None, "dlbook", r"\delta \bm{a}_z^{(t)} = \delta \bm{h}^{(t)} \odot \bm{z}^{(t)} "
     r"\odot (1 - \bm{z}^{(t)}) \odot (\tilde{\bm{h}}^{(t)} - \bm{h}^{(t-1)})"),
    ("gru", "δa_{n,t}", None, "course",
     r"\delta a_{\tilde{h},t} = \delta h_t \odot z_t \odot (1 - \tilde{h}_t^{2})"),
    ("gru", "δa_{n,t}", None, "dlbook", r"\delta \bm{a}_{\tilde{h}}^{(t)} = \delta \bm{h}^{(t)} "
     r"\odot \bm{z}^{(t)} \odot (1 - (\tilde{\bm{h}}^{(t)})^{2})"),
    ("gru", "δa_{r,t}", None, "course",
     r"\delta a_{r,t} = \delta u_t \odot r_t \odot (1 - r_t) \odot h_{t-1}"),
    ("gru", "δa_{r,t}", None, "dlbook", r"\delta \bm{a}_r^{(t)} = \delta \bm{v}^{(t)} \odot \bm{r}^{(t)} "
     r"\odot (1 - \bm{r}^{(t)}) \odot \bm{h}^{(t-1)}"),
    ("gru", "δh_{t-1}", None, "course", r"\delta h_{t-1} = W_{hr}^{\top} \delta a_{r,t} + W_{hz}^{\top} "
     r"\delta a_{z,t} + \delta h_t \odot (1 - z_t) + \delta u_t \odot r_t"),
    ("gru", "δh_{t-1}", None, "dlbook", r"\delta \bm{h}^{(t-1)} = \bm{W}^{r\top} \delta \bm{a}_r^{(t)} "
     r"+ \bm{W}^{z\top} \delta \bm{a}_z^{(t)} + \delta \bm{h}^{(t)} \odot (1 - \bm{z}^{(t)}) "
     r"+ \delta \bm{v}^{(t)} \odot \bm{r}^{(t)}"),
    ("gru_torch", "δa_{z,t}", None, "course",
     r"\delta a_{z,t} = \delta h_t \odot z_t \odot (1 - z_t) \odot (h_{t-1} - \tilde{h}_t)"),
    ("gru_torch", "δm_t", None, "course", r"\delta m_t = \delta a_{\tilde{h},t} \odot r_t"),
    ("gru_torch", "δa_{z,t}", None, "dlbook",
     r"\delta \bm{a}_z^{(t)} = \delta \bm{h}^{(t)} \odot \bm{z}^{(t)} \odot (1 - \bm{z}^{(t)}) "
     r"\odot (\bm{h}^{(t-1)} - \tilde{\bm{h}}^{(t)})"),
    ("rnn", "δh_{t-1}", None, "dlbook", r"\delta \bm{h}^{(t-1)} = \bm{W}^{\top} \delta \bm{a}^{(t)}"),
    ("rnn", "δa_{y,t}", "sigmoid", "dlbook", r"\delta \bm{o}^{(t)} = \hat{\bm{y}}^{(t)} - \bm{y}^{(t)}"),
    ("gru_torch", "δm_t", None, "dlbook",
     r"\delta \bm{m}^{(t)} = \delta \bm{a}_{\tilde{h}}^{(t)} \odot \bm{r}^{(t)}"),
]


@pytest.mark.parametrize("table", [KEY_EQUATIONS, KEY_BACKWARD])
def test_both_notations_have_as_many_key_equations(table):
    counts = {n: sum(row[-2] == n for row in table) for n in NOTATIONS}
    assert len(set(counts.values())) == 1, counts


@pytest.mark.parametrize(("cell_name", "lhs", "head", "notation", "expected"), KEY_BACKWARD)
def test_backward_equations(cell_name, lhs, head, notation, expected):
    assert show(backward_equation(cell_name, lhs, head), notation, cell_name) == expected


@pytest.mark.parametrize(("head", "notation", "expected"), [
    ("softmax", "course", r"\ell_t = -y_t^{\top} \log\operatorname{softmax}(a_{y,t})"),
    ("sigmoid", "course",
     r"\ell_t = \mathbf{1}^{\top} (\operatorname{softplus}(a_{y,t}) - a_{y,t} \odot y_t)"),
    ("sigmoid", "dlbook",
     r"L^{(t)} = \mathbf{1}^{\top} (\operatorname{softplus}(\bm{o}^{(t)}) "
     r"- \bm{o}^{(t)} \odot \bm{y}^{(t)})"),
    ("linear", "course", r"\ell_t = \frac{1}{2} \mathbf{1}^{\top} (\hat{y}_t - y_t)^{2}"),
])
def test_loss_lines(head, notation, expected):
    loss = derive("rnn", head=head).head.equations[-1]
    assert show(loss, notation) == expected


def test_prediction_lines():
    softmax, sigmoid = (derive("rnn", head=h).head.equations[1] for h in ("softmax", "sigmoid"))
    assert show(softmax, "course") == r"\hat{y}_t = \operatorname{softmax}(a_{y,t})"
    assert show(sigmoid, "dlbook") == r"\hat{\bm{y}}^{(t)} = \sigma(\bm{o}^{(t)})"


@pytest.mark.parametrize(("notation", "expected"), [
    ("course", r"\operatorname{diag}(f_t)"),
    ("dlbook", r"\operatorname{diag}(\bm{f}^{(t)})"),
])
def test_lstm_cell_path_jacobian(notation, expected):
    d = derive("lstm", head=None)
    assert latex(d.jacobian[("c_t", "c_{t-1}")], notation, gates(d.cell)) == expected


def test_rnn_step_jacobian():
    d = derive("rnn", head=None)
    J = d.jacobian[("h_t", "h_{t-1}")]
    assert latex(J) == r"\operatorname{diag}(1 - h_t^{2}) W_{hh}"
    assert latex(J, "dlbook") == r"\operatorname{diag}(1 - (\bm{h}^{(t)})^{2}) \bm{W}"


def test_a_sum_inside_a_product_is_parenthesised():
    d = derive("gru_torch", head=None)
    printed = latex(d.jacobian[("h_t", "h_{t-1}")], "course", gates(d.cell))
    assert printed.startswith(r"\operatorname{diag}((1 - z_t) \odot (1 - \tilde{h}_t^{2})) "
                              r"(\operatorname{diag}(r_t \odot (1 - r_t) \odot m_t) W_{hr} + ")
    assert r" - \operatorname{diag}(z_t \odot (1 - z_t) \odot \tilde{h}_t) W_{hz}" in printed


class TestHadamardOrder:
    h = sp.MatrixSymbol("h_{t-1}", 3, 1)
    c = sp.MatrixSymbol("c_{t-1}", 3, 1)
    f = sp.MatrixSymbol("f_t", 3, 1)
    z = sp.MatrixSymbol("z_t", 3, 1)
    dh = sp.MatrixSymbol("δh_t", 3, 1)
    one = sp.OneMatrix(3, 1)

    def test_gates_come_before_the_rest_only_when_named_as_gates(self):
        product = sp.HadamardProduct(self.c, self.f)
        assert latex(product) == r"C_{t-1} \odot f_t"
        assert latex(product, gates=["f_t"]) == r"f_t \odot C_{t-1}"

    def test_deltas_then_gates_then_one_minus_gate_then_the_rest(self):
        product = sp.HadamardProduct(self.h, self.one - self.z, self.z, self.dh)
        assert latex(product, gates=["z_t"]) == r"\delta h_t \odot z_t \odot (1 - z_t) \odot h_{t-1}"
        assert latex(product) == r"\delta h_t \odot h_{t-1} \odot (1 - z_t) \odot z_t"

    def test_a_gate_at_another_step_is_still_a_gate(self):
        f3, c2 = sp.MatrixSymbol("f_3", 3, 1), sp.MatrixSymbol("c_2", 3, 1)
        assert latex(sp.HadamardProduct(c2, f3), gates=["f_t"]) == r"f_3 \odot C_2"

    def test_gates_of_the_cells(self):
        assert gates(resolve_cell("lstm")) == ("i_t", "f_t", "o_t")
        assert gates(resolve_cell("gru")) == gates(resolve_cell("gru_torch")) == ("z_t", "r_t")
        assert gates(resolve_cell("rnn")) == ()


def test_signs_and_the_ones_vector():
    z, y, y_hat = (sp.MatrixSymbol(n, 3, 1) for n in ("z_t", "y_t", "ŷ_t"))
    assert latex(sp.OneMatrix(3, 1) - z) == "1 - z_t"
    assert latex(-y + y_hat) == r"\hat{y}_t - y_t"
    assert latex(-y - y_hat) == r"-y_t - \hat{y}_t"
    assert latex(sp.OneMatrix(1, 3) * z) == r"\mathbf{1}^{\top} z_t"
    assert latex(sp.Rational(-1, 2) * z) == r"-\frac{1}{2} z_t"
    assert latex(sp.HadamardPower(y_hat - y, 2)) == r"(\hat{y}_t - y_t)^{2}"
    assert latex(sp.Identity(3), "dlbook") == r"\bm{I}" and latex(sp.ZeroMatrix(3, 1)) == r"\mathbf{0}"


def test_aligned_block_is_one_line_per_equation_and_deterministic():
    d = derive("lstm", head="softmax")
    block = aligned(d.step_backward, "course", gates(d.cell))
    lines = block.split("\n")
    assert len(lines) == len(d.step_backward)
    assert all(line.count("&=") == 1 for line in lines)
    assert all(line.endswith(r" \\") for line in lines[:-1]) and not lines[-1].endswith("\\")
    assert block == aligned(d.step_backward, "course", gates(d.cell))
    assert aligned([], "course") == ""


class TestConcatenated:
    def test_lstm_gate(self):
        form = concatenated(forward_equation("lstm", "a_{f,t}"))
        assert form.line() == (r"a_{f,t} &= W_f [h_{t-1}; x_t] + b_f = W_{hf} h_{t-1} + W_{xf} x_t + b_f, "
                               r"& W_f &= [W_{hf}\; W_{xf}]")

    def test_lstm_candidate_follows_the_course_name(self):
        form = concatenated(forward_equation("lstm", "a_{g,t}"))
        assert (form.lhs, form.form) == ("a_{C,t}", "W_C [h_{t-1}; x_t] + b_C")

    def test_gru_candidate_puts_the_reset_inside_the_bracket(self):
        c = resolve_cell("gru")
        definitions = {eq.lhs: eq.rhs for eq in c.equations if eq.lhs.name == "u_t"}
        form = concatenated(forward_equation("gru", "a_{n,t}"), "course", gates(c), definitions)
        assert form.form == r"W_{\tilde{h}} [r_t \odot h_{t-1}; x_t] + b_{\tilde{h}}"
        assert form.split == r"W_{h\tilde{h}} u_t + W_{x\tilde{h}} x_t + b_{\tilde{h}}"
        assert form.blocks == r"[W_{h\tilde{h}}\; W_{x\tilde{h}}]"

    def test_forms_of_each_cell(self):
        lstm = concatenated_forms(resolve_cell("lstm")).split("\n")
        assert [line.split(" &= ")[0] for line in lstm] == ["a_{i,t}", "a_{f,t}", "a_{C,t}", "a_{o,t}"]
        assert r"[r_t \odot h_{t-1}; x_t]" in concatenated_forms(resolve_cell("gru"))
        # the GRU of PyTorch: its candidate is not W [·, x]
        assert len(concatenated_forms(resolve_cell("gru_torch")).split("\n")) == 2
        assert concatenated_forms(resolve_cell("rnn")) == ""
        for name in CELLS:
            text = concatenated_forms(resolve_cell(name))
            assert "W_h y" not in text and "W_-" not in text and "b_-" not in text

    def test_only_pre_activations_and_only_the_course(self):
        with pytest.raises(ValueError, match="f_t = sigmoid"):
            concatenated(forward_equation("lstm", "f_t"))
        with pytest.raises(ValueError, match=re.escape("a_{n,t} = ") + ".* is not a gate's pre-activation"):
            concatenated(forward_equation("gru_torch", "a_{n,t}"))
        with pytest.raises(ValueError, match="'W_f' has no dlbook notation"):
            concatenated(forward_equation("lstm", "a_{f,t}"), "dlbook")


FORBIDDEN = (r"\circ", "mapsto", "Hadamard", "Elementwise", "DiagMatrix", "Softmax", "OneMatrix",
             "δ", "ŷ", "ℓ", "+ -", "- -", r"\mathbf{1} -", r"- \mathbf{1}", r"+ \mathbf{1}",
             "_{}", "^{}", "()")


def every_printed_equation(notation: str):
    for c in CELLS:
        for h in HEADS:
            for at in LOSS_AT:
                d = derive(c, h, at)
                names = gates(d.cell)
                for eq in (*d.forward, *d.backward):
                    yield f"{c}/{h}/{at}", " = ".join(equation(eq, notation, names))
                for J in d.jacobian.values():
                    yield f"{c} Jacobian", latex(J, notation, names)
    for c in CELLS:
        if notation == "course":
            yield f"{c} concatenated", concatenated_forms(resolve_cell(c))


def balanced(text: str, opening: str, closing: str) -> bool:
    depth = 0
    for char in text:
        depth += (char == opening) - (char == closing)
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.parametrize("notation", NOTATIONS)
def test_nothing_of_sympys_notation_in_any_printed_equation(notation):
    count = 0
    for where, text in every_printed_equation(notation):
        count += 1
        assert not [f for f in FORBIDDEN if f in text], f"{where}: {text}"
        assert balanced(text, "{", "}") and balanced(text, "(", ")") and balanced(text, "[", "]"), text
        assert not text.lstrip().startswith("+"), text
    assert count > 400


def test_unknown_symbols_print_plainly_and_unknown_notations_are_value_errors():
    assert latex(sp.MatrixSymbol("Q_t", 2, 1) + sp.MatrixSymbol("h_t", 2, 1)) == "Q_t + h_t"
    with pytest.raises(ValueError, match="'h t'"):
        latex(sp.MatrixSymbol("h t", 2, 1))
    with pytest.raises(ValueError, match="unknown notation 'physics'"):
        latex(sp.MatrixSymbol("h_t", 2, 1), "physics")
