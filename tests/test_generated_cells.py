"""Cells nobody chose: every ``.cell`` file :func:`cell_grammar.cell_files` generates is either refused at
parse time with one ValueError naming ``gen.cell:line``, or derived, proven (every step rule exactly;
unrolled over a few steps where that fits the proof's work budget), printed to a sheet that pdflatex
compiles, run by the engine and in agreement with PyTorch evaluating the same text to 1e-10 — never
anything else, and each within a time bound.

CI runs a short profile (``BPTTLAB_GENERATED_CELLS`` examples, 12 by default); a long local run sets it
high (``BPTTLAB_GENERATED_CELLS=100000``, stopped after half an hour) and, with
``BPTTLAB_GENERATED_LOG=path``, appends one line per cell tried (its outcome) for the count. Failures
hypothesis shrinks to are kept below as ``@example`` regression cases. Hypothesis keeps its example
database in ``.hypothesis/``, which git ignores.
"""

import os
import re
import signal
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from cell_grammar import cell_files
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bpttlab.derivations import HEADS, LOSS_AT, derive, prove
from bpttlab.derivations.cells.spec import parse_cell_file
from bpttlab.derivations.heads import TargetKind
from bpttlab.derivations.polynomial import work_budget
from bpttlab.derivations.printing.notations import NOTATIONS
from bpttlab.numeric import build_engine
from bpttlab.numeric.verify.gradients import resolution, worst_error
from bpttlab.numeric.verify.torch_cell import torch_cell_loss_and_grads
from bpttlab.reports.sheets.pdflatex import compile_pdf
from bpttlab.reports.sheets.writer import LANGUAGES, render_sheet

EXAMPLES = int(os.environ.get("BPTTLAB_GENERATED_CELLS", "12"))
LOG = os.environ.get("BPTTLAB_GENERATED_LOG")
#: Seconds one generated cell may take from parsing to the comparison with PyTorch (a hang fails).
SECONDS = 180
#: The work one cell's proofs may do (polynomial term products; see work_budget): about 4 s.
WORK = 10**8
#: The agreement with PyTorch evaluating the same text, relative to each quantity's largest entry (as
#: bpttlab verify measures it: ``worst_error``).
BAR = 1e-10
#: Values beyond this are not compared with PyTorch: within 10⁵⁸ of float64's largest number, rounding
#: decides. Found by the long run: h_t = exp(150 − 1000 b_a), 1.5e295, whose δb_a of 1.4e298 the engine
#: computes as a direct NumPy evaluation does, while PyTorch's reference drops one of three equal terms.
LARGEST = 1e250
REFUSED = re.compile(r"gen\.cell(:\d+)?: \S")


@contextmanager
def time_bound(seconds: float):
    def expired(_signum, _frame):  # a signal handler's arguments
        raise TimeoutError(f"a generated cell took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _log(outcome: str, text: str) -> None:
    if LOG:
        with open(LOG, "a", encoding="utf-8") as log:
            log.write(f"{outcome}\t{text!r}\n")


def _problem(engine, head: str, loss_at: str, seed: int = 0) -> dict:
    T, N, D, H, K = 4, 2, 3, 3, 2
    rng = np.random.default_rng(seed)
    params = engine.init_params(D, H, K, seed=seed)
    shape = (T, N) if loss_at == "every" else (N,)
    if HEADS[head].target_kind is TargetKind.CLASS:
        targets = rng.integers(0, K, size=shape)
    else:
        targets = rng.uniform(size=(*shape, K))
    initial = {label: rng.normal(scale=0.5, size=(N, H)) for label in engine.cell.initial}
    return {"params": params, "xs": rng.normal(size=(T, N, D)), "targets": targets, "initial": initial}


def check_generated_cell(text: str, head: str, loss_at: str, lang: str, notation: str, folder: Path) -> str:
    """The pipeline one generated file goes through; returns its outcome, raises on anything else."""
    try:
        cell = parse_cell_file(text, "gen.cell")
    except ValueError as error:
        message = str(error)
        assert REFUSED.match(message) and "\n" not in message, message
        return "refused"
    derive(cell, head, loss_at)
    with work_budget(WORK):
        step = prove(cell, head, loss_at, kind=("step",))
        assert step.passed, str(step)
        try:
            unrolled = prove(cell, head, loss_at, kind=("bptt",))
            assert unrolled.passed, str(unrolled)
            outcome = "proven"
        except ValueError as error:
            assert "too large to expand" in str(error), str(error)
            outcome = "proven step by step (unrolled too large)"
    tex = folder / "sheet.tex"
    tex.write_text(render_sheet(cell, lang, notation), encoding="utf-8")
    compile_pdf(tex, runs=1)
    engine = build_engine(cell, head, loss_at)
    problem = _problem(engine, head, loss_at)
    try:
        loss, grads = engine.loss_and_grads(problem["params"], problem["xs"], problem["targets"],
                                            initial=problem["initial"])
    except ValueError as error:  # a cell whose values overflow float64 on this problem (exp of exp …)
        assert "overflowed" in str(error), str(error)
        return outcome + ", overflows"
    largest = max(abs(loss), *(float(np.max(np.abs(g), initial=0.0)) for g in grads.values()))
    if largest > LARGEST:  # see LARGEST: no comparison there means anything
        return outcome + ", too large to compare"
    torch_loss, torch_grads = torch_cell_loss_and_grads(cell, head, loss_at, problem["params"], problem["xs"],
                                                        problem["targets"], problem["initial"])
    assert set(grads) == set(torch_grads), (sorted(grads), sorted(torch_grads))
    # verify's own rule: relative to each quantity's largest entry, a difference within PyTorch's resolution
    # (rounding in a cancellation: 1e-17 where the gradient is 0, or terms of size 1 summing to 5e-8) agreeing
    ours, theirs = {**grads, "loss": np.array(loss)}, {**torch_grads, "loss": np.array(torch_loss)}
    _, error, worst = worst_error(ours, theirs, BAR, resolution("torch autograd", torch_loss, 0.0))
    assert error <= BAR, f"{worst}: relative error {error:.2e} against PyTorch"
    return outcome


@settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 50,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much])
@given(text=cell_files(), head=st.sampled_from(tuple(HEADS)), loss_at=st.sampled_from(LOSS_AT),
       lang=st.sampled_from(tuple(LANGUAGES)), notation=st.sampled_from(tuple(NOTATIONS)))
