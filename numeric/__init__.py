"""bpttlab.numeric: the NumPy engine lambdified from :mod:`bpttlab.derivations`, its verification, the
gradient-decay analysis (norms of ∂L/∂h_k and of products of step Jacobians), and training on the
engine's gradients (SGD, Adam, clipping, truncated BPTT, long-dependency tasks)."""

from bpttlab.numeric.decay import (
    DecayFit,
    DecayStudy,
    JacobianNorms,
    bound_margin,
    decay_params,
    decay_study,
    fit_decay,
    gradient_norms,
    jacobian_products,
    largest_singular_value,
    scale_recurrent_weight,
    spaced_steps,
    spectral_radius,
)
from bpttlab.numeric.engine import Engine, ForwardResult, build_engine
from bpttlab.numeric.training import (
    SGD,
    Adam,
    AddingProblem,
    CharacterModel,
    CopyTask,
    TrainResult,
    clip_global_norm,
    global_norm,
    train,
)
from bpttlab.numeric.verify import Comparison, Verification, verify_gradients

__all__ = [
    "SGD",
    "Adam",
    "AddingProblem",
    "CharacterModel",
    "Comparison",
    "CopyTask",
    "DecayFit",
    "DecayStudy",
    "Engine",
    "ForwardResult",
    "JacobianNorms",
    "TrainResult",
    "Verification",
    "bound_margin",
    "build_engine",
    "clip_global_norm",
    "decay_params",
    "decay_study",
    "fit_decay",
    "global_norm",
    "gradient_norms",
    "jacobian_products",
    "largest_singular_value",
    "scale_recurrent_weight",
    "spaced_steps",
    "spectral_radius",
    "train",
    "verify_gradients",
]
