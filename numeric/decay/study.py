"""The three gradient-decay experiments behind ``bpttlab decay``, each over several seeds.

1. ``cells``: ‖∂L/∂h_k‖ for the RNN, the LSTM and the GRU on one and the same input sequence, at
   PyTorch's initialisation (the LSTM's forget-gate bias set to ``lstm_forget_bias``, 1 by default as
   Keras does; the LSTM's ‖∂L/∂c_k‖ comes along).
2. ``radii``: the RNN with ``W_hh`` scaled to each spectral radius ρ; the curves are ‖∂h_T/∂h_k‖₂ of
   :func:`jacobian_products`, each seed with its λ₁ = σ_max(W_hh), for Pascanu et al.'s bound.
3. ``forget_biases``: ‖∂L/∂h_k‖ of the LSTM for each forget-gate bias.

Seeds change the parameters and the random target, never the input sequence. A curve keeps every
seed's log10 norms; its median and spread (min and max over seeds) are taken in log space, and its
fit (:func:`fit_decay`) is that of the median curve. The bound is checked on every seed of every RNN
curve — it holds for any λ₁, and it is a statement of vanishing when λ₁ < 1 — and, so that the
λ₁ < 1 case is always covered, on RNNs with ``W_hh`` scaled to largest singular values 0.5 and 0.9.

>>> study = decay_study(T=12, H=4, seeds=(0, 1), radii=(0.5,), forget_biases=(0.0,))
>>> [curve.label for curve in study.cells], study.passed
(['rnn', 'lstm', 'lstm c', 'gru'], True)

A notebook shows a study as a table of its curves, each with its factor per step and horizon:

>>> print(study._repr_markdown_().splitlines()[0])
T = 12, H = 4, seeds 0, 1: Pascanu et al.'s bound kept in 6 of 6 checks
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bpttlab.derivations import CELLS as CELLS_REGISTERED
from bpttlab.derivations import Cell, resolve_cell
from bpttlab.derivations.printing.notebook import html_table, markdown_table
from bpttlab.numeric.decay.initialisation import decay_params, largest_singular_value
from bpttlab.numeric.decay.norms import DecayFit, bound_margin, fit_decay, gradient_norms
from bpttlab.numeric.decay.products import jacobian_products, spaced_steps
from bpttlab.numeric.engine import build_engine

__all__ = [
    "BOUND_CHECK_SINGULAR_VALUES",
    "BOUND_TOLERANCE",
    "CELLS",
    "EVERY_STEP_LIMIT",
    "FORGET_BIASES",
    "HEAD",
    "INPUT_SEED",
    "RADII",
    "SEEDS",
    "BoundCheck",
    "Curve",
    "D",
    "DecayStudy",
    "K",
    "cell_curves",
    "decay_study",
]

#: Inputs, outputs, the head and the seed of the one input sequence every curve runs on.
D, K, HEAD, INPUT_SEED = 8, 4, "linear", 1234
#: The defaults of the three experiments.
SEEDS, CELLS = (0, 1, 2, 3, 4), ("rnn", "lstm", "gru")
RADII, FORGET_BIASES = (0.5, 0.9, 1.0, 1.5, 3.0), (0.0, 1.0, 3.0)
#: Float rounding allowed in the bound check: log10(1 + 1e-12).
BOUND_TOLERANCE = float(np.log10(1 + 1e-12))
#: RNNs scaled to these largest singular values are always part of the bound check.
BOUND_CHECK_SINGULAR_VALUES = (0.5, 0.9)
#: Exact spectral norms at every k while T·H³ stays below this; at ~64 log-spaced k above it.
EVERY_STEP_LIMIT = 2**28


@dataclass(frozen=True)
class Curve:
    """One setting over several seeds: ``log10_by_seed`` is (seeds, steps), at the steps k
    ``steps``; ``what`` names the norm; ``setting`` the value varied (e.g. {"radius": 0.5});
    ``singular_values`` λ₁ of W_hh per seed (RNN only)."""

    label: str
    cell: str
    what: str
    setting: dict
    steps: np.ndarray
    seeds: tuple[int, ...]
    log10_by_seed: np.ndarray
    singular_values: tuple[float, ...] = ()

    @property
    def median(self) -> np.ndarray:
        return np.median(self.log10_by_seed, axis=0)

    @property
    def low(self) -> np.ndarray:
        return np.min(self.log10_by_seed, axis=0)

    @property
    def high(self) -> np.ndarray:
        return np.max(self.log10_by_seed, axis=0)

    @property
    def fit(self) -> DecayFit:
        return fit_decay(self.median, self.steps)

    @property
    def seed_fits(self) -> tuple[DecayFit, ...]:
        return tuple(fit_decay(row, self.steps) for row in self.log10_by_seed)


@dataclass(frozen=True)
class BoundCheck:
    """Pascanu et al.'s bound on one RNN: ``margin`` is max_k log10‖∂h_T/∂h_k‖₂ − (T−k) log10 λ₁."""

    label: str
    seed: int
    singular_value: float
    margin: float

    @property
    def passed(self) -> bool:
        return self.margin <= BOUND_TOLERANCE


