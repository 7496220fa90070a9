"""Shared pieces of the test suite: ONE random problem builder, ONE relative error, and the fixtures.

The suite mirrors the package: ``tests/derivations``, ``tests/numeric``, ``tests/reports``; cross-cutting
tests (import root, installed wheel, docstrings, registry coverage, without torch, tutorial notebook) sit
at the top. Test modules never import one another; what they share lives here, and they import it with
``from conftest import ...`` (pytest puts this folder on ``sys.path``; ``pythonpath`` in pyproject says
so again, for any import mode).

The problem builder is written from the documented API, not from the engine: the parameter names come
from the cell record (:data:`bpttlab.derivations.cells.CELLS`) and the head, their shapes from the
documented layout (:func:`spec_shape`), so a wrong shape in the engine cannot also be the expected one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pytest
from hypothesis import Phase, settings
from hypothesis import strategies as st

from bpttlab.derivations.cells import Cell, resolve_cell

#: The bars a gradient check must meet, stated here (the issue's numbers), never read from the code under
#: test: relative error 1e-7 against central finite differences, 1e-12 against PyTorch.
BARS = {"finite differences": 1e-7, "torch autograd": 1e-12, "torch nn module": 1e-12}

#: The parameters every head adds to the cell's.
HEAD_PARAMS = ("W_hy", "b_y")


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Sequence length T, batch N, input width D, hidden width H, outputs K."""

    t: int = 4
    n: int = 3
    d: int = 3
    h: int = 4
    k: int = 3

    def __iter__(self) -> Iterator[int]:
        return iter(dataclasses.astuple(self))


@dataclasses.dataclass(frozen=True)
class Problem:
    """A valid float64 problem: ``params``, ``xs`` (T, N, D), ``targets`` shaped for the loss placement
    (None for a bare cell) and the initial ``states`` named as the cell names them (h0, c0, ...).

    It unpacks as ``params, xs, targets, states = problem``."""

    params: dict
    xs: np.ndarray
    targets: np.ndarray | None
    states: dict

    def __iter__(self) -> Iterator:
        return iter((self.params, self.xs, self.targets, self.states))


def spec_shape(name: str, d: int, h: int, k: int) -> tuple[int, ...]:
    """The documented shape of a built-in parameter: W_x* (H, D), W_h* (H, H), W_hy (K, H), b_y (K,),
    b_* (H,)."""
    if name == "W_hy":
        return (k, h)
    if name == "b_y":
        return (k,)
    if name.startswith("W_x"):
        return (h, d)
    if name.startswith("W_h"):
        return (h, h)
    return (h,)


def random_targets(rng: np.random.Generator, head: str, loss_at: str, t: int, n: int, k: int) -> np.ndarray:
    """Class indices (softmax), probabilities (sigmoid) or reals (linear), shaped for ``loss_at``."""
    out = (t, n) if loss_at == "every" else (n,)
    if head == "softmax":
        return rng.integers(0, k, size=out)
    if head == "sigmoid":
        return rng.uniform(0, 1, size=(*out, k))
    return rng.normal(size=(*out, k))


def param_names(cell: str | Cell, head: str | None = "linear") -> tuple[str, ...]:
    """The cell's parameters (from its record) and, with a head, the head's."""
    names = tuple(str(p) for p in resolve_cell(cell).params)
    return names + (HEAD_PARAMS if head is not None else ())


def build_problem(
    cell: str | Cell,
    head: str | None = "linear",
    loss_at: str = "every",
    *,
    sizes: Sizes | tuple[int, int, int, int, int] = Sizes(),
    seed: int = 0,
    scale: float | None = None,
    state_scale: float = 0.5,
    shapes: Mapping[str, tuple[int, ...]] | None = None,
) -> Problem:
    """The one random problem of the suite.

    Parameters are uniform in ±``scale`` (default ±1/√H, PyTorch's initialisation), in the documented
    shapes (or ``shapes``, for cells whose parameters are not laid out as the built-in ones); inputs
    are standard normal; initial states normal times ``state_scale`` (non-zero, so that ∂L/∂h0 is
    exercised); targets drawn for the head (none when ``head`` is None)."""
    t, n, d, h, k = sizes
    rng = np.random.default_rng(seed)
    bound = 1 / np.sqrt(h) if scale is None else scale
    if shapes is None:
        shapes = {name: spec_shape(name, d, h, k) for name in param_names(cell, head)}
    elif head is None:
        shapes = {name: shape for name, shape in shapes.items() if name not in HEAD_PARAMS}
    params = {name: rng.uniform(-bound, bound, shape) for name, shape in shapes.items()}
    xs = rng.normal(size=(t, n, d))
    states = {label: rng.normal(size=(n, h)) * state_scale for label in resolve_cell(cell).initial}
    targets = random_targets(rng, head, loss_at, t, n, k) if head is not None else None
    return Problem(params, xs, targets, states)


