"""Imports flow one way: derivations ← numeric ← reports. ``bpttlab.derivations`` imports neither
``bpttlab.numeric`` nor ``bpttlab.reports``, and ``bpttlab.numeric`` does not import ``bpttlab.reports`` —
read from every module's source (imports inside functions too), and seen in a fresh interpreter that
imports every module of a layer."""

import ast
import importlib
import pkgutil
import subprocess
import sys

import pytest

import bpttlab.derivations
import bpttlab.numeric
import bpttlab.reports

#: Each layer and the layers above it, which it must not import.
ABOVE = {"bpttlab.derivations": ("bpttlab.numeric", "bpttlab.reports"),
         "bpttlab.numeric": ("bpttlab.reports",)}
PACKAGES = {p.__name__: p for p in (bpttlab.derivations, bpttlab.numeric, bpttlab.reports)}


def modules(package: str) -> list[str]:
    root = PACKAGES[package]
    return [package, *(m.name for m in pkgutil.walk_packages(root.__path__, package + "."))]


def imported(name: str) -> set[str]:
    """Every module ``name``'s source imports, at any depth of the file, relative imports resolved."""
    module = importlib.import_module(name)
    tree = ast.parse(module.__loader__.get_source(name))
    package = name if module.__loader__.is_package(name) else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def test_the_walk_sees_every_layer_and_a_known_import():
    assert len(modules("bpttlab.derivations")) > 20 and len(modules("bpttlab.numeric")) > 20
    assert "bpttlab.derivations.Derivation" in imported("bpttlab.numeric.engine.core")
    assert "bpttlab.derivations.proof.results" in imported("bpttlab.derivations.proof")  # relative too


@pytest.mark.parametrize("layer", ABOVE)
def test_no_module_imports_a_layer_above_its_own(layer):
    wrong = {name: sorted(m for m in imported(name) if m.startswith(ABOVE[layer]))
             for name in modules(layer)}
    assert not {name: found for name, found in wrong.items() if found}


@pytest.mark.parametrize("layer", ABOVE)
def test_importing_every_module_of_a_layer_loads_nothing_above_it(layer):
    code = (f"import importlib, sys\nfor name in {modules(layer)!r}:\n    importlib.import_module(name)\n"
            f"print(sorted(m for m in sys.modules if m.startswith({ABOVE[layer]!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
