"""The JAX engine: the same derived equations as the NumPy engine, printed to ``jax.numpy`` and compiled.

Nothing here is a gradient formula: the forward step, the backward step and the leaves are the
derivation's equations, stacked as for NumPy (:mod:`.stacking`) and lambdified with
:class:`~.printer.JaxEnginePrinter`; ``jax.grad`` is not used. What JAX adds is the control flow:

- the input projections of every step are one product before the loop;
- the forward recurrence is a ``lax.scan`` over the steps, one stacked recurrent product a step;
- the recurrent part of the backward step is a second ``lax.scan``, backwards; truncated BPTT is a
  scan over the windows, each a backward scan of the longest window's length, its steps outside the
  window masked out;
- the leaves (δW, δb, δx) are products over all T·N columns after the loop;
- the whole call is one ``jax.jit`` program, compiled once per shapes, dtype, ``wrt`` and ``truncate``.

Inputs are checked on the host exactly as for NumPy (:mod:`.validate`) and results come back as NumPy
arrays, so every consumer sees the same :class:`~.protocol.Engine`. float64 needs ``jax_enable_x64``
(:mod:`.jax_support`).

The pure function behind a call, :meth:`JaxEngine.loss_and_grads_function`, is what the training loop
vmaps over many runs at once (:mod:`bpttlab.numeric.training.batched`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from bpttlab.derivations import Derivation, delta
from bpttlab.derivations.heads import TargetKind
from bpttlab.numeric.engine.base import EngineBase, backward_windows
from bpttlab.numeric.engine.compiled import Compiled
from bpttlab.numeric.engine.implementations import Implementations
from bpttlab.numeric.engine.jax_support import check_float64, enable_float64
from bpttlab.numeric.engine.printer import ArrayFunctions, JaxEnginePrinter, namespace_for
from bpttlab.numeric.engine.protocol import ForwardResult
from bpttlab.numeric.engine.stacking import delta_owners
from bpttlab.numeric.engine.validate import Inputs, Sizes, check_finite_results, check_targets

__all__ = ["JAX_ACTIVATIONS", "JAX_FUNCTIONS", "JaxEngine"]


def _sigmoid(x: jax.Array) -> jax.Array:
    """σ(x) = 1/(1 + e⁻ˣ), the NumPy engine's formula: full relative precision, 0 where e⁻ˣ overflows."""
    return 1.0 / (1.0 + jnp.exp(-x))


def _softmax(z: jax.Array) -> jax.Array:
    e = jnp.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _log_softmax(z: jax.Array) -> jax.Array:
    shifted = z - z.max(axis=0, keepdims=True)
    return shifted - jnp.log(jnp.exp(shifted).sum(axis=0, keepdims=True))


#: Each element-wise function in ``jax.numpy``, by its registered name (a new activation:
#: ``JAX_ACTIVATIONS.register(name, f)``).
JAX_ACTIVATIONS: Implementations = Implementations("jax", "activation", {
    "tanh": jnp.tanh,
    "sigmoid": _sigmoid,
    "exp": jnp.exp,
    "log": jnp.log,
    "softplus": lambda x: jnp.logaddexp(0.0, x),
    "relu": lambda x: jnp.maximum(x, 0.0),
    "step": lambda x: (x > 0).astype(x.dtype),
}, where="numeric/engine/jax_engine.py: JAX_ACTIVATIONS")

#: What the JAX engine's printed code calls besides ``jax.numpy``.
JAX_FUNCTIONS = ArrayFunctions(JAX_ACTIVATIONS, _softmax, _log_softmax)
_compile = partial(Compiled, printer=JaxEnginePrinter, namespace=namespace_for(jnp, JAX_FUNCTIONS))


def _columns(steps: jax.Array) -> jax.Array:
    """(T, rows, N) → (rows, T·N): all steps side by side."""
    T, rows, N = steps.shape
    return steps.transpose(1, 0, 2).reshape(rows, T * N)


