"""The built-in recurrent cells, each a :class:`Cell` of SymPy equations."""

from bpttlab.derivations.cells.gru import gru as _gru
from bpttlab.derivations.cells.gru import gru_torch as _gru_torch
from bpttlab.derivations.cells.lstm import lstm as _lstm
from bpttlab.derivations.cells.record import Cell, by_kind
from bpttlab.derivations.cells.rnn import rnn as _rnn

BUILT_IN = {"rnn": _rnn, "lstm": _lstm, "gru": _gru, "gru_torch": _gru_torch}

__all__ = ["BUILT_IN", "Cell", "by_kind"]
