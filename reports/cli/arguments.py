"""Argument types shared by the subcommands: a cell is a registered name or a ``.cell`` file."""

from __future__ import annotations

import argparse

from bpttlab.derivations import CELLS, Cell, resolve_cell

__all__ = ["CELL_HELP", "cell_argument"]

CELL_HELP = f"a registered cell ({', '.join(CELLS)}) or the path of a .cell file"


def cell_argument(text: str) -> Cell:
    """The cell ``text`` names, for argparse: a bad name or file is one line of usage error (exit 2)."""
    try:
        return resolve_cell(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
