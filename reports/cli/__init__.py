"""The ``bpttlab`` command line (and the ``verify_gradients`` console script)."""

from bpttlab.reports.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
