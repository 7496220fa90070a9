"""``python -m bpttlab``: the same command line as ``bpttlab``."""

from bpttlab.reports.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
