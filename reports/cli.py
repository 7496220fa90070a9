"""The ``bpttlab`` command line: ``derive``, ``prove``, ``verify``, ``bench``.

Misuse exits with status 2 and a one-line message (argparse's behaviour); a failed proof or check
exits with status 1.
"""

from __future__ import annotations

import argparse
import sys

import sympy as sp

from derivations import CELLS, HEADS, LOSS_AT, derive, prove
from derivations.text import equation_lines
from numeric import verify

__all__ = ["main"]


def _derive(args: argparse.Namespace) -> int:
    d = derive(args.cell, args.head, args.loss_at)
    print("\n".join(equation_lines(d, sp.latex if args.latex else sp.sstr)))
    return 0


def _prove(args: argparse.Namespace) -> int:
    ok = True
    for cell in args.cells:
        proof = prove(cell, args.head, args.loss_at, kind=tuple(args.kind))
        print(proof)
        ok &= proof.passed
    return 0 if ok else 1


def _bench(args: argparse.Namespace) -> int:
    from derivations.benchmark import bench_derive
    from numeric.benchmark import format_rows, run_benchmark

    print(f"derive, all 24 combinations, cold: {bench_derive():.2f} s")
    sizes = ("tiny", "mid") if args.quick else ("tiny", "mid", "large")
    print(format_rows(run_benchmark(tuple(args.cells), sizes, repeats=args.repeats)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bpttlab",
                                     description="Derive, prove and verify BPTT for RNN, LSTM, GRU.")
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("bpttlab")
    except PackageNotFoundError:  # running from a checkout
        installed = "unknown"
    parser.add_argument("--version", action="version", version=f"bpttlab {installed}")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("derive", help="print a cell's equations",
                            epilog="example: bpttlab derive lstm --latex")
    p.add_argument("cell", choices=list(CELLS))
    p.add_argument("--head", choices=list(HEADS), default="softmax")
    p.add_argument("--loss-at", choices=list(LOSS_AT), default="every")
    p.add_argument("--latex", action="store_true", help="LaTeX instead of plain text")
    p.set_defaults(run=_derive)

    p = commands.add_parser("prove", help="prove the derivations exact",
                            epilog="example: bpttlab prove --cells gru")
    p.add_argument("--cells", nargs="+", choices=list(CELLS), default=list(CELLS))
    p.add_argument("--head", choices=list(HEADS), default="softmax")
    p.add_argument("--loss-at", choices=list(LOSS_AT), default="every")
    p.add_argument("--kind", nargs="+", choices=["step", "bptt"], default=["step"])
    p.set_defaults(run=_prove)

    p = commands.add_parser("verify", help="check the engine against PyTorch and finite differences",
                            epilog="example: bpttlab verify --cells lstm --json")
    verify.build_parser(p)
    p.set_defaults(run=verify.run)

    p = commands.add_parser("bench", help="time the engine against PyTorch",
                            epilog="example: bpttlab bench --quick")
    p.add_argument("--quick", action="store_true", help="skip the large size")
    p.add_argument("--cells", nargs="+", choices=list(CELLS), default=list(CELLS))
    p.add_argument("--repeats", type=int, default=5)
    p.set_defaults(run=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head or less, which closed early
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
