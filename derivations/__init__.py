"""bpttlab.derivations: RNN, LSTM and GRU equations as SymPy matrix expressions, their BPTT
gradients derived by a reverse pass over each cell's expression graph, and proofs of exactness.

>>> from derivations import derive, prove
>>> d = derive("lstm", head="softmax", loss_at="every")
>>> str(d.jacobian[("c_t", "c_{t-1}")])
'DiagMatrix(f_t)'
>>> prove("rnn", head="sigmoid", kind=("step",)).passed
True
"""

from .cell import Cell
from .derive import CELLS, HEADS, LOSS_AT, Derivation, carry, cell, derive
from .elementwise import FUNCTIONS, Elementwise
from .heads import Head, head
from .prove import BPTT_SIZES, STEP_SIZES, Check, Proof, prove
from .scalar import sigmoid, softplus
from .softmax import LogSoftmax, Softmax
from .symbols import DIMENSIONS, D, H, K, delta

__all__ = [
    "BPTT_SIZES",
    "CELLS",
    "DIMENSIONS",
    "FUNCTIONS",
    "HEADS",
    "LOSS_AT",
    "STEP_SIZES",
    "Cell",
    "Check",
    "D",
    "Derivation",
    "Elementwise",
    "H",
    "Head",
    "K",
    "LogSoftmax",
    "Proof",
    "Softmax",
    "carry",
    "cell",
    "delta",
    "derive",
    "head",
    "prove",
    "sigmoid",
    "softplus",
]
