"""The two notations: every name the derivations use has a LaTeX form in each, distinct names stay
distinct, the grammar reads (and writes back) the names, and unknown names are clear errors."""

import pytest
import sympy as sp

from bpttlab.derivations import CELLS, HEADS, LOSS_AT, derive
from bpttlab.derivations.printing.notations import NOTATIONS, Index, notation, parse_index, parse_name


def derivation_names() -> set[str]:
    names = set()
    for c in CELLS:
        for h in HEADS:
            for at in LOSS_AT:
                d = derive(c, h, at)
                for eq in (*d.forward, *d.backward):
                    names |= {s.name for s in eq.atoms(sp.MatrixSymbol)}
    return names


COURSE = {
    "W_hh": "W_{hh}", "W_xh": "W_{xh}", "W_hy": "W_{hy}", "b_h": "b_h", "b_y": "b_y",
    "h_t": "h_t", "h_{t-1}": "h_{t-1}", "x_t": "x_t", "ŷ_t": r"\hat{y}_t", "ℓ_t": r"\ell_t", "L": "L",
    "c_t": "C_t", "c_{t-1}": "C_{t-1}", "g_t": r"\tilde{C}_t", "n_t": r"\tilde{h}_t",
    "W_xf": "W_{xf}", "W_hf": "W_{hf}", "b_f": "b_f", "W_f": "W_f", "W_xg": "W_{xC}", "b_g": "b_C",
    "W_hn": r"W_{h\tilde{h}}", "b_hn": r"b_{h\tilde{h}}", "W_n": r"W_{\tilde{h}}",
    "a_t": "a_t", "a_{f,t}": "a_{f,t}", "a_{n,t}": r"a_{\tilde{h},t}", "δa_{f,t}": r"\delta a_{f,t}",
    "δW_hh": r"\delta W_{hh}", "δa_{y,T}": r"\delta a_{y,T}", "s_t": "s_t",
    "δh_t^{(t+1)}": r"\delta h_t^{(\leftarrow t+1)}",
    "δc_t^{(t+1)}": r"\delta C_t^{(\leftarrow t+1)}", "h_3": "h_3", "h_{2}": "h_2", "h_{10}": "h_{10}",
    "a_{i,3}": "a_{i,3}", "δh_3^{(4)}": r"\delta h_3^{(\leftarrow 4)}", "h_{j-1}": "h_{j-1}", "h_T": "h_T",
}

DLBOOK = {
    "W_hh": r"\bm{W}", "W_xh": r"\bm{U}", "W_hy": r"\bm{V}", "b_h": r"\bm{b}", "b_y": r"\bm{c}",
    "h_t": r"\bm{h}^{(t)}", "h_{t-1}": r"\bm{h}^{(t-1)}", "x_t": r"\bm{x}^{(t)}",
    "ŷ_t": r"\hat{\bm{y}}^{(t)}", "ℓ_t": "L^{(t)}", "L": "L", "c_t": r"\bm{s}^{(t)}",
    "W_xf": r"\bm{U}^{f}", "W_hf": r"\bm{W}^{f}", "b_f": r"\bm{b}^{f}", "b_hn": r"\bm{b}^{hh}",
    "f_t": r"\bm{f}^{(t)}", "a_{f,t}": r"\bm{a}_f^{(t)}", "a_t": r"\bm{a}^{(t)}",
    "δa_{f,t}": r"\delta \bm{a}_f^{(t)}", "δW_hh": r"\delta \bm{W}", "δa_{y,T}": r"\delta \bm{o}^{(\tau)}",
    "δh_t^{(t+1)}": r"\delta \bm{h}^{(t \leftarrow t+1)}", "h_3": r"\bm{h}^{(3)}",
    "δh_3^{(4)}": r"\delta \bm{h}^{(3 \leftarrow 4)}", "a_{i,3}": r"\bm{a}_g^{(3)}",
    # Goodfellow et al. ch. 10 symbol for symbol: o for the output pre-activation, τ for the length,
    # the LSTM's s, g, q and the GRU's u (issue 13).
    "a_{y,t}": r"\bm{o}^{(t)}", "s_t": r"\bm{s}^{(t)}", "y'_t": r"{\bm{y}'}^{(t)}",
    "h_T": r"\bm{h}^{(\tau)}", "h_0": r"\bm{h}^{(0)}", "i_t": r"\bm{g}^{(t)}",
    "o_t": r"\bm{q}^{(t)}", "z_t": r"\bm{z}^{(t)}", "r_t": r"\bm{r}^{(t)}", "W_xi": r"\bm{U}^{g}",
    "W_xo": r"\bm{U}^{o}", "b_z": r"\bm{b}^{z}", "W_hg": r"\bm{W}^{s}", "g_t": r"\tilde{\bm{s}}^{(t)}",
    "δW_xh^{(t)}": r"\delta \bm{U}^{(t)}",
}


