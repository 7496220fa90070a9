"""Every docstring example in the package runs and prints what it says.

Only modules that claim examples (a ``>>>`` in their source) are cases here, and each must run at least
one: a module whose examples doctest cannot find (in a comment, in a string that is not a docstring)
would otherwise pass with nothing attempted. Modules without examples are not cases at all, rather than
cases that pass vacuously."""

import doctest
import importlib
import inspect
import pkgutil

import pytest

import bpttlab.derivations
import bpttlab.numeric
import bpttlab.reports

# The subpackages are walked one by one: in an editable install they are not below bpttlab's folder.
PACKAGES = (bpttlab.derivations, bpttlab.numeric, bpttlab.reports)
ALL_MODULES = ["bpttlab", *(p.__name__ for p in PACKAGES),
               *(m.name for p in PACKAGES for m in pkgutil.walk_packages(p.__path__, p.__name__ + ".")
                 if not m.name.endswith("__main__"))]
WITH_EXAMPLES = [name for name in ALL_MODULES if ">>>" in inspect.getsource(importlib.import_module(name))]


def test_most_modules_carry_examples():
    """The filter above must not empty the suite: most modules document themselves by example."""
    assert len(WITH_EXAMPLES) >= len(ALL_MODULES) // 2, sorted(set(ALL_MODULES) - set(WITH_EXAMPLES))


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0, f"{name} shows >>> examples but doctest ran none of them"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
