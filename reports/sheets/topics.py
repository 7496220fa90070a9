"""What the course sheet adds to the cells' sections, as data for ``templates/topics.{lang}.tex.j2``:
the RNN types and the unrolled graph, each cell's diagram, a comparison table of the cells, why
δs_t = ŷ_t − y_t, why the forget gate's bias starts at 1 (with horizons measured by the decay study),
gradient clipping and truncated BPTT (with the numbers and figures of a ``bpttlab decay`` run), and
exercises whose solutions are the proven derivations.

Everything is read from the registry and the derivations: a table row's gates, states and parameter
count come from the cell's equations and parameter shapes, a gate's role from the products it enters.

>>> row = comparison_table(["lstm"], "course")[0]
>>> row.count, row.example
('4H(H + D + 1)', 5248)
>>> [(gate.symbol, gate.products) for gate in row.gates][1]
('f_t', (('f_t \\\\odot C_{t-1}', 'C_t'),))
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

import sympy as sp

from bpttlab.derivations import Cell, carry, delta, derive, resolve_cell
from bpttlab.derivations.cells import BUILT_IN
from bpttlab.derivations.printing.latex_printer import aligned, gates, latex
from bpttlab.derivations.printing.notations import notation as notation_of
from bpttlab.derivations.printing.time_index import at_step
from bpttlab.derivations.scalar import sigmoid
from bpttlab.derivations.symbols import D, H
from bpttlab.numeric.decay.study import FORGET_BIASES, SEEDS, cell_curves
from bpttlab.reports.sheets.diagrams import RnnType, cell_diagram, rnn_types, unrolled_diagram
from bpttlab.reports.sheets.formulas import TRUNCATED
from bpttlab.reports.sheets.numbers import number
from bpttlab.reports.sheets.softmax_steps import PrintedSteps, check_steps, steps_latex

__all__ = ["EXAMPLE_SIZES", "Clipping", "Exercise", "GateRole", "Horizon", "Remedies", "TableRow", "Topics",
           "Truncation", "comparison_table", "exercises", "forget_bias_horizons", "load_remedies", "topics"]

#: The sizes at which the table evaluates each parameter count (those of the decay study).
EXAMPLE_SIZES = {"D": 8, "H": 32}
#: The truncation lengths at which the sheet quotes the measured error.
QUOTED_K2 = (1, 5, 10, 20)
#: The built-in cell with a forget gate (the LSTM), whose bias the sheet discusses; read from the cells.
FORGETTING_CELL = next(name for name in BUILT_IN if resolve_cell(name).forget_gate_bias)
#: ``bpttlab decay``'s sequence length and hidden size, at which the horizons are measured without a run.
DECAY_T, DECAY_H = 100, 32


@dataclass(frozen=True)
class GateRole:
    """A gate and what it does: each element-wise product it (or 1 minus it) enters, with the value
    that product goes into."""

    symbol: str
    products: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class TableRow:
    name: str
    prose: str | None  # the templates' own name for the cell, if any
    title: str
    states: tuple[str, ...]
    gates: tuple[GateRole, ...]
    count: str  # the number of parameters as a formula in H and D
    example: int  # that number at EXAMPLE_SIZES


def _parameter_count(c: Cell) -> tuple[str, int]:
    """Σ rows·cols over the cell's parameter shapes, written as a multiple of H(H + D + 1) (one
    weight matrix on x_t, one on the state and a bias per gate or candidate) plus what is left."""
    d = derive(c, head=None)
    total = sp.expand(sum((sp.sympify(rows) * sp.sympify(cols) for rows, cols in d.params.values()),
                          sp.S.Zero))
    blocks = total.coeff(H).coeff(D)  # one H×D input matrix per block
    rest = sp.expand(total - blocks * H * (H + D + 1))
    if blocks:
        text = f"{'' if blocks == 1 else blocks}H(H + D + 1)"
        if rest != 0:
            negative = rest.could_extract_minus_sign()
            text += f" {'-' if negative else '+'} {sp.latex(-rest if negative else rest).replace(' ', '')}"
    else:
        text = sp.latex(sp.factor(total))
    return text, int(total.subs({D: EXAMPLE_SIZES["D"], H: EXAMPLE_SIZES["H"]}))


def _gate_roles(c: Cell, show: partial) -> tuple[GateRole, ...]:
    roles = []
    for name in gates(c):
        gate = next(eq.lhs for eq in c.equations if eq.lhs.name == name)
        products = []
        for eq in c.equations:
            for product in sorted(eq.rhs.atoms(sp.HadamardProduct), key=lambda p: show(p)):
                involved = any(f == gate or (isinstance(f, sp.MatAdd) and gate in f.atoms(sp.MatrixSymbol))
                               for f in product.args)
                if involved:
                    products.append((show(product), show(eq.lhs)))
        roles.append(GateRole(show(gate), tuple(products)))
    return tuple(roles)


def comparison_table(cells: Iterable[str | Cell], notation: str) -> tuple[TableRow, ...]:
    """One row per cell: states, gates with their products, parameter count."""
    from bpttlab.reports.sheets.context import curated

    rows = []
    for cell in cells:
        c = resolve_cell(cell)
        show = partial(latex, notation=notation, gates=gates(c))
        count, example = _parameter_count(c)
        rows.append(TableRow(c.name, curated(c), c.title, tuple(show(s) for s in c.new_states),
                             _gate_roles(c, show), count, example))
    return tuple(rows)


@dataclass(frozen=True)
class Horizon:
    """The LSTM at forget-gate bias ``bias``: ``steps`` back until ‖∂L/∂h_k‖ is 10⁻⁶ of its value at
    T (None: not within T − 1 steps), and the fitted ``factor`` per step."""

    bias: float
    steps: int | None
    factor: float

    @property
    def gate(self) -> float:
        """σ(b_f): the forget gate's value where its pre-activation is the bias alone."""
        return float(sigmoid(self.bias))  # the cells' own σ


