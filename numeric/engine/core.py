"""The NumPy engine: forward and BPTT backward over whole sequences and batches.

Every formula comes from :func:`derivations.derive` through :class:`.Compiled` (``sympy.lambdify``);
this module only moves arrays. Inside, a batch is columns: x_t is (D, N), h_t is (H, N), and a
value kept for every step is (T, rows, N), so that each step's block is contiguous. The time loop
runs the forward step and the *recurrent* part of the backward step (the named deltas and δ of the
previous states), with the step's matrix products stacked (:mod:`.stacking`). The rest — δx_t and the
parameter gradients — is evaluated once on arrays holding all T·N columns side by side, (rows, T·N):
for an outer product δa_t x_tᵀ that is exactly Σ_t Σ_n, so the sums over time and batch become a
single matrix product. Those arrays are kept from one call to the next (:mod:`.workspace`).

The loss is the sum over steps (or the last step) and the mean over the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from itertools import pairwise
from operator import itemgetter

import numpy as np
import sympy as sp

import bpttlab.derivations.symbols as dimensions
from bpttlab.derivations import Cell, Derivation, carry, delta, derive
from bpttlab.numeric.engine.compiled import Compiled
from bpttlab.numeric.engine.phases import PhaseClock
from bpttlab.numeric.engine.printer import UFUNCS
from bpttlab.numeric.engine.stacking import delta_owners, stack, stack_leaves
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
from bpttlab.numeric.engine.workspace import Workspace, WorkspacePool

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


def _columns(buffer: np.ndarray, workspace: Workspace, key: str) -> np.ndarray:
    """(T, rows, N) → (rows, T·N): all steps side by side (a copy, kept in ``workspace``)."""
    steps, rows, batch = buffer.shape
    out = workspace.empty(("columns", key), (rows, steps, batch), buffer.dtype)
    np.copyto(out, buffer.transpose(1, 0, 2))
    return out.reshape(rows, steps * batch)


class Engine:
    """Forward and backward for one cell × head × loss placement; see :func:`build_engine`."""

    def __init__(self, derivation: Derivation):
        d = self.derivation = derivation
        self.cell, self.head = d.cell, d.head
        self.loss_at = d.loss_at
        # The step's matrix products stacked (see .stacking): the input projections for every step at
        # once before the loop, one recurrent product per previous state a step, forward and back.
        layout = self._layout = stack(d)
        self._clock: PhaseClock | None = None  # lent by timing_phases
        self._workspaces = WorkspacePool()  # working arrays kept between calls (see .workspace)
        self._rest = Compiled(layout.forward) if layout.forward else None
        self._step_deltas = Compiled(layout.backward_deltas)
        self._step_states = Compiled(layout.backward_states)
        # Names the time loop uses, computed once: (new state, previous state, δ of the previous
        # state, the carry into the new state).
        self._links = tuple((new.name, prev.name, delta(prev).name, carry(new).name)
                            for new, prev in d.cell.states)
        self._delta_h = delta(d.cell.h).name
        self._x, self._h = d.cell.x.name, d.cell.h.name
        # H and K are the row counts most parameters with H (K) rows agree on, so the odd one out is blamed.
        rows = {str(size): [n for n, (r, _) in d.params.items() if r == size]
                for size in (dimensions.H, dimensions.K)}
        self._rows_by_size = {k: v for k, v in rows.items() if v}
        recurrent = {eq.lhs.name for eq in (*layout.backward_deltas, *layout.backward_states)}
        self._leaf_equations, self._outers, self._inners = stack_leaves(
            layout, tuple(eq for eq in d.step_backward if eq.lhs.name not in recurrent), set(d.params))
        self._leaves: dict[tuple[str, ...], Compiled] = {}
        if self.head is not None:
            self._head_forward = Compiled(self.head.equations)
            first, *rest = d.head_backward  # δ of the logits first: it is scaled by 1/N
            self._logits_delta, self._head_grads = Compiled([first]), Compiled(rest)
            self._into_h = Compiled([sp.Eq(sp.MatrixSymbol("from head", *d.cell.h.shape), d.from_head,
                                           evaluate=False)])

    @contextmanager
    def timing_phases(self) -> Iterator[dict[str, float]]:
        """Within the block, the seconds the engine's ``loss_and_grads`` calls spend in each phase
        (:data:`.phases.PHASES`), summed over the calls, by phase; for benchmarks, with one call at a time.

        >>> import numpy as np
        >>> engine = build_engine("rnn", head="linear")
        >>> params = engine.init_params(D=2, H=3, K=1)
        >>> with engine.timing_phases() as seconds:
        ...     _ = engine.loss_and_grads(params, np.ones((4, 1, 2)), np.zeros((4, 1, 1)))
        >>> list(seconds)
        ['set-up', 'forward loop', 'head and loss', 'back through time', 'column products']
        """
        clock = self._clock = PhaseClock()
        try:
            yield clock.seconds
        finally:
            self._clock = None

    def _lap(self, phase: str) -> None:
        if self._clock is not None:
            self._clock.lap(phase)

    def release_memory(self) -> None:
        """Let go of the working arrays kept between calls (see :mod:`.workspace`); the next call
        makes them again. They are reused while the sizes and dtype stay the same; with ``xs`` of D ≤ H
        they hold about 11·T·N·H values for the RNN and 32·T·N·H for the LSTM (26 MB in float32 at
        T = 50, N = 32, H = 128)."""
        self._workspaces.clear()

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
        sizes = infer_sizes(params, tuple(self.derivation.params), self._rows_by_size)
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

    def _run_forward(self, env: dict, xs: np.ndarray, states: dict, sizes: tuple,
                     workspace: Workspace) -> dict[str, np.ndarray]:
        """Every value of the step for every t, by name, each (T, rows, N) (the gates' are row blocks
        of one buffer per group), in ``workspace``."""
        T, N, D = sizes[:3]
        layout, dtype = self._layout, xs.dtype
        # Every input projection for every step, the gates' biases folded in as a last column of
        # the weights against a row of ones under x_t: [W… | b…] [x_t; 1], stacked, step by step.
        weights = [env[p.weight] for p in layout.projections]
        rows: dict[str, tuple[int, int]] = {}
        stacked = np.zeros((sum(w.shape[0] for w in weights), D + 1), dtype)
        start = 0
        for p, w in zip(layout.projections, weights, strict=True):
            rows[p.symbol] = (start, start + w.shape[0])
            stacked[start:start + w.shape[0], :D] = w
            if p.bias is not None:
                stacked[start:start + w.shape[0], D:] = env[p.bias]
            start += w.shape[0]
        with_ones = workspace.empty("x and ones", (T, D + 1, N), dtype)
        np.copyto(with_ones[:, :D], xs.transpose(0, 2, 1))
        with_ones[:, D] = 1
        x_steps = with_ones[:, :D]  # (T, D, N)
        projected = np.matmul(stacked, with_ones,
                              out=workspace.empty("projected", (T, stacked.shape[0], N), dtype))
        stored: dict[str, np.ndarray] = {}  # name → (T, rows, N)
        step = dict(env)  # what the remaining equations read: constants, then this step's values
        loop = []  # per group: weights, state, product, gate rows, projection, pre-activations, outputs, runs
        for number, group in enumerate(layout.groups):
            heights = [env[w].shape[0] for w in group.weights]
            offsets = np.cumsum([0, *heights])
            product = np.empty((int(offsets[-1]), N), dtype)
            gate_rows = int(offsets[len(group.gates)])
            pre = workspace.empty(("pre", number), (T, gate_rows, N), dtype)
            with_function = [g for g in group.gates if g.function is not None]
            out = workspace.empty(("out", number), (T, int(offsets[len(with_function)]), N), dtype)
            runs: list[tuple[str, int, int]] = []
            for i, gate in enumerate(group.gates):
                stored[gate.pre] = pre[:, offsets[i]:offsets[i + 1]]
                if gate.function is not None:
                    stored[gate.output] = out[:, offsets[i]:offsets[i + 1]]
                    if runs and runs[-1][0] == gate.function:
                        runs[-1] = (gate.function, runs[-1][1], int(offsets[i + 1]))
                    else:
                        runs.append((gate.function, int(offsets[i]), int(offsets[i + 1])))
            for i, symbol in enumerate(group.symbols[len(group.gates):], start=len(group.gates)):
                step[symbol] = product[offsets[i]:offsets[i + 1]]  # read in place by the rest
            first = rows[group.gates[0].projection.symbol][0] if group.gates else 0
            loop.append((np.concatenate([env[w] for w in group.weights]), group.state, product, gate_rows,
                         projected[:, first:first + gate_rows], pre, out, tuple(runs)))
        # the projections the rest reads are no gate's, so they have no bias folded in
        unfused = [(symbol, projected[:, a:b]) for symbol, (a, b) in rows.items()
                   if self._rest is not None and symbol in self._rest.inputs]
        rest = self._rest
        reads = [name for name in stored if rest is not None and name in rest.inputs]
        read_rest = _reader(rest.inputs) if rest is not None else None
        new_states = [(new, prev) for new, prev, *_ in self._links]
        x_name = self._x
        for t in range(T):
            step.update(states)
            step[x_name] = x_steps[t]
            for weights_h, state, product, gate_rows, projection, pre, out, runs in loop:
                np.matmul(weights_h, states[state], out=product)
                if gate_rows:
                    np.add(product[:gate_rows], projection[t], out=pre[t])
                for function, a, b in runs:
                    UFUNCS[function](pre[t, a:b], out=out[t, a:b])
            for name, values in unfused:
                step[name] = values[t]
            for name in reads:
                step[name] = stored[name][t]
            if rest is not None:
                results = rest.function(*read_rest(step))
                for name, value in zip(rest.outputs, results, strict=True):
                    if name not in stored:
                        stored[name] = workspace.empty(("stored", name), (T, *value.shape), dtype)
                    stored[name][t] = value
            states = {prev: stored[new][t] for new, prev in new_states}
        stored[x_name] = x_steps
        return stored

    def forward(self, params: dict, xs: object, h0: object = None, c0: object = None, *,
                initial: dict | None = None) -> ForwardResult:
        """Run the cell over ``xs`` (T, N, D) and the head (if any) on its states. The initial states
        are ``h0`` (and ``c0``) or ``initial`` by the cell's names (``cell.initial``); zero if not given."""
        env, xs, states, sizes, _ = self._prepare(params, xs, h0, c0, initial)
        workspace = Workspace()  # not lent from the pool: the result holds its arrays
        stored = self._run_forward(env, xs, states, sizes, workspace)
        T, N, K = sizes[0], sizes[1], sizes[4]
        y = None
        if self.head is not None:
            h = stored[self._h]
            env[self._h] = _columns(h, workspace, self._h) if self.loss_at == "every" else h[-1]
            env[self.head.target.name] = np.zeros((K, env[self.cell.h.name].shape[1]), xs.dtype)
            y_columns = self._head_forward(env)[self.head.prediction.name]
            y = y_columns.T.reshape(T, N, K) if self.loss_at == "every" else y_columns.T
        states = {new.name: stored[new.name].transpose(0, 2, 1) for new in self.cell.new_states}
        check_finite_results("the forward pass", {**states, "y": y})
        second = self.cell.new_states[1].name if len(self.cell.states) > 1 else None
        return ForwardResult(h=states[self.cell.h.name], c=states.get(second), y=y,
                             stored={name: buffer.transpose(1, 0, 2) for name, buffer in stored.items()},
                             states=states)

    # ----------------------------------------------------------------- loss and gradients
    def _target_columns(self, targets: object, sizes: tuple, dtype: np.dtype,
                        workspace: Workspace) -> np.ndarray:
        T, N, _, _, K = sizes
        shape = (T, N) if self.loss_at == "every" else (N,)
        targets = check_targets(self.head.name, targets, shape, K, dtype)
        if self.head.name == "softmax":
            one_hot = workspace.zeros("one-hot targets", (K, targets.size), dtype)
            one_hot[targets.reshape(-1), np.arange(targets.size)] = 1
            return one_hot
        return np.ascontiguousarray(targets.reshape(-1, K).T)

    def _forward_and_loss(self, params: dict, xs: object, targets: object, h0: object, c0: object,
                          initial: object, workspace: Workspace
                          ) -> tuple[float, dict, dict, dict, tuple, np.dtype]:
        """Cell over the sequence, then the head and its loss on every step at once (or the last)."""
        if self.head is None:
            raise ValueError(f"an engine without a head has no loss; build it with head='softmax', "
                             f"'sigmoid' or 'linear' (cell {self.cell.name})")
        if self._clock is not None:
            self._clock.start()
        env, xs, states, sizes, dtype = self._prepare(params, xs, h0, c0, initial)
        initial = dict(states)
        self._lap("set-up")
        stored = self._run_forward(env, xs, states, sizes, workspace)
        self._lap("forward loop")
        h = stored[self._h]
        env[self._h] = _columns(h, workspace, self._h) if self.loss_at == "every" else h[-1]
        env[self.head.target.name] = self._target_columns(targets, sizes, dtype, workspace)
        loss = float(self._head_forward(env)[self.head.loss.name].sum()) / sizes[1]
        check_finite_results("the loss", {"loss": loss})
        self._lap("head and loss")
        return loss, env, stored, initial, sizes, dtype

    def loss(self, params: dict, xs: object, targets: object, h0: object = None, c0: object = None, *,
             initial: dict | None = None) -> float:
        """The loss alone (sum over steps or the last one, mean over the batch), without gradients."""
        with self._workspaces.lend() as workspace:
            return self._forward_and_loss(params, xs, targets, h0, c0, initial, workspace)[0]

    def loss_and_grads(self, params: dict, xs: object, targets: object, h0: object = None,
                       c0: object = None, *, initial: dict | None = None,
                       wrt: Iterable[str] | str | None = None,
                       truncate: int | tuple[int, int] | None = None) -> tuple[float, dict[str, np.ndarray]]:
        """The loss and its gradient with respect to every parameter, ``xs`` and every initial state,
        the latter under the cell's names for them (``h0``, ``c0`` for the built-in cells).

        ``wrt`` names the gradients wanted (parameter names, ``"xs"``, initial states); the others are
        not computed (``xs``'s is a product as large as the input projections). ``truncate`` is
        truncated BPTT: ``(k1, k2)`` sends the losses of every k1 steps back k2 steps (k2 ≥ k1), ``k`` is
        ``(k, k)``; the recurrence is cut, nothing else changes, and k2 ≥ T is full BPTT exactly.

        >>> import numpy as np
        >>> engine = build_engine("rnn", head="linear")
        >>> params = engine.init_params(D=2, H=3, K=1, seed=0)
        >>> xs, ys = np.ones((6, 1, 2)), np.zeros((6, 1, 1))
        >>> full = engine.loss_and_grads(params, xs, ys)[1]["W_hh"]
        >>> cut = engine.loss_and_grads(params, xs, ys, wrt=["W_hh"], truncate=6)[1]
        >>> list(cut), bool(np.array_equal(cut["W_hh"], full))
        (['W_hh'], True)
        """
        wanted = self._wanted(wrt)
        with self._workspaces.lend() as workspace:
            return self._loss_and_grads(params, xs, targets, h0, c0, initial, wanted, truncate, workspace)

    def _loss_and_grads(self, params: dict, xs: object, targets: object, h0: object, c0: object,
                        initial: object, wanted: frozenset[str], truncate: object, workspace: Workspace
                        ) -> tuple[float, dict[str, np.ndarray]]:
        loss, env, stored, initial, sizes, dtype = self._forward_and_loss(params, xs, targets, h0, c0,
                                                                          initial, workspace)
        T, N, D, H, K = sizes
        windows = _windows(truncate, T)
        head_grads, into_h = self._head_backward(env, sizes, dtype, workspace)
        self._lap("head and loss")
        deltas, carried, blocks = self._through_time(env, stored, initial, into_h, sizes, dtype, windows,
                                                     workspace)
        self._lap("back through time")

        # Everything else at once, on all T·N columns: each value the leaves read, as (rows, T·N).
        leaves = self._leaves_for(tuple(name for name in self._leaf_names if name in wanted))
        values = {}
        if leaves is not None:
            columns = _Columns(self, env, stored, deltas, blocks, initial, workspace)
            needed = set(leaves.inputs)
            for outer in self._outers:  # [δu…] vᵀ, split by rows
                if any(symbol in needed for symbol in outer.symbols):
                    block, offsets = columns.group(outer.group)
                    a, b = offsets[outer.first], offsets[outer.stop]
                    product = block[a:b] @ columns[outer.operand].T
                    for symbol, start, stop in zip(outer.symbols, offsets[outer.first:outer.stop],
                                                   offsets[outer.first + 1:outer.stop + 1], strict=True):
                        columns.values[symbol] = product[start - a:stop - a]
            for inner in self._inners:  # [W…]ᵀ [δu…]
                if inner.symbol in needed:
                    block, offsets = columns.group(inner.group)
                    weights = np.concatenate([env[w] for w in inner.weights])
                    columns.values[inner.symbol] = weights.T @ block[offsets[inner.first]:offsets[inner.stop]]
            values = leaves({**env, **{name: columns[name] for name in leaves.inputs
                                       if name not in self.derivation.params}})

        grads: dict[str, np.ndarray] = {}
        for name, shape in self.param_shapes(D, H, K).items():
            if name not in wanted:
                continue
            gradient = head_grads.get("δ" + name, values.get("δ" + name))
            if len(shape) == 1:
                gradient = gradient.sum(axis=1)
            grads[name] = np.asarray(gradient, dtype=dtype)
        if "xs" in wanted:
            dx = values[delta(self.cell.x).name].reshape(D, T, N)
            grads["xs"] = np.ascontiguousarray(dx.transpose(1, 2, 0))
        for (*_, carried_name), label in zip(self._links, self.cell.initial, strict=True):
            if label in wanted:
                grads[label] = carried[carried_name].T.copy()  # δs_0: what step 1 sent back
        check_finite_results("the backward pass", grads)
        self._lap("column products")
        return loss, grads

    def _wanted(self, wrt: object) -> frozenset[str]:
        """The gradient names ``wrt`` asks for (all when None), checked against what there is."""
        valid = (*self.derivation.params, "xs", *self.cell.initial)
        if wrt is None:
            return frozenset(valid)
        names = [wrt] if isinstance(wrt, str) else wrt
        try:
            names = list(names)
        except TypeError:
            raise ValueError(f"wrt must be gradient names ({', '.join(valid)}), got {wrt!r}") from None
        unknown = [n for n in names if not isinstance(n, str) or n not in valid]
        if unknown or not names:
            raise ValueError(f"wrt: {'no names given' if not names else f'unknown name {unknown[0]!r}'}; "
                             f"{self.cell.name}'s gradients are {', '.join(valid)}")
        return frozenset(names)

    @cached_property
    def _leaf_names(self) -> tuple[str, ...]:
        """Each leaf equation's gradient name: a parameter, or ``xs`` for δx_t."""
        x = delta(self.cell.x).name
        return tuple("xs" if eq.lhs.name == x else eq.lhs.name[1:] for eq in self._leaf_equations)

    def _leaves_for(self, names: tuple[str, ...]) -> Compiled | None:
        """The leaf equations of ``names`` as one lambdified function (cached per set of names)."""
        if not names:
            return None
        if names not in self._leaves:
            chosen = set(names)
            self._leaves[names] = Compiled([eq for eq, name in zip(self._leaf_equations, self._leaf_names,
                                                                   strict=True) if name in chosen])
        return self._leaves[names]

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
        with self._workspaces.lend() as workspace:
            loss, env, stored, initial, sizes, dtype = self._forward_and_loss(params, xs, targets, h0, c0,
                                                                              initial, workspace)
            _, into_h = self._head_backward(env, sizes, dtype, workspace)
            deltas, *_ = self._through_time(env, stored, initial, into_h, sizes, dtype,
                                           _windows(None, sizes[0]), workspace)
            # copies: the deltas live in the workspace, which the next call overwrites
            states = {new.name.split("_")[0]: deltas[delta(new).name].transpose(0, 2, 1).copy()
                      for new in self.cell.new_states}
        check_finite_results("the backward pass", states)
        return loss, states

    def _head_backward(self, env: dict, sizes: tuple, dtype: np.dtype,
                       workspace: Workspace) -> tuple[dict, np.ndarray]:
        """Head backward, on the same columns: δ of the logits, head gradients, and δh from the head
        for every step, (H, T, N) (zero but at the last step for a loss at the last step)."""
        T, N, _, H, _ = sizes
        for name, value in self._logits_delta(env).items():
            env[name] = value / N  # the mean over the batch
        head_grads = self._head_grads(env)
        from_head = self._into_h(env)["from head"]
        if self.loss_at == "every":
            return head_grads, from_head.reshape(H, T, N)  # the columns are step by step already
        into_h = workspace.zeros("into h", (H, T, N), dtype)
        into_h[:, -1] = from_head
        return head_grads, into_h

    def _through_time(self, env: dict, stored: dict, initial: dict, into_h: np.ndarray, sizes: tuple,
                      dtype: np.dtype, windows: list[tuple[int, int, int]], workspace: Workspace
                      ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[int, np.ndarray]]:
        """Back through time, only what the recurrence needs, over each window (end, start, first):
        from step end−1 back to step start, with the head's δh from step first on (one window over
        everything is full BPTT). Returns the named deltas and δh_t, each (T, rows, N), summed over the
        windows; the carries δs_0 that step 1 sends back (from the windows that reach it); and the
        buffers (rows, T, N) holding a group's deltas side by side, by group."""
        T, N, _, H, _ = sizes
        overlap = any(later[1] < earlier[0] for earlier, later in pairwise(windows))
        make = workspace.zeros if overlap else workspace.empty
        deltas: dict[str, np.ndarray] = {self._delta_h: make(self._delta_h, (T, H, N), dtype)}
        stacks = []  # per group: (weightsᵀ, symbol, its δu, their buffer, a step's δu side by side, outs)
        blocks: dict[int, np.ndarray] = {}
        for number, group in enumerate(self._layout.groups):
            if group.deltas is None:
                continue
            heights = np.cumsum([0, *(env[w].shape[0] for w in group.weights)])
            # The δu sit side by side in the named deltas' buffer, unless another group has them already
            # (or windows overlap): then a step's δu are put side by side for the product.
            owned = not overlap and not any(name in deltas for name in group.deltas)
            # (rows, T, N): the step's δu are read in place by the product, and all T·N columns by
            # the leaves' products without a copy
            block = make(("deltas", number), (int(heights[-1]), T, N), dtype) if owned else None
            if owned:
                blocks[number] = block
                for name, a, b in zip(group.deltas, heights[:-1], heights[1:], strict=True):
                    deltas[name] = block[a:b].transpose(1, 0, 2)
            rows = initial[group.state].shape[0]
            stacks.append((np.ascontiguousarray(np.concatenate([env[w] for w in group.weights]).T),
                           group.back_symbol, group.deltas,
                           block, None if owned else np.empty((int(heights[-1]), N), dtype),
                           (np.empty((rows, N), dtype), np.empty((rows, N), dtype))))
        first_step, states_step = self._step_deltas, self._step_states
        reads = sorted({name for name in (*first_step.inputs, *states_step.inputs) if name in stored})
        read_first, read_states = _reader(first_step.inputs), _reader(states_step.inputs)
        links = [(new, prev, carried_name) for new, prev, _, carried_name in self._links]
        h_carry = self._links[0][3]
        back = [(prev_delta, carried_name) for _, _, prev_delta, carried_name in self._links]
        step = dict(env)
        reached: dict[str, np.ndarray] = {name: np.zeros(initial[prev].shape, dtype)
                                          for _, prev, _, name in self._links}
        for end, start, first in windows:
            carried = {name: np.zeros(initial[prev].shape, dtype) for _, prev, name in links}
            for t in range(end - 1, start - 1, -1):
                for name in reads:
                    step[name] = stored[name][t]
                for new, prev, _ in links:
                    step[prev] = stored[new][t - 1] if t else initial[prev]
                step.update(carried)
                if overlap:
                    total = into_h[:, t] + carried[h_carry] if t >= first else carried[h_carry]
                    deltas[self._delta_h][t] += total
                else:  # δh_t made in its place
                    total = deltas[self._delta_h][t]
                    if t >= first:
                        np.add(into_h[:, t], carried[h_carry], out=total)
                    else:
                        total[...] = carried[h_carry]
                step[self._delta_h] = total
                results = first_step.function(*read_first(step))
                for name, value in zip(first_step.outputs, results, strict=True):
                    step[name] = value
                    if name not in deltas:
                        deltas[name] = make(name, (T, *value.shape), dtype)
                    if overlap:
                        deltas[name][t] += value
                    else:
                        deltas[name][t] = value
                for weights_t, symbol, names, block, window_block, outs in stacks:
                    if window_block is None:
                        source = block[:, t]
                    else:
                        source = np.concatenate([step[name] for name in names], out=window_block)
                    step[symbol] = np.matmul(weights_t, source, out=outs[t % 2])
                results = states_step.function(*read_states(step))
                by_name = dict(zip(states_step.outputs, results, strict=True))
                carried = {carried_name: by_name[prev_delta] for prev_delta, carried_name in back}
            if start == 0:
                for name, value in carried.items():
                    reached[name] = reached[name] + value
        return deltas, reached, blocks


