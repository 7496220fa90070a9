"""PyTorch reference for the cells written as equations (:func:`bpttlab.derivations.custom_cell`,
``.cell`` files): the equation text itself, re-parsed with :mod:`ast` and evaluated on float64 torch
tensors, then differentiated by autograd.

Nothing here goes through SymPy: the lines come from :func:`~bpttlab.derivations.cells.spec.parse_lines`
(``ast.parse``, never ``eval``) and a small walker maps each node to a torch operation — ``@`` to
:func:`torch.matmul`, ``*`` to the element-wise product, ``+ - / **`` and unary minus as in NumPy,
numbers to Python floats, and the functions to :func:`torch.sigmoid`, :func:`torch.tanh`,
:func:`torch.relu`, :func:`torch.nn.functional.softplus`, :func:`torch.exp` and the identity. So it
checks the engine's gradients *and* the translation of the text into SymPy that they come from.

Inside, a batch is columns, as in the equations: ``x_t`` is (D, N), every state and intermediate
(H, N), a weight ``W`` is used as given ((H, D) or (H, H)) so that ``W @ v`` is literal, and a
parameter vector (H,) is a column (H, 1) that broadcasts over the batch. Outside, the conventions are
the engine's: ``xs`` is time-major (T, N, D), initial states are (N, H) under the cell's names for them
(``cell.initial``, e.g. ``h_prev``; zeros when not given), vectors are 1-D, and the head ``W_hy``,
``b_y`` reads the first state (:func:`~bpttlab.numeric.verify.torch_reference.head_loss`).

>>> import numpy as np
>>> from bpttlab.numeric import build_engine
>>> engine = build_engine("mgu", "linear", "every")
>>> params = engine.init_params(D=2, H=3, K=1, seed=0)
>>> xs, ys = np.ones((4, 2, 2)), np.zeros((4, 2, 1))
>>> loss, grads = torch_cell_loss_and_grads("mgu", "linear", "every", params, xs, ys)
>>> sorted(grads)
['W_hf', 'W_hn', 'W_hy', 'W_xf', 'W_xn', 'b_f', 'b_n', 'b_y', 'h_prev', 'xs']
>>> ours, our_grads = engine.loss_and_grads(params, xs, ys)
>>> bool(abs(loss - ours) <= 1e-12 * ours and np.allclose(grads["W_hn"], our_grads["W_hn"], rtol=1e-10))
True
>>> torch_cell_loss_and_grads("lstm", "linear", "every", params, xs, ys)
Traceback (most recent call last):
...
ValueError: lstm is built in (no equation text): its reference is torch_reference.torch_loss_and_grads
"""

from __future__ import annotations

import ast
import operator
import os
from collections.abc import Mapping

import numpy as np
import sympy as sp
import torch
import torch.nn.functional as F
from torch import Tensor

import bpttlab.derivations.symbols as dimensions
from bpttlab.derivations.activations import ACTIVATIONS
from bpttlab.derivations.cells import Cell, resolve_cell
from bpttlab.derivations.cells.spec import Line, parse_lines
from bpttlab.numeric.engine.implementations import Implementations
from bpttlab.numeric.engine.validate import as_array, as_float_array, check_targets
from bpttlab.numeric.verify.torch_reference import HEADS, LOSS_AT, head_loss

__all__ = ["TORCH_FUNCTIONS", "torch_cell_loss_and_grads", "torch_cell_state_grads"]

INPUT = "x_t"
_HEAD_PARAMS = ("W_hy", "b_y")


def _softplus(v: Tensor) -> Tensor:
    # threshold 40 instead of PyTorch's 20: log1p(exp(v)) is v in float64 beyond 37 anyway, so this
    # is log(1 + e^v) to the last bit everywhere, with σ(v) as its derivative (20 would be off by 2e-9).
    return F.softplus(v, beta=1.0, threshold=40.0)


#: The functions an equation may call, as the torch operations this reference evaluates them with (a
#: new activation: ``TORCH_FUNCTIONS.register(name, f)``).
TORCH_FUNCTIONS: Implementations = Implementations("torch", "activation", {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "softplus": _softplus,
    "exp": torch.exp,
    "identity": lambda v: v,
}, where="numeric/verify/torch_cell.py: TORCH_FUNCTIONS")

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.MatMult: operator.matmul, ast.Pow: operator.pow}