@cache
def _measured_horizons(T: int, H_size: int, seeds: tuple[int, ...], biases: tuple[float, ...]
                       ) -> tuple[Horizon, ...]:
    horizons = []
    for bias in biases:
        curve = cell_curves((FORGETTING_CELL,), T, H_size, seeds, forget_bias=bias)[0]
        horizons.append(Horizon(bias, curve.fit.horizon, curve.fit.factor_per_step))
    return tuple(horizons)


def forget_bias_horizons(decay: str | os.PathLike | None = None) -> tuple[int, tuple[Horizon, ...]]:
    """(T, horizons) of the LSTM for each forget-gate bias: read from a ``bpttlab decay`` folder's
    ``decay.json`` (its ``forget_bias`` figure), else measured at the study's defaults."""
    if decay is not None and (Path(decay) / "decay.json").is_file():
        data = json.loads((Path(decay) / "decay.json").read_text(encoding="utf-8"))
        horizons = tuple(Horizon(entry["setting"]["forget_bias"], entry["fit_of_median"]["horizon"],
                                 entry["fit_of_median"]["factor_per_step"])
                         for entry in data["figures"]["forget_bias"] if entry["quantity"] == "dL/dh_k")
        if horizons:
            return data["T"], horizons
    return DECAY_T, _measured_horizons(DECAY_T, DECAY_H, SEEDS, FORGET_BIASES)


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
    clipped_updates: int = 0  # the updates of the clipped run whose gradient was above θ


@dataclass(frozen=True)
class Truncation:
    """The truncation study's medians at :data:`QUOTED_K2`, per cell and scheme, as the sheet prints them."""

    T: int
    H: int
    seeds: int
    k2s: tuple[int, ...]
    rows: tuple[tuple[str, str, tuple[str, ...]], ...]  # (cell, k1, errors at k2s)
    figure: str | None


@dataclass(frozen=True)
class Remedies:
    clipping: Clipping | None
    truncation: Truncation | None


def _figure(decay: Path, name: str, lang: str, out: Path | None, notation: str = "course") -> str | None:
    """``{name}.{lang}.pdf`` of the decay folder, relative to ``out``; where that run wrote the other
    language only, or the sheet writes the book's τ for the length, the figure is drawn from
    ``{name}.json`` into ``out``/figures."""
    found = decay / f"{name}.{lang}.pdf"
    if out is not None and (notation != "course" or not found.is_file()):
        from bpttlab.reports.decay.plots import save_figure
        from bpttlab.reports.decay.remedies import DRAW

        (out / "figures").mkdir(parents=True, exist_ok=True)
        figure = DRAW[name]((decay / f"{name}.json").read_text(encoding="utf-8"), lang, notation)
        stem = f"{name}.{lang}" if notation == "course" else f"{name}.{notation}.{lang}"
        found = save_figure(figure, out / "figures" / stem)[1]
    if not found.is_file():
        return None
    return Path(os.path.relpath(found, out)).as_posix() if out is not None else found.as_posix()


