r"""The course's "hello" example (seed 004), computed by the NumPy engine and typeset as matrices.

A character-level Elman RNN with a softmax output reads ``hell`` one letter at a time, as one-hot
vectors over the vocabulary (h, e, l, o), and at every step is trained to predict the next letter of
``hello``: the targets are ``ello``. Its parameters are the engine's initialisation with a fixed
seed, h_0 = 0 and the batch is one sequence. :func:`hello_example` collects every number the sheet
shows — each step's pre-activation a_t, state h_t, logits s_t, probabilities ŷ_t and loss ℓ_t, the
total loss and the BPTT gradients — from the engine itself: the forward pass's stored values, the
head's own derived equations (for s_t and ℓ_t, which the engine does not keep) and
``loss_and_grads``. Nothing here recomputes the network.

:func:`matrix_latex` and :func:`example_latex` typeset those numbers, rounded to ``decimals``
places, as math fragments only (the prose around them is in the templates).

>>> example = hello_example()
>>> example.inputs, example.targets, example.predicted
('hell', 'ello', 'eeee')
>>> round(float(example.step_losses.sum()), 12) == round(example.loss, 12)
True
>>> print(matrix_latex([[0.5, -0.0001], [-1.25, 2.0]], decimals=2))
\begin{pmatrix} 0.50 & 0.00 \\ -1.25 & 2.00 \end{pmatrix}
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from bpttlab.derivations.printing.notations import NOTATIONS
from bpttlab.derivations.printing.notations import notation as symbol_notation
from bpttlab.derivations.printing.time_index import shift_name
from bpttlab.numeric import build_engine
from bpttlab.numeric.engine.compiled import Compiled

__all__ = [
    "INPUTS",
    "PARAMETERS",
    "TARGETS",
    "VOCABULARY",
    "StepLatex",
    "WorkedExample",
    "WorkedLatex",
    "example_latex",
    "hello_example",
    "matrix_latex",
]

VOCABULARY = ("h", "e", "l", "o")
INPUTS = "hell"
TARGETS = "ello"  # the next letter of "hello" at every step
PARAMETERS = ("W_xh", "W_hh", "b_h", "W_hy", "b_y")
# The parameters (and their gradients) on the lines of an align*: the square-ish matrices first.
PARAMETER_LINES = (("W_xh", "W_hh"), ("W_hy", "b_h", "b_y"))
ROW_BREAK = r" \\ "  # between the rows of a matrix
LINE_BREAK = " \\\\\n"  # between the lines of an align*, one per source line


@dataclass(frozen=True, eq=False)  # arrays inside: compare fields with numpy, not ==
class WorkedExample:
    """The numbers of the example. Per-step arrays have one row per step t = 1..T (row t − 1):
    ``x`` (T, D) the one-hot inputs, ``a`` (T, H) the pre-activations, ``h`` (T, H) the states,
    ``s`` (T, K) the logits, ``y_hat`` (T, K) the softmax probabilities, ``step_losses`` (T,) the
    ℓ_t = −log ŷ_t[target]. ``loss`` is Σ_t ℓ_t, ``predicted`` the most probable letter of each
    step, ``params`` and ``grads`` map W_xh, W_hh, b_h, W_hy, b_y to their values and to ∂L/∂·.
    ``symbols`` maps x, a, h, s, y_hat, step_losses to the derivation's names of those values at
    step t (``x_t``, ``ŷ_t``, ``ℓ_t``), which the LaTeX moves to each step. Every array is read-only."""

    vocabulary: tuple[str, ...]
    inputs: str
    targets: str
    seed: int
    hidden: int
    params: dict[str, np.ndarray]
    x: np.ndarray
    a: np.ndarray
    h: np.ndarray
    s: np.ndarray
    y_hat: np.ndarray
    step_losses: np.ndarray
    loss: float
    predicted: str
    grads: dict[str, np.ndarray]
    symbols: dict[str, str]


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)  # a copy, owned here
    array.setflags(write=False)
    return array


def _index(text: str) -> list[int]:
    return [VOCABULARY.index(char) for char in text]


def hello_example(seed: int = 0, hidden: int = 3) -> WorkedExample:
    """The "hello" example with parameters drawn with ``seed`` and ``hidden`` hidden units."""
    for name, value, low in (("seed", seed, 0), ("hidden", hidden, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer ≥ {low}, got {value!r}")
    return _hello_example(int(seed), int(hidden))


@cache
def _hello_example(seed: int, hidden: int) -> WorkedExample:
    engine = build_engine("rnn", head="softmax", loss_at="every")
    size = len(VOCABULARY)
    params = engine.init_params(D=size, H=hidden, K=size, seed=seed)
    xs = np.eye(size)[_index(INPUTS)][:, None, :]  # (T, N=1, D)
    targets = np.array(_index(TARGETS))[:, None]  # (T, N=1)

    forward = engine.forward(params, xs)
    loss, grads = engine.loss_and_grads(params, xs, targets)
    cell = engine.cell
    pre_activation = next(eq.lhs.name for eq in cell.equations if eq.lhs != cell.h)
    states = forward.stored[cell.h.name][:, :, 0]  # (H, T)

    # The head's derived equations on all steps at once give the logits and the per-step losses.
    head = engine.head
    values = Compiled(head.equations)({
        "W_hy": params["W_hy"], "b_y": params["b_y"][:, None], cell.h.name: states,
        head.target.name: np.eye(size)[targets[:, 0]].T,
    })
    y_hat = forward.y[:, 0]  # (T, K)
    return WorkedExample(
        vocabulary=VOCABULARY, inputs=INPUTS, targets=TARGETS, seed=seed, hidden=hidden,
        params={name: _frozen(params[name]) for name in PARAMETERS},
        x=_frozen(forward.stored[cell.x.name][:, :, 0].T),
        a=_frozen(forward.stored[pre_activation][:, :, 0].T),
        h=_frozen(states.T),
        s=_frozen(values[head.logits.name].T),
        y_hat=_frozen(y_hat),
        step_losses=_frozen(values[head.loss.name][0]),
        loss=float(loss),
        predicted="".join(VOCABULARY[k] for k in np.argmax(y_hat, axis=1)),
        grads={name: _frozen(grads[name]) for name in PARAMETERS},
        symbols={"x": cell.x.name, "a": pre_activation, "h": cell.h.name, "s": head.logits.name,
                 "y_hat": head.prediction.name, "step_losses": head.loss.name},
    )


# ----------------------------------------------------------------- LaTeX
def _number(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.000"


def _check_decimals(decimals: int) -> None:
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 15:
        raise ValueError(f"decimals must be an integer from 0 to 15, got {decimals!r}")


def matrix_latex(array: object, decimals: int = 3) -> str:
    """``array`` as a ``pmatrix``, every entry with ``decimals`` places (a 1-D array is a column).

    A rounded zero prints without a sign, a negative number with ``-`` (a minus in math mode)."""
    _check_decimals(decimals)
    values = np.asarray(array, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or values.size == 0:
        raise ValueError(f"array must be a non-empty 1-D or 2-D array, got shape {np.shape(array)}")
    if not np.isfinite(values).all():
        raise ValueError("array must hold finite numbers only")
    rows = ROW_BREAK.join(" & ".join(_number(v, decimals) for v in row) for row in values.tolist())
    return rf"\begin{{pmatrix}} {rows} \end{{pmatrix}}"


@dataclass(frozen=True)
class StepLatex:
    """One step: ``t`` (1-based), its ``input``, ``target`` and ``predicted`` letters, ``values``
    the lines of an ``align*`` with x_t, a_t, h_t, s_t, ŷ_t and ℓ_t, ``loss`` the number ℓ_t."""

    t: int
    input: str
    target: str
    predicted: str
    values: str
    loss: str


@dataclass(frozen=True)
class WorkedLatex:
    """Math fragments of the example for a template. ``one_hot`` is an inline-math array of the
    vocabulary over its one-hot vectors (0 and 1, as are the x_t of the steps); ``params`` and
    ``gradients`` are ``align*`` lines; ``loss`` is the number L. ``seed``, ``hidden``,
    ``decimals`` and ``notation`` say how it was made."""

    seed: int
    hidden: int
    decimals: int
    notation: str
    one_hot: str
    params: str
    steps: tuple[StepLatex, ...]
    loss: str
    gradients: str


def _pairs(*pairs: tuple[str, str]) -> str:
    """``lhs &= rhs`` pairs side by side on one ``align*`` line."""
    return " & ".join(f"{lhs} &= {rhs}" for lhs, rhs in pairs)


def example_latex(example: WorkedExample, decimals: int = 3, notation: str = "course") -> WorkedLatex:
    """The example's numbers as LaTeX fragments, every number rounded to ``decimals`` places (the
    template says so). Symbols are the derivation's names moved to each step and written in
    ``notation`` ("course" or "dlbook") by :mod:`.notations`, as everywhere on the sheet."""
    _check_decimals(decimals)
    if notation not in NOTATIONS:
        raise ValueError(f"unknown notation {notation!r}; valid: {', '.join(NOTATIONS)}")
    if not isinstance(example, WorkedExample):
        raise ValueError(f"example must be a WorkedExample (from hello_example), "
                         f"got {type(example).__name__}")
    written = symbol_notation(notation)

    def matrix(array: np.ndarray) -> str:
        return matrix_latex(array, decimals)

    def at(field: str, t: int) -> str:
        return written.latex(shift_name(example.symbols[field], t))

    def entry(t: int, letter: str) -> str:  # the probability ŷ_t gives the letter
        typeset = written.typeset(shift_name(example.symbols["y_hat"], t))
        sub = ",".join(part for part in (typeset.sub, rf"\texttt{{{letter}}}") if part)
        return replace(typeset, sub=sub).latex()

    letters = " & ".join(rf"\texttt{{{letter}}}" for letter in example.vocabulary)
    vectors = " & ".join(matrix_latex(row, 0) for row in np.eye(len(example.vocabulary)))
    one_hot = rf"$\begin{{array}}{{{'c' * len(example.vocabulary)}}} {letters} \\ {vectors} \end{{array}}$"

    params = LINE_BREAK.join(
        _pairs(*((written.latex(n), matrix(example.params[n])) for n in line)) for line in PARAMETER_LINES)

    steps = []
    for t, (source, target) in enumerate(zip(example.inputs, example.targets, strict=True), start=1):
        row = t - 1
        loss = _number(example.step_losses[row], decimals)
        probability = _number(example.y_hat[row, example.vocabulary.index(target)], decimals)
        values = LINE_BREAK.join([
            _pairs((at("x", t), matrix_latex(example.x[row], 0)), (at("a", t), matrix(example.a[row])),
                   (at("h", t), rf"\tanh\bigl({at('a', t)}\bigr) = {matrix(example.h[row])}")),
            _pairs((at("s", t), matrix(example.s[row])),
                   (at("y_hat", t), rf"\operatorname{{softmax}}\bigl({at('s', t)}\bigr) = "
                                    rf"{matrix(example.y_hat[row])}"),
                   (at("step_losses", t), rf"-\log {entry(t, target)} = -\log {probability} = {loss}")),
        ])
        steps.append(StepLatex(t, source, target, example.predicted[row], values, loss))

    gradients = LINE_BREAK.join(
        _pairs(*((written.latex(f"δ{n}"), matrix(example.grads[n])) for n in line))
        for line in PARAMETER_LINES)
    return WorkedLatex(seed=example.seed, hidden=example.hidden, decimals=decimals, notation=notation,
                       one_hot=one_hot, params=params, steps=tuple(steps),
                       loss=_number(example.loss, decimals), gradients=gradients)
