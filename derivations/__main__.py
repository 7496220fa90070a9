"""``python -m bpttlab.derivations [cell] [head]``: print a cell's derived equations and prove them."""

from __future__ import annotations

import sys

from bpttlab.derivations.derivation import CELLS, HEADS, derive
from bpttlab.derivations.printing.text_printer import equation_lines
from bpttlab.derivations.proof import prove


def main(argv: list[str]) -> int:
    cell_name = argv[0] if argv else "rnn"
    head_name = argv[1] if len(argv) > 1 else "softmax"
    if cell_name not in CELLS or head_name not in HEADS:
        usage = f"usage: python -m bpttlab.derivations [{'|'.join(CELLS)}] [{'|'.join(HEADS)}]"
        print(usage, file=sys.stderr)
        return 2
    print("\n".join(equation_lines(derive(cell_name, head_name))))
    proof = prove(cell_name, head_name, kind=("step",))
    print(proof)
    return 0 if proof.passed else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
