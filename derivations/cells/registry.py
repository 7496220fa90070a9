"""The one registry of cells: the built-in four, the variants shipped as ``.cell`` files in
``library/``, and any cell a user registers. Everything that iterates over cells iterates over
:data:`CELLS`; everything that takes a cell takes a name, a :class:`Cell` or a ``.cell`` path
through :func:`resolve_cell`.

>>> list(CELLS)[:5]
['rnn', 'lstm', 'gru', 'gru_torch', 'indrnn']
>>> resolve_cell("mgu").title
'Minimal gated unit'
>>> resolve_cell("elman")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: unknown cell 'elman'; valid: rnn, lstm, ..., or a path to a .cell file
"""

from __future__ import annotations

import os
from pathlib import Path

from bpttlab.derivations.cells.gru import gru, gru_torch
from bpttlab.derivations.cells.lstm import lstm
from bpttlab.derivations.cells.record import Cell
from bpttlab.derivations.cells.rnn import rnn
from bpttlab.derivations.cells.spec import load_cell_file
from bpttlab.derivations.registry import Registry

__all__ = ["BUILT_IN", "CELLS", "LIBRARY", "VARIANTS", "register", "resolve_cell", "unregister"]

#: The folder of the shipped ``.cell`` files.
LIBRARY = Path(__file__).with_name("library")
BUILT_IN = ("rnn", "lstm", "gru", "gru_torch")

#: Name → cell, in registration order: the built-in cells, then the shipped variants.
CELLS: Registry[Cell] = Registry("cell", Cell, described="a Cell (from custom_cell or a .cell file)",
                                 protected=lambda name: name in BUILT_IN or name in VARIANTS)
for _make in (rnn, lstm, gru, gru_torch):
    CELLS.register(_make())
for _path in sorted(LIBRARY.glob("*.cell")):
    _cell = load_cell_file(_path)
    if _cell.name != _path.stem:
        raise ValueError(f"{_path}: the cell is named {_cell.name!r}; the file must be {_cell.name}.cell")
    CELLS.register(_cell)
#: The shipped variants' names (defined in ``library/*.cell`` with the public format).
VARIANTS = tuple(name for name in CELLS if name not in BUILT_IN)
#: Add a cell under its name, so that every command and function finds it by name; a name already
#: taken raises ``ValueError`` unless ``replace``.
register = CELLS.register
#: Remove the cell called ``name`` (for temporary registrations, e.g. in tests); the built-in cells and
#: the shipped variants stay.
unregister = CELLS.unregister


def resolve_cell(cell: str | os.PathLike | Cell) -> Cell:
    """A cell from its name in :data:`CELLS`, a path to a ``.cell`` file, or a :class:`Cell` itself."""
    if isinstance(cell, Cell):
        return cell
    if isinstance(cell, str) and cell in CELLS:
        return CELLS[cell]
    if isinstance(cell, str | os.PathLike) and (str(cell).endswith(".cell") or Path(cell).is_file()):
        return load_cell_file(cell)
    raise ValueError(f"unknown cell {cell!r}; valid: {', '.join(CELLS)}, or a path to a .cell file")
