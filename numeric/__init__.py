"""bpttlab.numeric: the NumPy engine lambdified from :mod:`bpttlab.derivations`, its verification, and
the gradient-decay analysis (norms of ∂L/∂h_k and of products of step Jacobians)."""

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
from bpttlab.numeric.verify import Comparison, Verification, verify_gradients

__all__ = [
    "Comparison",
    "DecayFit",
    "DecayStudy",
    "Engine",
    "ForwardResult",
    "JacobianNorms",
    "Verification",
    "bound_margin",
    "build_engine",
    "decay_params",
    "decay_study",
    "fit_decay",
    "gradient_norms",
    "jacobian_products",
    "largest_singular_value",
    "scale_recurrent_weight",
    "spaced_steps",
    "spectral_radius",
    "verify_gradients",
]
