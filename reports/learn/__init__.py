"""The learning study: what each cell learns of the adding problem as T grows, beside its decay
horizon at initialisation; figures, CSV/JSON, verdicts, the hello training curve, training speed."""

from bpttlab.reports.learn.hello import HelloCurve, hello_curve
from bpttlab.reports.learn.job import LearnResult, verdict_table, write_learn
from bpttlab.reports.learn.plots import hello_figure, learn_figures
from bpttlab.reports.learn.study import LearnConfig, Study, quick_config, run_study, verdict

__all__ = [
    "HelloCurve",
    "LearnConfig",
    "LearnResult",
    "Study",
    "hello_curve",
    "hello_figure",
    "learn_figures",
    "quick_config",
    "run_study",
    "verdict",
    "verdict_table",
    "write_learn",
]