class _Walker:
    """Evaluates one line's ``ast`` expression on the tensors (or floats) of ``values``."""

    def __init__(self, values: Mapping[str, Tensor], where: str):
        self.values, self.where = values, where

    def error(self, node: ast.AST, what: str) -> ValueError:
        return ValueError(f"{self.where}: {what} in {ast.unparse(node)!r}")

    def __call__(self, node: ast.expr) -> Tensor | float:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise self.error(node, f"unsupported constant {node.value!r}")
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in self.values:
                raise self.error(node, f"no value for {node.id!r}")
            return self.values[node.id]
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return -self(node.operand)
            if isinstance(node.op, ast.UAdd):
                return self(node.operand)
            raise self.error(node, "unsupported unary operator")
        if isinstance(node, ast.BinOp):
            apply = _BINARY.get(type(node.op))
            if apply is None:
                raise self.error(node, "unsupported operator")
            return apply(self(node.left), self(node.right))
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name in ACTIVATIONS and name not in TORCH_FUNCTIONS:  # registered, not implemented: say so
                try:
                    TORCH_FUNCTIONS.require(name)
                except ValueError as missing:
                    raise self.error(node, str(missing)) from None
            if name not in TORCH_FUNCTIONS or len(node.args) != 1 or node.keywords:
                raise self.error(node, "unsupported call")
            argument = self(node.args[0])
            if not isinstance(argument, Tensor):
                argument = torch.tensor(argument, dtype=torch.float64)
            return TORCH_FUNCTIONS[name](argument)
        raise self.error(node, "unsupported syntax")


def _names(node: ast.expr) -> list[str]:
    """The names an expression reads (not the functions it calls), in order of first appearance."""
    calls = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    return list(dict.fromkeys(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and id(n) not in calls))


class _Problem:
    """A custom cell's lines and the checked inputs of one call, as float64 leaf tensors."""

    def __init__(self, cell: str | os.PathLike | Cell, head: str, loss_at: str, params: object, xs: object,
                 targets: object, initial: object):
        cell = resolve_cell(cell)
        if cell.source is None:
            raise ValueError(f"{cell.name} is built in (no equation text): its reference is "
                             f"torch_reference.torch_loss_and_grads")
        for what, value, valid in (("head", head, HEADS), ("loss_at", loss_at, LOSS_AT)):
            if value not in valid:
                raise ValueError(f"unknown {what} {value!r}; valid: {', '.join(valid)}")
        self.cell, self.head, self.loss_at = cell, head, loss_at
        self.lines: tuple[Line, ...] = parse_lines(cell.source)
        # (new state as written, previous state as written), the first read by the head
        self.states = tuple((new.name, label) for (new, _), label in zip(cell.states, cell.initial,
                                                                         strict=True))
        assigned = {line.lhs for line in self.lines}
        inputs = {INPUT, *cell.initial}
        used = [n for line in self.lines for n in _names(line.expr) if n not in assigned | inputs]
        listed = [p.name for p in cell.params]
        if set(used) != set(listed):
            raise ValueError(f"{cell.name}: the equation text reads the parameters "
                             f"{', '.join(sorted(set(used)))} but the cell lists {', '.join(sorted(listed))}")
        self.param_names = (*listed, *_HEAD_PARAMS)
        self._check_params(params)
        array = as_array("xs", xs)
        if array.ndim != 3 or 0 in array.shape:
            raise ValueError(f"xs must have shape (T, N, D) (time-major) with T, N, D ≥ 1, got {array.shape}")
        T, N, D = array.shape
        K, H = self._head_sizes(params)
        self.sizes = (T, N, D, H, K)
        shapes = self._shapes(D, H, K)
        self.leaves = {name: _leaf(as_float_array(f"parameter {name}", params[name], shapes[name],
                                                  np.float64)) for name in self.param_names}
        self.leaves["xs"] = _leaf(as_float_array("xs", array, (T, N, D), np.float64))
        initial = {} if initial is None else initial
        if not isinstance(initial, Mapping):
            raise ValueError(f"initial must be a dict of initial states by name ({', '.join(cell.initial)}), "
                             f"got {type(initial).__name__}")
        unknown = [k for k in initial if k not in cell.initial]
        if unknown:
            raise ValueError(f"initial: unknown state {unknown[0]!r}; {cell.name}'s initial states are "
                             f"{', '.join(cell.initial)}")
        for label in cell.initial:
            value = initial.get(label)
            value = np.zeros((N, H)) if value is None else as_float_array(label, value, (N, H), np.float64)
            self.leaves[label] = _leaf(value)
        shape = (T, N) if loss_at == "every" else (N,)
        self.targets = check_targets(head, targets, shape, K, np.dtype(np.float64))

    def _check_params(self, params: object) -> None:
        if not isinstance(params, Mapping):
            raise ValueError(f"params must be a dict of arrays by name, got {type(params).__name__}")
        missing = [n for n in self.param_names if n not in params]
        if missing:
            raise ValueError(f"missing parameter(s) for {self.cell.name}: {', '.join(missing)}")
        extra = [n for n in params if n not in self.param_names]
        if extra:
            raise ValueError(f"unknown parameter(s) for {self.cell.name}: {', '.join(map(repr, extra))}; "
                             f"expected {', '.join(self.param_names)}")

    @staticmethod
    def _head_sizes(params: Mapping[str, object]) -> tuple[int, int]:
        """K and H from the head's weight W_hy (K, H)."""
        shape = as_array("parameter W_hy", params["W_hy"]).shape
        if len(shape) != 2 or 0 in shape:
            raise ValueError(f"parameter W_hy has shape {shape}, expected (K, H) with K, H ≥ 1")
        return shape

    def _shapes(self, D: int, H: int, K: int) -> dict[str, tuple[int, ...]]:
        values = {dimensions.D: D, dimensions.H: H}
        shapes = {"W_hy": (K, H), "b_y": (K,)}
        for p in self.cell.params:
            rows, cols = (int(sp.sympify(n).xreplace(values)) for n in p.shape)
            shapes[p.name] = (rows,) if p.shape[1] == 1 else (rows, cols)
        return shapes

    def run(self, retain: bool = False) -> tuple[Tensor, dict[str, list[Tensor]]]:
        """The loss, and every new state at every step, (H, N) each (``retain``: with its grad kept)."""
        T, N, _, H, _ = self.sizes
        p = self.leaves
        values: dict[str, Tensor] = {name: p[name][:, None] if p[name].ndim == 1 else p[name]
                                     for name in self.param_names}
        for _, label in self.states:
            values[label] = p[label].T
        history: dict[str, list[Tensor]] = {new: [] for new, _ in self.states}
        for t in range(T):
            values[INPUT] = p["xs"][t].T
            for line in self.lines:
                value = _Walker(values, f"line {line.lineno} ({line.text})")(line.expr)
                if not isinstance(value, Tensor) or value.ndim != 2 or value.shape[0] != H:
                    got = tuple(value.shape) if isinstance(value, Tensor) else "a number"
                    raise ValueError(f"line {line.lineno} ({line.text}): {line.lhs} evaluates to shape "
                                     f"{got}, expected ({H}, {N}) or ({H}, 1)")
                values[line.lhs] = value.expand(H, N)  # a tensor of its own, even for identity(…)
            for new, label in self.states:
                if retain:
                    values[new].retain_grad()
                history[new].append(values[new])
                values[label] = values[new]
        first = self.states[0][0]
        hs = torch.stack([h.T for h in history[first]])
        return head_loss(self.head, self.loss_at, p, hs, self.targets), history


