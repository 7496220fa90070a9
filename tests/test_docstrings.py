"""Every docstring example in the package runs and prints what it says."""

import doctest
import importlib
import pkgutil

import pytest

import bpttlab.derivations
import bpttlab.numeric
import bpttlab.reports

# The subpackages are walked one by one: in an editable install they are not below bpttlab's folder.
PACKAGES = (bpttlab.derivations, bpttlab.numeric, bpttlab.reports)
MODULES = ["bpttlab", *(p.__name__ for p in PACKAGES),
           *(m.name for p in PACKAGES for m in pkgutil.walk_packages(p.__path__, p.__name__ + ".")
             if not m.name.endswith("__main__"))]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0
