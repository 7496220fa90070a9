"""Tasks with a known long-range dependency, as batches for the engine (time-major, (T, N, D)).

- :class:`AddingProblem` (Hochreiter & Schmidhuber 1997; Le, Jaitly & Hinton 2015): a sequence of
  T pairs (value uniform in [0, 1), marker); exactly two markers are 1, one in each half; the target
  at the last step is the sum of the two marked values. Many to one, linear head. Predicting the
  constant 1 gives the mean squared error Var(u₁ + u₂) = 2/12 ≈ 0.167, the baseline; the task counts
  as solved below 10 % of it.
- :class:`CopyTask` (Arjovsky, Shah & Bengio 2016): ``symbols`` random symbols out of ``alphabet``,
  then ``delay`` blanks, a delimiter, and ``symbols`` more blanks during which the symbols must be
  recalled in order; before that the target is the blank. Many to many, softmax head; solved when
  ``1 − accuracy`` on the recalled symbols is below 1 %.
- :class:`CharacterModel`: the course's "hello": read ``hell`` one-hot, predict ``ello``; solved when
  the argmax at every step is right.

Every task gives a batch from a random generator (:meth:`batch`) and an error on its own evaluation
batch (:meth:`error`): by the kind of the head's targets, the MSE for real targets (the linear head),
the fraction of wrong predictions for class indices (the softmax head).

>>> task = AddingProblem(T=5)
>>> xs, targets = task.batch(np.random.default_rng(0), 3)
>>> xs.shape, targets.shape, xs[:, :, 1].sum(axis=0).tolist()
((5, 3, 2), (3, 1), [2.0, 2.0, 2.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpttlab.derivations import HEADS
from bpttlab.derivations.heads import TargetKind
from bpttlab.numeric.engine import Engine

__all__ = ["ADDING_BASELINE", "AddingProblem", "CharacterModel", "CopyTask", "Task"]

#: Var(u₁ + u₂) for u uniform in [0, 1): the MSE of always predicting the mean 1.
ADDING_BASELINE = 2.0 / 12.0


def _length(name: str, value: object, smallest: int) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < smallest:
        raise ValueError(f"{name} must be an integer ≥ {smallest}, got {value!r}")
    return int(value)


class Task:
    """What every task has: ``name``, ``head``, ``loss_at``, input and output sizes ``D``, ``K``, the
    sequence length ``T``, the error of a trivial predictor ``baseline`` and ``threshold`` (solved
    when the error is below it)."""

    name: str
    head: str
    loss_at: str
    D: int
    K: int
    T: int
    baseline: float
    threshold: float

    def batch(self, rng: np.random.Generator, N: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def evaluation_batch(self, N: int = 256, seed: int = 12345) -> tuple[np.ndarray, np.ndarray]:
        """A fixed batch, never trained on (a seed of its own)."""
        return self.batch(np.random.default_rng([seed, self.T]), N)

    def error(self, engine: Engine, params: dict, xs: np.ndarray, targets: np.ndarray) -> float:
        """The error of ``params`` on the batch ``xs``, ``targets`` (:meth:`error_of` their outputs)."""
        return self.error_of(engine.forward(params, xs).y, targets)

    def error_of(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        """The error of the head's ``outputs`` ŷ, by the kind of its targets: the fraction of wrong argmax
        predictions for class indices, the mean squared error for real (or probability) targets."""
        if HEADS[self.head].target_kind is TargetKind.CLASS:
            return float(np.mean(np.argmax(outputs, axis=-1) != targets))
        return float(np.mean((outputs - targets) ** 2))

    def solved(self, error: float) -> bool:
        return error < self.threshold


@dataclass(frozen=True)
class AddingProblem(Task):
    """The adding problem of length ``T``; solved when the MSE is below ``fraction`` of the baseline."""

    T: int = 100
    fraction: float = 0.1
    name = "adding"
    head = "linear"
    loss_at = "last"
    D = 2
    K = 1
    baseline = ADDING_BASELINE

    def __post_init__(self) -> None:
        _length("T", self.T, 2)
        if not (isinstance(self.fraction, (int, float)) and 0 < self.fraction < 1):
            raise ValueError(f"fraction must be a number in (0, 1), got {self.fraction!r}")

    @property
    def threshold(self) -> float:
        return self.fraction * self.baseline

    def batch(self, rng: np.random.Generator, N: int) -> tuple[np.ndarray, np.ndarray]:
        N = _length("N", N, 1)
        values = rng.uniform(0.0, 1.0, size=(self.T, N))
        half = self.T // 2
        first = rng.integers(0, half, size=N)
        second = rng.integers(half, self.T, size=N)
        markers = np.zeros((self.T, N))
        columns = np.arange(N)
        markers[first, columns] = markers[second, columns] = 1.0
        xs = np.stack([values, markers], axis=-1)
        targets = (values[first, columns] + values[second, columns])[:, None]
        return xs, targets


@dataclass(frozen=True)
class CopyTask(Task):
    """Recall ``symbols`` symbols out of ``alphabet`` after ``delay`` blanks. Inputs and outputs are
    one-hot over ``alphabet + 2`` classes: the symbols 0..alphabet−1, the blank, the delimiter. The
    sequence has T = 2·symbols + delay + 1 steps."""

    delay: int = 10
    symbols: int = 3
    alphabet: int = 4
    name = "copy"
    head = "softmax"
    loss_at = "every"
    threshold = 0.01

    def __post_init__(self) -> None:
        _length("delay", self.delay, 0)
        _length("symbols", self.symbols, 1)
        _length("alphabet", self.alphabet, 2)

    @property
    def T(self) -> int:
        return 2 * self.symbols + self.delay + 1

    @property
    def D(self) -> int:
        return self.alphabet + 2

    @property
    def K(self) -> int:
        return self.alphabet + 2

    @property
    def baseline(self) -> float:
        """The error of guessing at the recall steps: 1 − 1/alphabet."""
        return 1.0 - 1.0 / self.alphabet

    def batch(self, rng: np.random.Generator, N: int) -> tuple[np.ndarray, np.ndarray]:
        N = _length("N", N, 1)
        blank, delimiter, k = self.alphabet, self.alphabet + 1, self.symbols
        sequence = rng.integers(0, self.alphabet, size=(k, N))
        inputs = np.full((self.T, N), blank)
        inputs[:k] = sequence
        inputs[k + self.delay] = delimiter
        targets = np.full((self.T, N), blank)
        targets[-k:] = sequence
        xs = np.eye(self.D)[inputs]
        return xs, targets

    def error_of(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        """The fraction of recalled symbols predicted wrong (the blanks before them are not counted)."""
        k = self.symbols
        return float(np.mean(np.argmax(outputs[-k:], axis=-1) != targets[-k:]))


@dataclass(frozen=True)
class CharacterModel(Task):
    """Next-character prediction on one text: reads ``text[:-1]`` one-hot over ``vocabulary`` and
    predicts ``text[1:]`` at every step. The course's example is ``"hello"`` over (h, e, l, o)."""

    text: str = "hello"
    vocabulary: tuple[str, ...] = ("h", "e", "l", "o")
    name = "hello"
    head = "softmax"
    loss_at = "every"
    threshold = 1e-9  # every prediction right

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or len(self.text) < 2:
            raise ValueError(f"text must be a string of at least two characters, got {self.text!r}")
        unknown = sorted(set(self.text) - set(self.vocabulary))
        if unknown:
            raise ValueError(f"text has characters outside the vocabulary {self.vocabulary}: {unknown}")

    @property
    def T(self) -> int:
        return len(self.text) - 1

    @property
    def D(self) -> int:
        return len(self.vocabulary)

    @property
    def K(self) -> int:
        return len(self.vocabulary)

    @property
    def baseline(self) -> float:
        return 1.0 - 1.0 / len(self.vocabulary)

    def indices(self, text: str) -> np.ndarray:
        return np.array([self.vocabulary.index(ch) for ch in text])

    def batch(self, rng: np.random.Generator, N: int = 1) -> tuple[np.ndarray, np.ndarray]:  # noqa: ARG002 (Task protocol)
        """The text itself, ``N`` times (the generator is not used: there is one sequence)."""
        N = _length("N", N, 1)
        inputs, targets = self.indices(self.text[:-1]), self.indices(self.text[1:])
        xs = np.repeat(np.eye(self.D)[inputs][:, None], N, axis=1)
        return xs, np.repeat(targets[:, None], N, axis=1)

    def evaluation_batch(self, N: int = 1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:  # noqa: ARG002 (Task protocol)
        return self.batch(np.random.default_rng(seed), 1)

    def predict(self, engine: Engine, params: dict, text: str | None = None) -> str:
        """The argmax character at every step, reading ``text`` (default: the text without its last)."""
        text = self.text[:-1] if text is None else text
        xs = np.eye(self.D)[self.indices(text)][:, None]
        y = engine.forward(params, xs).y
        return "".join(self.vocabulary[i] for i in np.argmax(y[:, 0], axis=-1))
