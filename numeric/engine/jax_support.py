"""JAX is optional: whether it is installed, the one sentence that says how to get it, and float64.

JAX computes in float64 only with ``jax_enable_x64`` set; without it float64 arrays silently become
float32. The JAX backend sets it when it is built (:func:`enable_float64`) and refuses a float64 call
if it has been switched off since (:func:`check_float64`): it never computes float32 in place of the
float64 asked for.

>>> INSTALL_JAX
"pip install 'bpttlab[jax]'"
>>> isinstance(jax_available(), bool)
True
"""

from __future__ import annotations

from functools import cache

import numpy as np

__all__ = ["INSTALL_JAX", "check_float64", "enable_float64", "jax_available", "jax_missing", "require_jax"]

INSTALL_JAX = "pip install 'bpttlab[jax]'"


@cache
def jax_available() -> bool:
    """Whether ``import jax`` works here (imported once, on the first call)."""
    try:
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


def jax_missing(what: str) -> str:
    """One sentence: ``what`` needs JAX, which is not installed, and how to install it."""
    return f"{what} needs JAX, which is not installed: {INSTALL_JAX}"


def require_jax(what: str) -> None:
    """Raise ``ModuleNotFoundError`` with :func:`jax_missing`'s sentence where JAX is missing."""
    if not jax_available():
        raise ModuleNotFoundError(jax_missing(what), name="jax")


def enable_float64() -> None:
    """Let JAX compute in float64 (``jax_enable_x64``). Arrays the engine makes are typed explicitly,
    so float32 calls stay float32."""
    import jax

    if not jax.config.jax_enable_x64:
        jax.config.update("jax_enable_x64", True)


def check_float64(dtype: np.dtype) -> None:
    """Refuse a float64 computation while ``jax_enable_x64`` is off (JAX would compute float32)."""
    import jax

    if dtype == np.float64 and not jax.config.jax_enable_x64:
        raise ValueError("float64 on the JAX backend needs jax_enable_x64, which is off: call "
                         "jax.config.update('jax_enable_x64', True) or pass float32 arrays")
