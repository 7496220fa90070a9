"""Training on the engine's gradients: SGD with momentum and Adam, global-norm clipping, truncated
BPTT, mini-batches, and tasks with long-range dependencies (the adding problem, the copy task, the
course's "hello")."""

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
    "Task",
    "TrainResult",
    "clip_global_norm",
    "global_norm",
    "gradients",
    "initial_params",
    "train",
]
