"""The decay study as figures (PNG and PDF, English and Indonesian labels), CSV and JSON."""

from bpttlab.reports.decay.job import DecayResult, write_decay
from bpttlab.reports.decay.plots import decay_figures, save_figure

__all__ = ["DecayResult", "decay_figures", "save_figure", "write_decay"]
