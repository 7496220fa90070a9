"""Training on the engine's gradients: SGD with momentum and Adam, global-norm clipping, truncated
BPTT, mini-batches, and tasks with long-range dependencies (the adding problem, the copy task, the
course's "hello"); many independent runs at once (:func:`train_many`: one vmapped, jitted program on
the JAX backend)."""

from bpttlab.numeric.training.batched import Run, train_many
from bpttlab.numeric.training.clipping import clip_global_norm, global_norm
from bpttlab.numeric.training.loop import TrainResult, gradients, initial_params, train
from bpttlab.numeric.training.optimizers import SGD, Adam, OptimizerState
from bpttlab.numeric.training.tasks import ADDING_BASELINE, AddingProblem, CharacterModel, CopyTask, Task

__all__ = [
    "ADDING_BASELINE",
    "SGD",
    "Adam",
    "AddingProblem",
    "CharacterModel",
    "CopyTask",
    "OptimizerState",
    "Run",
    "Task",
    "TrainResult",
    "clip_global_norm",
    "global_norm",
    "gradients",
    "initial_params",
    "train",
    "train_many",
]