@dataclass(frozen=True)
class DecayStudy:
    """All three experiments and the bound checks, with the sizes they ran at."""

    T: int
    H: int
    seeds: tuple[int, ...]
    every_step: bool
    cells: tuple[Curve, ...]
    radii: tuple[Curve, ...]
    forget_biases: tuple[Curve, ...]
    bound_checks: tuple[BoundCheck, ...] = field(default=())
    variants: tuple[Curve, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.bound_checks)

    def _summary(self) -> str:
        kept = sum(check.passed for check in self.bound_checks)
        seeds = ", ".join(map(str, self.seeds))
        return (f"T = {self.T}, H = {self.H}, seeds {seeds}: Pascanu et al.'s bound kept in {kept} of "
                f"{len(self.bound_checks)} checks")

    def _rows(self) -> list[list[str]]:
        """A row per curve: its label, the norm, the median curve's factor per step and horizon."""
        rows = []
        for curve in (*self.cells, *self.radii, *self.forget_biases, *self.variants):
            fit = curve.fit
            horizon = f"> {self.T - 1}" if fit.horizon is None else str(fit.horizon)
            rows.append([curve.label, curve.what, f"{fit.factor_per_step:.3f}", horizon])
        return rows

    _HEADER = ("curve", "norm", "factor per step", "horizon (steps)")

    def _repr_markdown_(self) -> str:
        return markdown_table(self._HEADER, self._rows(), self._summary())

    def _repr_html_(self) -> str:
        return html_table(self._HEADER, self._rows(), self._summary())

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # noqa: ARG002 (IPython's _repr_pretty_ protocol)
        lines = [f"DecayStudy({self._summary()})"]
        lines += [f"  {label:<10} {what:<10} ×{factor} per step, horizon {horizon}"
                  for label, what, factor, horizon in self._rows()]
        printer.text("\n".join(lines))


def _base(state: str) -> str:
    """``h`` for the state ``h_t``: the key of :func:`gradient_norms` and ``Engine.state_grads``."""
    return state.split("_")[0]


def _log10(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):  # a norm that underflowed to 0 is −inf
        return np.log10(values)


def _inputs(T: int) -> np.ndarray:
    return np.random.default_rng(INPUT_SEED).normal(size=(T, 1, D))


def _gradient_curves(cell: str | Cell, label: str, setting: dict, T: int, H: int, seeds: tuple[int, ...],
                     states: tuple[str, ...] = ("h",)) -> list[Curve]:
    engine = build_engine(cell, HEAD, "last")
    cell = engine.cell.name
    xs = _inputs(T)
    rows: dict[str, list[np.ndarray]] = {state: [] for state in states}
    for seed in seeds:
        params = decay_params(engine, D, H, K, seed, **setting)
        norms = gradient_norms(engine, params, xs, target_seed=seed)
        for state in states:
            rows[state].append(_log10(norms[state]))
    steps = np.arange(1, T + 1)
    return [Curve(label if position == 0 else f"{label} {state}", cell, f"dL/d{state}_k", setting, steps,
                  seeds, np.array(rows[state])) for position, state in enumerate(states)]


def _jacobian_curve(label: str, setting: dict, T: int, H: int, seeds: tuple[int, ...], every_step: bool
                    ) -> tuple[Curve, list[BoundCheck]]:
    engine = build_engine("rnn", HEAD, "last")
    xs = _inputs(T)
    steps = None if every_step else spaced_steps(T)
    rows, lambdas, checks = [], [], []
    for seed in seeds:
        params = decay_params(engine, D, H, K, seed, **setting)
        norms = jacobian_products(engine, params, xs, steps=steps)
        lam = largest_singular_value(params["W_hh"])
        rows.append(norms.log10_norms)
        lambdas.append(lam)
        checks.append(BoundCheck(label, seed, lam, bound_margin(norms, lam)))
    curve = Curve(label, "rnn", "dh_T/dh_k", setting, norms.steps, seeds, np.array(rows), tuple(lambdas))
    return curve, checks


def _as_tuple(values: object) -> tuple:
    """A list, tuple or 1-D array as a tuple; anything else (a string, a number) as ()."""
    if isinstance(values, (list, tuple)) or (isinstance(values, np.ndarray) and values.ndim == 1):
        return tuple(values.tolist() if isinstance(values, np.ndarray) else values)
    return ()


