"""The GRU in its two variants, which differ in where the reset gate acts and so in their gradients.

``gru``: the course's (Cho et al. 2014, reset before the product; u_t = r_t ⊙ h_{t-1} is stored),
    h̃_t = tanh(W_xn x_t + W_hn (r_t ⊙ h_{t-1}) + b_n),  h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t.
``gru_torch``: PyTorch's (reset after the product, with its own bias b_hn),
    n_t = tanh(W_xn x_t + b_n + r_t ⊙ (W_hn h_{t-1} + b_hn)),  h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}.
"""

from __future__ import annotations

import sympy as sp

from bpttlab.derivations.cells.record import Cell, by_kind
from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.symbols import D, H, matrix, ones, vector

__all__ = ["gru", "gru_torch"]


def _gates(x: sp.MatrixSymbol, h_prev: sp.MatrixSymbol) -> tuple[list, list, dict, dict]:
    params, equations, pre, gate = [], [], {}, {}
    for k in ("z", "r"):
        W_x, W_h, b = matrix(f"W_x{k}", H, D), matrix(f"W_h{k}", H, H), vector(f"b_{k}", H)
        pre[k], gate[k] = vector(f"a_{{{k},t}}", H), vector(f"{k}_t", H)
        params += [W_x, W_h, b]
        equations += [
            sp.Eq(pre[k], W_x * x + W_h * h_prev + b, evaluate=False),
            sp.Eq(gate[k], Elementwise("sigmoid", pre[k]), evaluate=False),
        ]
    return params, equations, pre, gate


def gru() -> Cell:
    x, h_prev = vector("x_t", D), vector("h_{t-1}", H)
    params, equations, pre, gate = _gates(x, h_prev)
    z, r = gate["z"], gate["r"]
    W_xn, W_hn, b_n = matrix("W_xn", H, D), matrix("W_hn", H, H), vector("b_n", H)
    u, a_n, n, h = vector("u_t", H), vector("a_{n,t}", H), vector("n_t", H), vector("h_t", H)
    equations += [
        sp.Eq(u, sp.HadamardProduct(r, h_prev), evaluate=False),
        sp.Eq(a_n, W_xn * x + W_hn * u + b_n, evaluate=False),
        sp.Eq(n, Elementwise("tanh", a_n), evaluate=False),
        sp.Eq(h, sp.HadamardProduct(ones(H) - z, h_prev) + sp.HadamardProduct(z, n), evaluate=False),
    ]
    return Cell(
        name="gru",
        title="GRU (course, reset before the product)",
        x=x,
        states=((h, h_prev),),
        params=by_kind([*params, W_xn, W_hn, b_n]),
        equations=tuple(equations),
        named_deltas=(pre["z"], pre["r"], u, a_n),
    )


def gru_torch() -> Cell:
    x, h_prev = vector("x_t", D), vector("h_{t-1}", H)
    params, equations, pre, gate = _gates(x, h_prev)
    z, r = gate["z"], gate["r"]
    W_xn, W_hn = matrix("W_xn", H, D), matrix("W_hn", H, H)
    b_n, b_hn = vector("b_n", H), vector("b_hn", H)
    m, a_n, n, h = vector("m_t", H), vector("a_{n,t}", H), vector("n_t", H), vector("h_t", H)
    equations += [
        sp.Eq(m, W_hn * h_prev + b_hn, evaluate=False),
        sp.Eq(a_n, W_xn * x + b_n + sp.HadamardProduct(r, m), evaluate=False),
        sp.Eq(n, Elementwise("tanh", a_n), evaluate=False),
        sp.Eq(h, sp.HadamardProduct(ones(H) - z, n) + sp.HadamardProduct(z, h_prev), evaluate=False),
    ]
    return Cell(
        name="gru_torch",
        title="GRU (PyTorch, reset after the product)",
        x=x,
        states=((h, h_prev),),
        params=by_kind([*params, W_xn, W_hn, b_n, b_hn]),
        equations=tuple(equations),
        named_deltas=(pre["z"], pre["r"], m, a_n),
        torch_module="GRU",
    )
