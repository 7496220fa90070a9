"""bpttlab.derivations: RNN, LSTM and GRU equations as SymPy matrix expressions, their BPTT
gradients derived by a reverse pass over each cell's expression graph, and proofs of exactness —
for the built-in cells, the shipped variants and any cell written as equations (:func:`custom_cell`).

>>> from bpttlab.derivations import derive, prove
>>> d = derive("lstm", head="softmax", loss_at="every")
>>> str(d.jacobian[("c_t", "c_{t-1}")])
'DiagMatrix(f_t)'
>>> prove("rnn", head="sigmoid", kind=("step",)).passed
True

The proofs' own pieces (:class:`~.proof.Check`, :data:`~.proof.STEP_SIZES`, :func:`~.proof.bptt_sizes`,
:class:`~.opaque.Opaque`, :class:`~.polynomial.Polynomial`) are imported from their modules.
"""

from bpttlab.derivations.activations import (
    ACTIVATIONS,
    Activation,
    activation,
    register_activation,
    unregister_activation,
)
from bpttlab.derivations.cells import (
    VARIANTS,
    Cell,
    custom_cell,
    load_cell_file,
    register,
    resolve_cell,
    unregister,
)
from bpttlab.derivations.derivation import CELLS, HEADS, LOSS_AT, Derivation, carry, derive
from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.equations import Equations
from bpttlab.derivations.heads import Head, TargetKind, head, register_head, unregister_head
from bpttlab.derivations.proof import Proof, bptt_steps, prove
from bpttlab.derivations.scalar import relu, sigmoid, softplus, step
from bpttlab.derivations.softmax import LogSoftmax, Softmax
from bpttlab.derivations.symbols import DIMENSIONS, D, H, K, delta

__all__ = [
    "ACTIVATIONS",
    "CELLS",
    "DIMENSIONS",
    "HEADS",
    "LOSS_AT",
    "VARIANTS",
    "Activation",
    "Cell",
    "D",
    "Derivation",
    "Elementwise",
    "Equations",
    "H",
    "Head",
    "K",
    "LogSoftmax",
    "Proof",
    "Softmax",
    "TargetKind",
    "activation",
    "bptt_steps",
    "carry",
    "custom_cell",
    "delta",
    "derive",
    "head",
    "load_cell_file",
    "prove",
    "register",
    "register_activation",
    "register_head",
    "relu",
    "resolve_cell",
    "sigmoid",
    "softplus",
    "step",
    "unregister",
    "unregister_activation",
    "unregister_head",
]