def _check_sizes(T: object, H: object, seeds: object) -> tuple[int, ...]:
    if not isinstance(T, (int, np.integer)) or isinstance(T, bool) or T < 2:
        raise ValueError(f"T must be an integer ≥ 2 (a curve needs two steps), got {T!r}")
    if not isinstance(H, (int, np.integer)) or isinstance(H, bool) or H < 1:
        raise ValueError(f"H must be a positive integer, got {H!r}")
    seeds = _as_tuple(seeds)
    if not seeds or not all(isinstance(s, (int, np.integer)) and s >= 0 for s in seeds):
        raise ValueError(f"seeds must be a non-empty sequence of integers ≥ 0, got {seeds!r}")
    return tuple(int(s) for s in seeds)


def _check_values(name: str, values: object, positive: bool) -> tuple[float, ...]:
    values = _as_tuple(values)
    valid = values and all(isinstance(v, (int, float, np.integer, np.floating)) and np.isfinite(v)
                           and (v > 0 or not positive) for v in values)
    if not valid:
        kind = "positive numbers" if positive else "finite numbers"
        raise ValueError(f"{name} must be a non-empty sequence of {kind}, got {values!r}")
    return tuple(float(v) for v in values)


def cell_curves(cells: Sequence[str | Cell], T: int = 100, H: int = 32, seeds: Sequence[int] = SEEDS,
                forget_bias: float = 1.0) -> tuple[Curve, ...]:
    """‖∂L/∂h_k‖ for each cell on the same input sequence (and ‖∂L/∂ of its second state‖ where it has
    one, the LSTM's c), at PyTorch's initialisation with a forget gate's bias (see
    ``Cell.forget_gate_bias``) set to ``forget_bias``, as Keras does. Any registered cell, ``.cell``
    path or :class:`Cell`: the variants' horizons are compared this way.

    >>> [(c.label, c.setting) for c in cell_curves(("mgu", "lstm_cifg"), T=8, H=3, seeds=(0,))]
    [('mgu', {}), ('lstm_cifg', {}), ('lstm_cifg c', {})]
    """
    seeds = _check_sizes(T, H, seeds)
    if not _as_tuple(cells):
        raise ValueError(f"cells must be a non-empty sequence of cell names, .cell paths or cells, "
                         f"got {cells!r}")
    curves = []
    for cell in dict.fromkeys(resolve_cell(c) for c in cells):
        setting = {"forget_bias": forget_bias} if cell.forget_gate_bias else {}
        states = tuple(_base(new.name) for new in cell.new_states[:2])
        curves += _gradient_curves(cell, cell.name, setting, T, H, seeds, states)
    return tuple(curves)


def decay_study(T: int = 100, H: int = 32, seeds: Sequence[int] = SEEDS, radii: Sequence[float] = RADII,
                forget_biases: Sequence[float] = FORGET_BIASES, cells: Sequence[str | Cell] = CELLS,
                lstm_forget_bias: float = 1.0, variants: Sequence[str | Cell] | None = None) -> DecayStudy:
    """Run the three experiments at sequence length ``T`` and ``H`` hidden units over ``seeds``, and
    a fourth, ``variants``: :func:`cell_curves` of those cells beside the LSTM, by default every
    registered cell that ``cells`` leaves out (the shipped variants, PyTorch's GRU); () for none."""
    seeds = _check_sizes(T, H, seeds)
    radii = _check_values("radii", radii, positive=True)
    forget_biases = _check_values("forget_biases", forget_biases, positive=False)
    every_step = T * H**3 <= EVERY_STEP_LIMIT

    by_cell = list(cell_curves(cells, T, H, seeds, lstm_forget_bias))
    by_radius, checks = [], []
    for radius in radii:
        curve, radius_checks = _jacobian_curve(f"rho={radius:g}", {"radius": radius}, T, H, seeds, every_step)
        by_radius.append(curve)
        checks += radius_checks
    for value in BOUND_CHECK_SINGULAR_VALUES:
        checks += _jacobian_curve(f"lambda1={value:g}", {"singular_value": value}, T, H, seeds, every_step)[1]
    by_bias = [curve for bias in forget_biases
               for curve in _gradient_curves("lstm", f"b_f={bias:g}", {"forget_bias": bias}, T, H, seeds)]
    if variants is None:
        chosen = {resolve_cell(c) for c in cells}
        variants = tuple(c for c in CELLS_REGISTERED.values() if c not in chosen)
    by_variant = cell_curves(("lstm", *variants), T, H, seeds, lstm_forget_bias) if variants else ()
    return DecayStudy(T, H, seeds, every_step, tuple(by_cell), tuple(by_radius), tuple(by_bias),
                      tuple(checks), by_variant)