@example(text="name: generated\nstates: h_t <- h_prev\nparams:\nh_t = 0.5*h_prev + 0.5*tanh(W_x0 @ x_t)\n",
         head="softmax", loss_at="every", lang="en", notation="course")
@example(text="name: g\nstates: c_t <- c_prev\nparams:\nc_t = b_e\n", head="sigmoid", loss_at="every",
         lang="id", notation="course")  # a state that depends on no sequence
@example(text="name: g\nstates: m_t <- m_prev, y_t <- y_prev\nparams: p, u\nk = 0 * (b_b)\n"
              "s_t = W_h0 @ (-----(b_f))\nm_t = (s_t) * (W_h0 @ (relu((u - u))))\n"
              "y_t = (1.5e2 + (b_c))\n",
         head="linear", loss_at="last", lang="en", notation="dlbook")  # W times relu(0); δW = δs (−b_f)ᵀ
@example(text="name: g\nstates: s_t <- s_prev, m_t <- m_prev\nparams: w2\ns_t = 10 * (b_e)\n"
              "m_t = (-(exp(s_t))) * (s_t) + W_h0 @ (W_h0 @ ((s_t) * (w2)))\n",
         head="linear", loss_at="last", lang="en", notation="dlbook")  # W (W v): a matrix power
@example(text="name: g\nstates: a_t <- a_prev\nparams: p\na_t = (p + W_h0 @ p) - (p + W_h0 @ p)\n",
         head="sigmoid", loss_at="every", lang="en", notation="course")  # PyTorch's 1e-17 where δp = 0
@example(text="name: g\nstates: l_t <- l_prev, s_t <- s_prev, a_t <- a_prev\nparams: p_i, p\n"
              "k = ((l_prev) / 1.5e2) * (b_f)\nu_t = ---((W_x0 @ x_t) ** 3)\nl_t = 1.5e2 * (W_x1 @ x_t)\n"
              "s_t = b_f\na_t = tanh(0 * (2 * (0.25 + (p_i))))\n",
         head="softmax", loss_at="every", lang="id", notation="course")  # δb_y: terms of 1 summing to 5e-8
@example(text="name: g\nstates: a_t <- a_prev\nparams:\nv_t = 1.5e2 - (a_prev)\n"
              "y_t = sigmoid(((b_e) * (v_t)) / 10)\n"
              "a_t = (2 + (b_d) - 2 + (b_d)) - ((y_t) * (b_b) + W_h0 @ y_t)\n",
         head="linear", loss_at="last", lang="id", notation="course")  # a gate read through v_t: "reads $$"
def test_every_generated_cell_is_refused_at_its_line_or_proven_printed_run_and_verified(
        tmp_path_factory, text, head, loss_at, lang, notation):
    folder = tmp_path_factory.mktemp("generated")
    try:
        with time_bound(SECONDS):
            outcome = check_generated_cell(text, head, loss_at, lang, notation, folder)
    except BaseException as error:
        _log(f"FAILED {type(error).__name__}: {' '.join(str(error).split())[:200]}", text)
        raise
    _log(outcome, text)


def test_the_grammar_reaches_every_construct_and_both_outcomes():
    """A grammar that never generated a cancellation, a shared weight or a refusal would test little."""
    from hypothesis import find

    constructs = (" - (", "0 * (", "* (", ") ** ", "@ x_t", "/ ", "--", "s_t", "y_t", "W_hy @",
                  "tanh(tanh(tanh(")
    for wanted in constructs:
        assert wanted in find(cell_files(), lambda text, w=wanted: w in text)
    refused = find(cell_files(), lambda text: _refused(text))
    assert REFUSED.match(_refused(refused))


def _refused(text: str) -> str:
    try:
        parse_cell_file(text, "gen.cell")
    except ValueError as error:
        return str(error)
    return ""


pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
