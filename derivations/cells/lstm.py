"""The LSTM: gates i, f, o (σ), candidate g (tanh; the course's C̃_t), c_t and h_t."""

from __future__ import annotations

import sympy as sp

from bpttlab.derivations.cells.record import Cell, by_kind
from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.symbols import D, H, matrix, vector

__all__ = ["lstm"]

GATES = (("i", "sigmoid"), ("f", "sigmoid"), ("g", "tanh"), ("o", "sigmoid"))


def lstm() -> Cell:
    x, h_prev, c_prev = vector("x_t", D), vector("h_{t-1}", H), vector("c_{t-1}", H)
    params, equations, pre, gate = [], [], {}, {}
    for k, activation in GATES:
        W_x, W_h, b = matrix(f"W_x{k}", H, D), matrix(f"W_h{k}", H, H), vector(f"b_{k}", H)
        pre[k], gate[k] = vector(f"a_{{{k},t}}", H), vector(f"{k}_t", H)
        params += [W_x, W_h, b]
        equations += [
            sp.Eq(pre[k], W_x * x + W_h * h_prev + b, evaluate=False),
            sp.Eq(gate[k], Elementwise(activation, pre[k]), evaluate=False),
        ]
    c, h = vector("c_t", H), vector("h_t", H)
    i, f, g, o = (gate[k] for k, _ in GATES)
    equations += [
        sp.Eq(c, sp.HadamardProduct(f, c_prev) + sp.HadamardProduct(i, g), evaluate=False),
        sp.Eq(h, sp.HadamardProduct(o, Elementwise("tanh", c)), evaluate=False),
    ]
    return Cell(
        name="lstm",
        title="LSTM",
        x=x,
        states=((h, h_prev), (c, c_prev)),
        params=by_kind(params),
        equations=tuple(equations),
        initial=("h0", "c0"),
        torch_module="LSTM",
        named_deltas=(*pre.values(), c),
    )
