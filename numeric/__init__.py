"""bpttlab.numeric: the NumPy engine lambdified from :mod:`derivations`, its verification, and the
gradient-decay analysis (norms of ∂L/∂h_k and of products of step Jacobians)."""

from .decay import DecayFit, bound_margin, fit_decay, gradient_norms
from .engine import Engine, ForwardResult, build_engine
from .initialisation import decay_params, largest_singular_value, scale_recurrent_weight, spectral_radius
from .jacobian_products import JacobianNorms, jacobian_products, spaced_steps

__all__ = [
    "DecayFit",
    "Engine",
    "ForwardResult",
    "JacobianNorms",
    "bound_margin",
    "build_engine",
    "decay_params",
    "fit_decay",
    "gradient_norms",
    "jacobian_products",
    "largest_singular_value",
    "scale_recurrent_weight",
    "spaced_steps",
    "spectral_radius",
]
