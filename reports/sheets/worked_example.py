r"""The course's "hello" example (seed 004), computed by the NumPy engine and typeset as matrices.

A character-level Elman RNN with a softmax output reads ``hell`` one letter at a time, as one-hot
vectors over the vocabulary (h, e, l, o), and at every step is trained to predict the next letter of
``hello``: the targets are ``ello``. Its parameters are the engine's initialisation with a fixed
seed, rounded to the places the sheet prints (so that every printed number follows from the printed
parameters, on a calculator or in the PyTorch snippet the sheet shows), h_0 = 0 and the batch is one
sequence. :func:`hello_example` collects every number the sheet
shows — each step's pre-activation a_t, state h_t, logits a_{y,t}, probabilities ŷ_t and loss ℓ_t, the
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

from dataclasses import dataclass
from functools import cache

import numpy as np

from bpttlab.derivations import carry, delta, derive
from bpttlab.derivations.printing.notations import NOTATIONS, parse_name
from bpttlab.derivations.printing.notations import notation as symbol_notation
from bpttlab.derivations.printing.time_index import shift_name
from bpttlab.numeric import build_engine
from bpttlab.numeric.engine.compiled import Compiled
from bpttlab.reports.sheets.numbers import number

__all__ = [
    "EXAMPLE_CELL",
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

#: The cell the example runs: the course's Elman RNN.
EXAMPLE_CELL = "rnn"
VOCABULARY = ("h", "e", "l", "o")
INPUTS = "hell"
TARGETS = "ello"  # the next letter of "hello" at every step
PARAMETERS = ("W_xh", "W_hh", "b_h", "W_hy", "b_y")
LEARNING_RATE = 0.1  # the one step of gradient descent the example takes
DECIMALS = 3  # the places of every printed number; the parameters are rounded to them
#: The finite-difference check: the entry moved, by ±EPSILON, and the places of the two losses.
CHECKED, EPSILON, LOSS_PLACES = ("W_hh", (0, 0)), 1e-3, 8
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
    x_part: np.ndarray = None  # (T, H): W_xh x_t of each step
    h_part: np.ndarray = None  # (T, H): W_hh h_{t-1} of each step
    backward: dict[str, np.ndarray] = None  # the last step backward: δs_T, δh_T, δa_T, δh_{T-1}^{(T)}
    backward_names: dict[str, str] = None  # those deltas' names in the derivation, at step t
    learning_rate: float = 0.1
    updated_loss: float = 0.0  # L after one step of gradient descent with learning_rate
    before: dict[str, np.ndarray] = None  # step T − 1 backward: δs, the head's W_hyᵀ δs, the carry, δh
    moved_losses: tuple[float, float] = (0.0, 0.0)  # L with the CHECKED entry moved by +EPSILON, −EPSILON


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
    engine = build_engine(EXAMPLE_CELL, head="softmax", loss_at="every")
    size = len(VOCABULARY)
    params = {name: np.round(value, DECIMALS)
              for name, value in engine.init_params(D=size, H=hidden, K=size, seed=seed).items()}
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
    backward, names = _last_step_backward(params, states, y_hat, np.eye(size)[targets[:, 0]])
    before = _step_before_last(params, states, y_hat, np.eye(size)[targets[:, 0]], backward["h_prev"])
    name, entry = CHECKED
    moved = []
    for sign in (1, -1):
        shifted = {key: value.copy() for key, value in params.items()}
        shifted[name][entry] += sign * EPSILON
        moved.append(float(engine.loss_and_grads(shifted, xs, targets)[0]))
    updated = {name: value - LEARNING_RATE * grads[name] for name, value in params.items()}
    updated_loss, _ = engine.loss_and_grads(updated, xs, targets)
    previous = np.concatenate([np.zeros((1, hidden)), states.T[:-1]])  # h_0 = 0, h_1, ..., h_{T-1}
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
                 "y_hat": head.prediction.name, "step_losses": head.loss.name, "y": head.target.name},
        x_part=_frozen(forward.stored[cell.x.name][:, :, 0].T @ params["W_xh"].T),
        h_part=_frozen(previous @ params["W_hh"].T),
        backward={name: _frozen(value) for name, value in backward.items()},
        backward_names=names,
        learning_rate=LEARNING_RATE,
        updated_loss=float(updated_loss),
        before={key: _frozen(value) for key, value in before.items()},
        moved_losses=(moved[0], moved[1]),
    )


def _last_step_backward(params: dict, states: np.ndarray, y_hat: np.ndarray, one_hot: np.ndarray
                        ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The last step of BPTT in numbers, from the derived equations (head backward, recurrence, one
    step of the cell) evaluated at the example's stored values; nothing comes from step T + 1."""
    d = derive("rnn", "softmax", "every")
    head_lines = [eq for eq in d.head_backward if eq.lhs.name.startswith("δ") and
                  not parse_name(eq.lhs.name).is_parameter]
    step_lines = [eq for eq in d.step_backward if not parse_name(eq.lhs.name).is_parameter
                  and eq.lhs != delta(d.cell.x)]
    compiled = Compiled((*head_lines, *d.recurrence, *step_lines))
    T = states.shape[1]
    cell, head = d.cell, d.head
    env = {"W_hy": params["W_hy"], "W_hh": params["W_hh"], cell.h.name: states[:, T - 1:T],
           cell.states[0][1].name: states[:, T - 2:T - 1], head.prediction.name: y_hat[T - 1][:, None],
           head.target.name: one_hot[T - 1][:, None], carry(cell.h).name: np.zeros((states.shape[0], 1))}
    values = compiled({name: env[name] for name in compiled.inputs})
    names = {"s": delta(head.logits).name, "h": delta(cell.h).name,
             "a": next(eq.lhs.name for eq in step_lines if eq.lhs != delta(cell.states[0][1])),
             "h_prev": delta(cell.states[0][1]).name}
    return {key: np.asarray(values[name])[:, 0] for key, name in names.items()}, names


