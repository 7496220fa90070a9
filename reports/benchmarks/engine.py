"""Forward + backward (loss and gradients) timed against PyTorch and against a GEMM floor.

For each cell, head, dtype and size: the median time of ``engine.loss_and_grads`` with every gradient
(``xs`` included) and with the parameters' only (``wrt``); of the same computations with PyTorch's
``nn`` module and autograd on the CPU (``xs`` requiring grad or not), with the same thread count, in the
same run; and of just the matrix products BPTT needs at those shapes (the floor: input projections for
all steps at once, one recurrent product per step forward and back, and the weight gradients and δx as
products over all T·N columns). Heads: linear (K = 8, squared error) and softmax (K = 16, cross-entropy),
the loss summed over every step and averaged over the batch.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bpttlab.derivations import Cell, resolve_cell
from bpttlab.derivations.cells import BUILT_IN
from bpttlab.derivations.symbols import D as D_SYMBOL
from bpttlab.derivations.symbols import H as H_SYMBOL
from bpttlab.numeric.engine import Engine, build_engine
from bpttlab.numeric.verify.optional import torch_available

__all__ = ["HEADS", "SETTLE", "SIZES", "BenchRow", "blas_kernel", "median_seconds", "problem",
           "run_benchmark", "settle_calls"]

SIZES = {
    "tiny": {"T": 20, "N": 1, "D": 8, "H": 16},
    "mid": {"T": 50, "N": 32, "D": 64, "H": 128},
    "large": {"T": 100, "N": 64, "D": 256, "H": 512},
}
#: The heads timed, with their number of outputs K.
HEADS = {"linear": 8, "softmax": 16}
#: Seconds of untimed calls before each timing. After its last product OpenBLAS keeps its threads
#: spinning for a while, and on two cores they take one from whatever runs next: PyTorch's float32 LSTM
#: at mid took 6.6–7.0 ms a call right after NumPy products and 3.1–3.4 ms back to back. Each side is
#: timed once the other's threads have gone quiet (PyTorch's OpenMP threads spin too).
SETTLE = 0.3


def blas_kernel() -> str:
    """Which BLAS NumPy runs, with which kernel and threads (threadpoolctl), in one line; and whether
    the environment chose OpenBLAS's kernel instead of OpenBLAS detecting the CPU."""
    from threadpoolctl import threadpool_info

    found = [f"{i.get('internal_api', '?')} {i.get('version', '')} kernel {i.get('architecture', '?')}, "
             f"{i.get('num_threads', '?')} threads" for i in threadpool_info() if i.get("user_api") == "blas"]
    line = "; ".join(found) or "no BLAS found by threadpoolctl"
    forced = os.environ.get("OPENBLAS_CORETYPE")
    if forced and any(i.get("internal_api") == "openblas" for i in threadpool_info()):
        line += (f" (chosen by OPENBLAS_CORETYPE={forced}; for the kernel OpenBLAS picks for this CPU run "
                 f"`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE bpttlab bench`)")
    return line


@dataclass(frozen=True)
class BenchRow:
    cell: str
    head: str
    dtype: str
    size: str
    ours: float
    ours_params: float
    torch: float | None
    torch_params: float | None
    floor: float

    @property
    def vs_torch(self) -> float | None:
        return None if self.torch is None else self.ours / self.torch

    @property
    def vs_torch_params(self) -> float | None:
        return None if self.torch_params is None else self.ours_params / self.torch_params

    @property
    def vs_floor(self) -> float:
        return self.ours / self.floor


def settle_calls(function: Callable[[], object], seconds: float) -> None:
    """One untimed call, then more until ``seconds`` have passed since it started (see :data:`SETTLE`)."""
    started = time.perf_counter()
    function()
    while time.perf_counter() - started < seconds:
        function()


def median_seconds(function: Callable[[], object], repeats: int, warm_up: bool = True,
                   settle: float = 0.0) -> float:
    """The median wall time of ``repeats`` calls, after one untimed call if ``warm_up``, and more
    untimed calls until ``settle`` seconds have passed since the first (see :data:`SETTLE`).

    >>> calls = []
    >>> seconds = median_seconds(lambda: calls.append(time.sleep(0.01)), repeats=3, settle=0.1)
    >>> len(calls) >= 3 + 10, seconds >= 0.01
    (True, True)
    """
    if warm_up:
        settle_calls(function, settle)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _gates(cell: Cell) -> int:
    """How many H×D input weights the cell has: its stacked input and recurrent products are G·H high."""
    return sum(1 for p in cell.params if p.shape == (H_SYMBOL, D_SYMBOL))


def _gemm_floor(cell: Cell, T: int, N: int, D: int, H: int, dtype: type, repeats: int,
                settle: float) -> float:
    G = _gates(cell)
    rng = np.random.default_rng(0)
    W_x, W_h = rng.normal(size=(G * H, D)).astype(dtype), rng.normal(size=(G * H, H)).astype(dtype)
    X, A = rng.normal(size=(D, T * N)).astype(dtype), rng.normal(size=(G * H, T * N)).astype(dtype)
    hs = rng.normal(size=(H, T * N)).astype(dtype)
    h, a = rng.normal(size=(H, N)).astype(dtype), rng.normal(size=(G * H, N)).astype(dtype)

    def products() -> None:
        W_x @ X
        for _ in range(T):
            W_h @ h
            W_h.T @ a
        A @ X.T
        A @ hs.T
        W_x.T @ A

    return median_seconds(products, repeats, settle=settle)


