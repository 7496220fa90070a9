"""PyTorch is optional: whether it is installed, and the one sentence that says how to get it.

>>> INSTALL_TORCH
"pip install 'bpttlab[torch]'"
>>> isinstance(torch_available(), bool)
True
"""

from __future__ import annotations

from functools import cache

__all__ = ["INSTALL_TORCH", "require_torch", "torch_available", "torch_missing"]

INSTALL_TORCH = "pip install 'bpttlab[torch]'"


@cache
def torch_available() -> bool:
    """Whether ``import torch`` works here (imported once, on the first call)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def torch_missing(what: str) -> str:
    """One sentence: ``what`` needs PyTorch, which is not installed, and how to install it."""
    return f"{what} needs PyTorch, which is not installed: {INSTALL_TORCH}"


def require_torch(what: str) -> None:
    """Raise ``ModuleNotFoundError`` with :func:`torch_missing`'s sentence where torch is missing."""
    if not torch_available():
        raise ModuleNotFoundError(torch_missing(what), name="torch")