def _step_before_last(params: dict, states: np.ndarray, y_hat: np.ndarray, one_hot: np.ndarray,
                      sent: np.ndarray) -> dict[str, np.ndarray]:
    """Step T − 1's hidden state gradient in numbers: δs = ŷ − y, the head's part W_hyᵀ δs, what step
    T sends back, and their sum δh (the recurrence of the derivation, evaluated)."""
    d = derive(EXAMPLE_CELL, "softmax", "every")
    head_lines = [eq for eq in d.head_backward if eq.lhs.name.startswith("δ") and
                  not parse_name(eq.lhs.name).is_parameter]
    compiled = Compiled((*head_lines, *d.recurrence))
    T = states.shape[1]
    cell, head = d.cell, d.head
    env = {"W_hy": params["W_hy"], head.prediction.name: y_hat[T - 2][:, None],
           head.target.name: one_hot[T - 2][:, None], carry(cell.h).name: sent[:, None]}
    values = compiled({name: env[name] for name in compiled.inputs})
    return {"s": np.asarray(values[delta(head.logits).name])[:, 0],
            "head": params["W_hy"].T @ np.asarray(values[delta(head.logits).name])[:, 0],
            "sent": sent, "h": np.asarray(values[delta(cell.h).name])[:, 0]}


# ----------------------------------------------------------------- LaTeX
def _number(value: float, decimals: int, lang: str = "en") -> str:
    return number(float(value), lang, decimals)


def _check_decimals(decimals: int) -> None:
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 15:
        raise ValueError(f"decimals must be an integer from 0 to 15, got {decimals!r}")


