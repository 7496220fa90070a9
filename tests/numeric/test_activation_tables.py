"""Each fact in one place (issue 22): the activation registry (``bpttlab.derivations.ACTIVATIONS``) names
every element-wise function; the numeric side keeps one implementation table per library, keyed by those
names — NumPy (the engine), JAX (the JAX engine) and PyTorch (the reference evaluating a cell's text).
Every table covers the registry (PyTorch: the functions a cell may call), each entry computes the
registered SymPy function, and an engine asked for a function its table lacks says so in one line."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
import torch

from bpttlab.derivations import ACTIVATIONS, Activation, custom_cell, register_activation
from bpttlab.derivations.activations import unregister_activation
from bpttlab.numeric.engine import build_engine
from bpttlab.numeric.engine.core import NumpyEngine
from bpttlab.numeric.engine.jax_engine import JAX_ACTIVATIONS, JaxEngine
from bpttlab.numeric.engine.jax_support import enable_float64
from bpttlab.numeric.engine.numpy_functions import NUMPY_ACTIVATIONS
from bpttlab.numeric.verify.torch_cell import TORCH_FUNCTIONS

#: Points where every function is evaluated (where the SymPy function is real and finite there).
POINTS = (-30.0, -3.5, -1.0, -0.25, 0.3, 1.0, 2.5, 30.0)


def test_every_registered_function_has_a_numpy_and_a_jax_implementation():
    assert set(NUMPY_ACTIVATIONS) == set(ACTIVATIONS)
    assert set(JAX_ACTIVATIONS) == set(ACTIVATIONS)
    assert NumpyEngine.activations is NUMPY_ACTIVATIONS and JaxEngine.activations is JAX_ACTIVATIONS


def test_every_function_a_cell_may_call_has_a_torch_implementation():
    assert {name for name, record in ACTIVATIONS.items() if record.in_cells} <= set(TORCH_FUNCTIONS)


#: The functions SymPy keeps unevaluated at a number (a kink or a jump, defined by their derivatives'
#: relation only), written out here as this test's own reference.
UNEVALUATED = {"relu": lambda x: max(x, 0.0), "step": lambda x: float(x > 0)}


def _sympy_value(record: Activation, x: float) -> sp.Expr:
    """The registered SymPy function at x to 30 digits, rewritten through exp and log where SymPy keeps
    it unevaluated (softplus is log(1 + eˣ) that way)."""
    value = record.function(sp.Float(x, 30))
    for target in (sp.exp, sp.log):
        value = value.rewrite(target)
    return value.evalf(30)


def _exact(record: Activation, x: float) -> float | None:
    """The registered function at x (SymPy's, else :data:`UNEVALUATED`'s); None where it is not a finite
    real."""
    value = _sympy_value(record, x)
    if value.has(record.function):
        return UNEVALUATED[record.name](x)
    return float(value) if value.is_real and value.is_finite else None


def test_the_reference_is_sympy_wherever_sympy_evaluates():
    unevaluated = {name for name, record in ACTIVATIONS.items()
                   if _sympy_value(record, 0.3).has(record.function)}
    assert unevaluated == set(UNEVALUATED)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_each_implementation_computes_the_registered_function(name):
    record = ACTIVATIONS[name]
    points = [x for x in POINTS if _exact(record, x) is not None]
    assert len(points) >= 3, name
    exact = np.array([_exact(record, x) for x in points])
    x = np.array(points)
    enable_float64()  # as the JAX engine does when it is built
    implementations = {"numpy": np.asarray(NUMPY_ACTIVATIONS[name](x)),
                       "jax": np.asarray(JAX_ACTIVATIONS[name](jnp.asarray(x)))}
    if record.in_cells:
        implementations["torch"] = TORCH_FUNCTIONS[name](torch.tensor(x)).numpy()
    for library, values in implementations.items():
        assert values.dtype == np.float64, (name, library)
        np.testing.assert_allclose(values, exact, rtol=1e-13, atol=1e-300, err_msg=f"{name} in {library}")


class twotanh(sp.Function):
    """2·tanh(x): a function for the derivations only, with no numeric implementation anywhere."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:  # noqa: ARG002 (SymPy's Function.fdiff; one argument)
        return 2 * (1 - sp.tanh(self.args[0]) ** 2)


def test_a_function_without_an_implementation_is_refused_in_one_line():
    """A function registered for the derivations but in no numeric table: deriving works, building an
    engine says what is missing (never a NameError from inside the lambdified code)."""
    record = register_activation(Activation("twotanh", twotanh, r"2\tanh", "2tanh", sp.Interval.open(-2, 2),
                                            sp.Integer(2)))
    try:
        cell = custom_cell("twotanh_rnn", "h_t = twotanh(W_xh @ x_t + W_hh @ h_prev + b_h)",
                           {"h_t": "h_prev"})
        for backend, engine in (("numpy", "NumpyEngine"), ("jax", "JaxEngine")):
            with pytest.raises(ValueError) as error:
                build_engine(cell, "linear", backend=backend)
            assert str(error.value) == (f"the {backend} engine has no implementation of twotanh: add one to "
                                        f"its table of element-wise functions ({engine}.activations)")
    finally:
        unregister_activation(record.name)
    assert "twotanh" not in ACTIVATIONS and math.isfinite(float(NUMPY_ACTIVATIONS["tanh"](0.5)))


@pytest.mark.parametrize("name", sorted(NUMPY_ACTIVATIONS))
def test_every_numpy_function_takes_a_number_as_well_as_an_array(name):
    """A value derived as a number (σ(0·b_b): 0·b_b is the zero matrix, printed 0.0) reaches the
    function as a Python float; its result is that of the same entry in an array."""
    function = NUMPY_ACTIVATIONS[name]
    for x in (0.0, 0.75, 2.0):
        with np.errstate(divide="ignore"):  # log(0)
            on_number, on_array = np.asarray(function(x)), function(np.full((2, 3), x))
        assert on_number.shape == () and on_number.dtype == np.float64
        assert on_number == on_array[1, 2]
