"""bpttlab.derivations: RNN, LSTM and GRU equations as SymPy matrix expressions, their BPTT
gradients derived by a reverse pass over each cell's expression graph, and proofs of exactness.

>>> from bpttlab.derivations import derive, prove
>>> d = derive("lstm", head="softmax", loss_at="every")
>>> str(d.jacobian[("c_t", "c_{t-1}")])
'DiagMatrix(f_t)'
>>> prove("rnn", head="sigmoid", kind=("step",)).passed
True
"""

from bpttlab.derivations.cells import Cell
from bpttlab.derivations.derivation import CELLS, HEADS, LOSS_AT, Derivation, carry, cell, derive
from bpttlab.derivations.elementwise import FUNCTIONS, Elementwise
from bpttlab.derivations.heads import Head, head
from bpttlab.derivations.proof import BPTT_SIZES, STEP_SIZES, Check, Proof, prove
from bpttlab.derivations.scalar import sigmoid, softplus
from bpttlab.derivations.softmax import LogSoftmax, Softmax
from bpttlab.derivations.symbols import DIMENSIONS, D, H, K, delta

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