class _Columns:
    """Values laid out as (rows, T·N), all steps side by side, made when first asked for (in the
    workspace); a group's deltas as the rows of one array."""

    def __init__(self, engine: Engine, env: dict, stored: dict, deltas: dict, blocks: dict,
                 initial: dict, workspace: Workspace):
        self.engine, self.env, self.stored, self.deltas = engine, env, stored, deltas
        self.blocks, self.initial, self.workspace = blocks, initial, workspace
        self.values: dict[str, np.ndarray] = {}
        self._groups: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._in_group = delta_owners(engine._layout)
        self._previous = {prev: new for new, prev, *_ in engine._links}

    def group(self, number: int) -> tuple[np.ndarray, np.ndarray]:
        """The group's deltas as one (rows, T·N) array, and each delta's first row (and the end)."""
        if number not in self._groups:
            group = self.engine._layout.groups[number]
            offsets = np.cumsum([0, *(self.env[w].shape[0] for w in group.weights)])
            if number in self.blocks:  # (rows, T, N)
                block = self.blocks[number].reshape(int(offsets[-1]), -1)
            else:
                block = np.concatenate([_columns(self.deltas[n], self.workspace, n) for n in group.deltas])
            self._groups[number] = block, offsets
        return self._groups[number]

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.values:
            if name in self._in_group:
                number, k = self._in_group[name]
                block, offsets = self.group(number)
                self.values[name] = block[offsets[k]:offsets[k + 1]]
            elif name in self._previous:  # the state before each step: initial, then steps 1..T−1
                start = self.initial[name]
                T, _, N = self.stored[self._previous[name]].shape
                shifted = self.workspace.empty(("previous", name), (start.shape[0], T, N), start.dtype)
                shifted[:, 0] = start
                shifted[:, 1:] = self.stored[self._previous[name]][:-1].transpose(1, 0, 2)
                self.values[name] = shifted.reshape(-1, T * N)
            else:
                self.values[name] = _columns((self.deltas if name in self.deltas else self.stored)[name],
                                             self.workspace, name)
        return self.values[name]


