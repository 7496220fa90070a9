"""The NumPy engine: forward and BPTT backward over whole sequences and batches.

Every formula comes from :func:`derivations.derive` through :class:`.Compiled` (``sympy.lambdify``);
this module only moves arrays. Inside, a batch is columns: x_t is (D, N), h_t is (H, N), and a
value kept for every step is (rows, T, N), so that all steps side by side are a free view. The time
loop runs the forward step and the *recurrent* part of the backward step (the named deltas and δ of
the previous states). The rest — δx_t and the parameter gradients — is evaluated once on arrays
holding all T·N columns side by side: for an outer product δa_t x_tᵀ that is exactly Σ_t Σ_n, so
the sums over time and batch become a single matrix product.

The loss is the sum over steps (or the last step) and the mean over the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
import sympy as sp

import bpttlab.derivations.symbols as dimensions
from bpttlab.derivations import Cell, Derivation, carry, delta, derive
from bpttlab.numeric.engine.compiled import Compiled
from bpttlab.numeric.engine.validate import (
    as_array,
    as_float_array,
    check_finite_results,
    check_init_options,
    check_params,
    check_size,
    check_targets,
    infer_sizes,
)

__all__ = ["Engine", "ForwardResult", "build_engine"]


@dataclass(frozen=True)
class ForwardResult:
    """States over the sequence, time-major like PyTorch: ``h`` (T, N, H) the first state (the one
    the head reads), ``c`` (T, N, H) the second state if the cell has one (the LSTM's cell state),
    ``states`` every state by name, ``y`` the head's outputs ŷ (T, N, K), or (N, K) for a loss at the
    last step only."""

    h: np.ndarray
    c: np.ndarray | None
    y: np.ndarray | None
    stored: dict[str, np.ndarray]
    states: dict[str, np.ndarray]


def _columns(buffer: np.ndarray) -> np.ndarray:
    """(rows, T, N) → (rows, T·N): all steps side by side, a view."""
    rows, steps, batch = buffer.shape
    return buffer.reshape(rows, steps * batch)


class Engine:
    """Forward and backward for one cell × head × loss placement; see :func:`build_engine`."""

    def __init__(self, derivation: Derivation):
        d = self.derivation = derivation
        self.cell, self.head = d.cell, d.head
        self.loss_at = d.loss_at
        # The input projections W_x· x_t do not depend on the recurrence: they are taken out of the
        # step (each product replaced by a symbol of its own) and computed for every t at once, as
        # one stacked GEMM, before the loop.
        x = d.cell.x
        hoisted = {m: sp.MatrixSymbol(f"{m.args[0].name}·{x.name}", *m.shape)
                   for eq in d.cell.equations for m in eq.rhs.atoms(sp.MatMul)
                   if len(m.args) == 2 and m.args[1] == x and isinstance(m.args[0], sp.MatrixSymbol)}
        self._projections = tuple((m.args[0].name, symbol.name) for m, symbol in hoisted.items())
        self._forward = Compiled([sp.Eq(eq.lhs, eq.rhs.xreplace(hoisted), evaluate=False)
                                  for eq in d.cell.equations])
        # Names the time loop uses, computed once: (new state, previous state, δ of the previous
        # state, the carry into the new state).
        self._links = tuple((new.name, prev.name, delta(prev).name, carry(new).name)
                            for new, prev in d.cell.states)
        self._delta_h = delta(d.cell.h).name
        previous = {delta(prev).name for prev in d.cell.previous_states}
        recurrent = [eq for eq in d.step_backward if eq.lhs.name in previous or
                     eq.lhs in {delta(s) for s in d.cell.named_deltas}]
        self._recurrent = Compiled(recurrent)
        self._leaves = Compiled([eq for eq in d.step_backward if eq not in recurrent])
        if self.head is not None:
            self._head_forward = Compiled(self.head.equations)
            first, *rest = d.head_backward  # δ of the logits first: it is scaled by 1/N
            self._logits_delta, self._head_grads = Compiled([first]), Compiled(rest)
            self._into_h = Compiled([sp.Eq(sp.MatrixSymbol("from head", *d.cell.h.shape), d.from_head,
                                           evaluate=False)])

    # ----------------------------------------------------------------- parameters
    def param_shapes(self, D: int, H: int, K: int | None = None) -> dict[str, tuple[int, ...]]:
        """Parameter name → shape; biases are 1-D."""
        D, H = check_size("D", D), check_size("H", H)  # before the cache: a list is not hashable
        return dict(self._param_shapes(D, H, None if K is None else check_size("K", K)))

    @lru_cache(maxsize=64)  # noqa: B019 - engines are cached themselves and live as long as the process
    def _param_shapes(self, D: int, H: int, K: int | None) -> tuple[tuple[str, tuple[int, ...]], ...]:
        if self.head is not None and K is None:
            raise ValueError(f"the {self.head.name} head needs the number of outputs K")
        sizes = {"D": D, "H": H, "K": K}
        for name, value in sizes.items():
            if value is not None and (not isinstance(value, (int, np.integer)) or value < 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        values = {dimensions.D: D, dimensions.H: H, dimensions.K: K if K is not None else 0}
        shapes = {}
        for name, (rows, cols) in self.derivation.params.items():
            is_bias = cols == 1  # decided on the symbolic shape: W_xh is (H, 1) when D = 1
            rows, cols = (int(sp.sympify(n).xreplace(values)) for n in (rows, cols))
            shapes[name] = (rows,) if is_bias else (rows, cols)
        return tuple(shapes.items())

    def init_params(self, D: int, H: int, K: int | None = None, seed: int = 0,
                    dtype: np.dtype | type = np.float64, forget_bias: float = 0.0) -> dict[str, np.ndarray]:
        """PyTorch's initialisation, uniform in ±1/√H; ``forget_bias`` is added to the bias of the
        cell's forget gate (the LSTM's ``b_f``; see ``Cell.forget_gate_bias``), if it has one."""
        shapes = self.param_shapes(D, H, K)  # checks the sizes first
        dtype = check_init_options(seed, dtype, forget_bias)
        rng = np.random.default_rng(seed)
        bound = 1.0 / np.sqrt(H)
        params = {name: rng.uniform(-bound, bound, size=shape).astype(dtype)
                  for name, shape in shapes.items()}
        bias = self.cell.forget_gate_bias
        if forget_bias and bias is not None:
            params[bias] += np.asarray(forget_bias, dtype=dtype)
        return params

    # ----------------------------------------------------------------- forward
    def _initial_values(self, h0: object, c0: object, initial: object) -> list[tuple[str, object]]:
        """(label, value or None) for every previous state, from ``h0``/``c0`` (the first and second
        state, as the built-in cells spell them) or ``initial`` (label → value, the cell's spelling)."""
        labels = self.cell.initial
        if initial is None:
            initial = {}
        if not isinstance(initial, dict):
            raise ValueError(f"initial must be a dict of initial states by name ({', '.join(labels)}), "
                             f"got {type(initial).__name__}")
        unknown = [k for k in initial if k not in labels]
        if unknown:
            raise ValueError(f"initial: unknown state {unknown[0]!r}; {self.cell.name}'s initial states are "
                             f"{', '.join(labels)}")
        values = dict(initial)
        for position, (name, value) in enumerate((("h0", h0), ("c0", c0))):
            if value is None:
                continue
            if position >= len(labels):
                raise ValueError(f"{name} is for a cell with a second state (the LSTM's cell state); "
                                 f"{self.cell.name} has one state")
            if labels[position] in values and labels[position] != name:
                raise ValueError(f"{name} and initial[{labels[position]!r}] give the same state twice")
            values[labels[position]] = value
        return [(label, values.get(label)) for label in labels]

    def _prepare(self, params: dict, xs: object, h0: object, c0: object, initial: object = None) -> tuple:
        array = as_array("xs", xs)
        if array.ndim != 3:
            raise ValueError(f"xs must have shape (T, N, D) (time-major), got an array of rank {array.ndim}")
        dtype = array.dtype if array.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        T, N, D = array.shape
        if T == 0 or N == 0 or D == 0:
            raise ValueError(f"xs must have T, N, D ≥ 1, got shape {array.shape}")
        # H and K are the row counts most parameters with H (K) rows agree on, so the odd one out is blamed.
        rows = {str(size): [n for n, (r, _) in self.derivation.params.items() if r == size]
                for size in (dimensions.H, dimensions.K)}
        sizes = infer_sizes(params, tuple(self.derivation.params), {k: v for k, v in rows.items() if v})
        H, K = sizes["H"], sizes.get("K")
        params = check_params(params, self.param_shapes(D, H, K), dtype)
        env = {name: (p[:, None] if p.ndim == 1 else p) for name, p in params.items()}
        xs = as_float_array("xs", array, (T, N, D), dtype)
        states = {}
        for (_, prev), (label, value) in zip(self.cell.states, self._initial_values(h0, c0, initial),
                                             strict=True):
            value = np.zeros((N, H), dtype) if value is None else as_float_array(label, value, (N, H), dtype)
            states[prev.name] = np.ascontiguousarray(value.T)
        return env, xs, states, (T, N, D, H, K), dtype

    def _run_forward(self, env: dict, xs: np.ndarray, states: dict, sizes: tuple) -> dict[str, np.ndarray]:
        T, N, D = sizes[:3]
        x_columns = np.ascontiguousarray(xs.transpose(2, 0, 1))  # (D, T, N)
        weights = [env[w] for w, _ in self._projections]
        stacked = np.concatenate(weights) if weights else np.zeros((0, D), x_columns.dtype)
        projected = (stacked @ x_columns.reshape(D, T * N)).reshape(-1, T, N)
        ends = np.cumsum([w.shape[0] for w in weights])
        projections = {name: projected[end - w.shape[0]:end]
                       for (_, name), w, end in zip(self._projections, weights, ends, strict=True)}
        stored: dict[str, np.ndarray] = {}  # name → (rows, T, N)
        for t in range(T):
            env.update(states)
            env[self.cell.x.name] = x_columns[:, t]
            for name, values in projections.items():
                env[name] = values[:, t]
            for name, value in self._forward(env).items():
                if name not in stored:
                    stored[name] = np.empty((value.shape[0], T, value.shape[1]), dtype=value.dtype)
                stored[name][:, t] = value
            states = {prev.name: env[new.name] for new, prev in self.cell.states}
        stored[self.cell.x.name] = x_columns
        return stored

    def forward(self, params: dict, xs: object, h0: object = None, c0: object = None, *,
                initial: dict | None = None) -> ForwardResult:
        """Run the cell over ``xs`` (T, N, D) and the head (if any) on its states. The initial states
        are ``h0`` (and ``c0``) or ``initial`` by the cell's names (``cell.initial``); zero if not given."""
        env, xs, states, sizes, _ = self._prepare(params, xs, h0, c0, initial)
        stored = self._run_forward(env, xs, states, sizes)
        T, N, K = sizes[0], sizes[1], sizes[4]
        y = None
        if self.head is not None:
            h = stored[self.cell.h.name]
            env[self.cell.h.name] = _columns(h) if self.loss_at == "every" else h[:, -1]
            env[self.head.target.name] = np.zeros((K, env[self.cell.h.name].shape[1]), xs.dtype)
            y_columns = self._head_forward(env)[self.head.prediction.name]
            y = y_columns.T.reshape(T, N, K) if self.loss_at == "every" else y_columns.T
        states = {new.name: stored[new.name].transpose(1, 2, 0) for new in self.cell.new_states}
        check_finite_results("the forward pass", {**states, "y": y})
        second = self.cell.new_states[1].name if len(self.cell.states) > 1 else None
        return ForwardResult(h=states[self.cell.h.name], c=states.get(second), y=y, stored=stored,
                             states=states)

    # ----------------------------------------------------------------- loss and gradients
    def _target_columns(self, targets: object, sizes: tuple, dtype: np.dtype) -> np.ndarray:
        T, N, _, _, K = sizes
        shape = (T, N) if self.loss_at == "every" else (N,)
        targets = check_targets(self.head.name, targets, shape, K, dtype)
        if self.head.name == "softmax":
            one_hot = np.zeros((K, targets.size), dtype)
            one_hot[targets.reshape(-1), np.arange(targets.size)] = 1
            return one_hot
        return np.ascontiguousarray(targets.reshape(-1, K).T)

    def _forward_and_loss(self, params: dict, xs: object, targets: object, h0: object, c0: object,
                          initial: object = None) -> tuple[float, dict, dict, dict, tuple, np.dtype]:
        """Cell over the sequence, then the head and its loss on every step at once (or the last)."""
        if self.head is None:
            raise ValueError(f"an engine without a head has no loss; build it with head='softmax', "
                             f"'sigmoid' or 'linear' (cell {self.cell.name})")
        env, xs, states, sizes, dtype = self._prepare(params, xs, h0, c0, initial)
        initial = dict(states)
        stored = self._run_forward(env, xs, states, sizes)
        h = stored[self.cell.h.name]
        env[self.cell.h.name] = _columns(h) if self.loss_at == "every" else h[:, -1]
        env[self.head.target.name] = self._target_columns(targets, sizes, dtype)
        loss = float(self._head_forward(env)[self.head.loss.name].sum()) / sizes[1]
        check_finite_results("the loss", {"loss": loss})
        return loss, env, stored, initial, sizes, dtype

    def loss(self, params: dict, xs: object, targets: object, h0: object = None, c0: object = None, *,
             initial: dict | None = None) -> float:
        """The loss alone (sum over steps or the last one, mean over the batch), without gradients."""
        return self._forward_and_loss(params, xs, targets, h0, c0, initial)[0]

    def loss_and_grads(self, params: dict, xs: object, targets: object, h0: object = None,
                       c0: object = None, *, initial: dict | None = None
                       ) -> tuple[float, dict[str, np.ndarray]]:
        """The loss and its gradient with respect to every parameter, ``xs`` and every initial state,
        the latter under the cell's names for them (``h0``, ``c0`` for the built-in cells)."""
        loss, env, stored, initial, sizes, dtype = self._forward_and_loss(params, xs, targets, h0, c0,
                                                                          initial)
        T, N, D, H, K = sizes
        head_grads, into_h = self._head_backward(env, sizes, dtype)
        deltas, carried = self._through_time(env, stored, initial, into_h, sizes, dtype)

        # Everything else at once, on all T·N columns.
        columns = {name: _columns(buffer) for name, buffer in {**stored, **deltas}.items()}
        for new, prev in self.cell.states:
            shifted = np.concatenate([initial[prev.name][:, None], stored[new.name][:, :-1]], axis=1)
            columns[prev.name] = _columns(shifted)
        leaves = self._leaves({**env, **columns})

        grads: dict[str, np.ndarray] = {}
        for name, shape in self.param_shapes(D, H, K).items():
            gradient = head_grads.get("δ" + name, leaves.get("δ" + name))
            if len(shape) == 1:
                gradient = gradient.sum(axis=1)
            grads[name] = np.asarray(gradient, dtype=dtype)
        dx = leaves[delta(self.cell.x).name].reshape(D, T, N)
        grads["xs"] = np.ascontiguousarray(dx.transpose(1, 2, 0))
        for (*_, carried_name), label in zip(self._links, self.cell.initial, strict=True):
            grads[label] = carried[carried_name].T.copy()  # δs_0: what step 1 sent back
        check_finite_results("the backward pass", grads)
        return loss, grads

    def state_grads(self, params: dict, xs: object, targets: object, h0: object = None,
                    c0: object = None, *, initial: dict | None = None
                    ) -> tuple[float, dict[str, np.ndarray]]:
        """The loss and ∂L/∂s_t for every state s and step t = 1..T, from the same backward loop as
        :meth:`loss_and_grads` (without the parameter gradients): ``"h"`` (T, N, H) holds the total δh_t
        (from the head at step t and from step t+1), and for the LSTM ``"c"`` (T, N, H) holds δc_t.

        >>> import numpy as np
        >>> engine = build_engine("lstm", head="linear", loss_at="last")
        >>> params = engine.init_params(D=2, H=3, K=1, seed=0)
        >>> loss, deltas = engine.state_grads(params, np.ones((4, 1, 2)), np.zeros((1, 1)))
        >>> {label: value.shape for label, value in deltas.items()}
        {'h': (4, 1, 3), 'c': (4, 1, 3)}
        """
        loss, env, stored, initial, sizes, dtype = self._forward_and_loss(params, xs, targets, h0, c0,
                                                                          initial)
        _, into_h = self._head_backward(env, sizes, dtype)
        deltas, _ = self._through_time(env, stored, initial, into_h, sizes, dtype)
        states = {new.name.split("_")[0]: np.ascontiguousarray(deltas[delta(new).name].transpose(1, 2, 0))
                  for new in self.cell.new_states}
        check_finite_results("the backward pass", states)
        return loss, states

    def _head_backward(self, env: dict, sizes: tuple, dtype: np.dtype) -> tuple[dict, np.ndarray]:
        """Head backward, on the same columns: δ of the logits, head gradients, and δh from the head
        for every step, (H, T, N) (zero but at the last step for a loss at the last step)."""
        T, N, _, H, _ = sizes
        for name, value in self._logits_delta(env).items():
            env[name] = value / N  # the mean over the batch
        head_grads = self._head_grads(env)
        from_head = self._into_h(env)["from head"]
        into_h = np.zeros((H, T, N), dtype)
        if self.loss_at == "every":
            into_h[:] = from_head.reshape(H, T, N)
        else:
            into_h[:, -1] = from_head
        return head_grads, into_h

    def _through_time(self, env: dict, stored: dict, initial: dict, into_h: np.ndarray, sizes: tuple,
                      dtype: np.dtype) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Back through time, only what the recurrence needs. Returns the named deltas and δh_t, each
        (rows, T, N), and the carries δs_0 that step 1 sends back."""
        T, N, _, H, _ = sizes
        carried = {carried_name: np.zeros((H, N), dtype) for *_, carried_name in self._links}
        h_carry = self._links[0][3]
        deltas: dict[str, np.ndarray] = {self._delta_h: np.empty((H, T, N), dtype)}
        for t in range(T - 1, -1, -1):
            step = {**env, **{name: buffer[:, t] for name, buffer in stored.items()}, **carried}
            for new, prev, *_ in self._links:
                step[prev] = stored[new][:, t - 1] if t else initial[prev]
            step[self._delta_h] = deltas[self._delta_h][:, t] = into_h[:, t] + carried[h_carry]
            for name, value in self._recurrent(step).items():
                if name not in deltas:
                    deltas[name] = np.empty((value.shape[0], T, value.shape[1]), dtype)
                deltas[name][:, t] = value
            carried = {carried_name: step[prev_delta] for _, _, prev_delta, carried_name in self._links}
        return deltas, carried


def build_engine(cell: str | Cell, head: str | None = None, loss_at: str = "every") -> Engine:
    """The engine for ``cell`` (a name, a ``.cell`` path or a :class:`Cell`) with ``head`` (None,
    "softmax", "sigmoid", "linear"); cached, so a second call with the same arguments is free.

    >>> import numpy as np
    >>> engine = build_engine("rnn", head="softmax")
    >>> params = engine.init_params(D=3, H=4, K=2, seed=0)
    >>> loss, grads = engine.loss_and_grads(params, np.zeros((5, 2, 3)), np.zeros((5, 2), dtype=int))
    >>> sorted(grads)
    ['W_hh', 'W_hy', 'W_xh', 'b_h', 'b_y', 'h0', 'xs']
    """
    d = derive(cell, head, loss_at)  # checks the names (ValueError) before they become a cache key
    return _engine(d.cell, head, loss_at)  # positional, so every spelling of a call shares one entry


@cache
def _engine(cell: Cell, head: str | None, loss_at: str) -> Engine:
    return Engine(derive(cell, head, loss_at))