def _grouped(value: float, lang: str) -> str:
    """A whole number with its thousands grouped, as math: 3{,}135 in English, 3.135 in Indonesian."""
    text = f"{round(value):,}"
    return text.replace(",", "{,}") if lang == "en" else text.replace(",", ".")


def _scientific(value: float, lang: str) -> str:
    """A small positive number as math: 0.12, 3.4 \\cdot 10^{-5}, 0."""
    if value == 0:
        return "0"
    if value >= 0.01:
        return number(value, lang, 2)
    mantissa, exponent = f"{value:.1e}".split("e")
    return rf"{number(mantissa, lang)} \cdot 10^{{{int(exponent)}}}"


def load_remedies(decay: str | os.PathLike | None, lang: str, out: str | os.PathLike | None = None,
                  notation: str = "course") -> Remedies:
    """The clipping and truncation numbers of a ``bpttlab decay`` folder (``clip.json``, ``trunc.json``)
    and its figures ``clip.{lang}.pdf``, ``trunc.{lang}.pdf`` as paths relative to ``out``."""
    if decay is None:
        return Remedies(None, None)
    decay = Path(decay)
    out = Path(out) if out is not None else None
    clipping = truncation = None
    if (decay / "clip.json").is_file():
        data = json.loads((decay / "clip.json").read_text(encoding="utf-8"))
        plain, clipped = data["runs"]
        clipping = Clipping(
            number(f"{data['spectral_radius']:g}", lang), number(f"{data['threshold']:g}", lang),
            number(f"{data['learning_rate']:g}", lang), len(plain["loss_per_step"]), data["T"], data["H"],
            data["batch"], number(plain["loss_per_step"][0], lang, 2),
            _grouped(max(plain["grad_norm"]), lang), number(plain["loss_per_step"][-1], lang, 1),
            _grouped(max(clipped["grad_norm"]), lang), number(clipped["loss_per_step"][-1], lang, 2),
            _figure(decay, "clip", lang, out, notation),
            sum(norm > data["threshold"] for norm in clipped["grad_norm"]))
    if (decay / "trunc.json").is_file():
        data = json.loads((decay / "trunc.json").read_text(encoding="utf-8"))
        quoted = tuple(k for k in QUOTED_K2 if k < data["T"])
        rows = []
        for curve in data["curves"]:
            at = dict(zip(curve["k2"], curve["median"], strict=True))
            rows.append((curve["cell"], str(curve["k1"]),
                         tuple(_scientific(at[k], lang) if k in at else "" for k in quoted)))
        truncation = Truncation(data["T"], data["H"], len(data["seeds"]), quoted, tuple(rows),
                                _figure(decay, "trunc", lang, out, notation))
    return Remedies(clipping, truncation)


@dataclass(frozen=True)
class Exercise:
    """One exercise of ``kind`` "step" (``given`` the gradients that reach a step, find ``wanted``),
    "jacobian" (the blocks ∂``given``/∂``wanted``) or "softmax" (show ``given`` = ``wanted``);
    ``solution`` is the derivation's own (proven) lines."""

    kind: str
    cell: str
    prose: str | None
    title: str
    given: tuple[str, ...]
    wanted: tuple[str, ...]
    solution: str


def exercises(cells: Iterable[str | Cell], notation: str) -> tuple[Exercise, ...]:
    """For each cell, its backward step (δ of the named intermediates and of the previous states,
    given δh_t and what the next step sends to the other states); then each cell's step Jacobian,
    every block of it; and δs_t = ŷ_t − y_t for the softmax output. The solutions are the
    derivation's own lines (the last: the steps of :mod:`.softmax_steps`, checked by SymPy)."""
    from bpttlab.reports.sheets.context import broken, combined, curated, step_terms

    steps, jacobians = [], []
    for cell in cells:
        c = resolve_cell(cell)
        d = derive(c, head=None)
        show = partial(latex, notation=notation, gates=gates(c))
        # as the cell's section prints them: in the forward order, what the step sends back named
        # δh_{t-1}^{(t)} (not the total δh_{t-1}), the Jacobian's terms on one matrix merged
        previous = {at_step(carry(new), "t-1", fixed=c.params) for new in c.new_states}
        wanted = {delta(s) for s in c.named_deltas} | previous
        lines = [eq for eq in step_terms(d) if eq.lhs in wanted]
        given = (show(delta(c.h)), *(show(carry(new)) for new in c.new_states[1:]))
        steps.append(Exercise("step", c.name, curated(c), c.title, given,
                              tuple(show(eq.lhs) for eq in lines if eq.lhs not in previous),
                              aligned(lines, notation=notation, gates=gates(c))))
        state = {s.name: s for s in (*c.new_states, *c.previous_states)}
        blocks = [rf"\frac{{\partial {show(state[new])}}}{{\partial {show(state[prev])}}} "
                  rf"&= {broken(combined(J), show)}" for (new, prev), J in d.jacobian.items()]
        new_states = tuple(show(s) for s in c.new_states)
        jacobians.append(Exercise("jacobian", c.name, curated(c), c.title, new_states,
                                  tuple(show(s) for s in c.previous_states), " \\\\\n".join(blocks)))
    printed = steps_latex(notation)
    softmax = Exercise("softmax", "", None, "", (printed.vector[0],), (printed.vector[1],),
                       " \\\\\n".join(f"{lhs} &= {rhs}" for lhs, rhs in printed.lines))
    return (*steps, *jacobians, softmax)


