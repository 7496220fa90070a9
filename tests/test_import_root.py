"""One import root: every module lives under ``bpttlab``, no module is hidden behind a function of
the same name, and the bare folder names are not importable from an installed copy."""

import importlib
import pkgutil

import pytest

import bpttlab.derivations
import bpttlab.numeric
import bpttlab.reports

PACKAGES = (bpttlab.derivations, bpttlab.numeric, bpttlab.reports)
MODULES = [m.name for p in PACKAGES for m in pkgutil.walk_packages(p.__path__, p.__name__ + ".")]


def test_the_walk_finds_every_role():
    roles = {name.rsplit(".", 1)[0] for name in MODULES}
    assert {"bpttlab.derivations.cells", "bpttlab.derivations.printing", "bpttlab.numeric.engine",
            "bpttlab.numeric.verify", "bpttlab.numeric.decay", "bpttlab.reports.cli",
            "bpttlab.reports.sheets", "bpttlab.reports.decay", "bpttlab.reports.benchmarks"} <= roles


@pytest.mark.parametrize("name", MODULES)
def test_no_module_is_shadowed_by_what_its_package_exports(name):
    module = importlib.import_module(name)
    parent, leaf = name.rsplit(".", 1)
    assert getattr(importlib.import_module(parent), leaf) is module


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_public_names_are_re_exported(package):
    assert package.__all__, package.__name__
    for name in package.__all__:
        assert getattr(package, name) is not None


def test_numeric_holds_no_command_line():
    """argparse, tqdm and table printing belong to reports/, not numeric/."""
    for name in [m for m in MODULES if m.startswith("bpttlab.numeric")]:
        source = importlib.import_module(name).__loader__.get_source(name)
        assert "import argparse" not in source and "from tqdm" not in source, name
