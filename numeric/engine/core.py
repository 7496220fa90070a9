"""The NumPy engine, the reference backend: forward and BPTT backward over whole sequences and batches.

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
from itertools import accumulate, pairwise
from operator import itemgetter
from typing import NamedTuple

import numpy as np

from bpttlab.derivations import Derivation, delta
from bpttlab.derivations.heads import TargetKind
from bpttlab.numeric.engine.base import EngineBase, backward_windows
from bpttlab.numeric.engine.compiled import Compiled
from bpttlab.numeric.engine.numpy_functions import NUMPY_ACTIVATIONS
from bpttlab.numeric.engine.phases import PhaseClock
from bpttlab.numeric.engine.protocol import ForwardResult
from bpttlab.numeric.engine.stacking import Layout, delta_owners
from bpttlab.numeric.engine.validate import Inputs, Sizes, check_finite_results, check_targets
from bpttlab.numeric.engine.workspace import Workspace, WorkspacePool

__all__ = ["NumpyEngine"]



def _offsets(heights: Iterable[int]) -> tuple[int, ...]:
    """Where each block of stacked rows starts, and the end: (0, h₁, h₁ + h₂, …) as Python ints (a
    tuple indexes and slices faster than NumPy's cumsum builds an array, at every call)."""
    return tuple(accumulate(heights, initial=0))

class _ForwardGroup(NamedTuple):
    """One stacked group in the forward loop (see :class:`.stacking.Group`): ``weights`` the stacked
    recurrent weights, multiplied by the previous state ``state`` into ``product`` each step; its first
    ``gate_rows`` rows plus the step's input ``projection`` are the gates' pre-activations ``pre``;
    each run (function, first row, stop) applies one function to consecutive gates into ``out``."""

    weights: np.ndarray
    state: str
    product: np.ndarray
    gate_rows: int
    projection: np.ndarray
    pre: np.ndarray
    out: np.ndarray
    runs: tuple[tuple[Callable, int, int], ...]


class _BackwardGroup(NamedTuple):
    """One stacked group in the backward loop: ``symbol`` = ``weights_t`` [δu…], the δu named
    ``deltas``, read in place from ``block`` (rows, T, N) when they live there, else put side by side
    in ``window_block`` each step; the product is written into one of the two ``outs`` in turn."""

    weights_t: np.ndarray
    symbol: str
    deltas: tuple[str, ...]
    block: np.ndarray | None
    window_block: np.ndarray | None
    outs: tuple[np.ndarray, np.ndarray]


class _LossPass(NamedTuple):
    """The forward pass and the loss of one call: the ``loss``; ``values`` the parameters, the head's
    inputs and results, by name; ``stored`` every value of the step for every t, (T, rows, N);
    ``initial`` the initial states (H, N) by previous-state name; the call's ``sizes`` and ``dtype``."""

    loss: float
    values: dict[str, np.ndarray]
    stored: dict[str, np.ndarray]
    initial: dict[str, np.ndarray]
    sizes: Sizes
    dtype: np.dtype


class _Backward(NamedTuple):
    """The backward loop's results: the named deltas and δh_t, each (T, rows, N), summed over the
    windows; ``reached`` the carries δs_0 that step 1 sends back; ``blocks`` the buffers (rows, T, N)
    holding a group's deltas side by side, by group number."""

    deltas: dict[str, np.ndarray]
    reached: dict[str, np.ndarray]
    blocks: dict[int, np.ndarray]


def _columns(buffer: np.ndarray, workspace: Workspace, key: str) -> np.ndarray:
    """(T, rows, N) → (rows, T·N): all steps side by side (a copy, kept in ``workspace``)."""
    steps, rows, batch = buffer.shape
    out = workspace.empty(("columns", key), (rows, steps, batch), buffer.dtype)
    np.copyto(out, buffer.transpose(1, 0, 2))
    return out.reshape(rows, steps * batch)


class NumpyEngine(EngineBase):
    """Forward and backward for one cell × head × loss placement in NumPy; see :func:`build_engine`."""

    backend = "numpy"

    def __init__(self, derivation: Derivation):
        super().__init__(derivation)
        self._clock: PhaseClock | None = None  # lent by timing_phases
        self._workspaces = WorkspacePool()  # working arrays kept between calls (see .workspace)
        self._leaves: dict[tuple[str, ...], Compiled] = {}

    @contextmanager
    def timing_phases(self) -> Iterator[dict[str, float]]:
        """Within the block, the seconds the engine's ``loss_and_grads`` calls spend in each phase
        (:data:`.phases.PHASES`), summed over the calls, by phase; for benchmarks, with one call at a time.

        >>> import numpy as np
        >>> from bpttlab.numeric.engine import build_engine
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

    # ----------------------------------------------------------------- forward
    def _run_forward(self, inputs: Inputs, workspace: Workspace) -> dict[str, np.ndarray]:
        """Every value of the step for every t, by name, each (T, rows, N) (the gates' are row blocks
        of one buffer per group), in ``workspace``."""
        T, N = inputs.sizes.T, inputs.sizes.N
        env, dtype, layout = inputs.params, inputs.dtype, self._layout
        rows, x_steps, projected = _project_inputs(inputs, layout, workspace)
        stored: dict[str, np.ndarray] = {}  # name → (T, rows, N)
        step = dict(env)  # what the remaining equations read: constants, then this step's values
        groups: list[_ForwardGroup] = []
        for number, group in enumerate(layout.groups):
            heights = [env[w].shape[0] for w in group.weights]
            offsets = _offsets(heights)
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
            groups.append(_ForwardGroup(
                weights=np.concatenate([env[w] for w in group.weights]), state=group.state, product=product,
                gate_rows=gate_rows, projection=projected[:, first:first + gate_rows], pre=pre, out=out,
                runs=tuple((NUMPY_ACTIVATIONS[function], a, b) for function, a, b in runs)))
        # the projections the rest reads are no gate's, so they have no bias folded in
        unfused = [(symbol, projected[:, a:b]) for symbol, (a, b) in rows.items()
                   if symbol in self._rest.inputs]
        rest = self._rest if self._rest.equations else None
        reads = [name for name in stored if rest is not None and name in rest.inputs]
        read_rest = _reader(rest.inputs) if rest is not None else None
        states = dict(inputs.initial)
        x_name = self._x
        for t in range(T):
            step.update(states)
            step[x_name] = x_steps[t]
            for g in groups:
                np.matmul(g.weights, states[g.state], out=g.product)
                if g.gate_rows:
                    np.add(g.product[:g.gate_rows], g.projection[t], out=g.pre[t])
                for function, a, b in g.runs:
                    function(g.pre[t, a:b], out=g.out[t, a:b])
            for name, values in unfused:
                step[name] = values[t]
            for name in reads:
                step[name] = stored[name][t]
            if rest is not None:
                results = rest.function(*read_rest(step))
                for name, value in zip(rest.outputs, results, strict=True):
                    if name not in stored:
                        shape = (T, self._height(name, inputs.sizes), N)  # maybe one column or a number
                        stored[name] = workspace.empty(("stored", name), shape, dtype)
                    stored[name][t] = value
            states = {link.previous: stored[link.new][t] for link in self._links}
        stored[x_name] = x_steps
        return stored

    def forward(self, params: dict, xs: object, h0: object = None, c0: object = None, *,
                initial: dict | None = None) -> ForwardResult:
        """Run the cell over ``xs`` (T, N, D) and the head (if any) on its states. The initial states
        are ``h0`` (and ``c0``) or ``initial`` by the cell's names (``cell.initial``); zero if not given."""
        inputs = self._inputs(params, xs, h0, c0, initial)
        workspace = Workspace()  # not lent from the pool: the result holds its arrays
        stored = self._run_forward(inputs, workspace)
        T, N, K = inputs.sizes.T, inputs.sizes.N, inputs.sizes.K
        y = None
        if self.head is not None:
            env = dict(inputs.params)
            h = stored[self._h]
            env[self._h] = _columns(h, workspace, self._h) if self.loss_at == "every" else h[-1]
            env[self.head.target.name] = np.zeros((K, env[self._h].shape[1]), inputs.dtype)
            y_columns = self._head_forward(env)[self.head.prediction.name]
            y = y_columns.T.reshape(T, N, K) if self.loss_at == "every" else y_columns.T
        states = {new.name: stored[new.name].transpose(0, 2, 1) for new in self.cell.new_states}
        check_finite_results("the forward pass", {**states, "y": y})
        second = self.cell.new_states[1].name if len(self.cell.states) > 1 else None
        return ForwardResult(h=states[self.cell.h.name], c=states.get(second), y=y,
                             stored={name: buffer.transpose(1, 0, 2) for name, buffer in stored.items()},
                             states=states)

    # ----------------------------------------------------------------- loss and gradients
    def _target_columns(self, targets: object, sizes: Sizes, dtype: np.dtype,
                        workspace: Workspace) -> np.ndarray:
        shape = (sizes.T, sizes.N) if self.loss_at == "every" else (sizes.N,)
        targets = check_targets(self.head, targets, shape, sizes.K, dtype)
        if self.head.target_kind is TargetKind.CLASS:  # one-hot in the maths
            one_hot = workspace.zeros("one-hot targets", (sizes.K, targets.size), dtype)
            one_hot[targets.reshape(-1), np.arange(targets.size)] = 1
            return one_hot
        return np.ascontiguousarray(targets.reshape(-1, sizes.K).T)

    def _forward_and_loss(self, params: dict, xs: object, targets: object, h0: object, c0: object,
                          initial: object, workspace: Workspace) -> _LossPass:
        """Cell over the sequence, then the head and its loss on every step at once (or the last)."""
        if self.head is None:
            raise self._no_head()
        if self._clock is not None:
            self._clock.start()
        inputs = self._inputs(params, xs, h0, c0, initial)
        self._lap("set-up")
        stored = self._run_forward(inputs, workspace)
        self._lap("forward loop")
        env = dict(inputs.params)
        h = stored[self._h]
        env[self._h] = _columns(h, workspace, self._h) if self.loss_at == "every" else h[-1]
        env[self.head.target.name] = self._target_columns(targets, inputs.sizes, inputs.dtype, workspace)
        loss = float(self._head_forward(env)[self.head.loss.name].sum()) / inputs.sizes.N
        check_finite_results("the loss", {"loss": loss})
        self._lap("head and loss")
        return _LossPass(loss, env, stored, inputs.initial, inputs.sizes, inputs.dtype)

    def loss(self, params: dict, xs: object, targets: object, h0: object = None, c0: object = None, *,
             initial: dict | None = None) -> float:
        """The loss alone (sum over steps or the last one, mean over the batch), without gradients."""
        with self._workspaces.lend() as workspace:
            return self._forward_and_loss(params, xs, targets, h0, c0, initial, workspace).loss

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
        >>> from bpttlab.numeric.engine import build_engine
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
        forward = self._forward_and_loss(params, xs, targets, h0, c0, initial, workspace)
        sizes, dtype = forward.sizes, forward.dtype
        windows = backward_windows(truncate, sizes.T)
        head_grads, into_h = self._head_backward(forward, workspace)
        self._lap("head and loss")
        backward = self._through_time(forward, into_h, windows, workspace)
        self._lap("back through time")

        # Everything else at once, on all T·N columns: each value the leaves read, as (rows, T·N).
        leaves = self._leaves_for(tuple(name for name in self._leaf_names if name in wanted))
        env = forward.values
        values = {}
        if leaves is not None:
            columns = _Columns(self, forward, backward, workspace)
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
            width = sizes.T * sizes.N
            values = leaves({**env, **{name: columns[name] for name in leaves.inputs
                                       if name not in self.derivation.params},
                             **{name: np.broadcast_to(env[name], (env[name].shape[0], width))
                                for name in leaves.inputs if name in self._vectors}})

        grads = self._parameter_grads(head_grads, values, wanted, sizes, dtype)
        if "xs" in wanted:
            if self._delta_x in self._zero:  # an input the cell never reads
                grads["xs"] = np.zeros((sizes.T, sizes.N, sizes.D), dtype)
            else:
                dx = values[self._delta_x].reshape(sizes.D, sizes.T, sizes.N)
                grads["xs"] = np.ascontiguousarray(dx.transpose(1, 2, 0))
        for link, label in zip(self._links, self.cell.initial, strict=True):
            if label in wanted:  # δs_0: what step 1 sent back (zeros of its shape if it sends nothing)
                grads[label] = np.array(np.broadcast_to(backward.reached[link.carried], (sizes.H, sizes.N)).T)
        check_finite_results("the backward pass", grads)
        self._lap("column products")
        return forward.loss, grads

    def _parameter_grads(self, head_grads: dict, values: dict, wanted: frozenset[str], sizes: Sizes,
                         dtype: np.dtype) -> dict[str, np.ndarray]:
        """Each wanted parameter's gradient in its shape: a bias's summed over the columns, one that
        cancels as zeros."""
        grads: dict[str, np.ndarray] = {}
        for name, shape in self.param_shapes(sizes.D, sizes.H, sizes.K).items():
            if name not in wanted:
                continue
            if "δ" + name in self._zero:
                grads[name] = np.zeros(shape, dtype)
                continue
            gradient = head_grads.get("δ" + name, values.get("δ" + name))
            if len(shape) == 1:
                gradient = gradient.sum(axis=1)
            if gradient.shape != shape:  # W times a constant (W (c 1)): equal columns, printed as one
                gradient = np.array(np.broadcast_to(gradient, shape))
            grads[name] = np.asarray(gradient, dtype=dtype)
        return grads

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
        >>> from bpttlab.numeric.engine import build_engine
        >>> engine = build_engine("lstm", head="linear", loss_at="last")
        >>> params = engine.init_params(D=2, H=3, K=1, seed=0)
        >>> loss, deltas = engine.state_grads(params, np.ones((4, 1, 2)), np.zeros((1, 1)))
        >>> {label: value.shape for label, value in deltas.items()}
        {'h': (4, 1, 3), 'c': (4, 1, 3)}
        """
        with self._workspaces.lend() as workspace:
            forward = self._forward_and_loss(params, xs, targets, h0, c0, initial, workspace)
            _, into_h = self._head_backward(forward, workspace)
            deltas = self._through_time(forward, into_h, backward_windows(None, forward.sizes.T),
                                        workspace).deltas
            # copies: the deltas live in the workspace, which the next call overwrites
            states = {new.name.split("_")[0]: deltas[delta(new).name].transpose(0, 2, 1).copy()
                      for new in self.cell.new_states}
        check_finite_results("the backward pass", states)
        return forward.loss, states

    def _head_backward(self, forward: _LossPass, workspace: Workspace) -> tuple[dict, np.ndarray]:
        """Head backward, on the same columns: δ of the logits, head gradients, and δh from the head
        for every step, (H, T, N) (zero but at the last step for a loss at the last step)."""
        env, (T, N, H) = forward.values, (forward.sizes.T, forward.sizes.N, forward.sizes.H)
        for name, value in self._logits_delta(env).items():
            env[name] = value / N  # the mean over the batch
        head_grads = self._head_grads(env)
        from_head = self._into_h(env)["from head"]
        if self.loss_at == "every":
            return head_grads, from_head.reshape(H, T, N)  # the columns are step by step already
        into_h = workspace.zeros("into h", (H, T, N), forward.dtype)
        into_h[:, -1] = from_head
        return head_grads, into_h

    def _backward_groups(self, forward: _LossPass, deltas: dict[str, np.ndarray], overlap: bool,
                         workspace: Workspace) -> tuple[list[_BackwardGroup], dict[int, np.ndarray]]:
        """The stacked groups of the backward loop, and the buffers (rows, T, N) of those whose δu sit
        side by side in one (unless another group has them already, or windows overlap). Makes those
        deltas' entries in ``deltas``."""
        env, (T, N), dtype = forward.values, (forward.sizes.T, forward.sizes.N), forward.dtype
        make = workspace.zeros if overlap else workspace.empty
        groups, blocks = [], {}
        for number, group in enumerate(self._layout.groups):
            if group.deltas is None:
                continue
            heights = _offsets(env[w].shape[0] for w in group.weights)
            owned = not overlap and not any(name in deltas for name in group.deltas)
            # (rows, T, N): the step's δu are read in place by the product, and all T·N columns by
            # the leaves' products without a copy
            block = make(("deltas", number), (int(heights[-1]), T, N), dtype) if owned else None
            if owned:
                blocks[number] = block
                for name, a, b in zip(group.deltas, heights[:-1], heights[1:], strict=True):
                    deltas[name] = block[a:b].transpose(1, 0, 2)
            rows = forward.initial[group.state].shape[0]
            groups.append(_BackwardGroup(
                weights_t=np.ascontiguousarray(np.concatenate([env[w] for w in group.weights]).T),
                symbol=group.back_symbol, deltas=group.deltas, block=block,
                window_block=None if owned else np.empty((int(heights[-1]), N), dtype),
                outs=(np.empty((rows, N), dtype), np.empty((rows, N), dtype))))
        return groups, blocks

    def _through_time(self, forward: _LossPass, into_h: np.ndarray, windows: tuple[tuple[int, int, int], ...],
                      workspace: Workspace) -> _Backward:
        """Back through time, only what the recurrence needs, over each window (end, start, first):
        from step end−1 back to step start, with the head's δh from step first on (one window over
        everything is full BPTT)."""
        (T, H, N), dtype = (forward.sizes.T, forward.sizes.H, forward.sizes.N), forward.dtype
        stored, initial = forward.stored, forward.initial
        overlap = any(later[1] < earlier[0] for earlier, later in pairwise(windows))
        make = workspace.zeros if overlap else workspace.empty
        deltas: dict[str, np.ndarray] = {self._delta_h: make(self._delta_h, (T, H, forward.sizes.N), dtype)}
        groups, blocks = self._backward_groups(forward, deltas, overlap, workspace)
        first_step, states_step = self._step_deltas, self._step_states
        reads = sorted({name for name in (*first_step.inputs, *states_step.inputs) if name in stored})
        read_first, read_states = _reader(first_step.inputs), _reader(states_step.inputs)
        links, h_carry = self._links, self._links[0].carried
        step = dict(forward.values)
        reached = {link.carried: np.zeros(initial[link.previous].shape, dtype) for link in links}
        narrow: dict[str, int] | None = None  # the deltas lambdified narrower than (rows, N), by rows
        narrow_carries: list[str] | None = None
        for end, start, first in windows:
            carried = {link.carried: np.zeros(initial[link.previous].shape, dtype) for link in links}
            for t in range(end - 1, start - 1, -1):
                for name in reads:
                    step[name] = stored[name][t]
                for link in links:
                    step[link.previous] = stored[link.new][t - 1] if t else initial[link.previous]
                step.update(carried)
                step[self._delta_h] = _delta_h_at(deltas[self._delta_h], into_h, carried[h_carry], t, first,
                                                  overlap)
                results = first_step.function(*read_first(step))
                if narrow is None:  # the first step: make the deltas' buffers, see which come out narrow
                    narrow = self._narrow_deltas(results, deltas, make, forward.sizes)
                for name, value in zip(first_step.outputs, results, strict=True):
                    if name in narrow:  # a δ that depends on no sequence: one column or a number
                        value = np.broadcast_to(value, (narrow[name], N))
                    step[name] = value
                    if overlap:
                        deltas[name][t] += value
                    else:
                        deltas[name][t] = value
                for g in groups:
                    if g.window_block is None:
                        source = g.block[:, t]
                    else:
                        source = np.concatenate([step[name] for name in g.deltas], out=g.window_block)
                    step[g.symbol] = np.matmul(g.weights_t, source, out=g.outs[t % 2])
                results = states_step.function(*read_states(step))
                by_name = dict(zip(states_step.outputs, results, strict=True))
                carried = {link.carried: by_name[link.previous_delta] for link in links}
                if narrow_carries is None:  # δ of a previous state the step never reads: the number 0
                    narrow_carries = [name for name, value in carried.items() if np.shape(value) != (H, N)]
                for name in narrow_carries:
                    carried[name] = np.broadcast_to(carried[name], (H, N))
            if start == 0:
                for name, value in carried.items():
                    reached[name] = reached[name] + value
        return _Backward(deltas, reached, blocks)


    def _narrow_deltas(self, results: tuple, deltas: dict[str, np.ndarray], make: Callable,
                       sizes: Sizes) -> dict[str, int]:
        """At the first step back: each named delta's buffer (T, rows, N), made where it is missing, and
        the deltas whose value is narrower than (rows, N) (one that depends on no sequence), by rows."""
        narrow = {}
        for name, value in zip(self._step_deltas.outputs, results, strict=True):
            rows = self._height(name, sizes)
            if name not in deltas:
                deltas[name] = make(name, (sizes.T, rows, sizes.N), deltas[self._delta_h].dtype)
            if np.shape(value) != (rows, sizes.N):
                narrow[name] = rows
        return narrow

class _Columns:
    """Values laid out as (rows, T·N), all steps side by side, made when first asked for (in the
    workspace); a group's deltas as the rows of one array."""

    def __init__(self, engine: NumpyEngine, forward: _LossPass, backward: _Backward, workspace: Workspace):
        self.engine, self.forward, self.backward, self.workspace = engine, forward, backward, workspace
        self.values: dict[str, np.ndarray] = {}
        self._groups: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._in_group = delta_owners(engine._layout)
        self._previous = {link.previous: link.new for link in engine._links}

    def group(self, number: int) -> tuple[np.ndarray, tuple[int, ...]]:
        """The group's deltas as one (rows, T·N) array, and each delta's first row (and the end)."""
        if number not in self._groups:
            group = self.engine._layout.groups[number]
            offsets = _offsets(self.forward.values[w].shape[0] for w in group.weights)
            if number in self.backward.blocks:  # (rows, T, N)
                block = self.backward.blocks[number].reshape(int(offsets[-1]), -1)
            else:
                block = np.concatenate([_columns(self.backward.deltas[n], self.workspace, n)
                                        for n in group.deltas])
            self._groups[number] = block, offsets
        return self._groups[number]

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.values:
            if name in self._in_group:
                number, k = self._in_group[name]
                block, offsets = self.group(number)
                self.values[name] = block[offsets[k]:offsets[k + 1]]
            elif name in self._previous:  # the state before each step: initial, then steps 1..T−1
                start = self.forward.initial[name]
                after = self.forward.stored[self._previous[name]]
                T, _, N = after.shape
                shifted = self.workspace.empty(("previous", name), (start.shape[0], T, N), start.dtype)
                shifted[:, 0] = start
                shifted[:, 1:] = after[:-1].transpose(1, 0, 2)
                self.values[name] = shifted.reshape(-1, T * N)
            else:
                deltas = self.backward.deltas
                self.values[name] = _columns((deltas if name in deltas else self.forward.stored)[name],
                                             self.workspace, name)
        return self.values[name]


def _delta_h_at(delta_h: np.ndarray, into_h: np.ndarray, carried_h: np.ndarray, t: int, first: int,
                overlap: bool) -> np.ndarray:
    """δh_t: what step t+1 carries back, plus the head's δh from step ``first`` on; added into
    ``delta_h`` where windows overlap, else made in its place there."""
    if overlap:
        total = into_h[:, t] + carried_h if t >= first else carried_h
        delta_h[t] += total
        return total
    total = delta_h[t]  # δh_t made in its place
    if t >= first:
        np.add(into_h[:, t], carried_h, out=total)
    else:
        total[...] = carried_h
    return total


def _project_inputs(inputs: Inputs, layout: Layout, workspace: Workspace
                    ) -> tuple[dict[str, tuple[int, int]], np.ndarray, np.ndarray]:
    """Every input projection for every step, the gates' biases folded in as a last column of the
    weights against a row of ones under x_t: [W… | b…] [x_t; 1], stacked, step by step. Returns each
    projection's rows, x_t for every t (T, D, N) and the projections (T, rows, N)."""
    T, N, D = inputs.sizes.T, inputs.sizes.N, inputs.sizes.D
    env, dtype = inputs.params, inputs.dtype
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
    np.copyto(with_ones[:, :D], inputs.xs.transpose(0, 2, 1))
    with_ones[:, D] = 1
    x_steps = with_ones[:, :D]  # (T, D, N)
    projected = np.matmul(stacked, with_ones,
                          out=workspace.empty("projected", (T, stacked.shape[0], N), dtype))
    return rows, x_steps, projected


def _reader(names: tuple[str, ...]) -> Callable[[dict], tuple]:
    """A function giving ``names``' values from a dict, as a tuple (operator.itemgetter, in C)."""
    if len(names) == 1:
        return lambda values: (values[names[0]],)
    return itemgetter(*names) if names else (lambda _values: ())
