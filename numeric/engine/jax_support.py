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

import os
from functools import cache
from pathlib import Path

import numpy as np

__all__ = [
    "INSTALL_JAX",
    "check_float64",
    "compilation_cache",
    "enable_float64",
    "jax_available",
    "jax_missing",
    "require_jax",
]

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


def compilation_cache() -> Path:
    """Keep JAX's compiled programs on disk (JAX's persistent compilation cache), so that a later
    process with the same shapes loads them instead of compiling: ``$XDG_CACHE_HOME/bpttlab/jax``
    (``~/.cache/bpttlab/jax``), or ``$BPTTLAB_JAX_CACHE``. The command line uses it for the learning
    study; the benchmarks do not (they time the compilation). Returns the folder."""
    import jax

    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bpttlab" / "jax"
    folder = Path(os.environ.get("BPTTLAB_JAX_CACHE") or default)
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return folder
