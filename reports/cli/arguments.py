"""Argument types shared by the subcommands: a cell is a registered name or a ``.cell`` file."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable

from bpttlab.derivations import CELLS, Cell, derive, resolve_cell
from bpttlab.numeric.memory import check_memory, engine_bytes

__all__ = ["CELL_HELP", "cell_argument", "check_run_memory", "integer_at_least", "number_argument"]

CELL_HELP = f"a registered cell ({', '.join(CELLS)}) or the path of a .cell file"


def cell_argument(text: str) -> Cell:
    """The cell ``text`` names, for argparse: a bad name or file is one line of usage error (exit 2)."""
    try:
        return resolve_cell(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def check_run_memory(runs: Iterable[tuple[object, str | None, str]], what: str, *, T: int, N: int, D: int,
                     H: int, K: int) -> None:
    """Before a command starts: a one-line ``ValueError`` if the largest of its engine runs (cell,
    head, loss placement) would need more memory than this machine has free (see
    :mod:`bpttlab.numeric.memory`). Nothing has been written or allocated yet."""
    needed = max((engine_bytes(derive(cell, head, at), T=T, N=N, D=D, H=H, K=K) for cell, head, at in runs),
                 default=0)
    check_memory(needed, f"{what} at T = {T}, N = {N}, H = {H}")


def integer_at_least(smallest: int, why: str) -> Callable[[str], int]:
    """An argparse type: an integer ≥ ``smallest`` (``why`` says what it counts), else one usage line."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer ≥ {smallest}, got {text!r}") from None
        if value < smallest:
            raise argparse.ArgumentTypeError(f"must be ≥ {smallest} ({why}), got {value}")
        return value

    return parse


def number_argument(positive: bool) -> Callable[[str], float]:
    """An argparse type: a finite number (positive, if ``positive``), else one usage line."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or (positive and value <= 0):
            raise argparse.ArgumentTypeError(f"expected a {'positive' if positive else 'finite'} number, "
                                             f"got {text!r}")
        return value

    return parse
