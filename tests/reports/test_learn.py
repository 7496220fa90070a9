"""``bpttlab learn``: the study's files, its verdicts, checkpoint and resume, the REPORT.md section and
the course sheet's learning section."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bpttlab.derivations import CELLS
from bpttlab.derivations.cells import BUILT_IN
from bpttlab.reports.cli.app import main
from bpttlab.reports.decay.plots import cell_labels, decimal_text
from bpttlab.reports.learn.job import CHECKPOINT
from bpttlab.reports.learn.plots import WORDS
from bpttlab.reports.learn.sheet import learning_context
from bpttlab.reports.learn.study import (
    Horizon,
    LearnConfig,
    Outcome,
    Study,
    quick_config,
    run_study,
    settings,
    verdict,
)
from bpttlab.reports.report import Step, render_report
from bpttlab.reports.sheets.languages import LANGUAGES
from bpttlab.reports.sheets.writer import render_sheet

SMALL = ["--cells", "rnn", "gru", "--T", "4", "6", "--budget", "20", "--H", "4", "--backend", "numpy"]
FIGURES = ("success", "loss", "hello")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("learn")
    assert main(["learn", "--quick", "--out", str(out), *SMALL]) == 0
    return out


def test_quick_on_numpy_covers_every_registered_cell_and_stays_small():
    config = quick_config("numpy")
    assert {s.cell for s in settings(config)} == set(CELLS) and config.backend == "numpy"
    assert config.lengths == (10, 20) and len(config.seeds) == 1 and config.budget <= 300


def test_quick_on_jax_is_the_course_sheets_standard():
    """Issue 24: where JAX is installed the quick study (and so bpttlab all's) is the course sheet's
    standard: the four course cells, at least 3 seeds, T up to at least 100, the full study's budget."""
    config = quick_config()  # JAX is installed for the tests
    assert config.backend == "jax" and {s.cell for s in settings(config)} == set(BUILT_IN)
    assert len(config.seeds) >= 3 and max(config.lengths) >= 100 and config.budget == LearnConfig().budget


def test_learn_on_jax_gives_the_numpy_studys_outcomes(quick_run, tmp_path):
    """The same small study on the JAX backend, its runs batched by cell and length: the same outcomes
    (status, steps to solve, steps run) as on NumPy, in the same data format, saying its backend."""
    out = tmp_path / "jax"
    assert main(["learn", "--quick", "--out", str(out), *SMALL[:-1], "jax", "--seeds", "1", "--no-speed",
                 "--lang", "en"]) == 0
    ours, reference = (json.loads((folder / "learn.json").read_text()) for folder in (out, quick_run))
    assert reference["config"]["backend"] == "numpy"
    assert ours["config"] == {**reference["config"], "backend": "jax"}
    assert set(ours) == set(reference)
    assert [(r["setting"], r["T"], r["status"], r["solved_at"], r["steps"]) for r in ours["runs"]] == \
        [(r["setting"], r["T"], r["status"], r["solved_at"], r["steps"]) for r in reference["runs"]]
    for mine, theirs in zip(ours["runs"], reference["runs"], strict=True):
        if theirs["final_error"] is None:  # a run that diverged or was skipped has no final error
            assert mine["final_error"] is None, mine
        else:
            assert mine["final_error"] == pytest.approx(theirs["final_error"], rel=1e-9, abs=1e-15)


def test_learn_quick_writes_figures_data_and_verdicts(quick_run):
    for name in FIGURES:
        for lang in LANGUAGES:
            for suffix in (".png", ".pdf"):
                path = quick_run / f"{name}.{lang}{suffix}"
                assert path.stat().st_size > 1000, path
    rows = list(csv.DictReader(io.StringIO((quick_run / "learn.csv").read_text())))
    # rnn, gru and the exploding rnn plain and clipped (rnn is among the cells), T 4 and 6, one seed
    assert len(rows) == 4 * 2 * 1
    assert {r["setting"] for r in rows} == {"rnn", "gru", "rnn rho=3", "rnn rho=3 clipped"}
    assert {r["status"] for r in rows} <= {"solved", "not solved", "diverged", "skipped"}
    data = json.loads((quick_run / "learn.json").read_text())
    assert set(data["verdicts"]) == {r["setting"] for r in rows}
    assert data["hello"]["predicted"] == "ello" and data["hello"]["ello_from_step"] is not None
    verdicts_en = (quick_run / "verdicts.md").read_text()
    verdicts_id = (quick_run / "verdicts.id.md").read_text()
    assert "horizon" in verdicts_en and "steps at init" in verdicts_en
    assert "saat inisialisasi" in verdicts_id and "steps at init" not in verdicts_id
    speed = json.loads((quick_run / "speed.json").read_text())
    assert speed["rows"] and all(r["engine_steps_per_second"] > 0 for r in speed["rows"])
    assert all(r["torch_steps_per_second"] > 0 for r in speed["rows"])  # torch is installed for the tests
    assert (quick_run / CHECKPOINT).exists()
    assert not [p for p in quick_run.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_resume_gives_the_same_bytes(quick_run, tmp_path):
    copy = tmp_path / "again"
    copy.mkdir()
    (copy / CHECKPOINT).write_bytes((quick_run / CHECKPOINT).read_bytes())
    assert main(["learn", "--quick", "--out", str(copy), "--resume", "--no-speed", *SMALL]) == 0
    for name in ("learn.csv", "learn.json", "verdicts.md", "verdicts.id.md"):
        assert (copy / name).read_bytes() == (quick_run / name).read_bytes(), name


def test_resume_with_other_options_is_refused(quick_run, tmp_path, capsys):
    copy = tmp_path / "other"
    copy.mkdir()
    (copy / CHECKPOINT).write_bytes((quick_run / CHECKPOINT).read_bytes())
    with pytest.raises(SystemExit) as exit_:
        main(["learn", "--quick", "--out", str(copy), "--resume", "--no-speed", *SMALL[:-2], "--H", "5"])
    assert exit_.value.code == 2
    assert "other settings" in capsys.readouterr().err


def test_resume_without_checkpoint_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["learn", "--quick", "--out", str(tmp_path), "--resume"])
    assert exit_.value.code == 2 and "no checkpoint" in capsys.readouterr().err


TINY = LearnConfig(cells=("rnn", "gru"), lengths=(4, 6), seeds=(0, 1), H=4, budget=15, eval_every=5,
                   eval_size=16, horizon_seeds=(0,))


def test_interrupted_study_resumes_to_the_uninterrupted_result(tmp_path):
    whole = run_study(TINY)
    path = tmp_path / CHECKPOINT

    def stop(done: int, _total: int, _label: str) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_study(TINY, checkpoint=path, progress=stop)
    assert path.exists() and not [p for p in tmp_path.iterdir() if p.name != CHECKPOINT]
    finished = run_study(TINY, checkpoint=path, resume=True)
    assert finished.outcomes == whole.outcomes


def test_two_processes_give_the_same_numbers():
    assert run_study(TINY, jobs=2).outcomes == run_study(TINY).outcomes


# ----------------------------------------------------------------- verdicts from made-up outcomes
def _study(horizon: int | None, solved_at: dict[int, list[int | None]], factor: float = 0.56) -> Study:
    config = LearnConfig(cells=("rnn",), lengths=(10, 20, 50, 100), seeds=(0, 1), budget=500, exploding=None)
    outcomes = []
    for T, results in solved_at.items():
        for seed, step in enumerate(results):
            status = "skipped" if step == "skip" else ("solved" if step else "not solved")
            outcomes.append(Outcome("rnn", T, seed, status, step if status == "solved" else None))
    return Study(config, settings(config), {"rnn": Horizon("rnn", horizon, factor, 100)}, tuple(outcomes))


def test_verdict_consistent_with_the_horizon():
    study = _study(22, {10: [100, 120], 20: [300, 250], 50: [None, None], 100: ["skip", "skip"]})
    text, consistent = verdict(study, "rnn")
    assert consistent
    assert text == ("horizon 22 steps at init; solved T ≤ 20; not solved T = 50 within 500 steps; "
                    "T = 100 not run (a shorter T failed); consistent with the horizon")


def test_verdict_explains_a_disagreement_both_ways():
    beyond, ok = verdict(_study(22, {10: [1, 1], 20: [1, 1], 50: [1, 1], 100: [None, 1]}), "rnn")
    assert not ok and "solved beyond the horizon at 50" in beyond and "T = 100 by some seeds" in beyond
    within, ok = verdict(_study(None, {10: [1, 1], 20: [None, None], 50: ["skip"] * 2, 100: ["skip"] * 2}),
                         "rnn")
    assert not ok and "horizon > 99" in within and "not solved within the horizon at 20" in within
    failed_at_10 = {10: [None, None], 20: ["skip"] * 2, 50: ["skip"] * 2, 100: ["skip"] * 2}
    exploding, _ = verdict(_study(None, failed_at_10, factor=1.17), "rnn", "id")  # ×1.17⁹⁹ ≈ 6·10⁶
    assert "×1,17" in exploding and "meledak" in exploding
    steady, _ = verdict(_study(None, failed_at_10, factor=1.01), "rnn")  # ×1.01⁹⁹ ≈ 2.7: not exploding
    assert "exploding" not in steady and "500 steps were too few" in steady


def test_indonesian_numbers_have_a_decimal_comma():
    assert decimal_text(0.1667, WORDS["id"], 3) == "0,167" and decimal_text(0.1667, WORDS["en"], 3) == "0.167"


# ----------------------------------------------------------------- REPORT.md and the course sheet
def test_report_has_the_learning_section(quick_run):
    step = Step("learn", written=[quick_run / "learn.csv", quick_run / "learn.json"],
                data={"figure": quick_run / "success.en.png", "verdicts": ["| setting | … |"],
                      "config": replace(quick_config(), budget=20)})
    text = render_report(quick_run.parent, [step])
    assert "## What each cell learns (adding problem)" in text
    assert "within 20 Adam steps" in text and "success.en.png" in text and "[learn.csv]" in text


def meeting_the_standard(quick_run: Path, folder: Path) -> Path:
    """The quick study's folder with its data extended to what the sheet's standard asks (the four
    course cells, three seeds, T up to 100): the sheet reads only the data, so this is the data of a
    study that meets it, without the hours of running one."""
    import shutil

    shutil.copytree(quick_run, folder)
    data = json.loads((folder / "learn.json").read_text())
    from bpttlab.reports.learn.standard import STANDARD

    data["config"]["seeds"] = [0, 1, 2]
    data["config"]["lengths"] = [10, 20, 50, 100]
    template = next(s for s in data["settings"] if s["radius"] is None and s["clip"] is None)
    for cell in STANDARD.cells:
        if not any(s["cell"] == cell for s in data["settings"]):
            data["settings"].append({**template, "key": cell, "cell": cell})
            data["horizons"][cell] = data["horizons"][template["key"]]
            data["verdicts"][cell] = data["verdicts"][template["key"]]
    runs = []
    for setting in data["settings"]:
        for T in data["config"]["lengths"]:
            for seed in data["config"]["seeds"]:
                runs.append({"setting": setting["key"], "T": T, "seed": seed,
                             "status": "solved" if T <= 20 else "failed"})
    data["runs"] = runs
    (folder / "learn.json").write_text(json.dumps(data))
    return folder


@pytest.mark.parametrize(("lang", "title", "baseline"), [("en", "What a network learns", "0.167"),
                                                       ("id", "Apa yang dipelajari jaringan", "0{,}167")])
def test_course_sheet_states_a_learning_result_only_from_data_meeting_its_standard(
        quick_run, tmp_path, lang, title, baseline):
    from bpttlab.reports.learn.standard import STANDARD

    quick = json.loads((quick_run / "learn.json").read_text())
    assert not STANDARD.met(quick) and learning_context(quick_run, tmp_path, lang) is None
    absent = " ".join(render_sheet("course", lang, learning=None).split())
    assert title in absent and "bpttlab all" in absent and baseline not in absent
    assert f"${STANDARD.longest}$" in absent  # the standard, stated on the sheet
    met = meeting_the_standard(quick_run, tmp_path / "met")
    learning = learning_context(met, tmp_path, lang)
    assert learning is not None
    tex = render_sheet("course", lang, learning=learning)
    assert title in tex and baseline in tex and f"figures/learn-success.course.{lang}.pdf" in tex
    assert [row.cell for row in learning.rows] == [c.replace("_", r"\_") for c in STANDARD.cells]
    for T in (10, 20, 50, 100):
        assert rf"= {T}$" in tex
    assert tex.count("3/3") == 2 * len(learning.rows) and tex.count("0/3") == 2 * len(learning.rows)


def test_the_sheets_learning_figure_names_the_course_cells_by_their_titles(quick_run, tmp_path):
    """Drawn for the sheet from learn.json: one line per course cell, labelled with its title (never a
    code name), the length in the notation's letter, the language's decimal mark."""
    from bpttlab.reports.learn.sheet import success_figure
    from bpttlab.reports.learn.standard import STANDARD

    data = json.loads((meeting_the_standard(quick_run, tmp_path / "met") / "learn.json").read_text())
    figure = success_figure(data, "id", "dlbook")
    axes = figure.axes[0]
    labels = [t.get_text() for t in figure.legends[0].get_texts()]
    assert labels == list(cell_labels(STANDARD.cells, "id").values())
    assert not any("_" in label for label in labels)
    assert labels[0] == "RNN Elman"  # the language's title
    assert r"\tau" in axes.get_xlabel()
    assert axes.yaxis.get_major_formatter()(0.5, 0) == "0,5"


def test_learning_context_without_a_study_is_named(tmp_path):
    with pytest.raises(ValueError, match="bpttlab learn"):
        learning_context(tmp_path, tmp_path, "en")


def test_checkpoint_is_an_npz_of_finished_runs(quick_run):
    with np.load(quick_run / CHECKPOINT) as data:
        runs = json.loads(str(data["outcomes"]))
    assert len(runs) == 8 and all("status" in r for r in runs)


def test_a_cell_file_is_studied_like_a_registered_cell(tmp_path):
    path = tmp_path / "leaky.cell"
    path.write_text("name: leaky\nstates: h_t <- h_prev\nparams:\n"
                    "u_t = sigmoid(W_xu @ x_t + W_hu @ h_prev + b_u)\n"
                    "h_t = u_t * h_prev + (1 - u_t) * tanh(W_xh @ x_t + W_hh @ h_prev + b_h)\n")
    out = tmp_path / "out"
    assert main(["learn", "--quick", "--out", str(out), "--cells", str(path), "--T", "4", "--budget", "10",
                 "--H", "3", "--no-speed", "--lang", "en", "--backend", "numpy"]) == 0
    rows = list(csv.DictReader(io.StringIO((out / "learn.csv").read_text())))
    assert [(r["setting"], r["T"]) for r in rows] == [("leaky", "4")]  # no exploding rnn without the rnn
    assert json.loads((out / "learn.json").read_text())["settings"][0]["source"] == str(path)
    assert (out / "success.en.png").exists() and not (out / "success.id.png").exists()


def test_the_main_job_says_which_study_it_ran(tmp_path, monkeypatch):
    from bpttlab.reports.cli import main_job

    assert main_job.study_note(quick_config("jax")) == (
        "learning study: the course sheet's standard (4 cells (rnn, lstm, gru, gru_torch), T 10, 20, 50, "
        "100, 3 seed(s), 1000 steps), jax backend")
    small = replace(quick_config("jax"), cells=("rnn",), exploding=None, lengths=(4,), H=3, budget=10)
    monkeypatch.setattr(main_job, "quick_config", lambda _backend=None: small)
    step = Step("learn")
    main_job._learn(tmp_path, step)
    assert step.notes == ["learning study: 1 cells (rnn), T 4, 3 seed(s), 10 steps, jax backend"]
    assert json.loads((tmp_path / "learn" / "learn.json").read_text())["config"]["backend"] == "jax"


@pytest.mark.parametrize("lang", ["en", "id"])
def test_the_learning_results_are_read_against_each_cells_horizon(quick_run, tmp_path, lang):
    """Finding 9: the sheet connects each course cell's results to its horizon, from learn.json: the
    longest length most seeds solved, where that stops, lengths solved beyond the horizon and lengths
    failed within it (the verdicts' rule: a length counts when most of its runs succeeded)."""
    from bpttlab.reports.learn.standard import STANDARD
    from bpttlab.reports.sheets.languages import LANGUAGES

    folder = meeting_the_standard(quick_run, tmp_path / "met")
    data = json.loads((folder / "learn.json").read_text())
    solved = {"rnn": {10: 3}, "lstm": {10: 3, 20: 3, 50: 3, 100: 1}, "gru": {10: 3, 20: 3, 50: 3, 100: 3},
              "gru_torch": {10: 3, 20: 3, 50: 3, 100: 3}}
    reach = {"rnn": 23, "lstm": 63, "gru": 29, "gru_torch": 28}
    for cell in STANDARD.cells:
        key = next(s["key"] for s in data["settings"] if s["cell"] == cell and s["radius"] is None
                   and s["clip"] is None)
        data["horizons"][key] = {"steps": reach[cell], "text": str(reach[cell]), "factor_per_step": 0.5,
                                 "T_measured": 100}
        for run in data["runs"]:
            if run["setting"] == key:
                run["status"] = "solved" if run["seed"] < solved[cell].get(run["T"], 0) else "not solved"
    (folder / "learn.json").write_text(json.dumps(data))
    learning = learning_context(folder, tmp_path, lang)
    rows = {row.cell.replace("\\", ""): row for row in learning.rows}
    for cell, wins in solved.items():
        most = tuple(T for T in (10, 20, 50, 100) if wins.get(T, 0) >= 2)
        assert rows[cell].most == most
        assert rows[cell].failed == next((T for T in (10, 20, 50, 100) if T not in most), None)
        assert rows[cell].beyond == tuple(T for T in most if T > reach[cell])
        assert rows[cell].within == tuple(T for T in (10, 20, 50, 100) if T not in most and T <= reach[cell])
    assert rows["lstm"].some == (100,) and rows["rnn"].within == (20,) and rows["gru"].beyond == (50, 100)
    tex = " ".join(render_sheet("course", lang, learning=learning).split())
    words = LANGUAGES[lang]
    start = tex.index(" ".join(words.word("learning.against.intro").split())[:20])
    paragraph = tex[start:tex.index(r"\FloatBarrier", start)]
    for cell in STANDARD.cells:
        title = words.title(CELLS[cell].title)
        assert f"{title} (horizon {reach[cell]} " in paragraph, (cell, paragraph)
    assert "$T = 50$" in paragraph and "$T$ = $100$" in paragraph  # the LSTM: up to 50, some seeds at 100
    assert "$T = 20$" in paragraph  # the Elman RNN's first failure, within its horizon of 23
    beyond = paragraph[paragraph.index(" ".join(words.word("learning.against.beyond").split())[:12]):]
    assert words.title(CELLS["gru"].title) in beyond
    assert words.grouped(data["config"]["budget"]) in paragraph
