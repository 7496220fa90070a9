"""``at_step``: an equation of step t, written at a concrete step or under another index letter.

The derivations write one generic step: ``h_t``, ``h_{t-1}``, ``a_{f,t}``, the gradient carried back
from the next step ``δh_t^{(t+1)}``. The chain rule for a short sequence (∂h_3/∂h_2 · ∂h_2/∂h_1) and
the sums Σ_j need the same expressions at step 3 or at step j. The grammar and the shift live in
:mod:`bpttlab.derivations.names`; this module re-exports them for the printers.

>>> from sympy import MatrixSymbol
>>> h, h_prev, W = MatrixSymbol("h_t", 3, 1), MatrixSymbol("h_{t-1}", 3, 1), MatrixSymbol("W_hh", 3, 3)
>>> at_step(W * h_prev + h, 3)
W_hh*h_2 + h_3
"""

from bpttlab.derivations.names import RUNNING, at_step, shift_name

__all__ = ["RUNNING", "at_step", "shift_name"]
