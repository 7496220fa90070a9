"""Forward + backward (loss and every gradient) timed against PyTorch and against a GEMM floor.

For each cell, dtype and size: the median time of ``engine.loss_and_grads`` (linear head, K = 8,
squared error summed over every step); of the same computation with PyTorch's ``nn`` module and
autograd on the CPU, with the same thread count, in the same run; and of just the matrix products
BPTT needs at those shapes (the floor: input projections for all steps at once, one recurrent
product per step forward and back, and the weight gradients as products over all T·N columns).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bpttlab.derivations import Cell, resolve_cell
from bpttlab.derivations.cells import BUILT_IN
from bpttlab.derivations.symbols import D as D_SYMBOL
from bpttlab.derivations.symbols import H as H_SYMBOL
from bpttlab.numeric.engine.core import build_engine
from bpttlab.numeric.verify.optional import torch_available

__all__ = ["SIZES", "BenchRow", "median_seconds", "run_benchmark"]

SIZES = {
    "tiny": {"T": 20, "N": 1, "D": 8, "H": 16},
    "mid": {"T": 50, "N": 32, "D": 64, "H": 128},
    "large": {"T": 100, "N": 64, "D": 256, "H": 512},
}
K = 8


@dataclass(frozen=True)
class BenchRow:
    cell: str
    dtype: str
    size: str
    ours: float
    torch: float | None
    floor: float

    @property
    def vs_torch(self) -> float | None:
        return None if self.torch is None else self.ours / self.torch

    @property
    def vs_floor(self) -> float:
        return self.ours / self.floor


def median_seconds(function: Callable[[], object], repeats: int, warm_up: bool = True) -> float:
    """The median wall time of ``repeats`` calls, after one untimed call if ``warm_up``."""
    if warm_up:
        function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _gates(cell: Cell) -> int:
    """How many H×D input weights the cell has: its stacked input and recurrent products are G·H high."""
    return sum(1 for p in cell.params if p.shape == (H_SYMBOL, D_SYMBOL))


def _gemm_floor(cell: Cell, T: int, N: int, D: int, H: int, dtype: type, repeats: int) -> float:
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

    return median_seconds(products, repeats)


def _torch_time(cell: Cell, T: int, N: int, D: int, H: int, dtype: type, repeats: int) -> float | None:
    """PyTorch's ``nn`` module and autograd doing the same, or None without PyTorch or an equivalent."""
    if not torch_available() or cell.torch_module is None:
        return None
    import torch

    module_class = getattr(torch.nn, cell.torch_module)
    torch_dtype = torch.float32 if dtype == np.float32 else torch.float64
    torch.manual_seed(0)
    module = module_class(D, H).to(torch_dtype)
    head = torch.nn.Linear(H, K).to(torch_dtype)
    xs = torch.randn(T, N, D, dtype=torch_dtype, requires_grad=True)
    targets = torch.randn(T, N, K, dtype=torch_dtype)

    def step() -> None:
        module.zero_grad()
        head.zero_grad()
        xs.grad = None
        out = module(xs)[0]
        loss = 0.5 * ((head(out) - targets) ** 2).sum() / N
        loss.backward()

    return median_seconds(step, repeats)


def run_benchmark(cells: tuple[str | Cell, ...] = BUILT_IN,
                  sizes: tuple[str, ...] = ("tiny", "mid", "large"), repeats: int = 5,
                  dtypes: tuple[type, ...] = (np.float32, np.float64)) -> list[BenchRow]:
    """Time every cell × dtype × size; PyTorch (where installed) and the floor in the same run."""
    rows = []
    for cell in map(resolve_cell, cells):
        engine = build_engine(cell, "linear", "every")
        for dtype in dtypes:
            for size in sizes:
                T, N, D, H = (SIZES[size][k] for k in "TNDH")
                rng = np.random.default_rng(0)
                params = engine.init_params(D, H, K, seed=0, dtype=dtype)
                xs = rng.normal(size=(T, N, D)).astype(dtype)
                targets = rng.normal(size=(T, N, K)).astype(dtype)
                def ours_step(engine=engine, params=params, xs=xs, targets=targets) -> None:
                    engine.loss_and_grads(params, xs, targets)

                ours = median_seconds(ours_step, repeats)
                rows.append(BenchRow(cell.name, np.dtype(dtype).name, size, ours,
                                     _torch_time(cell, T, N, D, H, dtype, repeats),
                                     _gemm_floor(cell, T, N, D, H, dtype, repeats)))
    return rows


def format_rows(rows: list[BenchRow]) -> str:
    header = f"{'cell':<10} {'dtype':<8} {'size':<6} {'ours ms':>9} {'torch ms':>9} {'floor ms':>9} " \
             f"{'÷torch':>7} {'÷floor':>7}"
    lines = [header, "-" * len(header)]
    for r in rows:
        torch_ms = "—" if r.torch is None else f"{1e3 * r.torch:9.2f}"
        ratio = "—" if r.vs_torch is None else f"{r.vs_torch:7.2f}"
        lines.append(f"{r.cell:<10} {r.dtype:<8} {r.size:<6} {1e3 * r.ours:9.2f} {torch_ms:>9} "
                     f"{1e3 * r.floor:9.2f} {ratio:>7} {r.vs_floor:7.2f}")
    return "\n".join(lines)
