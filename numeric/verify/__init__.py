"""Are the engine's gradients right? Finite differences, PyTorch autograd and PyTorch's ``nn`` modules."""

from bpttlab.numeric.verify.gradients import (
    BARS,
    CHECK_TABLE,
    CHECKS,
    TORCH_CHECKS,
    Check,
    Comparison,
    Verification,
    skipped_checks,
    verify_gradients,
)
from bpttlab.numeric.verify.optional import INSTALL_TORCH, require_torch, torch_available, torch_missing

__all__ = [
    "BARS",
    "CHECKS",
    "CHECK_TABLE",
    "INSTALL_TORCH",
    "TORCH_CHECKS",
    "Check",
    "Comparison",
    "Verification",
    "require_torch",
    "skipped_checks",
    "torch_available",
    "torch_missing",
    "verify_gradients",
]
