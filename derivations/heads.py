"""Output heads and their per-step losses ℓ_t (a 1×1 matrix).

``softmax``  s_t = W_hy h_t + b_y, ŷ_t = softmax(s_t), ℓ_t = −y_tᵀ log softmax(s_t)  (one-hot y_t)
``sigmoid``  s_t = W_hy h_t + b_y, ŷ_t = σ(s_t),       ℓ_t = 1ᵀ(softplus(s_t) − y_t ⊙ s_t)
             (binary cross-entropy written on the logits, which is how it is computed stably)
``linear``   ŷ_t = W_hy h_t + b_y,                    ℓ_t = ½ 1ᵀ (ŷ_t − y_t)^2
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.softmax import LogSoftmax, Softmax
from bpttlab.derivations.symbols import H, K, matrix, vector

__all__ = ["HEADS", "Head", "head"]


@dataclass(frozen=True)
class Head:
    """A head: ``logits`` is the affine output, ``prediction`` ŷ_t, ``target`` y_t, ``loss`` ℓ_t.

    ``one_hot_target`` says the loss assumes Σ_k y_{t,k} = 1 (the derivation uses it to reach
    δs_t = ŷ_t − y_t, and the proofs impose it).
    """

    name: str
    title: str
    h: sp.MatrixSymbol
    params: tuple[sp.MatrixSymbol, ...]
    logits: sp.MatrixSymbol
    prediction: sp.MatrixSymbol
    target: sp.MatrixSymbol
    loss: sp.MatrixSymbol
    equations: tuple[sp.Eq, ...]
    one_hot_target: bool


def head(name: str) -> Head:
    """The head called ``name``: one of :data:`HEADS`."""
    if name not in HEADS:
        raise ValueError(f"unknown head {name!r}; valid heads: {', '.join(HEADS)}")
    h, W_hy, b_y = vector("h_t", H), matrix("W_hy", K, H), vector("b_y", K)
    y, y_hat, loss = vector("y_t", K), vector("ŷ_t", K), matrix("ℓ_t", 1, 1)
    affine = W_hy * h + b_y
    ones_row = sp.OneMatrix(1, K)
    if name == "linear":
        equations = (
            sp.Eq(y_hat, affine, evaluate=False),
            sp.Eq(loss, sp.Rational(1, 2) * ones_row * sp.HadamardPower(y_hat - y, 2), evaluate=False),
        )
        return Head(name, "linear output, squared error", h, (W_hy, b_y), y_hat, y_hat, y, loss,
                    equations, one_hot_target=False)
    s = vector("s_t", K)
    if name == "softmax":
        prediction, loss_rhs = Softmax(s), -y.T * LogSoftmax(s)
        title, one_hot = "softmax output, cross-entropy", True
    else:
        prediction = Elementwise("sigmoid", s)
        loss_rhs = ones_row * (Elementwise("softplus", s) - sp.HadamardProduct(y, s))
        title, one_hot = "sigmoid output, binary cross-entropy", False
    equations = (
        sp.Eq(s, affine, evaluate=False),
        sp.Eq(y_hat, prediction, evaluate=False),
        sp.Eq(loss, loss_rhs, evaluate=False),
    )
    return Head(name, title, h, (W_hy, b_y), s, y_hat, y, loss, equations, one_hot_target=one_hot)


HEADS = ("softmax", "sigmoid", "linear")
