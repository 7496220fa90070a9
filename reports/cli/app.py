"""The ``bpttlab`` command line: ``derive``, ``prove``, ``verify``, ``sheet``, ``decay``, ``learn``,
``bench`` and ``all``.

Misuse exits with status 2 and a one-line message (argparse's behaviour, and the same for bad values
found later); a failed proof or check, or an output that cannot be written, exits with status 1 and
one line saying why; a failure inside bpttlab or a library it calls (a bug, never the user's input)
exits with status 3 and one line asking for a report (``BPTTLAB_TRACEBACK=1`` shows the traceback).
Ctrl-C exits with 130 and leaves no partial files (every file is written to a temporary name and
renamed).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import traceback
from functools import partial
from pathlib import Path

from bpttlab import __version__
from bpttlab.derivations import CELLS, HEADS, LOSS_AT, derive, prove
from bpttlab.derivations.cells import BUILT_IN
from bpttlab.derivations.printing import NOTATIONS, equation_lines, gates, latex, text
from bpttlab.numeric.engine import BACKENDS
from bpttlab.numeric.verify import INSTALL_TORCH, torch_available
from bpttlab.reports.cli import decay as decay_command
from bpttlab.reports.cli import learn as learn_command
from bpttlab.reports.cli import main_job, verify
from bpttlab.reports.cli import sheet as sheet_command
from bpttlab.reports.cli.arguments import CELL_HELP, cell_argument, integer_at_least

__all__ = ["INTERNAL_ERROR", "build_parser", "main", "raised_by_bpttlab", "run_guarded"]


def _derive(args: argparse.Namespace) -> int:
    d = derive(args.cell, args.head, args.loss_at)
    show = partial(latex, notation=args.notation, gates=gates(d.cell)) if args.latex else text
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
    from bpttlab.reports.benchmarks.engine import limited_threads

    if args.backend is None:
        args.backend = [name for name, backend in BACKENDS.items() if backend.available()]
    for backend in args.backend:
        BACKENDS[backend].require(f"--backend {backend}")
    with limited_threads(args.threads) as threads:
        print(threads)
        _bench_sections(args)
    return 0


def _bench_sections(args: argparse.Namespace) -> None:
    from bpttlab.reports.benchmarks.decay import decay_benchmark, format_decay_rows
    from bpttlab.reports.benchmarks.derive import bench_derive, bench_variants, format_variant_timings
    from bpttlab.reports.benchmarks.engine import (
        blas_kernel,
        format_rows,
        goal_lines,
        jax_device,
        run_benchmark,
    )
    from bpttlab.reports.benchmarks.phases import format_phase_rows, phase_breakdown
    from bpttlab.reports.benchmarks.sheets import format_sheet_timings, time_sheets

    print(f"NumPy's BLAS: {blas_kernel()}")
    if "jax" in args.backend:
        print(jax_device())
    if not torch_available():
        print(f"PyTorch is not installed, so its columns stay empty (to measure it: {INSTALL_TORCH})")
    else:
        import torch

        print(f"PyTorch {torch.__version__}: {torch.get_num_threads()} threads")
    print(f"derive, every built-in cell × head × placement, cold: {bench_derive():.2f} s")
    print(format_variant_timings(bench_variants()))
    print()
    sizes = ("small", "mid") if args.quick else ("tiny", "small", "mid", "large")
    rows = run_benchmark(tuple(args.cells), sizes, repeats=args.repeats, backends=tuple(args.backend))
    print(format_rows(rows))
    for line in goal_lines(rows):
        print(line)
    print()
    print("where the engine's time goes, phase by phase:")
    phase_sizes = tuple(size for size in sizes if size in ("mid", "large"))  # phases, not overhead
    print(format_phase_rows(phase_breakdown(tuple(args.cells), phase_sizes, repeats=args.repeats)))
    print()
    print("gradient-decay analysis (÷torch: PyTorch autograd with retain_grad on the states):")
    print(format_decay_rows(decay_benchmark(cells=tuple(args.cells), every_step=not args.quick)))
    print()
    print("equation sheets (no PyTorch equivalent):")
    print(format_sheet_timings(time_sheets(pdf=not args.quick)))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bpttlab",
                                     description="Derive, prove and verify BPTT for RNN, LSTM, GRU.")
    parser.add_argument("--version", action="version", version=f"bpttlab {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("derive", help="print a cell's equations",
                            epilog="example: bpttlab derive lstm --latex")
    p.add_argument("cell", type=cell_argument, help=CELL_HELP)
    p.add_argument("--head", choices=list(HEADS), default="softmax")
    p.add_argument("--loss-at", choices=list(LOSS_AT), default="every")
    p.add_argument("--latex", action="store_true",
                   help="LaTeX, as on the equation sheets, instead of plain text")
    p.add_argument("--notation", choices=list(NOTATIONS), default="course",
                   help="for --latex (default: course)")
    p.set_defaults(run=_derive)

    p = commands.add_parser("prove", help="prove the derivations exact",
                            epilog="example: bpttlab prove --cells gru")
    p.add_argument("--cells", nargs="+", type=cell_argument, default=list(CELLS), help=CELL_HELP)
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
        ("learn", "train every cell on the adding problem against T, beside its decay horizon",
         "bpttlab learn --quick --out build/learn", learn_command),
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
    p.add_argument("--cells", nargs="+", type=cell_argument, default=list(BUILT_IN),
                   help=f"{CELL_HELP} (default: the built-in {', '.join(BUILT_IN)})")
    p.add_argument("--repeats", type=integer_at_least(1, "timed calls for each median"), default=5)
    p.add_argument("--backend", nargs="+", choices=list(BACKENDS), default=None,
                   help="the engines timed, side by side (default: every backend installed)")
    p.add_argument("--threads", type=integer_at_least(1, "threads per library"), default=None,
                   help="threads for NumPy's BLAS, PyTorch and XLA each (default: each library's own); "
                        "1 is the fair comparison on a machine other work shares")
    p.set_defaults(run=_bench)
    return parser


#: The folders of bpttlab's own code: a ValueError raised there judged the user's input.
_OWN_CODE = tuple(str(Path(module.__file__).parent) for module in map(sys.modules.get, (
    "bpttlab", "bpttlab.derivations", "bpttlab.numeric", "bpttlab.reports")) if module is not None)
#: The exit status of a failure that is a bug, not a misuse.
INTERNAL_ERROR = 3


def raised_by_bpttlab(error: BaseException) -> bool:
    """Whether ``error`` was raised by bpttlab's own code (its checks of what it was given), rather
    than inside SymPy, NumPy or another library it calls."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and frames[-1].filename.startswith(_OWN_CODE)


