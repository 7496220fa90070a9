"""Run the learning study and write what it produces into one folder: ``learn.csv``, ``learn.json``,
``verdicts.md`` (en) and ``verdicts.id.md``, and the figures ``success``, ``loss`` and ``hello`` per
language (PNG and PDF). Every file is written atomically; the checkpoint ``learn-checkpoint.npz``
holds the finished runs, for ``resume``. Used by ``bpttlab learn`` and by ``bpttlab all``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bpttlab.reports.atomic import write_text
from bpttlab.reports.decay.plots import LANGUAGES, save_figure
from bpttlab.reports.learn.data import learn_csv, learn_json
from bpttlab.reports.learn.hello import HelloCurve, hello_curve
from bpttlab.reports.learn.plots import WORDS as PLOT_WORDS
from bpttlab.reports.learn.plots import hello_figure, learn_figures, setting_label
from bpttlab.reports.learn.study import VERDICT_WORDS, LearnConfig, Study, run_study, verdict

__all__ = ["CHECKPOINT", "LearnResult", "verdict_table", "write_learn"]

CHECKPOINT = "learn-checkpoint.npz"


@dataclass
class LearnResult:
    """What :func:`write_learn` did: the study, the hello curve, the files (data first), the headline
    figure (``success`` PNG of the first language), the verdict table per language."""

    study: Study
    hello: HelloCurve
    written: list[Path] = field(default_factory=list)
    headline: Path | None = None
    figures: dict[str, Path] = field(default_factory=dict)  # "success.en" → folder/success.en (no suffix)
    verdicts: dict[str, list[str]] = field(default_factory=dict)




def verdict_table(study: Study, lang: str = "en") -> list[str]:
    """Markdown rows: a setting per row, its horizon, solved/run per T ("—" not run), the verdict."""
    words = PLOT_WORDS[lang]
    header = [VERDICT_WORDS[lang][key] for key in ("setting", "horizon_column", "counts", "verdict")]
    lines = [f"| {header[0]} | {header[1]} | {header[2]} ({', '.join(map(str, study.config.lengths))}) | "
             f"{header[3]} |", "| --- | ---: | --- | --- |"]
    for s in study.settings:
        counts = []
        for T in study.config.lengths:
            runs = [o for o in study.of(s.key, T) if o.status != "skipped"]
            counts.append(f"{sum(o.status == 'solved' for o in runs)}/{len(runs)}" if runs else "—")
        text, _ = verdict(study, s.key, lang)
        label = setting_label(s, words).replace("$\\rho$", "ρ").replace("$\\theta$", "θ")
        lines.append(f"| {label} | {study.horizons[s.key].text()} | {' · '.join(counts)} | {text} |")
    return lines


def write_learn(out: str | os.PathLike, config: LearnConfig | None = None, *,
                langs: Sequence[str] = LANGUAGES, resume: bool = False, jobs: int = 1,
                progress: Callable[[int, int, str], None] | None = None) -> LearnResult:
    """Create ``out``, run (or, with ``resume``, finish) the study of ``config`` and write its files."""
    langs = tuple(dict.fromkeys(langs)) if not isinstance(langs, str) else ()
    if not langs or any(lang not in LANGUAGES for lang in langs):
        raise ValueError(f"langs must be a non-empty sequence of {', '.join(LANGUAGES)}, got {langs!r}")
    config = LearnConfig() if config is None else config
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    study = run_study(config, checkpoint=out / CHECKPOINT, resume=resume, jobs=jobs, progress=progress)
    hello = hello_curve()
    result = LearnResult(study, hello)
    for name, text in (("learn.csv", learn_csv(study)), ("learn.json", learn_json(study, hello))):
        write_text(out / name, text)
        result.written.append(out / name)
    first = next(iter(LANGUAGES))  # the first registered language's table is verdicts.md
    for lang in LANGUAGES:
        result.verdicts[lang] = verdict_table(study, lang)
        name = "verdicts.md" if lang == first else f"verdicts.{lang}.md"
        write_text(out / name, "\n".join(result.verdicts[lang]) + "\n")
        result.written.append(out / name)
    for lang in langs:
        figures = {**learn_figures(study, lang), "hello": hello_figure(hello, lang)}
        for name, figure in figures.items():
            stem = out / f"{name}.{lang}"
            result.written += save_figure(figure, stem)
            result.figures[f"{name}.{lang}"] = stem
    result.headline = out / f"success.{langs[0]}.png"
    return result
