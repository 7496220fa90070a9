"""``bpttlab verify`` and the ``verify_gradients`` console script: options, a progress bar, and the
results as a table or JSON. What is compared, and how, is :mod:`bpttlab.numeric.verify`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict

from tqdm import tqdm

from bpttlab.derivations import CELLS, HEADS, LOSS_AT
from bpttlab.numeric.verify import CHECKS, INSTALL_TORCH, Comparison, skipped_checks, verify_gradients
from bpttlab.reports.cli.arguments import CELL_HELP, cell_argument, check_run_memory, integer_at_least

__all__ = ["build_parser", "format_table", "main", "results_json", "run", "skip_note"]


def jobs_count(args: argparse.Namespace) -> int:
    """How many cell × head × placement combinations ``args`` asks for."""
    return len(args.cells) * len(args.heads) * len(args.loss_at)


def format_table(results: list[Comparison]) -> str:
    """The results as a table, a row per comparison (``in``: the quantity of the largest relative
    error), and a closing count."""
    width = max([2, *(len(r.quantity or "") for r in results)])
    header = (f"{'cell':<10} {'head':<8} {'loss at':<7} {'check':<19} {'max abs':>9} {'max rel':>9} "
              f"{'in':<{width}} {'bar':>7}  result")
    lines = [header, "-" * len(header)]
    for r in results:
        errors = f"{'—':>9} {'—':>9}" if r.max_rel is None else f"{r.max_abs:9.1e} {r.max_rel:9.1e}"
        result = {"passed": "yes", "failed": "NO", "skipped": "skipped"}[r.status]
        quantity = r.quantity or "—"
        lines.append(f"{r.cell:<10} {r.head:<8} {r.loss_at:<7} {r.check:<19} {errors} {quantity:<{width}} "
                     f"{r.bar:7.0e}  {result}")
    count = {status: sum(r.status == status for r in results) for status in ("passed", "failed", "skipped")}
    closing = f"{count['passed']} passed, {count['failed']} failed"
    lines.append(closing + (f", {count['skipped']} skipped" if count["skipped"] else ""))
    return "\n".join(lines)


def skip_note(results: list[Comparison]) -> str | None:
    """One line naming the skipped checks and how to get them, or None where nothing was skipped."""
    skipped = skipped_checks(results)
    if not skipped:
        return None
    names = " and ".join(skipped)
    return f"PyTorch is not installed: skipped the {names} checks (to run them: {INSTALL_TORCH})"


def results_json(results: list[Comparison]) -> str:
    """The results as a JSON list; ``quantity`` names the quantity of the largest relative error; a
    skipped check has ``"status": "skipped"`` and null errors."""
    return json.dumps([{**asdict(r), "status": r.status, "passed": r.passed} for r in results], indent=2)


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(
        prog="verify_gradients",
        description="Check the engine's gradients against finite differences and PyTorch.",
        epilog="example: verify_gradients --cells lstm gru_torch --heads softmax --json")
    parser.add_argument("--cells", nargs="+", type=cell_argument, default=list(CELLS), help=CELL_HELP)
    parser.add_argument("--heads", nargs="+", choices=list(HEADS), default=list(HEADS))
    parser.add_argument("--loss-at", nargs="+", choices=list(LOSS_AT), default=list(LOSS_AT))
    for size, default in (("T", 4), ("N", 3), ("D", 3), ("H", 4), ("K", 3)):
        parser.add_argument(f"--{size}", type=integer_at_least(1, "a size"), default=default,
                            help=f"default {default}")
    parser.add_argument("--seed", type=integer_at_least(0, "a seed"), default=0)
    parser.add_argument("--checks", nargs="+", choices=[c.replace(" ", "-") for c in CHECKS], default=None,
                        help="which comparisons to run (default: all; without PyTorch its two are skipped, "
                             "and naming one of them is an error)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    return parser


def run(args: argparse.Namespace) -> int:
    runs = [(cell, head, at) for cell in args.cells for head in args.heads for at in args.loss_at]
    check_run_memory(runs, "verification", T=args.T, N=args.N, D=args.D, H=args.H, K=args.K)
    started = time.perf_counter()
    with tqdm(total=jobs_count(args), desc="verify", unit="case", disable=args.json or None,
              leave=False) as bar:
        def advance(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update()

        checks = None if args.checks is None else tuple(c.replace("-", " ") for c in args.checks)
        results = verify_gradients(tuple(args.cells), tuple(args.heads), tuple(args.loss_at), args.T,
                                   args.N, args.D, args.H, args.K, args.seed, progress=advance,
                                   checks=checks)
    note = skip_note(results)
    if note:
        print(note, file=sys.stderr)
    if args.json:
        print(results_json(results))
    else:
        print(format_table(results))
        print(f"in {time.perf_counter() - started:.1f} s")
    return 1 if any(r.failed for r in results) else 0


def main(argv: list[str] | None = None) -> int:
    """The ``verify_gradients`` console script: ``bpttlab verify`` under its own name."""
    from bpttlab.reports.cli.app import run_guarded

    parser = build_parser()
    parser.set_defaults(run=run)
    return run_guarded(parser, parser.parse_args(argv), "verify_gradients")


if __name__ == "__main__":
    raise SystemExit(main())
