"""How gradients vanish or explode across time steps: ‖∂L/∂h_k‖ from the engine's backward pass, norms
of products of the derived step Jacobians, controlled initialisation, the decay study, and the two
remedies measured: gradient clipping and truncated BPTT."""

from bpttlab.numeric.decay.clipping import ClipDemo, ClipRun, clipping_demo
from bpttlab.numeric.decay.initialisation import (
    decay_params,
    largest_singular_value,
    scale_recurrent_weight,
    spectral_radius,
)
from bpttlab.numeric.decay.norms import DecayFit, bound_margin, fit_decay, gradient_norms, log10_bound
from bpttlab.numeric.decay.products import JacobianNorms, jacobian_products, spaced_steps
from bpttlab.numeric.decay.study import DecayStudy, cell_curves, decay_study
from bpttlab.numeric.decay.truncation import TruncationCurve, TruncationStudy, truncation_study

__all__ = [
    "ClipDemo",
    "ClipRun",
    "DecayFit",
    "DecayStudy",
    "JacobianNorms",
    "TruncationCurve",
    "TruncationStudy",
    "bound_margin",
    "cell_curves",
    "clipping_demo",
    "decay_params",
    "decay_study",
    "fit_decay",
    "gradient_norms",
    "jacobian_products",
    "largest_singular_value",
    "log10_bound",
    "scale_recurrent_weight",
    "spaced_steps",
    "spectral_radius",
    "truncation_study",
]