@pytest.mark.parametrize(("name", "expected"), COURSE.items())
def test_course_notation(name, expected):
    assert notation("course").latex(name) == expected


@pytest.mark.parametrize(("name", "expected"), DLBOOK.items())
def test_dlbook_notation(name, expected):
    assert notation("dlbook").latex(name) == expected


def test_a_transpose_merges_into_the_symbols_own_superscript():
    course, dlbook = notation("course"), notation("dlbook")
    assert course.latex("h_{t-1}", r"\top") == r"h_{t-1}^{\top}"
    assert course.latex("δh_t^{(t+1)}", r"\top") == r"\delta h_t^{(\leftarrow t+1)\top}"
    assert dlbook.latex("h_{t-1}", r"\top") == r"\bm{h}^{(t-1)\top}"
    assert dlbook.latex("W_hh", r"\top") == r"\bm{W}^{\top}"
    assert dlbook.has_superscript("h_t") and not notation("course").has_superscript("h_t")


@pytest.mark.parametrize("which", NOTATIONS)
def test_every_derivation_name_has_a_distinct_latex_form(which):
    names = derivation_names()
    printed = {name: notation(which).latex(name) for name in names}
    assert len(set(printed.values())) == len(names), "two symbols print alike"
    assert all("δ" not in p and "ŷ" not in p and "ℓ" not in p for p in printed.values())


def test_the_grammar_writes_back_every_derivation_name():
    for name in derivation_names():
        assert parse_name(name).raw() == name


def test_the_grammar_splits_labels_time_and_carry():
    name = parse_name("δa_{f,t-1}^{(t+1)}")
    assert (name.delta, name.base, name.labels) == (True, "a", ("f",))
    assert (name.time, name.carry) == (Index("t", -1), Index("t", 1))
    assert parse_name("W_xf").labels == ("xf",) and parse_name("W_xf").time is None
    assert parse_index("12") == Index(None, 12) and str(Index("k", 1)) == "k+1"


def test_course_parameters_never_repeat_the_seed_slips():
    course = notation("course")
    for name in derivation_names():
        printed = course.latex(name)
        assert "W_h y" not in printed and "W_-" not in printed and "b_-" not in printed
    assert course.latex("W_hy") == "W_{hy}"


@pytest.mark.parametrize(("which", "name", "printed"), [
    ("course", "Q_t", "Q_t"),
    ("course", "W_qq", "W_{qq}"),
    ("course", "W_y", "W_y"),
    ("course", "a_{q,t}", "a_{q,t}"),
    ("course", "b_xf", "b_{xf}"),
    ("course", "W_if", "W_{if}"),
    ("course", "p_i", "p_i"),
    ("course", "gate_t", r"\mathit{gate}_t"),
    ("course", "my_state_{t-1}", r"\mathit{my\_state}_{t-1}"),
    ("dlbook", "W_f", r"\bm{W}_f"),
    ("dlbook", "W_xy", r"\bm{W}_{xy}"),
    ("dlbook", "W_if", r"\bm{W}_{if}"),
    ("dlbook", "p_i", r"\bm{p}_i"),
    ("dlbook", "δh^{(t+1)}", r"\delta \bm{h}^{(\cdot \leftarrow t+1)}"),
    ("dlbook", "gate_t", r"\bm{\mathit{gate}}^{(t)}"),
])
def test_names_without_a_role_are_printed_plainly(which, name, printed):
    assert notation(which).latex(name) == printed
    assert not notation(which).known(name)


@pytest.mark.parametrize("name", ["h_{t-}", "h_{t,}", "2h", "h t", "h_t^{(t+1"])
def test_unreadable_names_are_value_errors_naming_the_symbol(name):
    with pytest.raises(ValueError) as error:
        parse_name(name)
    assert repr(name) in str(error.value)


def test_unknown_notation_is_a_value_error():
    with pytest.raises(ValueError, match="unknown notation 'physics'; valid: course, dlbook"):
        notation("physics")
