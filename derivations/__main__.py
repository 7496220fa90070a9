"""``python -m derivations [cell] [head]``: print a cell's derived equations and prove them."""

from __future__ import annotations

import sys

from .derive import CELLS, HEADS, derive
from .prove import prove
from .text import equation_lines


def main(argv: list[str]) -> int:
    cell_name = argv[0] if argv else "rnn"
    head_name = argv[1] if len(argv) > 1 else "softmax"
    if cell_name not in CELLS or head_name not in HEADS:
        print(f"usage: python -m derivations [{'|'.join(CELLS)}] [{'|'.join(HEADS)}]", file=sys.stderr)
        return 2
    print("\n".join(equation_lines(derive(cell_name, head_name))))
    proof = prove(cell_name, head_name, kind=("step",))
    print(proof)
    return 0 if proof.passed else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
