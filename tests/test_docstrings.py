"""Every docstring example in the packages runs and prints what it says."""

import doctest
import importlib
import pkgutil

import pytest

import derivations

MODULES = [m.name for m in pkgutil.iter_modules(derivations.__path__, "derivations.")
           if m.name != "derivations.__main__"]


@pytest.mark.parametrize("name", ["derivations", *MODULES])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0