def matrix_latex(array: object, decimals: int = 3, lang: str = "en") -> str:
    """``array`` as a ``pmatrix``, every entry with ``decimals`` places (a 1-D array is a column),
    in ``lang``'s decimal mark (:func:`.numbers.number`).

    A rounded zero prints without a sign, a negative number with ``-`` (a minus in math mode)."""
    _check_decimals(decimals)
    values = np.asarray(array, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or values.size == 0:
        raise ValueError(f"array must be a non-empty 1-D or 2-D array, got shape {np.shape(array)}")
    if not np.isfinite(values).all():
        raise ValueError("array must hold finite numbers only")
    rows = ROW_BREAK.join(" & ".join(_number(v, decimals, lang) for v in row) for row in values.tolist())
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
    split: str = ""  # a_t = W_xh x_t + W_hh h_{t-1} + b_h, in symbols and in numbers
    argmax: str = ""  # the predicted letter as math: argmax of ŷ_t


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
    backward: str = ""  # the last step backward: δs_T, δh_T, δa_T, δh_{T-1}^{(T)}, align* lines
    last: int = 0  # T
    zero_columns: tuple[str, ...] = ()  # letters whose column of δW_xh is zero: never an input
    weight_x: str = ""  # W_xh as the sheet writes it (the matrix whose column is zero)
    learning_rate: str = ""
    updated_loss: str = ""
    update: str = ""  # θ ← θ − η δθ, as math
    correct: int = 0  # steps whose most probable letter is the target
    scale: str = ""  # 1/√H, the bound of the parameters' uniform distribution
    before: int = 0  # T − 1
    backward_before: str = ""  # step T − 1: δs, δh = W_hyᵀ δs + what step T sends back
    entry: str = ""  # the entry the finite difference checks, as math
    epsilon: str = ""
    loss_plus: str = ""
    loss_minus: str = ""
    difference: str = ""  # (L+ − L−)/(2ε) from the printed losses
    gradient_entry: str = ""  # the same entry of the printed gradient
    torch: str = ""  # a PyTorch snippet that reproduces the gradients from the printed parameters


def _pairs(*pairs: tuple[str, str]) -> str:
    """``lhs &= rhs`` pairs side by side on one ``align*`` line."""
    return " & ".join(f"{lhs} &= {rhs}" for lhs, rhs in pairs)


def example_latex(example: WorkedExample, decimals: int = 3, notation: str = "course",
                  lang: str = "en") -> WorkedLatex:
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
        return matrix_latex(array, decimals, lang)

    def at(field: str, t: int) -> str:
        return written.latex(shift_name(example.symbols[field], t))

    def entry(t: int, letter: str) -> str:  # the probability ŷ_t gives the letter: a scalar
        return written.element(shift_name(example.symbols["y_hat"], t), rf"\texttt{{{letter}}}")

    letters = " & ".join(rf"\texttt{{{letter}}}" for letter in example.vocabulary)
    vectors = " & ".join(matrix_latex(row, 0, lang) for row in np.eye(len(example.vocabulary)))
    one_hot = rf"$\begin{{array}}{{{'c' * len(example.vocabulary)}}} {letters} \\ {vectors} \end{{array}}$"

    params = LINE_BREAK.join(
        _pairs(*((written.latex(n), matrix(example.params[n])) for n in line)) for line in PARAMETER_LINES)

    steps = []
    W_xh, W_hh, b_h = (written.latex(name) for name in ("W_xh", "W_hh", "b_h"))
    for t, (source, target) in enumerate(zip(example.inputs, example.targets, strict=True), start=1):
        row = t - 1
        loss = _number(example.step_losses[row], decimals, lang)
        probability = _number(example.y_hat[row, example.vocabulary.index(target)], decimals, lang)
        h_prev = written.latex(shift_name(example.symbols["h"], t - 1))
        split = (rf"{at('a', t)} = {W_xh} {at('x', t)} + {W_hh} {h_prev} + {b_h} = "
                 rf"{matrix(example.x_part[row])} + {matrix(example.h_part[row])} + "
                 rf"{matrix(example.params['b_h'])} = {matrix(example.a[row])}")
        values = LINE_BREAK.join([
            _pairs((at("x", t), matrix_latex(example.x[row], 0, lang)),
                   (at("h", t), rf"\tanh\bigl({at('a', t)}\bigr) = {matrix(example.h[row])}"),
                   (at("s", t), matrix(example.s[row]))),
            _pairs((at("y_hat", t), rf"\operatorname{{softmax}}\bigl({at('s', t)}\bigr) = "
                                    rf"{matrix(example.y_hat[row])}"),
                   (at("step_losses", t), rf"-\log {entry(t, target)} = -\log {probability} = {loss}")),
        ])
        argmax = rf"\arg\max_k {written.element(shift_name(example.symbols['y_hat'], t), 'k')}"
        steps.append(StepLatex(t, source, target, example.predicted[row], values, loss, split, argmax))

    last = len(example.inputs)
    names = {key: written.latex(shift_name(name, last)) for key, name in example.backward_names.items()}
    names["h_prev"] = written.latex(shift_name(carry_name(example.symbols["h"]), last - 1))
    W_hy_T, W_hh_T = written.latex("W_hy", r"\top"), written.latex("W_hh", r"\top")
    h_last = shift_name(example.symbols["h"], last)
    square = (f"({written.latex(h_last)})^{{2}}" if written.has_superscript(h_last)
              else written.latex(h_last, "2"))
    backward = LINE_BREAK.join([
        _pairs((names["s"], rf"{at('y_hat', last)} - {at('y', last)} = {matrix(example.backward['s'])}"),
               (names["h"], rf"{W_hy_T} {names['s']} = {matrix(example.backward['h'])}")),
        _pairs((names["a"], rf"{names['h']} \odot (1 - {square}) = {matrix(example.backward['a'])}"),
               (names["h_prev"], rf"{W_hh_T} {names['a']} = "
                                 rf"{matrix(example.backward['h_prev'])}")),
    ])
    zero = tuple(letter for k, letter in enumerate(example.vocabulary)
                 if not np.any(example.grads["W_xh"][:, k]))
    parameter = r"\theta"
    update = rf"{parameter} \leftarrow {parameter} - \eta\, \partial L / \partial {parameter}"

    gradients = LINE_BREAK.join(
        _pairs(*((written.latex(f"δ{n}"), matrix(example.grads[n])) for n in line))
        for line in PARAMETER_LINES)
    before = last - 1
    W_hy_T = written.latex("W_hy", r"\top")
    s_before = written.latex(f"δ{shift_name(example.symbols['s'], before)}")
    h_before = written.latex(f"δ{shift_name(example.symbols['h'], before)}")
    carried = written.latex(shift_name(carry_name(example.symbols["h"]), before))
    backward_before = LINE_BREAK.join([
        _pairs((s_before, rf"{at('y_hat', before)} - {at('y', before)} = {matrix(example.before['s'])}")),
        _pairs((h_before, rf"{W_hy_T} {s_before} + {carried} = {matrix(example.before['head'])} + "
                          rf"{matrix(example.before['sent'])} = {matrix(example.before['h'])}")),
    ])
    name, (row, col) = CHECKED
    plus, minus = (round(value, LOSS_PLACES) for value in example.moved_losses)
    entry_symbol = written.element(name, f"{row + 1}{col + 1}")
    return WorkedLatex(seed=example.seed, hidden=example.hidden, decimals=decimals, notation=notation,
                       one_hot=one_hot, params=params, steps=tuple(steps),
                       loss=_number(example.loss, decimals, lang), gradients=gradients,
                       backward=backward, last=last, zero_columns=zero, weight_x=W_xh,
                       learning_rate=number(example.learning_rate, lang, 1),
                       updated_loss=_number(example.updated_loss, decimals, lang), update=update,
                       correct=sum(p == q for p, q in zip(example.predicted, example.targets, strict=True)),
                       scale=number(1 / np.sqrt(example.hidden), lang, decimals), before=before,
                       backward_before=backward_before, entry=entry_symbol,
                       epsilon=number(f"{EPSILON:g}", lang), loss_plus=number(plus, lang, LOSS_PLACES),
                       loss_minus=number(minus, lang, LOSS_PLACES),
                       difference=number((plus - minus) / (2 * EPSILON), lang, decimals),
                       gradient_entry=_number(example.grads[name][row, col], decimals, lang),
                       torch=torch_snippet(example))


def torch_snippet(example: WorkedExample) -> str:
    """About ten lines of PyTorch that compute the example's loss and gradients with autograd from the
    printed parameters (which are exact: the example's parameters are rounded to the printed places)."""

    def literal(array: np.ndarray) -> str:
        return repr(np.asarray(array).round(DECIMALS).tolist())

    lines = ["import torch", "torch.set_default_dtype(torch.float64)"]
    for name in PARAMETERS:
        value = np.asarray(example.params[name])
        if value.ndim == 1:
            lines.append(f"{name} = torch.tensor({literal(value)}, requires_grad=True)")
            continue
        rows = [literal(row) for row in value]
        lines.append(f"{name} = torch.tensor([{rows[0]},")
        lines += [f"{' ' * (len(name) + 17)}{row}," for row in rows[1:-1]]
        lines.append(f"{' ' * (len(name) + 17)}{rows[-1]}], requires_grad=True)")
    inputs = [VOCABULARY.index(c) for c in example.inputs]
    targets = [VOCABULARY.index(c) for c in example.targets]
    lines += [f"x, y = torch.eye({len(VOCABULARY)})[{inputs}], torch.tensor({targets})",
              f"h, L = torch.zeros({example.hidden}), 0",
              f"for t in range({len(example.inputs)}):",
              "    h = torch.tanh(W_xh @ x[t] + W_hh @ h + b_h)",
              "    L = L - torch.log_softmax(W_hy @ h + b_y, 0)[y[t]]",
              "L.backward()",
              "print(round(L.item(), 3), W_hh.grad)"]
    return "\n".join(lines)


def sp_symbol(name: str) -> object:
    """A name as a symbol of the example's head, for :func:`delta`."""
    import sympy as sp

    return sp.MatrixSymbol(name, 1, 1)


def carry_name(state: str) -> str:
    """``δh_t^{(t+1)}``: the name of what step t + 1 sends back to ``state`` (``h_t``)."""
    return f"δ{state}^{{(t+1)}}"
