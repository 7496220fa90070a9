"""What the course sheet adds to the cells' sections, as data: the notation key, the types of recurrent
networks and the unrolled graph, the cells side by side (parameter counts, ours and PyTorch's), a
scalar RNN worked by hand, the measured decay beside Pascanu's bound (λ₁ and ρ of the figure's
networks), the forget gate's bias, clipping and truncated BPTT (the numbers of a ``bpttlab decay``
folder), the learning standard, the errata of the course slides and exercises with numeric answers.

Every number here is computed, from the registry, the derivations or a decay folder; the tests
recompute each one.

>>> row = comparison_table(["lstm"], "course")[0]
>>> row.count, row.example, row.torch
('4H(H + D + 1)', 5248, 5376)
>>> [(gate.symbol, gate.products) for gate in row.gates][1]
('f_t', (('f_t \\\\odot C_{t-1}', 'C_t'),))
>>> scalar_rnn().rows[2].w, scalar_rnn().spans
('3', (1, 5, 10, 20))
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, partial
from itertools import pairwise
from pathlib import Path

import numpy as np
import sympy as sp

from bpttlab.derivations import Cell, delta, derive, resolve_cell
from bpttlab.derivations.cells import BUILT_IN
from bpttlab.derivations.heads import head as head_of
from bpttlab.derivations.printing.latex_printer import gates, latex
from bpttlab.derivations.printing.notations import NOTATIONS
from bpttlab.derivations.printing.notations import notation as notation_of
from bpttlab.derivations.printing.time_index import at_step
from bpttlab.derivations.printing.time_index import shift_name as shift
from bpttlab.derivations.scalar import sigmoid
from bpttlab.derivations.structure import forget_gate, parameter_count
from bpttlab.derivations.symbols import H
from bpttlab.numeric.decay.study import FORGET_BIASES, SEEDS, cell_curves
from bpttlab.reports.learn.standard import STANDARD, LearningStandard
from bpttlab.reports.sheets.context import sheet_head
from bpttlab.reports.sheets.diagrams import RnnType, rnn_types, unrolled_diagram
from bpttlab.reports.sheets.formulas import TRUNCATED
from bpttlab.reports.sheets.languages import Language, language

__all__ = [
    "EXAMPLE_SIZES",
    "Clipping",
    "Exercise",
    "ForgetBias",
    "GateProducts",
    "KeyRow",
    "Measured",
    "NotationKey",
    "Remedies",
    "ScalarInversion",
    "ScalarRnn",
    "TableRow",
    "Topics",
    "Truncation",
    "backward_steps",
    "comparison_table",
    "exercises",
    "forget_bias",
    "load_remedies",
    "measured_bound",
    "notation_key",
    "scalar_rnn",
    "topics",
]

#: The sizes at which the table evaluates each parameter count (those of the decay study).
EXAMPLE_SIZES = {"D": 8, "H": 32}
#: The truncation lengths at which the sheet quotes the measured error, where the study measured them.
QUOTED_K2 = (1, 5, 10, 20)
#: The built-in cell with a forget gate (the LSTM), whose bias the sheet discusses; read from the cells.
FORGETTING_CELL = next(name for name in BUILT_IN if resolve_cell(name).forget_gate_bias)
#: ``bpttlab decay``'s sequence length and hidden size, at which the horizons are measured without a run.
DECAY_T, DECAY_H = 100, 32


# ----------------------------------------------------------------------------- the notation key
@dataclass(frozen=True)
class KeyRow:
    """A quantity (``key``: its words), its symbol in every notation, in the course slides, in PyTorch."""

    key: str
    symbols: tuple[str, ...]
    slides: str
    torch: str


@dataclass(frozen=True)
class NotationKey:
    notations: tuple[str, ...]
    rows: tuple[KeyRow, ...]


def notation_key() -> NotationKey:
    """The same quantities in every registered notation (printed by each), in the course's slides and
    in PyTorch: the hidden state, the three weights, the logits, prediction and target, the length,
    the LSTM's cell state and gates, the GRU's gates and candidate."""
    hd = head_of(sheet_head())
    lstm, gru = resolve_cell("lstm"), resolve_cell("gru")
    quantities = (
        ("hidden", "h_t", r"$s_t$, $h^{(t)}$", r"\texttt{h\_n}, \texttt{output}"),
        ("input_weights", "W_xh", r"$U$, $W_{xh}$", r"\texttt{weight\_ih\_l0}"),
        ("recurrent_weights", "W_hh", r"$W$, $W_{hh}$", r"\texttt{weight\_hh\_l0}"),
        ("output_weights", hd.params[0].name, "$V$", r"\texttt{nn.Linear}"),
        ("logits", hd.logits.name, "$V s_t$", "logits"),
        ("prediction", hd.prediction.name, r"$\hat{y}_t$, $y_t$", ""),
        ("target", hd.target.name, r"$y_t$, $\bar{y}_t$", r"\texttt{target}"),
        ("length", None, r"$\tau$", r"\texttt{seq\_len}"),
        ("cell_state", lstm.new_states[1].name, "$C_t$", r"\texttt{c\_n}"),
        ("lstm_gates", ("i_t", "o_t"), "$i_t$, $o_t$", r"\texttt{i}, \texttt{o}"),
        ("gru_gates", ("z_t", "r_t"), "", r"\texttt{z}, \texttt{r}"),
        ("candidate", "n_t", "", r"\texttt{n}"),
    )
    names = tuple(NOTATIONS)
    rows = []
    for key, name, slides, torch in quantities:
        symbols = []
        for written in names:
            show = partial(latex, notation=written, gates=gates(lstm) + gates(gru))
            if name is None:
                symbols.append(notation_of(written).length)
            elif isinstance(name, tuple):
                symbols.append(", ".join(show(sp.MatrixSymbol(n, H, 1)) for n in name))
            else:
                symbols.append(show(sp.MatrixSymbol(name, H, 1)))
        rows.append(KeyRow(key, tuple(symbols), slides, torch))
    return NotationKey(names, tuple(rows))


# ------------------------------------------------------------------------- the cells side by side
@dataclass(frozen=True)
class GateProducts:
    """A gate and each element-wise product it (or 1 minus it) enters, with the value it goes into."""

    symbol: str
    products: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class TableRow:
    name: str
    title: str
    states: tuple[str, ...]
    gates: tuple[GateProducts, ...]
    count: str  # the number of parameters as a formula in H and D
    example: int  # that number at EXAMPLE_SIZES
    torch: int | None  # sum(p.numel()) of the torch.nn module computing the cell, if any


def _count_text(c: Cell) -> str:
    count = parameter_count(c)
    if count.blocks:
        text = f"{'' if count.blocks == 1 else count.blocks}H(H + D + 1)"
        if count.rest != 0:
            negative = count.rest.could_extract_minus_sign()
            rest = sp.latex(-count.rest if negative else count.rest).replace(' ', '')
            text += f" {'-' if negative else '+'} {rest}"
        return text
    return sp.latex(count.total)


def _gate_products(c: Cell, show: partial) -> tuple[GateProducts, ...]:
    found = []
    for name in gates(c):
        gate = next(eq.lhs for eq in c.equations if eq.lhs.name == name)
        products = []
        for eq in c.equations:
            for product in sorted(eq.rhs.atoms(sp.HadamardProduct), key=lambda p: show(p)):
                if any(f == gate or (isinstance(f, sp.MatAdd) and gate in f.atoms(sp.MatrixSymbol))
                       for f in product.args):
                    products.append((show(product), show(eq.lhs)))
        found.append(GateProducts(show(gate), tuple(products)))
    return tuple(found)


def comparison_table(cells: Iterable[str | Cell], notation: str) -> tuple[TableRow, ...]:
    """One row per cell: states, gates with their products, parameter count (ours and PyTorch's)."""
    rows = []
    for cell in cells:
        c = resolve_cell(cell)
        show = partial(latex, notation=notation, gates=gates(c))
        count = parameter_count(c)
        rows.append(TableRow(c.name, c.title, tuple(show(s) for s in c.new_states), _gate_products(c, show),
                             _count_text(c), count.at(EXAMPLE_SIZES["D"], EXAMPLE_SIZES["H"]),
                             count.torch_at(EXAMPLE_SIZES["D"], EXAMPLE_SIZES["H"])))
    return tuple(rows)


# ---------------------------------------------------------------------------- a scalar RNN by hand
#: tanh′ = 1 − h*² at the settled state, below which the sheet calls the unit saturated, and below
#: which partly saturated (the sheet states both thresholds).
SATURATED, PARTLY_SATURATED = 0.05, 0.5


def saturation(derivative: float) -> str:
    """How saturated a tanh unit is whose derivative 1 − h² is ``derivative``: ``saturated``,
    ``partly`` or ``none`` (the thresholds :data:`SATURATED`, :data:`PARTLY_SATURATED`)."""
    if derivative < SATURATED:
        return "saturated"
    return "partly" if derivative < PARTLY_SATURATED else "none"


@dataclass(frozen=True)
class ScalarRow:
    w: str
    fixed: str  # h*, where h_t settles
    factor: str  # w (1 − h*²): the factor per step there
    products: tuple[str, ...]  # |∂h_t/∂h_k| for each span t − k
    derivative: str = ""  # 1 − h*², tanh′ where h_t settles
    level: str = "none"  # saturation(1 − h*²)


@dataclass(frozen=True)
class ScalarInversion:
    """Two rows where the larger weight has the smaller factor per step: saturation, not the size of
    w alone, sets the rate."""

    low: ScalarRow  # the smaller |w|, its larger factor
    high: ScalarRow  # the larger |w|, its smaller factor


@dataclass(frozen=True)
class ScalarRnn:
    """h_t = tanh(w h_{t−1} + x) with x constant from h_0 = 0, run ``steps`` steps: for each w, where
    h_t settles and the product Π w (1 − h_j²) over the last t − k steps (in ``spans``)."""

    x: str
    steps: int
    spans: tuple[int, ...]
    rows: tuple[ScalarRow, ...]
    weights: tuple[float, ...]
    values: tuple[tuple[float, ...], ...]  # the products, unrounded (for the tests)
    sym: dict = None  # the scalar state at t, t − 1, k, j, 0 in the sheet's notation (never bold)
    factors: tuple[float, ...] = ()  # w (1 − h*²) per row, unrounded
    derivatives: tuple[float, ...] = ()  # 1 − h*² per row, unrounded
    saturated: str = ""  # the thresholds as the sheet prints them
    partly: str = ""

    @property
    def damped(self) -> tuple[ScalarRow, ...]:
        """The rows whose weight alone would let the gradient grow (|w| > 1) yet whose factor is below
        one: saturation makes it vanish."""
        return tuple(row for w, f, row in zip(self.weights, self.factors, self.rows, strict=True)
                     if abs(w) > 1 > abs(f))

    @property
    def inversion(self) -> ScalarInversion | None:
        """The first pair (by |w|) where a larger |w| has a smaller |factor|, if any, among the rows
        whose factor is below one."""
        order = sorted(range(len(self.rows)), key=lambda i: abs(self.weights[i]))
        for a, b in pairwise(order):
            larger = abs(self.weights[b]) > abs(self.weights[a])
            if larger and abs(self.factors[b]) < abs(self.factors[a]) < 1:
                return ScalarInversion(self.rows[a], self.rows[b])
        return None


def _scientific(value: float, lang: Language) -> str:
    """A positive number as math: 0.43, 3.4 \\cdot 10^{-5}, 0."""
    if value == 0:
        return "0"
    if 0.01 <= value < 1:
        return lang.number(f"{value:.2g}")  # two significant digits, as the factor column's 0.011
    if 1 <= value < 1000:
        return lang.number(value, 2)
    mantissa, exponent = f"{value:.1e}".split("e")
    return rf"{lang.number(mantissa)} \cdot 10^{{{int(exponent)}}}"


def scalar_rnn(lang: str | Language = "en", weights: tuple[float, ...] = (0.5, 1.0, 3.0), x: float = 0.5,
               steps: int = 40, spans: tuple[int, ...] = (1, 5, 10, 20),
               notation: str = "course") -> ScalarRnn:
    """The table of :class:`ScalarRnn`, computed step by step."""
    words = language(lang)
    written = notation_of(notation)
    h = resolve_cell(BUILT_IN[0]).h.name
    sym = {key: written.element(at, "") for key, at in
           (("h_t", h), ("h_prev", shift(h, "t-1")), ("h_k", shift(h, "k")), ("h_j", shift(h, "j")),
            ("h_0", shift(h, 0)))}
    for key in ("h_t", "h_j"):  # squared: a symbol with a superscript of its own is parenthesised
        sym[f"{key}_squared"] = (f"({sym[key]})^{{2}}" if "^" in sym[key] else f"{sym[key]}^{{2}}")
    rows, values, settled, derivatives = [], [], [], []
    for w in weights:
        h = [0.0]
        for _ in range(steps):
            h.append(math.tanh(w * h[-1] + x))
        factors = [w * (1 - value * value) for value in h[1:]]
        products = tuple(abs(math.prod(factors[steps - span:])) for span in spans)
        values.append(products)
        settled.append(factors[-1])
        derivatives.append(1 - h[-1] * h[-1])
        rows.append(ScalarRow(words.number(f"{w:g}"),
                              words.number(h[-1], 3), words.number(factors[-1], 3),
                              tuple(_scientific(p, words) for p in products),
                              derivative=words.number(derivatives[-1], 3), level=saturation(derivatives[-1])))
    return ScalarRnn(words.number(f"{x:g}"), steps, spans, tuple(rows), weights, tuple(values), sym,
                     tuple(settled), tuple(derivatives), words.number(f"{SATURATED:g}"),
                     words.number(f"{PARTLY_SATURATED:g}"))


# ------------------------------------------------------------------ the measured decay and the bound
@dataclass(frozen=True)
class Measured:
    """For the networks of the bounded cell's decay figure: λ₁ = ‖M‖₂ and the spectral radius ρ of M
    (the parameter the bound is about), lowest and highest over the seeds; the fitted factor per step
    of ‖∂L/∂h_k‖; the radii figure of the decay folder, if any."""

    cell: str
    parameter: str
    seeds: int
    H: int
    lambda_low: str
    lambda_high: str
    rho_low: str
    rho_high: str
    factor: str
    bound_holds: bool  # λ₁ γ < 1 for every seed: the bound's condition holds
    radii_figure: str | None
    lambdas: tuple[float, ...]
    rhos: tuple[float, ...]
    T: int = 0  # the study's length
    #: the radii figure's curves: (ρ, factor per step, whether it grows), ρ and factor in the language's
    #: numbers, from the fits of the medians in decay.json
    radii: tuple[tuple[str, str, bool], ...] = ()
    saturated: tuple[str, ...] = ()  # the radii not below one at which the gradient still fades

    @property
    def fading(self) -> tuple[tuple[str, str], ...]:
        return tuple((rho, factor) for rho, factor, grows in self.radii if not grows)

    @property
    def growing(self) -> tuple[tuple[str, str], ...]:
        return tuple((rho, factor) for rho, factor, grows in self.radii if grows)


def measured_bound(decay: str | os.PathLike | None, cell: str | Cell, lang: str | Language,
                   out: str | os.PathLike | None = None, notation: str = "course") -> Measured | None:
    """λ₁ and ρ of the decay study's networks for ``cell`` (its bound's parameter, at the study's
    sizes and seeds, with the study's initialisation), from a ``bpttlab decay`` folder."""
    from bpttlab.numeric import build_engine
    from bpttlab.numeric.decay.initialisation import decay_params
    from bpttlab.reports.sheets.context import cell_section

    if decay is None or not (Path(decay) / "decay.json").is_file():
        return None
    c = resolve_cell(cell)
    section = cell_section(c, "course")
    if section.bound is None:
        return None
    data = json.loads((Path(decay) / "decay.json").read_text(encoding="utf-8"))
    entry = next((e for e in data["figures"]["cells"]
                  if e["cell"] == c.name and e["quantity"] == "dL/dh_k"), None)
    if entry is None:
        return None
    engine = build_engine(c, data["head"], data["loss_at"])
    lambdas, rhos = [], []
    for seed in data["seeds"]:
        M = np.asarray(decay_params(engine, data["D"], data["H"], data["K"], seed)[section.bound.parameter])
        M = np.diag(M.ravel()) if M.ndim == 1 or M.shape[1] == 1 else M
        lambdas.append(float(np.linalg.norm(M, 2)))
        rhos.append(float(np.max(np.abs(np.linalg.eigvals(M)))))
    words = language(lang)
    gamma = float(section.bound.gamma)
    radii = _figure(Path(decay), "radii", words.code, Path(out) if out is not None else None, notation)
    fits = [(float(e["setting"]["radius"]), float(e["fit_of_median"]["factor_per_step"]))
            for e in data["figures"].get("radii", ()) if e.get("fit_of_median")]
    by_radius = tuple((words.number(f"{rho:g}"), words.number(factor, 3 if factor < 10 else 1), factor > 1)
                      for rho, factor in fits)
    saturated = tuple(words.number(f"{rho:g}") for rho, factor in fits if rho >= 1 and factor < 1)
    return Measured(c.name, section.bound.weight, len(data["seeds"]), data["H"],
                    words.number(min(lambdas), 2), words.number(max(lambdas), 2), words.number(min(rhos), 2),
                    words.number(max(rhos), 2), words.number(entry["fit_of_median"]["factor_per_step"], 2),
                    all(gamma * v < 1 for v in lambdas), radii, tuple(lambdas), tuple(rhos), data["T"],
                    by_radius, saturated)


# ------------------------------------------------------------------------------- the forget gate
@dataclass(frozen=True)
class Horizon:
    """The LSTM at forget-gate bias ``bias``: ``steps`` back until ‖∂L/∂h_k‖ is 10⁻⁶ of its value at
    T (None: not within T − 1 steps), the fitted ``factor`` per step, and ``first``, the factor of the
    first step back alone."""

    bias: float
    steps: int | None
    factor: float
    first: float

    @property
    def gate(self) -> float:
        """σ(b_f): the forget gate's value where its pre-activation is the bias alone."""
        return float(sigmoid(self.bias))


@dataclass(frozen=True)
class ForgetBias:
    T: int
    horizons: tuple[Horizon, ...]
    bias: str  # b_f as the sheet writes it
    gate: str  # f_t
    figure: str | None = None  # the decay folder's forget-bias figure drawn for the sheet, if any


@cache
def _measured_horizons(T: int, H_size: int, seeds: tuple[int, ...], biases: tuple[float, ...]
                       ) -> tuple[Horizon, ...]:
    horizons = []
    for bias in biases:
        curve = cell_curves((FORGETTING_CELL,), T, H_size, seeds, forget_bias=bias)[0]
        median = curve.median
        horizons.append(Horizon(bias, curve.fit.horizon, curve.fit.factor_per_step,
                                float(10 ** (median[-2] - median[-1]))))
    return tuple(horizons)


def forget_bias(decay: str | os.PathLike | None, notation: str, lang: str = "en",
                out: str | os.PathLike | None = None) -> ForgetBias:
    """(T, horizons) of the LSTM for each forget-gate bias: read from a ``bpttlab decay`` folder's
    ``decay.json`` (its ``forget_bias`` figure), else measured at the study's defaults."""
    lstm = resolve_cell(FORGETTING_CELL)
    show = partial(latex, notation=notation, gates=gates(lstm))
    bias_name, gate_name = forget_gate(lstm)
    bias = next(p for p in lstm.params if p.name == bias_name)
    gate = next(eq.lhs for eq in lstm.equations if eq.lhs.name == gate_name)
    found: tuple[Horizon, ...] = ()
    T = DECAY_T
    if decay is not None and (Path(decay) / "decay.json").is_file():
        data = json.loads((Path(decay) / "decay.json").read_text(encoding="utf-8"))
        found = tuple(Horizon(entry["setting"]["forget_bias"], entry["fit_of_median"]["horizon"],
                              entry["fit_of_median"]["factor_per_step"],
                              float(10 ** (entry["median_log10"][-2] - entry["median_log10"][-1])))
                      for entry in data["figures"]["forget_bias"] if entry["quantity"] == "dL/dh_k")
        T = data["T"]
    figure = None
    if found:
        figure = _figure(Path(decay), "forget_bias", language(lang).code,
                         Path(out) if out is not None else None, notation)
    else:
        T, found = DECAY_T, _measured_horizons(DECAY_T, DECAY_H, SEEDS, FORGET_BIASES)
    return ForgetBias(T, found, show(bias), show(gate), figure)


# ------------------------------------------------------------------------- clipping and truncation
@dataclass(frozen=True)
class Clipping:
    """The numbers of the clipping demonstration, as the sheet prints them."""

    radius: str
    threshold: str
    learning_rate: str
    updates: int
    T: int
    H: int
    batch: int
    first_loss: str
    plain_largest: str
    plain_final: str
    clipped_largest: str
    clipped_final: str
    figure: str | None
    touched: int  # the updates of the clipped run whose gradient was above θ
    below: int  # the updates of the unclipped run whose norm was below θ
    K: int = 0  # the number of symbols (classes)
    chance: str = ""  # ln K, the loss per step of a uniform guess
    plain_worse: bool = False  # the run without clipping ends above ln K: worse than guessing
    clipped_worse: bool = False
    seed: int = 0


@dataclass(frozen=True)
class TruncationRow:
    cell: str
    title: str
    k1: str
    errors: tuple[str, ...]


@dataclass(frozen=True)
class Truncation:
    """The truncation study's medians at the quoted k₂, per cell and scheme, as the sheet prints them."""

    T: int
    H: int
    seeds: int
    k2s: tuple[int, ...]
    measured: tuple[int, ...]  # every k₂ the study measured (the divisors of T)
    rows: tuple[TruncationRow, ...]
    figure: str | None


@dataclass(frozen=True)
class Remedies:
    clipping: Clipping | None
    truncation: Truncation | None


def _figure(decay: Path, name: str, lang: str, out: Path | None, notation: str = "course") -> str | None:
    """The figure ``name`` of the decay folder drawn again for the sheet from its data (``{name}.json``,
    or ``decay.json`` for the radii): at the text's width, no type under 7 pt, the length as the
    notation writes it, into ``out``/figures; its path relative to ``out``. Without ``out``, the
    folder's own ``{name}.{lang}.pdf`` (drawn for slides)."""
    from bpttlab.reports.decay.plots import PRINT, cells_figure, forget_bias_figure, radii_figure, save_figure
    from bpttlab.reports.decay.remedies import DRAW

    source = decay / ("decay.json" if name in ("radii", "forget_bias", "cells") else f"{name}.json")
    if out is None or not source.is_file():
        found = decay / f"{name}.{lang}.pdf"
        return found.as_posix() if found.is_file() else None
    text = source.read_text(encoding="utf-8")
    drawn_from_decay = {"radii": radii_figure, "forget_bias": forget_bias_figure, "cells": cells_figure}
    figure = (drawn_from_decay[name](json.loads(text), lang, PRINT, notation) if name in drawn_from_decay
              else DRAW[name](text, lang, notation, PRINT))
    (out / "figures").mkdir(parents=True, exist_ok=True)
    found = save_figure(figure, out / "figures" / f"{name}.{notation}.{lang}", formats=(".pdf",))[0]
    return Path(os.path.relpath(found, out)).as_posix()


def load_remedies(decay: str | os.PathLike | None, lang: str, out: str | os.PathLike | None = None,
                  notation: str = "course") -> Remedies:
    """The clipping and truncation numbers of a ``bpttlab decay`` folder (``clip.json``, ``trunc.json``)
    and its figures as paths relative to ``out``."""
    if decay is None:
        return Remedies(None, None)
    words = language(lang)
    decay = Path(decay)
    out = Path(out) if out is not None else None
    clipping = truncation = None
    if (decay / "clip.json").is_file():
        data = json.loads((decay / "clip.json").read_text(encoding="utf-8"))
        plain, clipped = data["runs"]
        theta = data["threshold"]
        clipping = Clipping(
            words.number(f"{data['spectral_radius']:g}"), words.number(theta, 1),
            words.number(f"{data['learning_rate']:g}"), len(plain["loss_per_step"]), data["T"], data["H"],
            data["batch"], words.number(plain["loss_per_step"][0], 2),
            words.grouped(max(plain["grad_norm"]), math=True), words.number(plain["loss_per_step"][-1], 2),
            words.grouped(max(clipped["grad_norm"]), math=True),
            words.number(clipped["loss_per_step"][-1], 2), _figure(decay, "clip", lang, out, notation),
            sum(norm > theta for norm in clipped["grad_norm"]),
            sum(norm < theta for norm in plain["grad_norm"]),
            data["K"], words.number(math.log(data["K"]), 2), plain["loss_per_step"][-1] > math.log(data["K"]),
            clipped["loss_per_step"][-1] > math.log(data["K"]), data["seed"])
    if (decay / "trunc.json").is_file():
        data = json.loads((decay / "trunc.json").read_text(encoding="utf-8"))
        measured = tuple(sorted({k for curve in data["curves"] for k in curve["k2"]}))
        quoted = tuple(k for k in QUOTED_K2 if k in measured and k < data["T"])
        if len(quoted) < 3:
            quoted = tuple(k for k in measured if k < data["T"])[:4]
        rows = []
        for curve in data["curves"]:
            at = dict(zip(curve["k2"], curve["median"], strict=True))
            rows.append(TruncationRow(curve["cell"], resolve_cell(curve["cell"]).title, str(curve["k1"]),
                                      tuple(_scientific(at[k], words) if k in at else "" for k in quoted)))
        truncation = Truncation(data["T"], data["H"], len(data["seeds"]), quoted, measured, tuple(rows),
                                _figure(decay, "trunc", lang, out, notation))
    return Remedies(clipping, truncation)


def truncated_symbols(notation: str) -> dict[str, str]:
    """The symbols of the cut recurrence (:data:`.formulas.TRUNCATED`) in ``notation``."""
    d = derive(BUILT_IN[0], sheet_head())
    show = partial(latex, notation=notation)
    h = d.cell.h
    typeset = notation_of(notation)

    def in_block(symbol: sp.MatrixSymbol) -> str:
        pieces = typeset.typeset(symbol.name)
        return pieces.latex() + "_{[e]}" if pieces.sup else pieces.latex("[e]")

    following = at_step(h, "t+1", fixed=d.cell.params)
    return {"h_t": show(h), "h_next": show(following), "delta_block": in_block(delta(h)),
            "delta_next_block": in_block(delta(following)), "T": typeset.length,
            "grad_loss": rf"\nabla_{{{show(h)}}} {show(d.head.loss)}",
            "indicator": TRUNCATED.indicator_latex(), "lowest": TRUNCATED.lowest_latex()}


# ------------------------------------------------------------------------------------- errata
@dataclass(frozen=True)
class Erratum:
    """One slip of the course material and what the sheet writes instead (``key``: its words)."""

    key: str
    values: dict
    convention: bool = False  # a convention that differs between sources, not a slip


def errata(notation: str) -> tuple[Erratum, ...]:
    """The slips the course's slides make that the sheet corrects: the size of W_hh and the chain of
    the vanishing-gradient slide, the output weight's name, the GRU's update convention."""
    rnn = resolve_cell(BUILT_IN[0])
    gru = next(resolve_cell(c) for c in BUILT_IN if {r.kind for r in _roles(c)} >= {"update"})
    show = partial(latex, notation=notation, gates=gates(gru))
    W_hh = next(p for p in rnn.params if p.shape[0] == p.shape[1] == H)
    hd = head_of(sheet_head())
    h = rnn.h
    step_at = partial(at_step, fixed=rnn.params)
    update = next(eq for eq in gru.equations if eq.lhs == gru.h)
    z = next(r.gate for r in _roles(gru) if r.kind == "update")
    return (
        Erratum("size", {"W": latex(W_hh, notation), "shape": r"\mathbb{R}^{H \times H}"}),
        Erratum("chain", {"h3": latex(step_at(h, 3), notation), "h2": latex(step_at(h, 2), notation),
                          "h1": latex(step_at(h, 1), notation)}),
        Erratum("output", {"W": latex(hd.params[0], notation)}),
        Erratum("update", {"equation": f"{show(gru.h)} = {show(update.rhs)}", "z": show(z)}, convention=True),
    )


def _roles(cell: str | Cell) -> tuple:
    from bpttlab.derivations.structure import gate_roles

    return gate_roles(resolve_cell(cell))


# ------------------------------------------------------------------------------------- exercises
@dataclass(frozen=True)
class Exercise:
    """One exercise with a numeric answer: ``key`` names its words; ``values`` what the question and
    the answer print (already in the language's numbers); ``numbers`` the unrounded answers."""

    key: str
    values: dict
    numbers: dict


def exercises(lang: str | Language, notation: str) -> tuple[Exercise, ...]:
    """The bound for a given 2 × 2 W_hh; memory and cost of truncated BPTT at T = 1000; which type of
    RNN fits a task; the forget gate that keeps half the gradient over 100 steps; clipping a list of
    norms."""
    words = language(lang)
    number = words.number
    W = np.array([[0.6, -0.4], [0.3, 0.5]])
    singular = float(np.linalg.norm(W, 2))
    rho = float(np.max(np.abs(np.linalg.eigvals(W))))
    W_text = r"\begin{pmatrix} " + r" \\ ".join(" & ".join(number(f"{v:g}") for v in row) for row in W) \
        + r" \end{pmatrix}"
    gram = W.T @ W
    rnn = resolve_cell(BUILT_IN[0])
    show = partial(latex, notation=notation)
    square = next(p for p in rnn.params if p.shape[0] == p.shape[1] == H)
    lstm = resolve_cell(FORGETTING_CELL)
    bias_name, gate_name = forget_gate(lstm)
    symbols = {"W_name": show(square), "h_t": show(rnn.h), "h_back": show(at_step(rnn.h, "t-20")),
               "f_t": show(next(eq.lhs for eq in lstm.equations if eq.lhs.name == gate_name)),
               "b_f": show(next(p for p in lstm.params if p.name == bias_name))}
    bound = Exercise("bound", {**symbols, "W": W_text, "gram": r"\begin{pmatrix} " + r" \\ ".join(
        " & ".join(number(v, 2) for v in row) for row in gram) + r" \end{pmatrix}",
        "lambda": number(singular, 3), "gamma_lambda": number(singular, 3), "rho": number(rho, 3),
        "power": number(singular ** 20, 4), "steps": 20, "answer": "vanishes" if singular < 1 else "nothing"},
        {"lambda": singular, "rho": rho})
    T_long, k1, k2 = 1000, 20, 50
    exact = backward_steps(T_long, k1, k2)
    cost = Exercise("cost", {"T": words.grouped(T_long, math=True), "k1": k1, "k2": k2,
                             "memory": k2, "steps": words.grouped(T_long // k1 * k2, math=True),
                             "exact": words.grouped(exact, math=True),
                             "short": sum(min(k2, end) < k2 for end in range(k1, T_long + 1, k1)),
                             "full": words.grouped(T_long, math=True), "ratio": number(k2 / k1, 1),
                             "answer": "exact" if exact == T_long // k1 * k2 else "about"},
                    {"memory": k2, "steps": T_long // k1 * k2, "exact": exact})
    types = Exercise("types", {}, {})
    keep, span = 0.5, 100
    gate = keep ** (1 / span)
    bias = math.log(gate / (1 - gate))
    forget = Exercise("forget", {**symbols, "keep": number(keep * 100, 0), "span": span,
                                 "gate": number(gate, 5),
                                 "half": number(f"{keep:g}"),
                                 "bias": number(bias, 2)}, {"gate": gate, "bias": bias})
    norms = (0.8, 3.0, 12.0, 1.5, 40.0)
    theta = 5.0
    clipped = tuple(min(n, theta) for n in norms)
    factors = tuple(min(1.0, theta / n) for n in norms)
    between = f"{words.interval_separator} "  # "; " beside a decimal comma: 0{,}8; 3; 12
    clip = Exercise("clip", {"norms": between.join(number(f"{n:g}") for n in norms),
                             "theta": number(f"{theta:g}"),
                             "clipped": between.join(number(f"{n:g}") for n in clipped),
                             "factors": between.join(number(f, 3) if f < 1 else "1" for f in factors),
                             "touched": sum(n > theta for n in norms)},
                    {"clipped": clipped, "factors": factors})
    return bound, cost, types, forget, clip


def backward_steps(T: int, k1: int, k2: int) -> int:
    """The backward steps truncated BPTT(k1, k2) takes over T steps: each block, ending at e = k1,
    2 k1, …, T, runs back k2 steps but never before step 1."""
    ends = list(range(k1, T + 1, k1))
    if not ends or ends[-1] != T:
        ends.append(T)
    return sum(min(k2, end) for end in ends)


def _separate_biases(cells: tuple[Cell, ...], notation: str) -> str:
    """The biases of the cells PyTorch computes that are not merged with another (a bias inside a
    product with the reset gate: the GRU's b_hn), as a list of math."""
    from bpttlab.reports.sheets.context import cell_section

    found = [row.symbol for c in cells if c.torch_module for row in cell_section(c, notation).symbols
             if row.kind == "bias.recurrent"]
    return ", ".join(dict.fromkeys(found))


# ------------------------------------------------------------------------------------- topics
@dataclass(frozen=True)
class Topics:
    key: NotationKey
    families: int
    types: tuple[RnnType, ...]
    unrolled: str
    table: tuple[TableRow, ...]
    sizes: dict[str, int]
    scalar: ScalarRnn
    measured: Measured | None
    forget: ForgetBias
    remedies: Remedies
    truncated: dict[str, str]
    standard: LearningStandard
    errata: tuple[Erratum, ...]
    exercises: tuple[Exercise, ...]
    separate: str = ""  # the biases a PyTorch cell keeps apart (multiplied by its reset gate), as math
    cells_figure: str | None = None  # the decay folder's cells drawn side by side for the sheet, if any


def topics(cells: Iterable[str | Cell], notation: str, lang: str, decay: str | os.PathLike | None = None,
           out: str | os.PathLike | None = None) -> Topics:
    """Everything the course sheet shows beyond the cells' sections."""
    cells = tuple(resolve_cell(c) for c in cells)
    types = rnn_types(notation)
    return Topics(
        key=notation_key(), families=len({kind.family for kind in types}), types=types,
        unrolled=unrolled_diagram(cells[0], notation), table=comparison_table(cells, notation),
        sizes=dict(EXAMPLE_SIZES), scalar=scalar_rnn(lang, notation=notation),
        measured=measured_bound(decay, cells[0], lang, out, notation),
        forget=forget_bias(decay, notation, lang, out), remedies=load_remedies(decay, lang, out, notation),
        truncated=truncated_symbols(notation), standard=STANDARD, errata=errata(notation),
        exercises=exercises(lang, notation), separate=_separate_biases(cells, notation),
        cells_figure=(_figure(Path(decay), "cells", language(lang).code, Path(out), notation)
                      if decay is not None and out is not None and (Path(decay) / "decay.json").is_file()
                      else None),
    )

