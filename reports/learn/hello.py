"""The course's "hello" model trained on the engine: the loss at every step and the first step from
which the argmax reads "ello" from "hell" — the training curve of the sheet's worked example."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpttlab.numeric.engine import build_engine
from bpttlab.numeric.training import Adam, CharacterModel, initial_params, train

__all__ = ["HelloCurve", "hello_curve"]


@dataclass(frozen=True, eq=False)
class HelloCurve:
    """``losses`` per step (the summed cross-entropy over the four steps); ``ello_at`` the step from
    which the argmax predicts "ello" after every step to the end (None if it does not at the end);
    ``predicted`` at the end."""

    cell: str
    H: int
    seed: int
    lr: float
    losses: np.ndarray
    ello_at: int | None
    predicted: str


def hello_curve(cell: str = "rnn", H: int = 3, seed: int = 0, lr: float = 0.05, steps: int = 150
                ) -> HelloCurve:
    """Train ``cell`` on "hello" for ``steps`` Adam steps (not stopping when solved, so the curve
    shows the loss falling on). The defaults are the sheet's worked example: the Elman RNN with
    H = 3 and the engine's initialisation from seed 0, so the curve starts at its numbers."""
    task = CharacterModel()
    engine = build_engine(cell, task.head, task.loss_at)
    result = train(engine, initial_params(engine, task, H, seed), task, Adam(lr=lr), steps, batch_size=1,
                   seed=seed, eval_every=1, stop_when_solved=False)
    wrong = [step for step, error in result.evaluations if not task.solved(error)]
    last_wrong = wrong[-1] if wrong else 0
    ello_at = last_wrong + 1 if last_wrong < result.steps else None  # right at every step from here on
    predicted = task.predict(engine, result.params)
    return HelloCurve(engine.cell.name, H, seed, lr, result.losses, ello_at, predicted)