def _internal_error(prog: str, error: BaseException) -> int:
    if os.environ.get("BPTTLAB_TRACEBACK"):
        traceback.print_exception(error)
    message = " ".join(str(error).split()) or "no message"
    print(f"{prog}: internal error ({type(error).__name__}: {message}); this is a bug in bpttlab "
          f"{__version__}: please report it with the command line (BPTTLAB_TRACEBACK=1 shows where)",
          file=sys.stderr)
    return INTERNAL_ERROR


def run_guarded(parser: argparse.ArgumentParser, args: argparse.Namespace, prog: str) -> int:
    """``args.run(args)``, with every expected failure as one line and its exit status."""
    try:
        return args.run(args)
    except BrokenPipeError:  # output piped into head or less, which closed early
        sys.stderr.close()
        return 0
    except ImportError as error:  # a missing extra
        parser.exit(2, f"{prog}: error: {error}\n")
    except ValueError as error:  # misuse only the library could judge, unless the library itself failed
        if not raised_by_bpttlab(error):
            return _internal_error(prog, error)
        message = " ".join(str(error).split())
        parser.exit(2, f"{prog}: error: {message}\n")
    except OSError as error:  # an output that cannot be written, a missing tool
        print(f"{prog}: {error.strerror or error}: {error.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # anything else is a bug: one line and exit status 3
        return _internal_error(prog, error)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.command_line = shlex.join(["bpttlab", *(sys.argv[1:] if argv is None else argv)])
    return run_guarded(parser, args, f"bpttlab {args.command}")


if __name__ == "__main__":
    raise SystemExit(main())
