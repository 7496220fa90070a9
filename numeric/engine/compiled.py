"""A group of derived equations turned into one function by ``sympy.lambdify``.

The function reads its inputs from, and writes its outputs into, a dict keyed by symbol name, so
that the engine's time loop is only bookkeeping: which arrays go in, where the results are kept.
The printer and the names its code reads decide the array module: NumPy by default, JAX with
:class:`~bpttlab.numeric.engine.printer.JaxEnginePrinter` and the JAX backend's namespace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import sympy as sp

from bpttlab.numeric.engine.numpy_functions import NUMPY_FUNCTIONS
from bpttlab.numeric.engine.printer import EnginePrinter, is_constant, namespace_for

__all__ = ["NUMPY_NAMESPACE", "Compiled"]

#: The names the NumPy engine's printed code reads.
NUMPY_NAMESPACE = namespace_for(np, NUMPY_FUNCTIONS)


def _shared(expressions: list) -> tuple[list, list]:
    """``sympy.cse``, but a constant (0, σ(0)…: it prints as a number) stays where it is used, so that
    the printer sees it and never multiplies a matrix by a number standing for a matrix."""
    replacements, reduced = sp.cse(expressions)
    constants, kept = {}, []
    for symbol, value in replacements:
        value = value.xreplace(constants)
        if getattr(value, "is_Matrix", False) and is_constant(value):
            constants[symbol] = value
        else:
            kept.append((symbol, value))
    return kept, [e.xreplace(constants) for e in reduced]


class Compiled:
    """``equations`` (``Eq(symbol, expression)``, in order) as a function of their free symbols,
    printed by ``printer`` for the names in ``namespace``. ``function`` is always callable: with no
    equations (a cell whose backward step has no named delta) it returns no outputs.

    >>> Compiled([]).function(), Compiled([]).inputs
    ((), ())
    """

    def __init__(self, equations: Sequence[sp.Eq], *, printer: type[EnginePrinter] = EnginePrinter,
                 namespace: Mapping[str, object] = NUMPY_NAMESPACE):
        self.equations = tuple(equations)
        self.outputs = tuple(eq.lhs.name for eq in self.equations)
        defined: set[str] = set()
        inputs: dict[str, sp.MatrixSymbol] = {}
        for eq in self.equations:
            for symbol in sorted(eq.rhs.atoms(sp.MatrixSymbol), key=lambda s: s.name):
                if symbol.name not in defined:
                    inputs.setdefault(symbol.name, symbol)
            defined.add(eq.lhs.name)
        self.inputs = tuple(inputs)
        # Inputs get plain identifiers (names like "h_{t-1}" are not Python; lambdify's dummify
        # would turn matrix symbols into scalars). Later equations read earlier results, so those
        # are substituted in order and cse shares the common parts again.
        values: dict[sp.MatrixSymbol, sp.MatrixExpr] = {
            symbol: sp.MatrixSymbol(f"in{i}", *symbol.shape) for i, symbol in enumerate(inputs.values())
        }
        arguments = list(values.values())
        expressions = []
        for eq in self.equations:
            expression = eq.rhs.xreplace(values)
            values[eq.lhs] = expression
            expressions.append(expression)
        # An output that is one of the inputs, unchanged, is passed through: cse of several bare matrix
        # symbols with symbolic shapes fails ("Invalid comparison of non-real in0").
        position = {a: i for i, a in enumerate(arguments)}
        computed = [e for e in expressions if e not in position]
        if computed:
            function = sp.lambdify(arguments, computed, modules=[dict(namespace)], printer=printer,
                                   cse=_shared,
                                   dummify=False)
        else:  # nothing to compute (no equations, or only inputs passed through): no outputs of its own
            def function(*_inputs: np.ndarray) -> tuple[()]:
                return ()
        if len(computed) == len(expressions):
            self.function = function
        else:
            plan = [(True, position[e]) if e in position else (False, None) for e in expressions]

            def passing_through(*inputs: np.ndarray) -> list[np.ndarray]:
                results = iter(function(*inputs) if computed else ())
                return [inputs[i] if given else next(results) for given, i in plan]

            self.function = passing_through

    def __call__(self, env: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Evaluate with the inputs taken from ``env``; store and return the outputs."""
        results = self.function(*(env[name] for name in self.inputs))
        out = dict(zip(self.outputs, results, strict=True))
        env.update(out)
        return out
