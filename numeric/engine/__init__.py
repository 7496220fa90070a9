"""The NumPy engine: the derived equations of :mod:`bpttlab.derivations`, lambdified."""

from bpttlab.numeric.engine.core import Engine, ForwardResult, build_engine
from bpttlab.numeric.engine.phases import PHASES

__all__ = ["PHASES", "Engine", "ForwardResult", "build_engine"]