def _torch_time(cell: Cell, head_name: str, T: int, N: int, D: int, H: int, dtype: type, repeats: int,
                settle: float, input_grad: bool) -> float | None:
    """PyTorch's ``nn`` module and autograd doing the same, or None without PyTorch or an equivalent."""
    if not torch_available() or cell.torch_module is None:
        return None
    import torch

    module_class = getattr(torch.nn, cell.torch_module)
    torch_dtype = torch.float32 if dtype == np.float32 else torch.float64
    torch.manual_seed(0)
    K = HEADS[head_name]
    module = module_class(D, H).to(torch_dtype)
    head = torch.nn.Linear(H, K).to(torch_dtype)
    xs = torch.randn(T, N, D, dtype=torch_dtype, requires_grad=input_grad)
    if head_name == "softmax":
        targets = torch.randint(0, K, (T * N,))

        def loss_of(out: torch.Tensor) -> torch.Tensor:
            logits = head(out).reshape(T * N, K)
            return torch.nn.functional.cross_entropy(logits, targets, reduction="sum") / N
    else:
        targets = torch.randn(T, N, K, dtype=torch_dtype)

        def loss_of(out: torch.Tensor) -> torch.Tensor:
            return 0.5 * ((head(out) - targets) ** 2).sum() / N

    def step() -> None:
        module.zero_grad()
        head.zero_grad()
        xs.grad = None
        loss_of(module(xs)[0]).backward()

    return median_seconds(step, repeats, settle=settle)


def problem(engine: Engine, size: str, dtype: type) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The parameters, inputs and targets timed at ``size`` (seeded: the same in every run)."""
    T, N, D, H = (SIZES[size][k] for k in "TNDH")
    K = HEADS[engine.head.name]
    rng = np.random.default_rng(0)
    params = engine.init_params(D, H, K, seed=0, dtype=dtype)
    xs = rng.normal(size=(T, N, D)).astype(dtype)
    targets = (rng.integers(0, K, size=(T, N)) if engine.head.name == "softmax"
               else rng.normal(size=(T, N, K)).astype(dtype))
    return params, xs, targets


def run_benchmark(cells: tuple[str | Cell, ...] = BUILT_IN,
                  sizes: tuple[str, ...] = ("tiny", "mid", "large"), repeats: int = 5,
                  dtypes: tuple[type, ...] = (np.float32, np.float64),
                  heads: tuple[str, ...] = tuple(HEADS), settle: float | None = None) -> list[BenchRow]:
    """Time every cell × head × dtype × size; PyTorch (where installed) and the floor in the same run,
    each after ``settle`` seconds of untimed calls (:data:`SETTLE` if None)."""
    settle = SETTLE if settle is None else settle
    rows = []
    for cell in map(resolve_cell, cells):
        for head in heads:
            engine = build_engine(cell, head, "every")
            for dtype in dtypes:
                for size in sizes:
                    T, N, D, H = (SIZES[size][k] for k in "TNDH")
                    params, xs, targets = problem(engine, size, dtype)

                    def ours(wrt: list[str] | None, engine=engine, params=params, xs=xs, targets=targets
                             ) -> Callable[[], object]:
                        return lambda: engine.loss_and_grads(params, xs, targets, wrt=wrt)

                    rows.append(BenchRow(
                        cell.name, head, np.dtype(dtype).name, size,
                        median_seconds(ours(None), repeats, settle=settle),
                        median_seconds(ours(list(params)), repeats, settle=settle),
                        _torch_time(cell, head, T, N, D, H, dtype, repeats, settle, input_grad=True),
                        _torch_time(cell, head, T, N, D, H, dtype, repeats, settle, input_grad=False),
                        _gemm_floor(cell, T, N, D, H, dtype, repeats, settle)))
    return rows


def format_rows(rows: list[BenchRow]) -> str:
    """The table in ms: every gradient (``xs`` included), then the parameters' only (θ: ``wrt``)."""
    header = (f"{'cell':<10} {'head':<8} {'dtype':<8} {'size':<6} {'ours':>8} {'torch':>8} {'÷torch':>7} "
              f"{'ours(θ)':>8} {'torch(θ)':>8} {'÷torch(θ)':>9} {'floor':>8} {'÷floor':>7}")
    lines = [header, "-" * len(header)]

    def ms(value: float | None) -> str:
        return "—" if value is None else f"{1e3 * value:.2f}"

    def ratio(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"

    for r in rows:
        lines.append(f"{r.cell:<10} {r.head:<8} {r.dtype:<8} {r.size:<6} {ms(r.ours):>8} {ms(r.torch):>8} "
                     f"{ratio(r.vs_torch):>7} {ms(r.ours_params):>8} {ms(r.torch_params):>8} "
                     f"{ratio(r.vs_torch_params):>9} {ms(r.floor):>8} {r.vs_floor:7.2f}")
    lines.append("ms, medians; (θ): the parameters' gradients only (wrt=…), the others include ∂L/∂xs")
    return "\n".join(lines)
