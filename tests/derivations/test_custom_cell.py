"""Cells written as equations: the parse into SymPy, the registry, and a clear ValueError naming the
culprit (and its line) for every bad spec."""

import json
import re

import pytest
import sympy as sp

from bpttlab.derivations import CELLS, VARIANTS, custom_cell, derive, load_cell_file, prove, resolve_cell
from bpttlab.derivations.cells import LIBRARY, parse_cell_file, register, registry
from bpttlab.derivations.printing import text
from bpttlab.reports.cli import main

MGU = """
    f_t = sigmoid(W_xf @ x_t + W_hf @ h_prev + b_f)
    n_t = tanh(W_xn @ x_t + W_hn @ (f_t * h_prev) + b_n)
    h_t = (1 - f_t) * h_prev + f_t * n_t
"""


def test_the_spec_example_parses_into_textbook_equations():
    mgu = custom_cell("mgu", MGU, states={"h_t": "h_prev"}, params=(), title="Minimal gated unit")
    assert [text(eq) for eq in mgu.equations] == [
        "a_{f,t} = W_hf h_{t-1} + W_xf x_t + b_f",
        "f_t = σ(a_{f,t})",
        "a_{n,t} = W_hn (f_t ⊙ h_{t-1}) + W_xn x_t + b_n",
        "n_t = tanh(a_{n,t})",
        "h_t = (1 - f_t) ⊙ h_{t-1} + f_t ⊙ n_t",
    ]
    shapes = {p.name: p.shape for p in mgu.params}
    H, D = sp.Symbol("H", integer=True, positive=True), sp.Symbol("D", integer=True, positive=True)
    assert shapes == {"W_xf": (H, D), "W_xn": (H, D), "W_hf": (H, H), "W_hn": (H, H), "b_f": (H, 1),
                      "b_n": (H, 1)}
    assert mgu.initial == ("h_prev",) and mgu.title == "Minimal gated unit"
    assert mgu == resolve_cell("mgu")  # the shipped mgu.cell says the same


def test_numpy_syntax_constants_division_and_extra_vector_params():
    cell = custom_cell("odd", """
        g_t = softplus(W_xg @ x_t) / 2 - exp(-(p * h_prev)) + 0.5
        h_t = identity(g_t * h_prev + W_hh @ g_t)
    """, states={"h_t": "h_prev"}, params=("p",))
    assert [text(eq) for eq in cell.equations] == [
        "a_{g,1,t} = W_xg x_t",
        "a_{g,2,t} = -h_{t-1} ⊙ p",
        "g_t = (1/2) softplus(a_{g,1,t}) + 1/2 - exp(a_{g,2,t})",
        "h_t = W_hh g_t + g_t ⊙ h_{t-1}",
    ]
    assert {p.name for p in cell.params} == {"W_xg", "W_hh", "p"}
    assert prove(cell, "linear", kind=("step",)).passed


def test_a_user_registered_cell_is_found_by_name():
    cell = custom_cell("elman_copy", "h_t = tanh(W_xh @ x_t + W_hh @ h_prev + b_h)", {"h_t": "h_prev"})
    try:
        assert register(cell) is cell and resolve_cell("elman_copy") is cell and "elman_copy" in CELLS
        with pytest.raises(ValueError, match="registered already"):
            register(custom_cell("elman_copy", "h_t = relu(W_xh @ x_t)", {"h_t": "h_prev"}))
    finally:
        registry.unregister("elman_copy")  # the other tests see the shipped registry


def test_the_ten_variants_are_registered_from_the_library():
    assert set(VARIANTS) == {"lstm_peephole", "lstm_nig", "lstm_nfg", "lstm_nog", "lstm_niaf", "lstm_noaf",
                             "lstm_cifg", "lstm_fgr", "mgu", "indrnn"}
    assert sorted(p.stem for p in LIBRARY.glob("*.cell")) == sorted(VARIANTS)
    assert len(resolve_cell("lstm_fgr").states) == 5  # h, c and the three gates' previous values
    assert resolve_cell("lstm_cifg").initial == ("h_prev", "c_prev")


def test_a_cell_file_path_works_wherever_a_name_does(tmp_path):
    path = tmp_path / "mine.cell"
    path.write_text("# mine\nname: mine\nstates: h_t <- h_prev\nparams: u\n"
                    "h_t = tanh(W_xh @ x_t + u * h_prev)\n")
    assert derive(str(path), "linear").cell.name == "mine"
    assert resolve_cell(path) == load_cell_file(path)


