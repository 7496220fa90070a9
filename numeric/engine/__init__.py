"""The NumPy engine: the derived equations of :mod:`bpttlab.derivations`, lambdified."""

from bpttlab.numeric.engine.core import Engine, ForwardResult, build_engine

__all__ = ["Engine", "ForwardResult", "build_engine"]
