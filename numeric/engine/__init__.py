"""The engine: the derived equations of :mod:`bpttlab.derivations`, lambdified and run over whole
sequences and batches, on a backend (NumPy, the reference, or JAX), behind one interface."""

from bpttlab.numeric.engine.build import BACKENDS, Backend, build_engine
from bpttlab.numeric.engine.core import NumpyEngine
from bpttlab.numeric.engine.phases import PHASES
from bpttlab.numeric.engine.protocol import Engine, ForwardResult

__all__ = ["BACKENDS", "PHASES", "Backend", "Engine", "ForwardResult", "NumpyEngine", "build_engine"]