def _leaf(array: np.ndarray) -> Tensor:
    return torch.tensor(np.array(array, dtype=np.float64), dtype=torch.float64, requires_grad=True)


def torch_cell_loss_and_grads(cell: str | os.PathLike | Cell, head: str, loss_at: str,
                              params: Mapping[str, np.ndarray], xs: np.ndarray, targets: np.ndarray,
                              initial: Mapping[str, np.ndarray] | None = None
                              ) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and autograd gradients of a cell written as equations, from its equation text.

    ``cell`` is a :class:`Cell` from :func:`~bpttlab.derivations.custom_cell` or a ``.cell`` file, or
    its name or path; ``params`` holds every parameter of the cell and the head's ``W_hy`` (K, H) and
    ``b_y`` (K,), nothing else; ``initial`` the initial states (N, H) by the cell's names for them,
    zeros where missing. Returns the loss (sum over steps or the last, mean over the batch) and a
    gradient for every parameter, for ``"xs"`` and for every initial state, under the same names.
    """
    problem = _Problem(cell, head, loss_at, params, xs, targets, initial)
    with torch.enable_grad():
        loss, _ = problem.run()
        loss.backward()
    grads = {name: t.grad.numpy().copy() if t.grad is not None else np.zeros(tuple(t.shape))
             for name, t in problem.leaves.items()}
    return loss.item(), grads


def torch_cell_state_grads(cell: str | os.PathLike | Cell, head: str, params: Mapping[str, np.ndarray],
                           xs: np.ndarray, targets: np.ndarray,
                           initial: Mapping[str, np.ndarray] | None = None, *, loss_at: str = "last"
                           ) -> dict[str, np.ndarray]:
    """∂L/∂s_t for every state s at every step t = 1..T, by autograd with ``retain_grad`` on the states
    (the total gradient: from the head, from later lines of the same step and from step t+1), for the
    loss at the last step unless ``loss_at="every"``. Keys as :meth:`Engine.state_grads
    <bpttlab.numeric.engine.protocol.Engine.state_grads>` gives them: ``"h"`` (T, N, H) for the first state,
    the one the head reads, then each further state by its name before ``_`` (``"c"`` for ``c_t``)."""
    problem = _Problem(cell, head, loss_at, params, xs, targets, initial)
    with torch.enable_grad():
        loss, history = problem.run(retain=True)
        loss.backward()
    grads = {}
    for position, (new, _) in enumerate(problem.states):
        key = "h" if position == 0 else new.split("_")[0]
        key = new if key in grads else key
        grads[key] = np.stack([s.grad.T.numpy().copy() if s.grad is not None else np.zeros(tuple(s.T.shape))
                               for s in history[new]])
    return grads