def _reader(names: tuple[str, ...]) -> Callable[[dict], tuple]:
    """A function giving ``names``' values from a dict, as a tuple (operator.itemgetter, in C)."""
    if len(names) == 1:
        return lambda values: (values[names[0]],)
    return itemgetter(*names) if names else (lambda values: ())


def _windows(truncate: object, T: int) -> list[tuple[int, int, int]]:
    """The backward windows (end, start, first loss step) of truncated BPTT(k1, k2) over T steps:
    every k1 steps the losses of those k1 steps go back k2 steps. Windows with the same start are
    one (so k2 ≥ T is the single window of full BPTT).

    >>> _windows(None, 6), _windows(2, 6), _windows((2, 4), 6), _windows((2, 9), 6)
    ([(6, 0, 0)], [(2, 0, 0), (4, 2, 2), (6, 4, 4)], [(4, 0, 0), (6, 2, 4)], [(6, 0, 0)])
    """
    if truncate is None:
        return [(T, 0, 0)]
    pair = (truncate, truncate) if isinstance(truncate, (int, np.integer)) else truncate
    if (not isinstance(pair, tuple) or len(pair) != 2
            or not all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1 for k in pair)
            or pair[1] < pair[0]):
        raise ValueError(f"truncate must be a positive integer k or a pair (k1, k2) of positive integers "
                         f"with k2 ≥ k1, got {truncate!r}")
    k1, k2 = (int(k) for k in pair)
    windows: list[tuple[int, int, int]] = []
    for end in [*range(k1, T, k1), T]:
        start = max(end - k2, 0)
        if windows and windows[-1][1] == start:
            windows[-1] = (end, start, windows[-1][2])
        else:
            windows.append((end, start, windows[-1][0] if windows else 0))
    return windows


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