class JaxEngine(EngineBase):
    """Forward and backward for one cell × head × loss placement, compiled by JAX; see
    :func:`~bpttlab.numeric.engine.build_engine` (``backend="jax"``)."""

    backend = "jax"
    activations = JAX_ACTIVATIONS

    def __init__(self, derivation: Derivation):
        super().__init__(derivation, _compile)
        enable_float64()
        self._leaves = _compile(self._leaf_equations)  # all of them: XLA drops what a call does not return
        self._leaf_of = dict(zip((eq.lhs.name for eq in self._leaf_equations), self._leaf_names, strict=True))
        self._owners = delta_owners(self._layout)
        forward_values = {g.pre for group in self._layout.groups for g in group.gates}
        forward_values |= {g.output for group in self._layout.groups for g in group.gates if g.output}
        forward_values |= set(self._rest.outputs) | {link.new for link in self._links}
        self._forward_values = tuple(sorted(forward_values))
        self._back_reads = frozenset({*self._step_deltas.inputs, *self._step_states.inputs})
        read = {*self._back_reads, *self._leaves.inputs}
        #: what the backward pass reads of the forward pass, kept for every step
        self._kept = tuple(sorted((forward_values & read) | {link.new for link in self._links}))
        self._delta_outputs = (*self._step_deltas.outputs, self._delta_h)
        self._programs: dict[tuple, Callable] = {}

    def release_memory(self) -> None:
        """Let go of the compiled programs (they are compiled again on the next call)."""
        self._programs.clear()

    # ----------------------------------------------------------------- the computation, traced
    def _forward_scan(self, params: dict, xs: jax.Array, initial: dict, kept: tuple[str, ...]
                      ) -> dict[str, jax.Array]:
        """The cell over the sequence: ``kept`` values of every step, each (T, rows, N)."""
        T, N, D = xs.shape
        layout = self._layout
        rows: dict[str, tuple[int, int]] = {}
        weights, biases, start = [], [], 0
        for p in layout.projections:
            w = params[p.weight]
            rows[p.symbol] = (start, start + w.shape[0])
            weights.append(w)
            biases.append(params[p.bias] if p.bias is not None else jnp.zeros((w.shape[0], 1), w.dtype))
            start += w.shape[0]
        x_steps = xs.transpose(0, 2, 1)  # (T, D, N)
        if weights:  # every input projection of every step: one product over all T·N columns
            projected = jnp.concatenate(weights) @ x_steps.transpose(1, 0, 2).reshape(D, T * N)
            projected = (projected + jnp.concatenate(biases)).reshape(start, T, N).transpose(1, 0, 2)
        else:
            projected = jnp.zeros((T, 0, N), xs.dtype)
        groups = [(group, jnp.concatenate([params[w] for w in group.weights]),
                   np.cumsum([0, *(params[w].shape[0] for w in group.weights)])) for group in layout.groups]
        rest, links, x_name = self._rest, self._links, self._x
        sizes = Sizes(T, N, D, next(iter(initial.values())).shape[0], None)
        # a value that depends on no sequence (a state set to a bias) is lambdified to one column: (rows, N)
        shapes = {name: (self._height(name, sizes), N) for name in {*kept, *(link.new for link in links)}
                  if name in self._heights}

        def step(states: dict, inputs: tuple) -> tuple[dict, dict]:
            x_t, projection = inputs
            env = {**params, **states, x_name: x_t}
            for group, stacked, offsets in groups:
                product = stacked @ states[group.state]
                for i, symbol in enumerate(group.symbols):
                    block = product[offsets[i]:offsets[i + 1]]
                    if i >= len(group.gates):
                        env[symbol] = block
                        continue
                    gate = group.gates[i]
                    a, b = rows[gate.projection.symbol]
                    env[gate.pre] = block + projection[a:b]
                    if gate.function is not None:
                        env[gate.output] = JAX_ACTIVATIONS[gate.function](env[gate.pre])
            for symbol, (a, b) in rows.items():
                if symbol in rest.inputs:
                    env[symbol] = projection[a:b]
            rest(env)
            env.update({name: jnp.broadcast_to(env[name], shape) for name, shape in shapes.items()})
            return {link.previous: env[link.new] for link in links}, {name: env[name] for name in kept}

        _, stored = lax.scan(step, dict(initial), (x_steps, projected))
        stored[x_name] = x_steps
        return stored

    def _head_values(self, params: dict, stored: dict, targets: jax.Array | None) -> dict:
        """The head's equations on every step at once (or the last): its inputs and results by name."""
        env = dict(params)
        h = stored[self._h]
        env[self._h] = _columns(h) if self.loss_at == "every" else h[-1]
        K = params[self.head.params[0].name].shape[0]
        columns = env[self._h].shape[1]
        env[self.head.target.name] = jnp.zeros((K, columns), h.dtype) if targets is None else targets
        self._head_forward(env)
        return env

    def _target_columns(self, targets: jax.Array, K: int, dtype: np.dtype) -> jax.Array:
        """(K, columns): one-hot class indices, or the float targets as columns."""
        if self.head.target_kind is TargetKind.CLASS:  # one-hot in the maths
            return jax.nn.one_hot(targets.reshape(-1), K, dtype=dtype, axis=0)
        return targets.reshape(-1, K).T

    def _previous(self, stored: dict, initial: dict) -> dict[str, jax.Array]:
        """Each previous state before every step, (T, H, N): the initial state, then steps 1..T−1."""
        return {link.previous: jnp.concatenate([initial[link.previous][None], stored[link.new][:-1]])
                for link in self._links}

    def _back_step(self, params: dict, weights_t: list, shapes: dict, carried: dict, stored_t: dict,
                   previous_t: dict, from_head: jax.Array) -> tuple[dict, dict]:
        """One step of the backward recurrence: the carries into step t−1, and this step's deltas (and
        each stacked group's deltas side by side, under its number); ``shapes`` each delta's (rows, N)."""
        env = {**params, **stored_t, **previous_t, **carried}
        env[self._delta_h] = from_head + carried[self._links[0].carried]
        self._step_deltas(env)
        env.update({name: jnp.broadcast_to(env[name], shape) for name, shape in shapes.items()})
        blocks = {}
        for number, group, stacked_t in weights_t:
            blocks[number] = jnp.concatenate([env[name] for name in group.deltas])
            env[group.back_symbol] = stacked_t @ blocks[number]
        self._step_states(env)
        out = {name: env[name] for name in self._delta_outputs}
        out.update({f"block {number}": block for number, block in blocks.items()})
        # δ of a previous state the step never reads is the scalar 0: the carry keeps its shape
        return {link.carried: jnp.broadcast_to(env[link.previous_delta], carried[link.carried].shape)
                for link in self._links}, out

    def _through_time(self, params: dict, stored: dict, initial: dict, into_h: jax.Array,
                      windows: tuple[tuple[int, int, int], ...]) -> tuple[dict, dict]:
        """The deltas of every step (T, rows, N), summed over the windows, and the carries δs_0."""
        T = into_h.shape[0]
        weights_t = [(number, group, jnp.concatenate([params[w] for w in group.weights]).T)
                     for number, group in enumerate(self._layout.groups) if group.deltas is not None]
        kept = {name: stored[name] for name in self._back_reads if name in stored}
        previous = self._previous(stored, initial)
        zeros = {link.carried: jnp.zeros_like(initial[link.previous]) for link in self._links}
        T, H, N = into_h.shape
        sizes = Sizes(T, N, stored[self._x].shape[1], H, None)
        shapes = {name: (self._height(name, sizes), N) for name in self._step_deltas.outputs}
        back = partial(self._back_step, params, weights_t, shapes)
        if windows == ((T, 0, 0),):  # full BPTT: one backward scan
            def step(carried: dict, inputs: tuple) -> tuple[dict, dict]:
                return back(carried, *inputs)

            reached, deltas = lax.scan(step, zeros, (kept, previous, into_h), reverse=True)
            return deltas, reached
        length = max(end - start for end, start, _ in windows)
        ends, starts, firsts = (jnp.array(column, dtype=jnp.int32) for column in zip(*windows, strict=True))

        def window(totals: dict, bounds: tuple) -> tuple[dict, dict]:
            end, start, first = bounds

            def step(carried: dict, back_from: jax.Array) -> tuple[dict, tuple]:
                t = end - 1 - back_from
                inside, at = t >= start, jnp.maximum(t, 0)
                head = jnp.where(t >= first, into_h[at], 0.0)
                new, out = back(carried, {k: v[at] for k, v in kept.items()},
                                {k: v[at] for k, v in previous.items()}, head)
                new = {k: jnp.where(inside, v, carried[k]) for k, v in new.items()}
                return new, (at, {k: jnp.where(inside, v, 0.0) for k, v in out.items()})

            carried, (at, out) = lax.scan(step, zeros, jnp.arange(length))
            totals = {k: totals[k].at[at].add(v) for k, v in out.items()}
            return totals, {k: jnp.where(start == 0, v, 0.0) for k, v in carried.items()}

        shapes = jax.eval_shape(lambda: back(zeros, {k: v[0] for k, v in kept.items()},
                                             {k: v[0] for k, v in previous.items()}, into_h[0])[1])
        totals = {k: jnp.zeros((T, *s.shape), s.dtype) for k, s in shapes.items()}
        deltas, reached = lax.scan(window, totals, (ends, starts, firsts))
        return deltas, {k: v.sum(axis=0) for k, v in reached.items()}

    def _leaf_values(self, params: dict, stored: dict, initial: dict, deltas: dict) -> dict[str, jax.Array]:
        """The leaves on all T·N columns, their stacked products first (as in the NumPy engine)."""
        previous = self._previous(stored, initial)
        blocks: dict[int, tuple[jax.Array, np.ndarray]] = {}

        def group(number: int) -> tuple[jax.Array, np.ndarray]:
            if number not in blocks:
                weights = self._layout.groups[number].weights
                blocks[number] = (_columns(deltas[f"block {number}"]),
                                  np.cumsum([0, *(params[w].shape[0] for w in weights)]))
            return blocks[number]

        def column(name: str) -> jax.Array:
            if name in self._owners:
                number, k = self._owners[name]
                block, offsets = group(number)
                return block[offsets[k]:offsets[k + 1]]
            for source in (previous, deltas, stored):
                if name in source:
                    return _columns(source[name])
            raise KeyError(name)

        env = dict(params)
        for outer in self._outers:  # [δu…] vᵀ, split by rows
            block, offsets = group(outer.group)
            a = offsets[outer.first]
            product = block[a:offsets[outer.stop]] @ column(outer.operand).T
            for k, symbol in enumerate(outer.symbols, start=outer.first):
                env[symbol] = product[offsets[k] - a:offsets[k + 1] - a]
        for inner in self._inners:  # [W…]ᵀ [δu…]
            block, offsets = group(inner.group)
            stacked = jnp.concatenate([params[w] for w in inner.weights])
            env[inner.symbol] = stacked.T @ block[offsets[inner.first]:offsets[inner.stop]]
        width = stored[self._x].shape[0] * stored[self._x].shape[2]  # T·N
        for name in self._leaves.inputs:
            if name in self._vectors:  # every column's (see EngineBase._vectors)
                env[name] = jnp.broadcast_to(params[name], (params[name].shape[0], width))
            elif name not in env:
                env[name] = column(name)
        return self._leaves(env)

    def loss_and_grads_function(self, wrt: Iterable[str] | str | None = None,
                                truncate: int | tuple[int, int] | None = None, *, T: int
                                ) -> Callable[[dict, jax.Array, jax.Array, dict], tuple[jax.Array, dict]]:
        """The pure function behind :meth:`loss_and_grads` for sequences of ``T`` steps,
        ``(params, xs, targets, initial) → (loss, grads)`` with the arguments :meth:`arguments` gives
        and ``grads`` as :meth:`loss_and_grads` returns them (for the names ``wrt``, all when None): for
        ``jax.jit`` and ``jax.vmap``. Nothing is checked inside; :meth:`arguments` checks."""
        if self.head is None:
            raise self._no_head()
        return partial(self._loss_and_grads_traced, self._wanted(wrt), backward_windows(truncate, T))

    def outputs_function(self) -> Callable[[dict, jax.Array, dict], jax.Array]:
        """The pure function behind :meth:`forward`'s ``y``: ``(params, xs, initial) → ŷ``, (T, N, K) or
        (N, K) for a loss at the last step, with the arguments laid out as for
        :meth:`loss_and_grads_function`."""
        if self.head is None:
            raise self._no_head()

        def outputs(params: dict, xs: jax.Array, initial: dict) -> jax.Array:
            T, N, _ = xs.shape
            stored = self._forward_scan(params, xs, initial, (self._h,))
            y = self._head_values(params, stored, None)[self.head.prediction.name]
            return y.T.reshape(T, N, -1) if self.loss_at == "every" else y.T

        return outputs

    def arguments(self, params: dict, xs: object, targets: object, h0: object = None, c0: object = None, *,
                  initial: dict | None = None) -> tuple[dict, np.ndarray, np.ndarray, dict]:
        """A call's inputs checked as :meth:`loss_and_grads` checks them and laid out for
        :meth:`loss_and_grads_function`: the parameters by name with biases as (rows, 1) columns,
        ``xs`` (T, N, D), the targets, the initial states (H, N) by the cell's previous-state names."""
        if self.head is None:
            raise self._no_head()
        inputs = self._checked(params, xs, h0, c0, initial)
        return inputs.params, inputs.xs, self._targets(targets, inputs), inputs.initial

    def _outputs(self, params: dict) -> int | None:
        """K, the head's number of outputs (None without a head)."""
        return None if self.head is None else params[self.head.params[0].name].shape[0]

    def _loss_and_head(self, params: dict, stored: dict, targets: jax.Array, T: int, N: int
                       ) -> tuple[jax.Array, dict, jax.Array]:
        """The head on the stored states: the loss, the head's parameter gradients, and δh from the
        head for every step, (T, H, N) (zero but at the last step for a loss at the last step)."""
        h = stored[self._h]
        K = params[self.head.params[0].name].shape[0]
        env = self._head_values(params, stored, self._target_columns(targets, K, h.dtype))
        loss = env[self.head.loss.name].sum() / N
        for name, value in self._logits_delta(env).items():
            env[name] = value / N  # the mean over the batch
        head_grads = self._head_grads(env)
        from_head = self._into_h(env)["from head"]
        H = from_head.shape[0]
        if self.loss_at == "every":
            return loss, head_grads, from_head.reshape(H, T, N).transpose(1, 0, 2)
        return loss, head_grads, jnp.zeros((T, H, N), h.dtype).at[-1].set(from_head)

    def _loss_and_grads_traced(self, wanted: frozenset[str], windows: tuple, params: dict, xs: jax.Array,
                               targets: jax.Array, initial: dict) -> tuple[jax.Array, dict]:
        T, N, D = xs.shape
        stored = self._forward_scan(params, xs, initial, self._kept)
        loss, head_grads, into_h = self._loss_and_head(params, stored, targets, T, N)
        leaves_wanted = any(self._leaf_of[name] in wanted for name in self._leaves.outputs)
        values, reached = {}, {}
        if leaves_wanted or any(label in wanted for label in self.cell.initial):
            deltas, reached = self._through_time(params, stored, initial, into_h, windows)
            if leaves_wanted:
                values = self._leaf_values(params, stored, initial, deltas)
        grads: dict[str, jax.Array] = {}
        shapes = dict(self._param_shapes(D, initial[self._links[0].previous].shape[0], self._outputs(params)))
        for name in self.derivation.params:
            if name not in wanted:
                continue
            if "δ" + name in self._zero:  # a parameter that cancels: its gradient is zeros of its shape
                grads[name] = jnp.zeros(shapes[name], xs.dtype)
                continue
            gradient = head_grads.get("δ" + name, values.get("δ" + name))
            gradient = gradient.sum(axis=1) if name in self._vectors else gradient
            grads[name] = jnp.broadcast_to(gradient, shapes[name])  # W (c 1): equal columns, printed once
        if "xs" in wanted:
            grads["xs"] = (jnp.zeros((T, N, D), xs.dtype) if self._delta_x in self._zero
                           else values[self._delta_x].reshape(D, T, N).transpose(1, 2, 0))
        for link, label in zip(self._links, self.cell.initial, strict=True):
            if label in wanted:
                grads[label] = reached[link.carried].T
        return loss, grads

    def _state_grads_traced(self, params: dict, xs: jax.Array, targets: jax.Array, initial: dict
                            ) -> tuple[jax.Array, dict]:
        T, N, _ = xs.shape
        stored = self._forward_scan(params, xs, initial, self._kept)
        loss, _, into_h = self._loss_and_head(params, stored, targets, T, N)
        deltas, _ = self._through_time(params, stored, initial, into_h, ((T, 0, 0),))
        return loss, {new.name.split("_")[0]: deltas[delta(new).name].transpose(0, 2, 1)
                      for new in self.cell.new_states}

    def _forward_traced(self, params: dict, xs: jax.Array, initial: dict) -> tuple[dict, jax.Array | None]:
        stored = self._forward_scan(params, xs, initial, self._forward_values)
        if self.head is None:
            return stored, None
        return stored, self._head_values(params, stored, None)[self.head.prediction.name]

    def _loss_traced(self, params: dict, xs: jax.Array, targets: jax.Array, initial: dict) -> jax.Array:
        stored = self._forward_scan(params, xs, initial, (self._h,))
        K = params[self.head.params[0].name].shape[0]
        N = xs.shape[1]
        env = self._head_values(params, stored, self._target_columns(targets, K, xs.dtype))
        return env[self.head.loss.name].sum() / N

    # ----------------------------------------------------------------- the Engine interface
    def _program(self, key: tuple, make: Callable[[], Callable]) -> Callable:
        """The jitted program under ``key``, made on first use (JAX compiles it per shapes and dtype)."""
        if key not in self._programs:
            self._programs[key] = jax.jit(make())
        return self._programs[key]

    def _checked(self, params: dict, xs: object, h0: object, c0: object, initial: object) -> Inputs:
        inputs = self._inputs(params, xs, h0, c0, initial)
        check_float64(inputs.dtype)
        return inputs

    def _targets(self, targets: object, inputs: Inputs) -> np.ndarray:
        sizes = inputs.sizes
        shape = (sizes.T, sizes.N) if self.loss_at == "every" else (sizes.N,)
        return check_targets(self.head, targets, shape, sizes.K, inputs.dtype)

    def forward(self, params: dict, xs: object, h0: object = None, c0: object = None, *,
                initial: dict | None = None) -> ForwardResult:
        """As :meth:`NumpyEngine.forward <bpttlab.numeric.engine.NumpyEngine.forward>`."""
        inputs = self._checked(params, xs, h0, c0, initial)
        program = self._program(("forward",), lambda: self._forward_traced)
        stored, y_columns = program(inputs.params, inputs.xs, inputs.initial)
        stored = {name: np.asarray(value) for name, value in stored.items()}
        T, N, K = inputs.sizes.T, inputs.sizes.N, inputs.sizes.K
        y = None
        if y_columns is not None:
            y_columns = np.asarray(y_columns)
            y = y_columns.T.reshape(T, N, K) if self.loss_at == "every" else y_columns.T
        states = {new.name: stored[new.name].transpose(0, 2, 1) for new in self.cell.new_states}
        check_finite_results("the forward pass", {**states, "y": y})
        second = self.cell.new_states[1].name if len(self.cell.states) > 1 else None
        return ForwardResult(h=states[self._h], c=states.get(second), y=y,
                             stored={name: value.transpose(1, 0, 2) for name, value in stored.items()},
                             states=states)

    def loss(self, params: dict, xs: object, targets: object, h0: object = None, c0: object = None, *,
             initial: dict | None = None) -> float:
        """The loss alone (sum over steps or the last one, mean over the batch), without gradients."""
        if self.head is None:
            raise self._no_head()
        inputs = self._checked(params, xs, h0, c0, initial)
        program = self._program(("loss",), lambda: self._loss_traced)
        loss = float(program(inputs.params, inputs.xs, self._targets(targets, inputs), inputs.initial))
        check_finite_results("the loss", {"loss": loss})
        return loss

    def loss_and_grads(self, params: dict, xs: object, targets: object, h0: object = None,
                       c0: object = None, *, initial: dict | None = None,
                       wrt: Iterable[str] | str | None = None,
                       truncate: int | tuple[int, int] | None = None) -> tuple[float, dict[str, np.ndarray]]:
        """As :meth:`NumpyEngine.loss_and_grads <bpttlab.numeric.engine.NumpyEngine.loss_and_grads>`:
        the loss and the gradients of every parameter, ``xs`` and the initial states (or those named
        ``wrt``), with truncated BPTT ``truncate``.

        >>> import numpy as np
        >>> from bpttlab.numeric.engine import build_engine
        >>> engine = build_engine("lstm", head="linear", backend="jax")
        >>> params = engine.init_params(D=2, H=3, K=1, seed=0)
        >>> xs, ys = np.ones((6, 1, 2)), np.zeros((6, 1, 1))
        >>> loss, grads = engine.loss_and_grads(params, xs, ys)
        >>> reference = build_engine("lstm", head="linear").loss_and_grads(params, xs, ys)[1]
        >>> all(np.allclose(grads[k], reference[k], rtol=1e-12, atol=0) for k in reference)
        True
        """
        if self.head is None:
            raise self._no_head()
        wanted = self._wanted(wrt)
        arguments = self.arguments(params, xs, targets, h0, c0, initial=initial)
        windows = backward_windows(truncate, arguments[1].shape[0])
        program = self._program(("loss_and_grads", wanted, windows),
                                lambda: partial(self._loss_and_grads_traced, wanted, windows))
        loss, grads = program(*arguments)
        return self.results(loss, grads)

    def results(self, loss: jax.Array, grads: dict[str, jax.Array]) -> tuple[float, dict[str, np.ndarray]]:
        """What :meth:`loss_and_grads_function` returned, as :meth:`loss_and_grads` returns it: the
        loss as a float, the gradients as NumPy arrays in the order of the parameters, ``xs``, the initial
        states; a NaN or Inf (an overflow) raised as a ``ValueError``."""
        loss = float(loss)
        check_finite_results("the loss", {"loss": loss})
        order = [*self.derivation.params, "xs", *self.cell.initial]
        grads = {name: np.asarray(grads[name]) for name in order if name in grads}
        check_finite_results("the backward pass", grads)
        return loss, grads

    def state_grads(self, params: dict, xs: object, targets: object, h0: object = None,
                    c0: object = None, *, initial: dict | None = None
                    ) -> tuple[float, dict[str, np.ndarray]]:
        """As :meth:`NumpyEngine.state_grads <bpttlab.numeric.engine.NumpyEngine.state_grads>`."""
        if self.head is None:
            raise self._no_head()
        inputs = self._checked(params, xs, h0, c0, initial)
        program = self._program(("state_grads",), lambda: self._state_grads_traced)
        loss, states = program(inputs.params, inputs.xs, self._targets(targets, inputs), inputs.initial)
        loss = float(loss)
        check_finite_results("the loss", {"loss": loss})
        states = {name: np.asarray(value) for name, value in states.items()}
        check_finite_results("the backward pass", states)
        return loss, states