def rel_err(actual, expected) -> float:
    """The suite's one relative error: max |actual − expected| / max |expected| over the array (the
    absolute error when ``expected`` is all zeros). Shapes must agree."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    error = float(np.max(np.abs(actual - expected), initial=0.0))
    scale = float(np.max(np.abs(expected), initial=0.0))
    return error / scale if scale > 0 else error


# ------------------------------------------------------------- the sheets' worked example ("hello")
#: "hell" one-hot over (h, e, l, o), a batch of one, and its targets "ello".
HELLO_XS = np.eye(4)[[0, 1, 2, 2]][:, None, :]
HELLO_TARGETS = np.array([[1], [2], [2], [3]])


@dataclasses.dataclass(frozen=True)
class HelloReference:
    """The worked example's numbers by torch autograd on the equations (rows are steps t = 1..4)."""

    a: np.ndarray
    h: np.ndarray
    s: np.ndarray
    y_hat: np.ndarray
    step_losses: np.ndarray
    loss: float
    grads: dict


def hello_reference(params) -> HelloReference:
    """The Elman RNN with a softmax head on "hell" → "ello", written here in torch ops, independently of
    the engine and the derivation: a_t = W_xh x_t + W_hh h_{t−1} + b_h, h_t = tanh(a_t),
    s_t = W_hy h_t + b_y, ŷ_t = softmax(s_t), ℓ_t = −log ŷ_t[target], L = Σ ℓ_t, h_0 = 0."""
    import torch

    p = {name: torch.tensor(np.asarray(value), dtype=torch.float64, requires_grad=True)
         for name, value in params.items()}
    h = torch.zeros(p["W_hh"].shape[0], dtype=torch.float64)
    rows = {"a": [], "h": [], "s": [], "y_hat": [], "step_losses": []}
    for x, target in zip(torch.tensor(HELLO_XS[:, 0]), HELLO_TARGETS[:, 0], strict=True):
        a = p["W_xh"] @ x + p["W_hh"] @ h + p["b_h"]
        h = torch.tanh(a)
        s = p["W_hy"] @ h + p["b_y"]
        log_y = torch.log_softmax(s, dim=0)
        for key, value in zip(rows, (a, h, s, log_y.exp(), -log_y[int(target)]), strict=True):
            rows[key].append(value)
    loss = torch.stack(rows["step_losses"]).sum()
    loss.backward()
    arrays = {key: torch.stack(values).detach().numpy() for key, values in rows.items()}
    grads = {n: v.grad.numpy() for n, v in p.items()}
    return HelloReference(**arrays, loss=float(loss.detach()), grads=grads)


