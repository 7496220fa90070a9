"""PyTorch reference for the NumPy BPTT engine: the same forward equations and losses, differentiated
by autograd in float64, so the engine's hand-derived gradients can be checked against an independent
implementation.

Two references are given:

- `torch_loss_and_grads` writes every cell from its equations with plain torch ops (no ``nn`` modules).
- `torch_module_loss_and_grads` runs the recurrence through PyTorch's own ``nn.RNN``, ``nn.LSTM`` and
  ``nn.GRU`` with our parameters copied into theirs, which ties our equations (and our "gru_torch"
  variant) to PyTorch's definitions. PyTorch has no reset-before GRU, so the course "gru" is not
  available there.

Conventions are the project's: ``xs`` is time-major ``(T, N, D)``, ``h0``/``c0`` are ``(N, H)``,
weights have the math's shapes (``W_xh`` is ``(H, D)``) and biases are 1-D. The loss is summed over
steps ("every") or taken at the last step ("last"), summed over outputs and averaged over the batch.
A head whose targets are classes (softmax) takes integers ``(T, N)`` or ``(N,)``; the others floats
shaped like the outputs, ``(T, N, K)`` or ``(N, K)``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from bpttlab.derivations.heads import HEADS, TargetKind
from bpttlab.numeric.engine.implementations import Implementations

CELLS = ("rnn", "lstm", "gru", "gru_torch")
LOSS_AT = ("every", "last")


def _cross_entropy(s: Tensor, y: Tensor) -> Tensor:
    return F.cross_entropy(s.reshape(-1, s.shape[-1]), y.reshape(-1), reduction="sum")


def _binary_cross_entropy(s: Tensor, y: Tensor) -> Tensor:
    return F.binary_cross_entropy_with_logits(s, y, reduction="sum")


def _squared_error(s: Tensor, y: Tensor) -> Tensor:
    return 0.5 * ((s - y) ** 2).sum()


#: Each registered head's loss in torch, by its name: ``loss(s, y)`` of the affine outputs
#: s = W_hy h_t + b_y (…, K) and the targets y (integer classes (…) for a head whose targets are
#: :attr:`~bpttlab.derivations.heads.TargetKind.CLASS`, floats (…, K) otherwise), summed over
#: everything (a new head: ``TORCH_HEADS.register(name, loss)``).
TORCH_HEADS: Implementations = Implementations("torch", "head", {
    "softmax": _cross_entropy,
    "sigmoid": _binary_cross_entropy,
    "linear": _squared_error,
}, where="numeric/verify/torch_reference.py: TORCH_HEADS")

_GATES = {"rnn": "h", "lstm": "ifgo", "gru": "zrn", "gru_torch": "zrn"}
_HEAD_PARAMS = ("W_hy", "b_y")


def param_names(cell: str) -> tuple[str, ...]:
    """Names of the cell's parameters followed by the head's, in the project's order.

    >>> param_names("rnn")
    ('W_xh', 'W_hh', 'b_h', 'W_hy', 'b_y')
    """
    _check(cell)
    gates = _GATES[cell]
    names = [f"W_x{g}" for g in gates] + [f"W_h{g}" for g in gates] + [f"b_{g}" for g in gates]
    if cell == "gru_torch":
        names.append("b_hn")
    return (*names, *_HEAD_PARAMS)


def _check(cell: str, head: str = "linear", loss_at: str = "every") -> None:
    for what, value, valid in (("cell", cell, CELLS), ("head", head, HEADS), ("loss_at", loss_at, LOSS_AT)):
        if value not in valid:
            raise ValueError(f"unknown {what} {value!r}; valid: {', '.join(valid)}")


def _leaf(array: np.ndarray) -> Tensor:
    return torch.tensor(np.asarray(array, dtype=np.float64), dtype=torch.float64, requires_grad=True)


def _inputs(cell: str, params: dict[str, np.ndarray], xs: np.ndarray, h0: np.ndarray | None,
            c0: np.ndarray | None) -> dict[str, Tensor]:
    """Leaf tensors for the cell's parameters, xs, h0 and (for lstm) c0; missing states are zeros."""
    missing = [name for name in param_names(cell) if name not in params]
    if missing:
        raise ValueError(f"missing parameters for {cell}: {', '.join(missing)}")
    leaves = {name: _leaf(params[name]) for name in param_names(cell)}
    n, hidden = np.shape(xs)[1], np.shape(params["W_hy"])[1]
    leaves["xs"] = _leaf(xs)
    leaves["h0"] = _leaf(np.zeros((n, hidden)) if h0 is None else h0)
    if cell == "lstm":
        leaves["c0"] = _leaf(np.zeros((n, hidden)) if c0 is None else c0)
    return leaves


