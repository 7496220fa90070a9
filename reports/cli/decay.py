"""``bpttlab decay``: how gradients vanish or explode going back in time, as figures and data.

Runs :func:`bpttlab.numeric.decay.study.decay_study`, writes its figures (PNG and PDF), ``decay.csv`` and
``decay.json`` into ``--out``, with the gradient-clipping demonstration and the truncated-BPTT study
(``clip.json``, ``trunc.json`` and the figures ``clip``, ``trunc``), prints what it wrote and each
curve's fitted decay, and exits 1 if Pascanu et al.'s bound ‖∂h_T/∂h_k‖₂ ≤ λ₁^{T−k} fails on any measured RNN.

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="decay")
>>> build_parser(parser)
>>> args = parser.parse_args(["--T", "50", "--radii", "0.5", "2"])
>>> args.T, args.radii, args.lang
(50, [0.5, 2.0], 'en')
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bpttlab.derivations import CELLS as CELLS_REGISTERED
from bpttlab.numeric.decay.study import CELLS, FORGET_BIASES, HEAD, RADII
from bpttlab.numeric.decay.study import D as INPUT_D
from bpttlab.numeric.decay.study import K as OUTPUT_K
from bpttlab.reports.cli.arguments import cell_argument, check_run_memory, integer_at_least, number_argument
from bpttlab.reports.decay.job import DecayResult, write_decay
from bpttlab.reports.decay.plots import LANGUAGES

__all__ = ["build_parser", "run"]


def build_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``bpttlab decay`` to ``parser``."""
    parser.add_argument("--T", type=integer_at_least(2, "a curve needs two steps"), default=100,
                        help="sequence length (default: 100)")
    parser.add_argument("--H", type=integer_at_least(1, "hidden units"), default=32,
                        help="hidden units (default: 32)")
    parser.add_argument("--seeds", type=integer_at_least(1, "at least one seed"), default=5,
                        help="number of seeds, 0..n-1, for the median and the band (default: 5)")
    parser.add_argument("--out", default="build/decay", help="output directory (default: build/decay)")
    parser.add_argument("--lang", choices=list(LANGUAGES), default="en",
                        help="language of the labels: en or id (default: en)")
    parser.add_argument("--radii", nargs="+", type=number_argument(positive=True), default=list(RADII),
                        help="spectral radii of the RNN's W_hh (default: 0.5 0.9 1 1.5 3)")
    parser.add_argument("--forget-biases", nargs="+", type=number_argument(positive=False),
                        default=list(FORGET_BIASES), help="forget-gate biases of the LSTM (default: 0 1 3)")
    parser.add_argument("--cells", nargs="+", type=cell_argument, default=list(CELLS), metavar="CELL",
                        help="cells compared in the first figure: registered names or paths to .cell "
                             "files (default: rnn lstm gru)")


def _summary(result: DecayResult) -> list[str]:
    study = result.study
    lines = [f"{'curve':<16} {'norm':<10} {'slope/step':>11} {'factor':>7} {'horizon':>8}"]
    for curve in (*study.cells, *study.radii, *study.forget_biases, *study.variants):
        fit = curve.fit
        horizon = f"> {study.T - 1}" if fit.horizon is None else str(fit.horizon)
        lines.append(f"{curve.label:<16} {curve.what:<10} {fit.slope:11.4f} {fit.factor_per_step:7.3f} "
                     f"{horizon:>8}")
    return lines


def run(args: argparse.Namespace) -> int:
    """Write the figures and data; print one line per file, the fits and the bound check."""
    out = Path(args.out)
    runs = [(cell, HEAD, "last") for cell in (*args.cells, *CELLS_REGISTERED)]
    check_run_memory(runs, "the decay study", T=args.T, N=1, D=INPUT_D, H=args.H, K=OUTPUT_K)
    try:
        result = write_decay(out, T=args.T, H=args.H, seeds=tuple(range(args.seeds)), radii=args.radii,
                             forget_biases=args.forget_biases, cells=args.cells, langs=(args.lang,))
    except OSError as error:
        print(f"bpttlab decay: cannot write to {out}: {error.strerror or error}", file=sys.stderr)
        return 1
    for path in result.written:
        print(f"wrote {path}")
    print("\n".join(_summary(result)))
    print("\n".join(result.notes))
    return 0 if result.passed else 1