# ------------------------------------------------------------- saturated problems against PyTorch
@contextlib.contextmanager
def accurate_activations():
    """Within the block, ``torch.sigmoid`` and ``torch.tanh`` differentiate from the pre-activation,
    σ′(a) = σ(a)·σ(−a) and tanh′(a) = 1/cosh²(a), instead of from the rounded output, σ(1 − σ) and
    1 − tanh², which lose all accuracy where the output is within a few ulps of ±1 (|a| ≳ 20). The
    PyTorch reference then gives saturated gradients to full float64 accuracy."""
    import torch

    sigmoid, tanh = torch.sigmoid, torch.tanh

    class Sigmoid(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return sigmoid(a)

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            return grad * sigmoid(a) * sigmoid(-a)

    class Tanh(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return tanh(a)

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            return grad / torch.cosh(a) ** 2  # cosh overflows to inf past |a| ≈ 710: 1/inf² = 0, right

    torch.sigmoid, torch.tanh = Sigmoid.apply, Tanh.apply
    try:
        yield
    finally:
        torch.sigmoid, torch.tanh = sigmoid, tanh


def assert_saturated_gradients_right(loss, grads, cell, head, loss_at, params, xs, targets, states):
    """The engine's float64 loss and gradients on a saturated problem against PyTorch autograd.

    Every gradient is held to the accurate reference (:func:`accurate_activations`) within 1e-10 of
    its largest entry, plus ten times what PyTorch's own textbook σ(1 − σ), 1 − tanh² formulas lose on
    this very problem: the engine uses the same textbook derivatives (they are the derivation's), so it
    may lose as much as PyTorch does, and no more. A wrong derivative (1 − h for 1 − h², σ for σ′) is
    off by a factor, far beyond either allowance."""
    from bpttlab.numeric.verify.torch_reference import torch_loss_and_grads

    arguments = (cell, head, loss_at, params, xs, targets)
    text_loss, text_grads = torch_loss_and_grads(*arguments, **states)
    with accurate_activations():
        ref_loss, ref_grads = torch_loss_and_grads(*arguments, **states)
    assert rel_err(loss, ref_loss) <= 1e-10, (loss, ref_loss, text_loss)
    assert set(grads) == set(ref_grads), set(grads) ^ set(ref_grads)
    for name, gradient in grads.items():
        ref, text = ref_grads[name], text_grads[name]
        allowed = 1e-10 * np.max(np.abs(ref), initial=0.0) + 10 * np.max(np.abs(text - ref), initial=0.0)
        error = np.max(np.abs(gradient - ref), initial=0.0)
        assert error <= allowed, f"{name}: error {error:.3e} > allowed {allowed:.3e}"


# ------------------------------------------- API properties (numeric/test_api_properties*.py)
# No "explain" phase: it re-runs a failing example under a tracer only to annotate the report.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)


def properties(examples):
    """Deterministic hypothesis settings: same examples on every run, no database, no deadline."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None, phases=PHASES)


def attempt(call, *, overflow_warnings=False):
    """``call()`` with every warning turned into an error: its result, or the ValueError it raised
    (which must carry a message). Any other exception propagates and fails the test.

    ``overflow_warnings`` lets NumPy's overflow and invalid-value warnings through, for inputs so
    large that an intermediate may overflow: what counts there is the outcome (finite, or a ValueError
    that says so), and NumPy saying "overflow encountered" on the way is not a failure."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if overflow_warnings:
            warnings.filterwarnings("ignore", "(overflow|invalid value) encountered", RuntimeWarning)
        try:
            return call()
        except ValueError as error:
            assert str(error).strip(), "a ValueError without a message"
            return error


def rejected(call, pattern, *, overflow_warnings=False):
    """``call()`` must raise a ValueError whose message matches ``pattern``; returns the message."""
    outcome = attempt(call, overflow_warnings=overflow_warnings)
    assert isinstance(outcome, ValueError), f"accepted, expected a ValueError matching {pattern!r}"
    message = str(outcome)
    assert re.search(pattern, message), (pattern, message)
    return message


def named(name):
    """A pattern matching ``name`` as a whole word (names such as ``W_hh`` and ``h0`` included)."""
    return rf"(?<!\w){re.escape(name)}(?!\w)"


def calls(engine, params, xs, targets, states):
    """Every public computation on one problem: forward always; loss and loss_and_grads with a head."""
    result = {"forward": lambda: engine.forward(params, xs, **states)}
    if engine.head is not None:
        result["loss"] = lambda: engine.loss(params, xs, targets, **states)
        result["loss_and_grads"] = lambda: engine.loss_and_grads(params, xs, targets, **states)
    return result



sizes_strategy = st.tuples(*(st.integers(1, 4) for _ in "TNDHK"))
seeds = st.integers(0, 2**32 - 1)


# ------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="session")
def pdflatex() -> str:
    """The pdflatex executable: tests that compile sheets need it and fail without it."""
    path = shutil.which("pdflatex")
    assert path, "pdflatex is required for this test (install TeX Live)"
    return path


@pytest.fixture(scope="session")
def pdftotext() -> str:
    """The pdftotext executable (poppler-utils), for reading a compiled sheet's text."""
    path = shutil.which("pdftotext")
    assert path, "pdftotext is required for this test (install poppler-utils)"
    return path


# ------------------------------------------- sheets shared between modules (reports/test_sheet*.py, …)
#: The small ``bpttlab decay`` run whose data and figures the sheets' tests read (test_sheet_topics.py,
#: test_sheet_layout.py, test_sheet_decay_figure.py): every cell's curves, two forget-gate biases, the
#: clipping and truncation files, and the figures in English only.
SHEETS_DECAY_ARGS = ("--T", "12", "--H", "4", "--seeds", "2", "--radii", "0.5", "--forget-biases", "0", "1")


@pytest.fixture(scope="session")
def rendered_sheet() -> Callable[[str, str, str], str]:
    """``render_sheet(sheet, lang, notation)`` with every other option at its default, rendered once per
    session: the modules that read the same sheet's source share it."""
    from bpttlab.reports.sheets.writer import render_sheet

    @functools.cache
    def rendered(sheet: str, lang: str, notation: str) -> str:
        return render_sheet(sheet, lang, notation)

    return rendered


@pytest.fixture(scope="session")
def sheets_decay_folder(tmp_path_factory) -> Path:
    """``bpttlab decay`` with :data:`SHEETS_DECAY_ARGS`, run once per session in a process of its own (so
    that its clipping data can be compared with this process's); its figures are in English only, so a
    sheet in Indonesian or in dlbook's notation draws its own from the data."""
    out = tmp_path_factory.mktemp("sheets_decay")
    result = subprocess.run([sys.executable, "-m", "bpttlab", "decay", "--out", str(out), *SHEETS_DECAY_ARGS],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def written_sheet(request, tmp_path_factory):
    """``written_sheet(sheet, lang, notation, decay_figures=False, pdf=True)``: the
    :class:`~bpttlab.reports.sheets.writer.Sheet` that ``write_sheets`` writes for one sheet, language and
    notation (with each cell's figure of :func:`sheets_decay_folder` if ``decay_figures``), compiled to
    PDF if ``pdf``. Each distinct sheet is written and compiled once per session, into one folder per
    ``decay_figures`` (as ``bpttlab sheet`` writes several sheets into one, sharing their figures); a
    sheet asked for without its PDF is the same ``.tex``, and is compiled when one asks for the PDF."""
    from bpttlab.reports.sheets.pdflatex import compile_pdf
    from bpttlab.reports.sheets.writer import Sheet, write_sheets

    folders = {False: tmp_path_factory.mktemp("sheets"), True: tmp_path_factory.mktemp("sheets_with_decay")}
    written: dict[tuple, Sheet] = {}

    def write(sheet: str, lang: str, notation: str, *, decay_figures: bool = False,
              pdf: bool = True) -> Sheet:
        key = (sheet, lang, notation, decay_figures)
        if key not in written:
            figures = request.getfixturevalue("sheets_decay_folder") if decay_figures else None
            (written[key],) = write_sheets(folders[decay_figures], (sheet,), (lang,), (notation,), pdf=pdf,
                                           decay_figures=figures)
        elif pdf and written[key].pdf is None:
            written[key] = dataclasses.replace(written[key], pdf=compile_pdf(written[key].tex))
        return written[key]

    return write


# ------------------------------------------- the main job on a cross-section (reports/test_main_job.py)
#: What the small ``bpttlab all`` runs: the four built-in cells and one shipped variant, the sheets of
#: two cells, the combined and the variants sheets, and small learning and decay studies.
SMALL_JOB_DECAY = {"T": 24, "H": 8, "seeds": (0, 1)}
SMALL_JOB_LEARN_CELLS = ("rnn", "lstm")


def small_job_subset() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(cells, sheets) of the small job, read from the registry."""
    from bpttlab.derivations import VARIANTS
    from bpttlab.derivations.cells import BUILT_IN
    from bpttlab.reports.sheets.writer import COMBINED, VARIANTS_SHEET

    return (*BUILT_IN, VARIANTS[-1]), (*BUILT_IN[:2], COMBINED, VARIANTS_SHEET)


def run_small_job(out: str) -> int:
    """``bpttlab all --out out --no-pdf`` on the cross-section; its exit status. Runs in-process or, as
    ``python -c "from conftest import run_small_job; ..."``, in a process of its own."""
    import functools

    from bpttlab.derivations import CELLS
    from bpttlab.reports.cli import main_job
    from bpttlab.reports.cli.app import main

    cells, sheets = small_job_subset()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(main_job, "quick_config",
                      functools.partial(main_job.quick_config, "numpy", cells=SMALL_JOB_LEARN_CELLS))
        patch.setattr(main_job, "write_decay", functools.partial(main_job.write_decay, **SMALL_JOB_DECAY))
        patch.setattr(main_job, "CELLS", {name: CELLS[name] for name in cells})
        patch.setattr(main_job, "verify_gradients", functools.partial(main_job.verify_gradients, cells=cells))
        patch.setattr(main_job, "all_sheets", lambda: sheets)
        return main(["all", "--out", str(out), "--no-pdf"])