def _affine(p: dict[str, Tensor], gate: str, x: Tensor, h: Tensor) -> Tensor:
    """W_xg x + W_hg h + b_g for a batch of rows."""
    return x @ p[f"W_x{gate}"].T + h @ p[f"W_h{gate}"].T + p[f"b_{gate}"]


def _step(cell: str, p: dict[str, Tensor], x: Tensor, h: Tensor,
          c: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """One step of the recurrence from the equations: returns (h_t, c_t); c_t is None except for lstm."""
    if cell == "rnn":
        return torch.tanh(_affine(p, "h", x, h)), None
    if cell == "lstm":
        i, f, o = (torch.sigmoid(_affine(p, g, x, h)) for g in "ifo")
        g = torch.tanh(_affine(p, "g", x, h))
        c = f * c + i * g
        return o * torch.tanh(c), c
    z, r = (torch.sigmoid(_affine(p, g, x, h)) for g in "zr")
    if cell == "gru":
        n = torch.tanh(_affine(p, "n", x, r * h))
        return (1 - z) * h + z * n, None
    n = torch.tanh(x @ p["W_xn"].T + p["b_n"] + r * (h @ p["W_hn"].T + p["b_hn"]))
    return (1 - z) * n + z * h, None


def _loss(head: str, loss_at: str, p: dict[str, Tensor], hs: Tensor, targets: np.ndarray) -> Tensor:
    """The head on h_t (every step or the last) and the loss summed over steps and outputs, mean over N."""
    n = hs.shape[1]
    h = hs if loss_at == "every" else hs[-1]
    s = h @ p["W_hy"].T + p["b_y"]
    loss = TORCH_HEADS.require(head)
    if HEADS[head].target_kind is TargetKind.CLASS:
        return loss(s, torch.as_tensor(np.asarray(targets), dtype=torch.long)) / n
    y = torch.as_tensor(np.asarray(targets, dtype=np.float64))
    if y.shape != s.shape:
        raise ValueError(f"{head} targets must have shape {tuple(s.shape)}, got {tuple(y.shape)}")
    return loss(s, y) / n


def head_loss(head: str, loss_at: str, p: dict[str, Tensor], hs: Tensor, targets: np.ndarray) -> Tensor:
    """The head's loss on the states ``hs`` (T, N, H), read through ``p["W_hy"]`` and ``p["b_y"]``: at
    every step or the last, summed over steps and outputs, mean over the batch (what every reference
    here uses, also for the cells written as equations)."""
    return _loss(head, loss_at, p, hs, targets)


def _numpy_grads(leaves: dict[str, Tensor]) -> dict[str, np.ndarray]:
    return {name: t.grad.detach().numpy().copy() if t.grad is not None else np.zeros(tuple(t.shape))
            for name, t in leaves.items()}


def torch_state_grads(cell: str, head: str, params: dict[str, np.ndarray], xs: np.ndarray,
                      targets: np.ndarray, h0: np.ndarray | None = None, c0: np.ndarray | None = None
                      ) -> dict[str, np.ndarray]:
    """∂L/∂h_k (and ∂L/∂c_k) for the loss at the last step, by autograd with ``retain_grad`` on every
    state: ``{"h": (T, N, H), "c": (T, N, H) for the LSTM}``."""
    _check(cell, head, "last")
    p = _inputs(cell, params, xs, h0, c0)
    h, c = p["h0"], p.get("c0")
    hs, cs = [], []
    for x in p["xs"]:
        h, c = _step(cell, p, x, h, c)
        h.retain_grad()
        hs.append(h)
        if c is not None:
            c.retain_grad()
            cs.append(c)
    _loss(head, "last", p, torch.stack(hs), targets).backward()
    grads = {"h": np.stack([s.grad.numpy() for s in hs])}
    if cs:
        grads["c"] = np.stack([s.grad.numpy() for s in cs])
    return grads


def torch_loss_and_grads(cell: str, head: str, loss_at: str, params: dict[str, np.ndarray], xs: np.ndarray,
                         targets: np.ndarray, h0: np.ndarray | None = None,
                         c0: np.ndarray | None = None) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and autograd gradients with every cell written from its equations in torch ops.

    Returns the loss and a gradient for each parameter of the cell and head, for "xs", "h0" and, for
    lstm, "c0" (zeros when not given, their gradient is still returned). Extra entries of `params`
    (such as b_hn for "gru") are ignored.
    """
    _check(cell, head, loss_at)
    p = _inputs(cell, params, xs, h0, c0)
    with torch.enable_grad():
        h, c = p["h0"], p.get("c0")
        hs = []
        for x in p["xs"]:
            h, c = _step(cell, p, x, h, c)
            hs.append(h)
        loss = _loss(head, loss_at, p, torch.stack(hs), targets)
        loss.backward()
    return loss.item(), _numpy_grads(p)


def _module(cell: str, p: dict[str, Tensor]) -> torch.nn.RNNBase:
    """PyTorch's recurrent module with our parameters copied into its weights (bias_hh is 0 but b_hn)."""
    d, hidden = p["xs"].shape[2], p["W_hy"].shape[1]
    kind = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru_torch": torch.nn.GRU}[cell]
    extra = {"nonlinearity": "tanh"} if cell == "rnn" else {}
    with torch.random.fork_rng(devices=[]):  # its random initialisation must not move the global RNG
        module = kind(d, hidden, num_layers=1, bias=True, batch_first=False, dtype=torch.float64, **extra)
    gates = {"rnn": "h", "lstm": "ifgo", "gru_torch": "rzn"}[cell]
    zero = torch.zeros(hidden, dtype=torch.float64)
    b_hh = [p["b_hn"] if (cell, g) == ("gru_torch", "n") else zero for g in gates]
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.cat([p[f"W_x{g}"] for g in gates]))
        module.weight_hh_l0.copy_(torch.cat([p[f"W_h{g}"] for g in gates]))
        module.bias_ih_l0.copy_(torch.cat([p[f"b_{g}"] for g in gates]))
        module.bias_hh_l0.copy_(torch.cat(b_hh))
    return module


