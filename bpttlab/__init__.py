"""bpttlab: backpropagation through time, derived and proven with SymPy, lambdified into NumPy,
verified against PyTorch, and printed as equation sheets.

Three subpackages, imported one way (each uses only those before it):

- :mod:`bpttlab.derivations`: cells as SymPy matrix expressions, the reverse pass, proofs, printers;
- :mod:`bpttlab.numeric`: the NumPy engine, gradient verification, the gradient-decay analysis;
- :mod:`bpttlab.reports`: equation sheets, figures, REPORT.md, benchmarks and the command line.

>>> import bpttlab
>>> bpttlab.__version__ != ""
True
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bpttlab")
except PackageNotFoundError:  # imported from a checkout that was never installed
    __version__ = "unknown"

__all__ = ["__version__"]
