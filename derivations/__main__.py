"""``python -m derivations [cell] [head]``: print a cell's derived equations and prove them."""

from __future__ import annotations

import sys

import sympy as sp

from .derive import CELLS, HEADS, derive
from .prove import prove


def main(argv: list[str]) -> int:
    cell_name = argv[0] if argv else "rnn"
    head_name = argv[1] if len(argv) > 1 else "softmax"
    if cell_name not in CELLS or head_name not in HEADS:
        print(f"usage: python -m derivations [{'|'.join(CELLS)}] [{'|'.join(HEADS)}]", file=sys.stderr)
        return 2
    d = derive(cell_name, head_name)
    for title, equations in (("forward", d.forward), ("backward", d.backward)):
        print(f"{title}:")
        for eq in equations:
            print(f"  {sp.sstr(eq.lhs)} = {sp.sstr(eq.rhs)}")
    for (new, prev), jacobian in d.jacobian.items():
        print(f"∂{new}/∂{prev} = {sp.sstr(jacobian)}")
    proof = prove(cell_name, head_name, kind=("step",))
    print(proof)
    return 0 if proof.passed else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
