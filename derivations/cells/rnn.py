"""The Elman RNN: h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)."""

from __future__ import annotations

import sympy as sp

from bpttlab.derivations.cells.record import Cell
from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.symbols import D, H, matrix, vector

__all__ = ["rnn"]


def rnn() -> Cell:
    x, h_prev = vector("x_t", D), vector("h_{t-1}", H)
    W_xh, W_hh, b_h = matrix("W_xh", H, D), matrix("W_hh", H, H), vector("b_h", H)
    a, h = vector("a_t", H), vector("h_t", H)
    return Cell(
        name="rnn",
        title="Elman RNN",
        x=x,
        states=((h, h_prev),),
        params=(W_xh, W_hh, b_h),
        equations=(
            sp.Eq(a, W_xh * x + W_hh * h_prev + b_h, evaluate=False),
            sp.Eq(h, Elementwise("tanh", a), evaluate=False),
        ),
        torch_module="RNN",
        named_deltas=(a,),
    )
