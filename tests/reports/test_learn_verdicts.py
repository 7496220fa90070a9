"""The learning study's verdicts at their edges (``reports/learn/study.py``): a tie of seeds is not
"solved by most", one length is never written as a range, and the exploding regime is the growth of
‖∂L/∂h_k‖ over the whole measured length, not a factor per step above 1."""

from bpttlab.reports.learn.study import (
    EXPLODING_GROWTH,
    Horizon,
    LearnConfig,
    Outcome,
    Study,
    settings,
    verdict,
)


def made_up(horizon: int | None, results: dict[int, list], factor: float = 0.56,
            lengths: tuple[int, ...] = (10, 20, 50, 100)) -> Study:
    config = LearnConfig(cells=("rnn",), lengths=lengths, seeds=(0, 1), budget=500, exploding=None)
    outcomes = [Outcome("rnn", T, seed, "skipped" if step == "skip" else ("solved" if step else "not solved"),
                        step or None)
                for T, steps in results.items() for seed, step in enumerate(steps)]
    return Study(config, settings(config), {"rnn": Horizon("rnn", horizon, factor, 100)}, tuple(outcomes))


def test_a_tie_of_seeds_is_not_solved_by_most():
    text, consistent = verdict(made_up(30, {10: [1, 1], 20: [1, None], 50: [None, None], 100: ["skip"] * 2}),
                               "rnn")
    # T = 20 ≤ 30 solved by one seed of two: not a majority, so it is "not solved within the horizon"
    assert "T = 20 by some seeds" in text and "not solved within the horizon at 20" in text
    assert not consistent


def test_one_length_is_written_as_itself_and_first_lengths_as_a_range():
    one, _ = verdict(made_up(5, {10: [1, 1], 20: [None, None], 50: ["skip"] * 2, 100: ["skip"] * 2}), "rnn")
    assert "solved T = 10;" in one and "T ≤" not in one.split(";")[1]
    two, _ = verdict(made_up(25, {10: [1, 1], 20: [1, 1], 50: [None, None], 100: ["skip"] * 2}), "rnn")
    assert "solved T ≤ 20;" in two
    last, _ = verdict(made_up(25, {10: [1, 1], 20: [1, 1], 50: [None, None], 100: [None, None]}), "rnn")
    assert "not solved T ≥ 50 within 500 steps" in last


def test_exploding_is_growth_over_the_measured_length_past_the_stated_factor():
    failed = {10: [None, None], 20: ["skip"] * 2, 50: ["skip"] * 2, 100: ["skip"] * 2}
    assert EXPLODING_GROWTH == 1e2
    for factor, exploding in ((1.04, False), (1.05, True)):  # 1.04⁹⁹ ≈ 48, 1.05⁹⁹ ≈ 125
        assert (factor ** 99 > EXPLODING_GROWTH) is exploding
        text, _ = verdict(made_up(None, failed, factor=factor), "rnn")
        assert ("exploding regime" in text) is exploding, (factor, text)


def test_the_study_figures_name_cells_as_the_sheets_do_in_the_figures_language():
    """Panel titles and legends are the registry's titles in the figure's language (never a code
    identifier such as ``gru_torch``), the clipping threshold is named θ, the seeds counted in words."""
    from bpttlab.derivations import CELLS
    from bpttlab.reports.decay.plots import cell_labels
    from bpttlab.reports.learn.plots import learn_figures

    config = LearnConfig(cells=("rnn", "gru_torch"), lengths=(10, 20), seeds=(0, 1, 2), budget=50,
                         exploding="rnn", radius=3.0, clip=1.0)
    rows = settings(config)
    outcomes = tuple(Outcome(s.key, T, seed, "solved", 5, evaluations=((0, 0.2), (5, 0.01)))
                     for s in rows for T in config.lengths for seed in config.seeds)
    study = Study(config, rows, {s.key: Horizon(s.key, 22, 0.5, 100) for s in rows}, outcomes)
    for lang, clipped, seeds in (("en", "clipped at $\\theta$ = 1", "3 seeds"),
                                 ("id", "dipangkas pada $\\theta$ = 1", "3 seed acak")):
        figures = learn_figures(study, lang)
        titles = [axes.get_title("left") for axes in figures["success"].axes if axes.get_visible()]
        names = cell_labels([*CELLS, "rnn", "gru_torch"], lang)
        assert titles[:2] == [names["rnn"], names["gru_torch"]], titles
        assert titles[3].startswith(names["rnn"]) and titles[3].endswith(clipped), titles
        assert not [title for title in titles if "_" in title or title in CELLS], titles
        assert figures["success"]._suptitle.get_text().endswith(seeds)
        legend = [t.get_text() for t in figures["loss"].legends[0].get_texts()]
        assert legend[:2] == titles[:2] and clipped in legend[3]
    assert names["rnn"] == "RNN Elman"  # Indonesian puts the head noun first
