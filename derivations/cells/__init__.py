"""Recurrent cells as :class:`Cell` records of SymPy equations: the built-in four, the shipped
variants, and any cell written as equations (:func:`custom_cell`, ``.cell`` files)."""

from bpttlab.derivations.cells.record import Cell, by_kind
from bpttlab.derivations.cells.registry import (
    BUILT_IN,
    CELLS,
    LIBRARY,
    VARIANTS,
    register,
    resolve_cell,
    unregister,
)
from bpttlab.derivations.cells.spec import custom_cell, load_cell_file, parse_cell_file

__all__ = [
    "BUILT_IN",
    "CELLS",
    "LIBRARY",
    "VARIANTS",
    "Cell",
    "by_kind",
    "custom_cell",
    "load_cell_file",
    "parse_cell_file",
    "register",
    "resolve_cell",
    "unregister",
]
