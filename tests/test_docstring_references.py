"""The module names and file paths written in the repository's docstrings, comments and Markdown exist.

A module that moves (``numeric.decay_study`` became :mod:`bpttlab.numeric.decay.study`, the proof module
the package :mod:`bpttlab.derivations.proof`) leaves its old name behind in prose, where nothing imports
it and so nothing fails. Here every dotted name that starts with one of the import root's packages
(``bpttlab.…``, or a folder's bare name ``derivations.…``, ``numeric.…``, ``reports.…``, read as
``bpttlab.…``) must be a module or an attribute of one; every Sphinx cross-reference that starts with a
dot (``:func:`.latex_printer.aligned```) must be found below some module, as Sphinx finds it; and every
path such as ``derivations/cells/spec.py`` or ``numeric/test_api_properties*.py`` must name a file or
folder of the repository (or of tests/, where the test modules name each other).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
from functools import cache
from pathlib import Path

import bpttlab.derivations
import bpttlab.numeric
import bpttlab.reports

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("derivations", "numeric", "reports")
SUFFIXES = (".py", ".md", ".ipynb")
SKIPPED = {"build", "dist", "venv"}  # and hidden folders, *.egg-info

#: A dotted name: the import root or a folder's bare name, then at least one attribute.
DOTTED = re.compile(r"(?<![\w./-])((?:bpttlab|derivations|numeric|reports)(?:\.[A-Za-z_]\w*)+)")
#: A cross-reference relative to the current module: :func:`.name`, :mod:`~.a.b`, :class:`X <.a.X>`.
RELATIVE = re.compile(r":(?:mod|func|class|meth|data|attr|exc|obj):`(?:[^`<]*<)?~?(\.[\w.]+)>?`")
#: A path in the repository (not in a URL: no `/` or `.` just before it).
PATH = re.compile(r"(?<![\w./-])((?:bpttlab|derivations|numeric|reports|tests|docs)/[\w/.*-]*[\w*])")

PACKAGES = (bpttlab.derivations, bpttlab.numeric, bpttlab.reports)
MODULES = ["bpttlab", *(p.__name__ for p in PACKAGES),
           *(m.name for p in PACKAGES for m in pkgutil.walk_packages(p.__path__, p.__name__ + ".")
             if not m.name.endswith("__main__"))]


def _files() -> list[Path]:
    """The files scanned: this one is not (its stale names are examples of what must fail)."""
    return sorted(p for p in ROOT.rglob("*") if p.suffix in SUFFIXES and p.is_file()
                  and p != Path(__file__).resolve()
                  and not any(part.startswith(".") or part.endswith(".egg-info") or part in SKIPPED
                              for part in p.relative_to(ROOT).parts[:-1]))


FILES = _files()


def _has(obj: object, attr: str) -> bool:
    """``obj.attr`` exists, or is a field that a class declares (a dataclass's field without default)."""
    return hasattr(obj, attr) or (isinstance(obj, type)
                                  and any(attr in vars(k).get("__annotations__", {}) for k in obj.__mro__))


@cache
def resolves(dotted: str) -> bool:
    """Whether ``dotted`` (``bpttlab.``-prefixed if it starts with a folder's name) is a module, or an
    attribute (of an attribute …) of one."""
    parts = dotted.split(".")
    if parts[0] != "bpttlab":
        parts = ["bpttlab", *parts]
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        try:
            found = name.endswith("__main__") or importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:  # a parent is no module
            found = False
        if not found:
            continue
        if n == len(parts):
            return True
        obj: object = importlib.import_module(name)
        for attr in parts[n:]:
            if not _has(obj, attr):
                return False
            obj = getattr(obj, attr, None)
        return True
    return False


def path_exists(path: str) -> bool:
    """Whether ``path`` (a glob pattern with ``*``) names something in the repository or in tests/; a
    wheel's ``bpttlab/<folder>/…`` is the folder's."""
    parts = path.split("/")
    if parts[0] == "bpttlab" and len(parts) > 1 and parts[1] in FOLDERS:
        path = "/".join(parts[1:])
    return any(any(base.glob(path)) if "*" in path else (base / path).exists()
               for base in (ROOT, ROOT / "tests"))


def _lines(kind: re.Pattern) -> list[tuple[str, int, str]]:
    return [(str(f.relative_to(ROOT)), number, match.group(1))
            for f in FILES for number, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1)
            for match in kind.finditer(line)]


def test_the_scan_reads_the_repository():
    """The scan must see the packages, the tests and the README, and find references in them."""
    names = {str(f.relative_to(ROOT)) for f in FILES}
    assert {"README.md", "derivations/cells/spec.py", "tests/conftest.py"} <= names
    assert len(_lines(DOTTED)) > 100 and len(_lines(RELATIVE)) > 20 and len(_lines(PATH)) > 10


def test_the_checks_can_fail():
    assert resolves("bpttlab.numeric.decay.study.decay_study") and resolves("derivations.cells.spec")
    assert resolves("bpttlab.derivations.Cell.equations")  # a dataclass field
    assert not resolves("numeric.decay_study.decay_study") and not resolves("bpttlab.derivations.nothing")
    assert not resolves("bpttlab.derivations.derive.nothing")
    assert path_exists("derivations/cells/spec.py") and path_exists("reports/test_sheet*.py")
    assert path_exists("bpttlab/derivations/cells/lstm.py") and path_exists("derivations/proof")
    assert not path_exists("derivations/nothing.py") and not path_exists("reports/nothing*.py")


def test_dotted_module_names_exist():
    stale = [f"{file}:{line}: {name}" for file, line, name in _lines(DOTTED) if not resolves(name)]
    assert not stale, "names of modules or attributes that do not exist:\n" + "\n".join(stale)


def test_relative_cross_references_exist():
    stale = [f"{file}:{line}: {name}" for file, line, name in _lines(RELATIVE)
             if not any(resolves(f"{module}{name}") for module in MODULES)]
    assert not stale, "cross-references found below no module:\n" + "\n".join(stale)


def test_file_paths_exist():
    stale = [f"{file}:{line}: {path}" for file, line, path in _lines(PATH) if not path_exists(path)]
    assert not stale, "paths of files that do not exist:\n" + "\n".join(stale)
