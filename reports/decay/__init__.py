"""The decay study as figures (PNG and PDF, English and Indonesian labels), CSV and JSON, and the
clipping and truncation measurements (``clip``, ``trunc``)."""

from bpttlab.reports.decay.job import DecayResult, write_decay
from bpttlab.reports.decay.plots import decay_figures, save_figure
from bpttlab.reports.decay.remedies import clip_figure, trunc_figure, write_remedies

__all__ = ["DecayResult", "clip_figure", "decay_figures", "save_figure", "trunc_figure", "write_decay",
           "write_remedies"]
