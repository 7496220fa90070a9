"""``bpttlab decay``: how gradients vanish or explode going back in time, as figures and data.

Runs :func:`numeric.decay_study.decay_study`, writes its figures (PNG and PDF), ``decay.csv`` and
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
import math
import sys
from collections.abc import Callable
from pathlib import Path

from bpttlab.numeric.decay.study import CELLS, FORGET_BIASES, RADII
from bpttlab.reports.cli.arguments import cell_argument
from bpttlab.reports.decay.job import DecayResult, write_decay
from bpttlab.reports.decay.plots import LANGUAGES

__all__ = ["build_parser", "run"]


def _integer_at_least(smallest: int, why: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer ≥ {smallest}, got {text!r}") from None
        if value < smallest:
            raise argparse.ArgumentTypeError(f"must be ≥ {smallest} ({why}), got {value}")
        return value

    return parse


def _number(positive: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or (positive and value <= 0):
            raise argparse.ArgumentTypeError(f"expected a {'positive' if positive else 'finite'} number, "
                                             f"got {text!r}")
        return value

    return parse


def build_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``bpttlab decay`` to ``parser``."""
    parser.add_argument("--T", type=_integer_at_least(2, "a curve needs two steps"), default=100,
                        help="sequence length (default: 100)")
    parser.add_argument("--H", type=_integer_at_least(1, "hidden units"), default=32,
                        help="hidden units (default: 32)")
    parser.add_argument("--seeds", type=_integer_at_least(1, "at least one seed"), default=5,
                        help="number of seeds, 0..n-1, for the median and the band (default: 5)")
    parser.add_argument("--out", default="build/decay", help="output directory (default: build/decay)")
    parser.add_argument("--lang", choices=list(LANGUAGES), default="en",
                        help="language of the labels: en or id (default: en)")
    parser.add_argument("--radii", nargs="+", type=_number(positive=True), default=list(RADII),
                        help="spectral radii of the RNN's W_hh (default: 0.5 0.9 1 1.5 3)")
    parser.add_argument("--forget-biases", nargs="+", type=_number(positive=False),
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
