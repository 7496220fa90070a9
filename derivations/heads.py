"""Output heads and their per-step losses ℓ_t (a 1×1 matrix): one registry, :data:`HEADS`.

``softmax``  a_{y,t} = W_hy h_t + b_y, ŷ_t = softmax(a_{y,t}), ℓ_t = −y_tᵀ log softmax(a_{y,t})  (one-hot y_t)
``sigmoid``  a_{y,t} = W_hy h_t + b_y, ŷ_t = σ(a_{y,t}), ℓ_t = 1ᵀ(softplus(a_{y,t}) − y_t ⊙ a_{y,t})
             (binary cross-entropy written on the logits, which is how it is computed stably)
``linear``   ŷ_t = W_hy h_t + b_y,                  ℓ_t = ½ 1ᵀ (ŷ_t − y_t)^2

Each head says what its targets are (:class:`TargetKind`) and its title; every consumer (the
engine, its input checks, verification, the decay study, the tasks, the sheets) asks the head. The
logits are ``a_{y,t}``, the output layer's pre-activation beside a cell's ``a_t`` and ``a_{f,t}``.

>>> list(HEADS), HEADS["sigmoid"].target_kind
(['softmax', 'sigmoid', 'linear'], <TargetKind.PROBABILITY: 'probability'>)
>>> HEADS["linear"].title, head_parameter_names()
('linear output, squared error', ('W_hy', 'b_y'))

Adding a head is one :func:`register_head` of a :class:`Head` (its equations, logits, prediction,
target and loss), its PyTorch loss (``TORCH_HEADS.register`` in ``numeric/verify/torch_reference.py``)
and its title in every language, plus what each consumer keys by :class:`TargetKind` if the kind is
new; see CONTRIBUTING.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import sympy as sp

from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.registry import Registry
from bpttlab.derivations.softmax import LogSoftmax, Softmax
from bpttlab.derivations.symbols import H, K, matrix, vector

__all__ = ["HEADS", "Head", "TargetKind", "head", "head_parameter_names", "register_head", "unregister_head"]


class TargetKind(Enum):
    """What a head's targets are: ``CLASS`` integer class indices (one-hot vectors in the maths, so
    Σ_k y_{t,k} = 1); ``PROBABILITY`` floats in [0, 1] shaped like the outputs; ``REAL`` any floats
    shaped like the outputs."""

    CLASS = "class"
    PROBABILITY = "probability"
    REAL = "real"


@dataclass(frozen=True)
class Head:
    """A head: ``logits`` is the affine output, ``prediction`` ŷ_t, ``target`` y_t, ``loss`` ℓ_t, all
    computed from ``h`` (the cell's first state) by ``equations``; ``title`` says what it is."""

    name: str
    title: str
    h: sp.MatrixSymbol
    params: tuple[sp.MatrixSymbol, ...]
    logits: sp.MatrixSymbol
    prediction: sp.MatrixSymbol
    target: sp.MatrixSymbol
    loss: sp.MatrixSymbol
    equations: tuple[sp.Eq, ...]
    target_kind: TargetKind

    @property
    def one_hot_target(self) -> bool:
        """The loss assumes Σ_k y_{t,k} = 1 (the derivation uses it to reach δa_{y,t} = ŷ_t − y_t,
        and the proofs impose it)."""
        return self.target_kind is TargetKind.CLASS

    @property
    def values(self) -> tuple[sp.MatrixSymbol, ...]:
        """The head's own values of a step: logits, prediction, target, loss (without repeats)."""
        return tuple(dict.fromkeys((self.logits, self.prediction, self.target, self.loss)))


def _affine_head(name: str, title: str, target_kind: TargetKind) -> Head:
    """A head on the affine output W_hy h_t + b_y: its logits a_{y,t} (ŷ_t itself for the linear head)."""
    h, W_hy, b_y = vector("h_t", H), matrix("W_hy", K, H), vector("b_y", K)
    y, y_hat, loss = vector("y_t", K), vector("ŷ_t", K), matrix("ℓ_t", 1, 1)
    affine = W_hy * h + b_y
    ones_row = sp.OneMatrix(1, K)
    if target_kind is TargetKind.REAL:  # squared error on the affine output itself
        equations = (
            sp.Eq(y_hat, affine, evaluate=False),
            sp.Eq(loss, sp.Rational(1, 2) * ones_row * sp.HadamardPower(y_hat - y, 2), evaluate=False),
        )
        return Head(name, title, h, (W_hy, b_y), y_hat, y_hat, y, loss, equations, target_kind)
    a = vector("a_{y,t}", K)
    if target_kind is TargetKind.CLASS:
        prediction, loss_rhs = Softmax(a), -y.T * LogSoftmax(a)
    else:
        prediction = Elementwise("sigmoid", a)
        loss_rhs = ones_row * (Elementwise("softplus", a) - sp.HadamardProduct(y, a))
    equations = (
        sp.Eq(a, affine, evaluate=False),
        sp.Eq(y_hat, prediction, evaluate=False),
        sp.Eq(loss, loss_rhs, evaluate=False),
    )
    return Head(name, title, h, (W_hy, b_y), a, y_hat, y, loss, equations, target_kind)


#: Name → :class:`Head`, in registration order (read-only; see :func:`register_head`).
HEADS: Registry[Head] = Registry("head", Head, described="a Head record")
#: Add a record to :data:`HEADS`; a name already taken raises unless ``replace``.
register_head = HEADS.register
#: Remove the head called ``name`` (for temporary registrations, e.g. in tests).
unregister_head = HEADS.unregister
#: The head called ``name``: one of :data:`HEADS`.
head = HEADS.lookup


def head_parameter_names() -> tuple[str, ...]:
    """The names every registered head's parameters take (a cell's parameters share their dictionary)."""
    return tuple(dict.fromkeys(p.name for hd in HEADS.values() for p in hd.params))


for _record in (
    _affine_head("softmax", "softmax output, cross-entropy", TargetKind.CLASS),
    _affine_head("sigmoid", "sigmoid output, binary cross-entropy", TargetKind.PROBABILITY),
    _affine_head("linear", "linear output, squared error", TargetKind.REAL),
):
    register_head(_record)
