"""bpttlab.numeric: the NumPy engine lambdified from :mod:`derivations`, and its verification."""

from .engine import Engine, ForwardResult, build_engine

__all__ = ["Engine", "ForwardResult", "build_engine"]
