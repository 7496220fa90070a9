"""bpttlab.reports: equation sheets, verification reports, plots and the ``bpttlab`` command line."""

__all__: list[str] = []