BAD = [  # (equations, states, params, the message must match)
    ("h_t = tanh(W_xh @ x_t + W_hh @ h_prv)", {"h_t": "h_prev"}, (),
     r"line 1: unknown name 'h_prv' \(did you mean 'h_prev'\?\)"),
    ("h_t = swish(W_xh @ x_t)", {"h_t": "h_prev"}, (),
     r"line 1: unknown function 'swish'; valid: sigmoid, tanh, relu, softplus, exp, identity"),
    ("a_t = tanh(W_xh @ x_t + W_hh @ h_prev)", {"h_t": "h_prev"}, (), r"state 'h_t' .* is not assigned"),
    ("a_t = W_x @ x_t\nh_t = tanh(W_x @ h_prev + a_t)", {"h_t": "h_prev"}, (),
     r"line 2: parameter W_x is used with two shapes: H×D on line 1 and H×H here"),
    ("h_t = tanh(W_xh @ x_t)\nh_t = h_t * h_prev", {"h_t": "h_prev"}, (), r"line 2: h_t is assigned twice"),
    ("h_t = tanh(W_xh @ x_t + g_t)\ng_t = sigmoid(W_hg @ h_prev)", {"h_t": "h_prev"}, (),
     r"line 1: 'g_t' is used before it is defined \(on line 2\)"),
    ("h_t = tanh(W_xh @ x_t +)", {"h_t": "h_prev"}, (), r"line 1: syntax error"),
    ("h_t = tanh(W_xh * x_t)", {"h_t": "h_prev"}, (), r"line 1: W_xh is a weight matrix: use it as W_xh @ v"),
    ("h_t = tanh(x_t + h_prev)", {"h_t": "h_prev"}, (), r"line 1: 'x_t \+ h_prev' combines D entries with H"),
    ("h_t = h_prev % 2", {"h_t": "h_prev"}, (), r"line 1: unsupported operator"),
    ("h_t = h_prev ** 0.5", {"h_t": "h_prev"}, (), r"line 1: .+ the exponent of \*\* must be a whole"),
    ("h_t = h_prev.T", {"h_t": "h_prev"}, (), r"line 1: unsupported syntax: 'h_prev.T'"),
    ("h_t = tanh(h_prev) / h_prev", {"h_t": "h_prev"}, (), r"division only by a non-zero constant"),
    ("W_hy = tanh(h_prev)\nh_t = W_hy", {"h_t": "h_prev"}, (), r"W_hy is a parameter"),
    ("h_t = tanh(W_hy @ h_prev)", {"h_t": "h_prev"}, (),
     r"line 1: the name W_hy is the output head's parameter"),
    ("h_t = tanh(W_xh @ x_t + p)", {"h_t": "h_prev"}, ("b_y", "p"),
     r"the name b_y is the output head's parameter"),
    ("h_t = tanh(W_xh @ x_t)", {"h_t": "h_prev"}, ("W_p",), r"params: 'W_p' must be a name for a vector"),
    ("h_t = __import__('os')", {"h_t": "h_prev"}, (), r"unknown function '__import__'"),
]


@pytest.mark.parametrize(("equations", "states", "params", "message"), BAD)
def test_a_bad_spec_names_the_culprit(equations, states, params, message):
    with pytest.raises(ValueError, match=message):
        custom_cell("bad", equations, states, params)


def test_cell_file_errors_point_at_file_and_line(tmp_path):
    path = tmp_path / "typo.cell"
    path.write_text("# a typo on line 5\nname: typo\nstates: h_t <- h_prev\n\n"
                    "h_t = tanh(W_xh @ x_t + h_prv)\n")
    with pytest.raises(ValueError, match=re.escape(f"{path}:5: unknown name 'h_prv'")):
        load_cell_file(path)
    with pytest.raises(ValueError, match=r"x.cell:2: unknown header 'nmae'"):
        parse_cell_file("# x\nnmae: x\n", where="x.cell")
    with pytest.raises(ValueError, match=r"x.cell:1: states are written `h_t <- h_prev`"):
        parse_cell_file("states: h_t = h_prev\nname: x\n", where="x.cell")
    with pytest.raises(ValueError, match="missing header line 'states: …'"):
        parse_cell_file("name: x\nh_t = x_t\n", where="x.cell")
    with pytest.raises(ValueError, match="cannot read cell file"):
        load_cell_file(tmp_path / "absent.cell")


def test_a_square_written_as_a_product_is_derived_and_proven():
    """SymPy turns h_prev * h_prev into an element-wise power, which the reverse pass and the step
    Jacobian both need a rule for; the proofs (step, Jacobian and unrolled) check them."""
    cell = custom_cell("square", "g_t = h_prev * h_prev * h_prev\nh_t = tanh(W_xh @ x_t + W_hh @ g_t)",
                       {"h_t": "h_prev"})
    jacobian = derive(cell, None).jacobian[("h_t", "h_{t-1}")]
    assert text(jacobian) == "3 diag(1 - h_t²) W_hh diag(h_{t-1} ⊙ h_{t-1})"
    assert prove(cell, "softmax", kind=("step", "bptt")).passed


def test_the_command_line_takes_a_cell_file(tmp_path, capsys):
    path = tmp_path / "mine.cell"
    path.write_text("name: mine\ntitle: Mine\nstates: h_t <- h_prev\nparams: u\n"
                    "h_t = tanh(W_xh @ x_t + u * h_prev + b_h)\n")
    assert main(["derive", str(path), "--head", "linear"]) == 0
    assert "δa_{h,t} = δh_t ⊙ (1 - h_t²)" in capsys.readouterr().out
    assert main(["verify", "--cells", str(path), "--heads", "linear", "--loss-at", "last", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["cell"], r["check"], r["status"]) for r in rows] == [
        ("mine", "finite differences", "passed"), ("mine", "torch autograd", "passed")]
    assert main(["prove", "--cells", str(path), "--head", "sigmoid"]) == 0
    assert "mine × sigmoid × loss at every: PROVEN" in capsys.readouterr().out
    bad = tmp_path / "bad.cell"
    bad.write_text("name: bad\nstates: h_t <- h_prev\nh_t = tanh(W_xh @ x_t + h_prv)\n")
    with pytest.raises(SystemExit) as exit_:
        main(["derive", str(bad)])
    assert exit_.value.code == 2
    assert f"{bad}:3: unknown name 'h_prv'" in capsys.readouterr().err.strip().splitlines()[-1]
