"""Every docstring example in the packages runs and prints what it says."""

import doctest
import importlib
import pkgutil

import pytest

import derivations
import numeric
import reports

MODULES = [m.name for package in (derivations, numeric, reports)
           for m in pkgutil.iter_modules(package.__path__, package.__name__ + ".")
           if not m.name.endswith("__main__")]


@pytest.mark.parametrize("name", ["derivations", "numeric", "reports", *MODULES])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0