@dataclass(frozen=True)
class Topics:
    lang: str
    notation: str
    types: tuple[RnnType, ...]
    unrolled: str
    diagrams: dict[str, str]  # cell name → TikZ
    table: tuple[TableRow, ...]
    sizes: dict[str, int]
    softmax: PrintedSteps
    horizon_T: int
    horizons: tuple[Horizon, ...]
    remedies: Remedies
    exercises: tuple[Exercise, ...]
    symbols: dict[str, str]

    @property
    def template(self) -> str:
        """The template of the topics' prose in the sheet's language."""
        return f"topics.{self.lang}.tex.j2"


def _symbols(notation: str) -> dict[str, str]:
    """Names the topics' prose uses: h_t, h_{t-1}, h_k, W_hh, ℓ_t, δh_t, T, the forget-gate bias."""
    d = derive("rnn", "softmax")
    show = partial(latex, notation=notation)
    c = d.cell
    h, h_prev = c.states[0]
    step_at = partial(at_step, fixed=c.params)
    W = next(p for p in c.params if p.shape[1] != 1 and p.shape[1] == p.shape[0] and
             any(p in m.args and h_prev in m.args for eq in c.equations for m in eq.rhs.atoms(sp.MatMul)))
    typeset = notation_of(notation)

    def in_block(symbol: sp.MatrixSymbol) -> str:
        """The symbol of block e: δh_t^{[e]}, or the book's δh^{(t)}_{[e]}."""
        pieces = typeset.typeset(symbol.name)
        return pieces.latex() + "_{[e]}" if pieces.sup else pieces.latex("[e]")

    following = step_at(h, "t+1")
    lstm = resolve_cell(FORGETTING_CELL)
    bias = next(p for p in lstm.params if p.name == lstm.forget_gate_bias)
    return {"h_t": show(h), "h_prev": show(h_prev), "h_k": show(step_at(h, "k")),
            "h_j": show(step_at(h, "j")),
            "h_j1": show(step_at(h_prev, "j")), "W": show(W), "loss_t": show(d.head.loss),
            "delta_h": show(delta(h)), "carry_h": show(carry(h)),
            "T": "T" if notation == "course" else r"\tau",
            "b_f": latex(bias, notation=notation, gates=gates(lstm)), "h_next": show(following),
            "delta_block": in_block(delta(h)), "delta_next_block": in_block(delta(following)),
            "grad_loss": rf"\nabla_{{{show(h)}}} {show(d.head.loss)}", "y_hat": show(d.head.prediction),
            "indicator": TRUNCATED.indicator_latex(), "lowest": TRUNCATED.lowest_latex()}


@cache
def _softmax_checked() -> bool:
    return check_steps(3)


def topics(cells: Iterable[str | Cell], notation: str, lang: str, decay: str | os.PathLike | None = None,
           out: str | os.PathLike | None = None) -> Topics:
    """Everything the topics templates show for a sheet of ``cells``."""
    cells = tuple(resolve_cell(c) for c in cells)
    if not _softmax_checked():
        raise RuntimeError("the printed steps of δs = ŷ − y do not check out in SymPy")
    T, horizons = forget_bias_horizons(decay)
    return Topics(
        lang=lang, notation=notation, types=rnn_types(notation), unrolled=unrolled_diagram("rnn", notation),
        diagrams={c.name: cell_diagram(c, notation).tikz for c in cells},
        table=comparison_table(cells, notation), sizes=dict(EXAMPLE_SIZES),
        softmax=steps_latex(notation), horizon_T=T, horizons=horizons,
        remedies=load_remedies(decay, lang, out, notation), exercises=exercises(cells, notation),
        symbols=_symbols(notation),
    )
