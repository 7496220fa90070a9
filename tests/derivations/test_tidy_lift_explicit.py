import pytest
import sympy as sp

from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.explicit import explicit
from bpttlab.derivations.lift import local_derivative
from bpttlab.derivations.softmax import LogSoftmax, Softmax
from bpttlab.derivations.tidy import tidy

x = sp.MatrixSymbol("x", 3, 1)
y = sp.MatrixSymbol("y", 3, 1)


@pytest.mark.parametrize(("name", "expected"), [
    ("tanh", sp.OneMatrix(3, 1) - sp.HadamardPower(y, 2)),
    ("sigmoid", sp.HadamardProduct(y, sp.OneMatrix(3, 1) - y)),
    ("exp", y),
    ("softplus", Elementwise("sigmoid", x)),
])
def test_local_derivative_is_written_in_the_output(name, expected):
    result = local_derivative(Elementwise(name, x), output=y)
    if isinstance(expected, sp.HadamardProduct):  # the factors' order is SymPy's, not ours
        assert isinstance(result, sp.HadamardProduct) and set(result.args) == set(expected.args)
    else:
        assert result == expected


def test_unknown_elementwise_function_is_rejected():
    with pytest.raises(ValueError, match="sigmoid"):
        Elementwise("relu6", x)


def test_elementwise_nodes_compare_structurally():
    assert Elementwise("tanh", x) == Elementwise("tanh", x)
    assert Elementwise("tanh", x) != Elementwise("sigmoid", x)


def test_tidy_factors_common_hadamard_factor():
    a, b = sp.MatrixSymbol("a", 3, 1), sp.MatrixSymbol("b", 3, 1)
    assert tidy(sp.HadamardProduct(a, x) - sp.HadamardProduct(a, y)) == sp.HadamardProduct(a, x - y)
    assert tidy(sp.HadamardProduct(sp.OneMatrix(3, 1), 2 * b)) == 2 * b
    assert tidy(sp.HadamardPower(b, 1)) == b


def test_explicit_softmax_rows_sum_to_one():
    values = explicit(Softmax(x), {}, {})
    assert sp.simplify(sum(values)) == 1
    logs = explicit(LogSoftmax(x), {}, {})
    assert sp.simplify(logs[0] - sp.log(values[0])) == 0
