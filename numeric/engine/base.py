"""What every backend's engine shares: the derivation it runs, the parameters' shapes and their
initialisation, the checking of a call's inputs and options, and the windows of truncated BPTT.

A backend's engine (:class:`~bpttlab.numeric.engine.core.NumpyEngine`,
:class:`~bpttlab.numeric.engine.jax_engine.JaxEngine`) subclasses :class:`EngineBase` and adds the
arithmetic: ``forward``, ``loss``, ``loss_and_grads`` and ``state_grads``
(:class:`~bpttlab.numeric.engine.protocol.Engine`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

import bpttlab.derivations.symbols as dimensions
from bpttlab.derivations import HEADS, Derivation, Elementwise, carry, delta
from bpttlab.numeric.engine.compiled import Compiled
from bpttlab.numeric.engine.numpy_functions import NUMPY_ACTIVATIONS
from bpttlab.numeric.engine.stacking import stack, stack_leaves
from bpttlab.numeric.engine.validate import Inputs, check_init_options, check_inputs, check_size

__all__ = ["EngineBase", "Link", "backward_windows"]


@dataclass(frozen=True, slots=True)
class Link:
    """How a state passes from one step to the next: its name at step t (``new``), at step t−1
    (``previous``), δ of the latter, and ``carried``, the δ that step t+1 sends back to it."""

    new: str
    previous: str
    previous_delta: str
    carried: str


class EngineBase:
    """One cell × head × loss placement (see :func:`~bpttlab.numeric.engine.build_engine`), with the
    pieces of the derivation every backend lambdifies, by the backend's ``compile`` (``Compiled`` with
    its printer and namespace): the stacked step (``_layout``: see :mod:`.stacking`) and its remaining
    equations, the leaves with their stacked products, and the head's equations."""

    #: The backend's name, as ``build_engine(..., backend=…)`` spells it.
    backend: str = ""

    #: The backend's implementation of each element-wise function, by its registered name.
    activations: Mapping[str, Callable] = NUMPY_ACTIVATIONS

    def __init__(self, derivation: Derivation, compile: Callable[[Sequence[sp.Eq]], Compiled] = Compiled):
        self.derivation = d = derivation
        used = {node.name for eq in (*d.forward, *d.head_backward, *d.step_backward)
                for node in eq.rhs.atoms(Elementwise)}
        missing = sorted(used - set(self.activations))
        if missing:
            table = f"{type(self).__name__}.activations"
            raise ValueError(f"the {self.backend} engine has no implementation of {', '.join(missing)}: add "
                             f"one to its table of element-wise functions ({table})")
        self.cell, self.head, self.loss_at = d.cell, d.head, d.loss_at
        # H and K are the row counts most parameters with H (K) rows agree on, so the odd one out is blamed.
        rows = {str(size): [n for n, (r, _) in d.params.items() if r == size]
                for size in (dimensions.H, dimensions.K)}
        self._rows_by_size = {k: v for k, v in rows.items() if v}
        #: where no parameter has H rows (a cell without parameters), the head's weights have H columns
        self._columns_by_size = {str(dimensions.H): [n for n, (_, columns) in d.params.items()
                                                     if columns == dimensions.H]}
        # The step's matrix products stacked (see .stacking): the input projections for every step at
        # once before the loop, one recurrent product per previous state a step, forward and back.
        layout = self._layout = stack(d)
        self._rest = compile(layout.forward)
        self._step_deltas = compile(layout.backward_deltas)
        self._step_states = compile(layout.backward_states)
        self._links = tuple(Link(new.name, prev.name, delta(prev).name, carry(new).name)
                            for new, prev in d.cell.states)
        self._delta_h, self._x, self._h = delta(d.cell.h).name, d.cell.x.name, d.cell.h.name
        self._delta_x = delta(d.cell.x).name
        recurrent = {eq.lhs.name for eq in (*layout.backward_deltas, *layout.backward_states)}
        self._leaf_equations, self._outers, self._inners = stack_leaves(
            layout, tuple(eq for eq in d.step_backward if eq.lhs.name not in recurrent), set(d.params))
        x_delta = delta(d.cell.x).name
        #: each leaf equation's gradient name: a parameter, or ``xs`` for δx_t
        self._leaf_names = tuple("xs" if eq.lhs.name == x_delta else eq.lhs.name[1:]
                                 for eq in self._leaf_equations)
        #: gradients derived as identically zero (an input never read, a parameter that cancels): their
        #: equations print as the scalar 0, and the engines give them their shapes
        self._zero = frozenset(eq.lhs.name for eq in (*d.head_backward, *d.step_backward)
                               if isinstance(eq.rhs, sp.ZeroMatrix))
        #: the vector parameters (biases …): the leaves read them as every column's, (rows, T·N), so that an
        #: outer product δu bᵀ sums over the columns as δu vᵀ does
        self._vectors = frozenset(name for name, (_, columns) in d.params.items() if columns == 1)
        #: every equation's value by name → its rows, symbolic (H, D, K …): a value that depends on no
        #: sequence (a state set to a bias, a δ that is identically 0) is lambdified to one column or a
        #: number, and is given its (rows, N) where it is stored
        self._heights = {eq.lhs.name: eq.lhs.shape[0] for eq in (*d.forward, *d.step_backward)}
        self._height_cache: dict[tuple, int] = {}
        if self.head is not None:
            self._head_forward = compile(self.head.equations)
            first, *rest = d.head_backward  # δ of the logits first: it is scaled by 1/N
            self._logits_delta, self._head_grads = compile([first]), compile(rest)
            self._into_h = compile([sp.Eq(sp.MatrixSymbol("from head", *d.cell.h.shape), d.from_head,
                                          evaluate=False)])

    def __repr__(self) -> str:
        head = "" if self.head is None else f", head={self.head.name!r}, loss_at={self.loss_at!r}"
        return f"<{type(self).__name__} {self.cell.name}{head}>"

    # ----------------------------------------------------------------- parameters
    def param_shapes(self, D: int, H: int, K: int | None = None) -> dict[str, tuple[int, ...]]:
        """Parameter name → shape; biases are 1-D."""
        D, H = check_size("D", D), check_size("H", H)  # before the cache: a list is not hashable
        return dict(self._param_shapes(D, H, None if K is None else check_size("K", K)))

    @lru_cache(maxsize=64)  # noqa: B019 - engines are cached themselves and live as long as the process
    def _param_shapes(self, D: int, H: int, K: int | None) -> tuple[tuple[str, tuple[int, ...]], ...]:
        if self.head is not None and K is None:
            raise ValueError(f"the {self.head.name} head needs the number of outputs K")
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

    def _height(self, name: str, sizes: object) -> int:
        """The number of rows of the value ``name`` at a call's ``sizes`` (``D``, ``H``, ``K``)."""
        key = (name, sizes.D, sizes.H, sizes.K)
        if key not in self._height_cache:
            values = {dimensions.D: sizes.D, dimensions.H: sizes.H, dimensions.K: sizes.K or 0}
            self._height_cache[key] = int(sp.sympify(self._heights[name]).xreplace(values))
        return self._height_cache[key]

    # ----------------------------------------------------------------- a call's inputs and options
    def _inputs(self, params: object, xs: object, h0: object, c0: object, initial: object) -> Inputs:
        """The call's inputs, checked (:func:`.validate.check_inputs`)."""
        return check_inputs(params, xs, h0, c0, initial, cell=self.cell, names=tuple(self.derivation.params),
                            rows=self._rows_by_size, shapes=self.param_shapes, columns=self._columns_by_size)

    def _no_head(self) -> ValueError:
        heads = ", ".join(f"head={name!r}" for name in HEADS)
        return ValueError(f"an engine without a head has no loss; build it with {heads} "
                          f"(cell {self.cell.name})")

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


def backward_windows(truncate: object, T: int) -> tuple[tuple[int, int, int], ...]:
    """The backward windows (end, start, first loss step) of truncated BPTT(k1, k2) over T steps:
    every k1 steps the losses of those k1 steps go back k2 steps. Windows with the same start are
    one (so k2 ≥ T is the single window of full BPTT).

    >>> backward_windows(None, 6), backward_windows(2, 6)
    (((6, 0, 0),), ((2, 0, 0), (4, 2, 2), (6, 4, 4)))
    >>> backward_windows((2, 4), 6), backward_windows((2, 9), 6)
    (((4, 0, 0), (6, 2, 4)), ((6, 0, 0),))
    """
    if truncate is None:
        return ((T, 0, 0),)
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
    return tuple(windows)