def torch_module_loss_and_grads(cell: str, head: str, loss_at: str, params: dict[str, np.ndarray],
                                xs: np.ndarray, targets: np.ndarray, h0: np.ndarray | None = None,
                                c0: np.ndarray | None = None
                                ) -> tuple[float, dict[str, np.ndarray], np.ndarray]:
    """Loss, gradients and hidden states (T, N, H) with the recurrence run by torch.nn.RNN/LSTM/GRU.

    Only "rnn", "lstm" and "gru_torch" (PyTorch's reset-after GRU) are available. Gradients are mapped
    back from PyTorch's stacked weights into our names, with the same keys as `torch_loss_and_grads`.
    """
    _check(cell, head, loss_at)
    if cell == "gru":
        raise ValueError("PyTorch has no reset-before GRU; use cell='gru_torch' or torch_loss_and_grads")
    p = _inputs(cell, params, xs, h0, c0)
    module = _module(cell, p)
    with torch.enable_grad():
        state = (p["h0"][None], p["c0"][None]) if cell == "lstm" else p["h0"][None]
        hs, _ = module(p["xs"], state)
        loss = _loss(head, loss_at, p, hs, targets)
        loss.backward()
    grads = _numpy_grads({name: p[name] for name in ("xs", "h0", "c0", *_HEAD_PARAMS) if name in p})
    hidden = p["W_hy"].shape[1]
    gates = {"rnn": "h", "lstm": "ifgo", "gru_torch": "rzn"}[cell]
    for k, g in enumerate(gates):
        rows = slice(k * hidden, (k + 1) * hidden)
        grads[f"W_x{g}"] = module.weight_ih_l0.grad[rows].numpy().copy()
        grads[f"W_h{g}"] = module.weight_hh_l0.grad[rows].numpy().copy()
        grads[f"b_{g}"] = module.bias_ih_l0.grad[rows].numpy().copy()
    if cell == "gru_torch":
        grads["b_hn"] = module.bias_hh_l0.grad[2 * hidden:].numpy().copy()
    order = (*param_names(cell), "xs", "h0", "c0")
    return loss.item(), {name: grads[name] for name in order if name in grads}, hs.detach().numpy().copy()
