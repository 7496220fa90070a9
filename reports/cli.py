"""The ``bpttlab`` command line: ``derive``, ``prove``, ``verify``, ``sheet``, ``decay``, ``bench``
and ``all``.

Misuse exits with status 2 and a one-line message (argparse's behaviour, and the same for bad values
found later); a failed proof or check, or an output that cannot be written, exits with status 1 and
one line saying why. Ctrl-C exits with 130 and leaves no partial files (every file is written to a
temporary name and renamed).
"""

from __future__ import annotations

import argparse
import sys
from functools import partial

import sympy as sp

from derivations import CELLS, HEADS, LOSS_AT, derive, prove
from derivations.text import equation_lines
from numeric import verify

from . import decay_command, main_job, sheet_command
from .latex_printer import gates, latex
from .notation import NOTATIONS

__all__ = ["build_parser", "main"]


def _derive(args: argparse.Namespace) -> int:
    d = derive(args.cell, args.head, args.loss_at)
    show = partial(latex, notation=args.notation, gates=gates(d.cell)) if args.latex else sp.sstr
    print("\n".join(equation_lines(d, show)))
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
    from numeric.decay_benchmark import decay_benchmark, format_decay_rows

    from .sheet_benchmark import format_sheet_timings, time_sheets

    print(f"derive, all 24 combinations, cold: {bench_derive():.2f} s")
    sizes = ("tiny", "mid") if args.quick else ("tiny", "mid", "large")
    print(format_rows(run_benchmark(tuple(args.cells), sizes, repeats=args.repeats)))
    print()
    print("gradient-decay analysis (÷torch: PyTorch autograd with retain_grad on the states):")
    decay_cells = tuple(c for c in args.cells if c != "gru_torch") or ("rnn",)
    print(format_decay_rows(decay_benchmark(cells=decay_cells, every_step=not args.quick)))
    print()
    print("equation sheets (no PyTorch equivalent):")
    print(format_sheet_timings(time_sheets(pdf=not args.quick)))
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
    p.add_argument("--latex", action="store_true",
                   help="LaTeX, as on the equation sheets, instead of plain text")
    p.add_argument("--notation", choices=list(NOTATIONS), default="course",
                   help="for --latex (default: course)")
    p.set_defaults(run=_derive)

    p = commands.add_parser("prove", help="prove the derivations exact",
                            epilog="example: bpttlab prove --cells gru")
    p.add_argument("--cells", nargs="+", choices=list(CELLS), default=list(CELLS))
    p.add_argument("--head", choices=list(HEADS), default="softmax")
    p.add_argument("--loss-at", choices=list(LOSS_AT), default="every")
    p.add_argument("--kind", nargs="+", choices=["step", "bptt"], default=["step"])
    p.set_defaults(run=_prove)

    modules = (
        ("verify", "check the engine against PyTorch and finite differences",
         "bpttlab verify --cells lstm --json", verify),
        ("sheet", "write the LaTeX equation sheets (and PDFs)",
         "bpttlab sheet --cell lstm --lang id --out build/sheets", sheet_command),
        ("decay", "plot how gradients vanish or explode across time steps",
         "bpttlab decay --T 100 --out build/decay --lang id", decay_command),
        ("all", "proofs, verification, sheets, decay plots and REPORT.md",
         "bpttlab all --out build/", main_job),
    )
    for name, summary, example, module in modules:  # each module brings its options and its run()
        p = commands.add_parser(name, help=summary, epilog=f"example: {example}")
        module.build_parser(p)
        p.set_defaults(run=module.run)

    p = commands.add_parser("bench", help="time the engine against PyTorch",
                            epilog="example: bpttlab bench --quick")
    p.add_argument("--quick", action="store_true", help="skip the large size")
    p.add_argument("--cells", nargs="+", choices=list(CELLS), default=list(CELLS))
    p.add_argument("--repeats", type=int, default=5)
    p.set_defaults(run=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # output piped into head or less, which closed early
        sys.stderr.close()
        return 0
    except ValueError as error:  # a bad value only the library could judge: misuse, one line
        parser.exit(2, f"bpttlab {args.command}: error: {error}\n")
    except OSError as error:  # an output that cannot be written, a missing tool
        print(f"bpttlab {args.command}: {error.strerror or error}: {error.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
