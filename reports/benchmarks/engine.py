"""Forward + backward (loss and gradients) timed on each backend against PyTorch and a GEMM floor.

For each cell, head, dtype and size: the median time of ``engine.loss_and_grads`` with every gradient
(``xs`` included) and with the parameters' only (``wrt``), on every backend asked for (NumPy, JAX);
of the same computations with PyTorch's ``nn`` module and autograd on the CPU (``xs`` requiring grad
or not), with the same thread count; and of just the matrix products BPTT needs at those shapes (the
floor: input projections for all steps at once, one recurrent product per step forward and back, and
the weight gradients and δx as products over all T·N columns) — all in the same process, a row's
contenders one after another. A compiling backend's first call (its compilation, and one run) is
reported apart from its steady state. Heads: linear (K = 8, squared error) and softmax (K = 16,
cross-entropy), the loss summed over every step and averaged over the batch.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from bpttlab.derivations import HEADS as REGISTERED_HEADS
from bpttlab.derivations import Cell, resolve_cell
from bpttlab.derivations.cells import BUILT_IN
from bpttlab.derivations.heads import TargetKind
from bpttlab.derivations.symbols import D as D_SYMBOL
from bpttlab.derivations.symbols import H as H_SYMBOL
from bpttlab.numeric.engine import BACKENDS, Engine, build_engine
from bpttlab.numeric.engine.jax_support import enable_float64
from bpttlab.numeric.verify.optional import torch_available

__all__ = [
    "GOALS",
    "HEADS",
    "SETTLE",
    "SIZES",
    "BenchRow",
    "Timing",
    "blas_kernel",
    "goal_lines",
    "jax_device",
    "limited_threads",
    "median_seconds",
    "problem",
    "run_benchmark",
    "settle_calls",
]

SIZES = {
    "tiny": {"T": 20, "N": 1, "D": 8, "H": 16},
    "small": {"T": 20, "N": 8, "D": 16, "H": 32},
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


@contextlib.contextmanager
def limited_threads(threads: int | None) -> Iterator[str]:
    """Inside the block NumPy's BLAS, PyTorch and XLA each compute on ``threads`` threads (None: their own
    choice), and the one line that says so. On a machine other work shares, one thread each is the
    fair comparison: a pool that spins waiting for a busy core slows its library many times over.
    XLA reads its setting when JAX starts, so the block must open before JAX's first computation."""
    if threads is None:
        yield "threads: each library's own"
        return
    from threadpoolctl import threadpool_limits

    flags = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = (f"{flags} --xla_cpu_multi_thread_eigen=false "
                               f"intra_op_parallelism_threads={threads}")
    torch_threads = None
    if torch_available():
        import torch

        torch_threads = torch.get_num_threads()
        torch.set_num_threads(threads)
    try:
        with threadpool_limits(threads):
            yield f"threads: {threads} for NumPy's BLAS, PyTorch and XLA"
    finally:
        os.environ["XLA_FLAGS"] = flags
        if torch_threads is not None:
            import torch

            torch.set_num_threads(torch_threads)


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
class Timing:
    """One backend's medians in seconds: every gradient (``seconds``), the parameters' only
    (``params_seconds``), and its first call (``first_call``: for a compiling backend, compiling the
    program and one run; None for one that does not compile)."""

    seconds: float
    params_seconds: float
    first_call: float | None = None


@dataclass(frozen=True)
class BenchRow:
    cell: str
    head: str
    dtype: str
    size: str
    backends: dict[str, Timing]
    torch: float | None
    torch_params: float | None
    floor: float

    @property
    def ours(self) -> float:
        """The reference backend's time (NumPy's), or the first backend timed."""
        return self.backends.get("numpy", next(iter(self.backends.values()))).seconds

    @property
    def ours_params(self) -> float:
        return self.backends.get("numpy", next(iter(self.backends.values()))).params_seconds

    def vs_torch(self, backend: str = "numpy") -> float | None:
        return None if self.torch is None else self.backends[backend].seconds / self.torch

    def vs_torch_params(self, backend: str = "numpy") -> float | None:
        if self.torch_params is None:
            return None
        return self.backends[backend].params_seconds / self.torch_params

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
    F = torch.nn.functional
    kind = REGISTERED_HEADS[head_name].target_kind
    if kind is TargetKind.CLASS:
        targets = torch.randint(0, K, (T * N,))

        def loss_of(out: torch.Tensor) -> torch.Tensor:
            return F.cross_entropy(head(out).reshape(T * N, K), targets, reduction="sum") / N
    elif kind is TargetKind.PROBABILITY:
        targets = torch.rand(T, N, K, dtype=torch_dtype)

        def loss_of(out: torch.Tensor) -> torch.Tensor:
            return F.binary_cross_entropy_with_logits(head(out), targets, reduction="sum") / N
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
    kind = engine.head.target_kind
    if kind is TargetKind.CLASS:
        targets = rng.integers(0, K, size=(T, N))
    else:
        targets = (rng.uniform(size=(T, N, K)) if kind is TargetKind.PROBABILITY
                   else rng.normal(size=(T, N, K))).astype(dtype)
    return params, xs, targets


def _backend_timing(engine: Engine, params: dict, xs: np.ndarray, targets: np.ndarray, repeats: int,
                    settle: float) -> Timing:
    """One backend's row: its first call (timed when it compiles), then the medians."""
    first_call = None
    if BACKENDS[engine.backend].compiles:
        started = time.perf_counter()
        engine.loss_and_grads(params, xs, targets)
        first_call = time.perf_counter() - started
        engine.loss_and_grads(params, xs, targets, wrt=list(params))  # the other program, compiled untimed
    every = median_seconds(lambda: engine.loss_and_grads(params, xs, targets), repeats, settle=settle)
    theirs = median_seconds(lambda: engine.loss_and_grads(params, xs, targets, wrt=list(params)), repeats,
                            settle=settle)
    return Timing(every, theirs, first_call)


def run_benchmark(cells: tuple[str | Cell, ...] = BUILT_IN,
                  sizes: tuple[str, ...] = ("tiny", "small", "mid", "large"), repeats: int = 5,
                  dtypes: tuple[type, ...] = (np.float32, np.float64),
                  heads: tuple[str, ...] = tuple(HEADS), settle: float | None = None,
                  backends: tuple[str, ...] = ("numpy",)) -> list[BenchRow]:
    """Time every cell × head × dtype × size on every backend of ``backends``; PyTorch (where
    installed) and the floor in the same run, each after ``settle`` seconds of untimed calls
    (:data:`SETTLE` if None)."""
    settle = SETTLE if settle is None else settle
    for backend in backends:
        BACKENDS[backend].require(f"the {backend} benchmark")
    rows = []
    for cell in map(resolve_cell, cells):
        for head in heads:
            engines = {backend: build_engine(cell, head, "every", backend=backend) for backend in backends}
            for dtype in dtypes:
                for size in sizes:
                    T, N, D, H = (SIZES[size][k] for k in "TNDH")
                    params, xs, targets = problem(next(iter(engines.values())), size, dtype)
                    timings = {backend: _backend_timing(engine, params, xs, targets, repeats, settle)
                               for backend, engine in engines.items()}
                    rows.append(BenchRow(
                        cell.name, head, np.dtype(dtype).name, size, timings,
                        _torch_time(cell, head, T, N, D, H, dtype, repeats, settle, input_grad=True),
                        _torch_time(cell, head, T, N, D, H, dtype, repeats, settle, input_grad=False),
                        _gemm_floor(cell, T, N, D, H, dtype, repeats, settle)))
    return rows


def format_rows(rows: list[BenchRow]) -> str:
    """The table in ms: each backend with every gradient (``xs`` included) and its ratio to PyTorch,
    then the parameters' gradients only (θ: ``wrt``) likewise, the floor, and each compiling backend's
    first call in seconds."""
    backends = list(rows[0].backends) if rows else ["numpy"]
    compiling = [b for b in backends if BACKENDS[b].compiles]
    columns = [("cell", 10, "<"), ("head", 8, "<"), ("dtype", 8, "<"), ("size", 6, "<")]
    columns += [(name, 8, ">") for b in backends for name in (b, "÷torch")] + [("torch", 8, ">")]
    columns += [(name, 9, ">") for b in backends for name in (f"{b}(θ)", "÷torch(θ)")]
    columns += [("torch(θ)", 8, ">")]
    columns += [("floor", 8, ">"), ("÷floor", 7, ">")] + [(f"{b} 1st s", 10, ">") for b in compiling]
    header = " ".join(f"{name:{align}{width}}" for name, width, align in columns)
    lines = [header, "-" * len(header)]

    def ms(value: float | None) -> str:
        return "—" if value is None else f"{1e3 * value:.2f}"

    def ratio(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"

    for r in rows:
        values = [r.cell, r.head, r.dtype, r.size]
        values += [v for b in backends for v in (ms(r.backends[b].seconds), ratio(r.vs_torch(b)))]
        values += [ms(r.torch)]
        values += [v for b in backends
                   for v in (ms(r.backends[b].params_seconds), ratio(r.vs_torch_params(b)))]
        values += [ms(r.torch_params), ms(r.floor), f"{r.vs_floor:.2f}"]
        values += [f"{r.backends[b].first_call:.2f}" for b in compiling]
        cells = zip(values, columns, strict=True)
        lines.append(" ".join(f"{v:{align}{width}}" for v, (_, width, align) in cells))
    lines.append("ms, medians; (θ): the parameters' gradients only (wrt=…), the others include ∂L/∂xs; "
                 "÷floor: the reference backend's; 1st s: a compiling backend's first call (compiling, one "
                 "run)")
    return "\n".join(lines)


def jax_device() -> str:
    """JAX's version and the device it computes on (what ``jax.devices()`` finds first), in one line."""
    import jax

    enable_float64()  # as the JAX backend does when it is built
    device = jax.devices()[0]
    return (f"JAX {jax.__version__}: {device.platform} device {device.device_kind!r} ({len(jax.devices())} "
            f"device(s)), float64 {'on' if jax.config.jax_enable_x64 else 'off'}")


#: Issue 24's goals for a compiling backend against torch.nn: (size, dtypes, the largest ratio).
GOALS = (("small", ("float32", "float64"), 0.7), ("mid", ("float64",), 0.7))


def goal_lines(rows: list[BenchRow]) -> list[str]:
    """For each compiling backend timed, how many rows with a torch.nn twin meet each of :data:`GOALS`
    (every gradient, ``xs`` included), and the worst ratio."""
    lines = []
    for backend in (b for b in (rows[0].backends if rows else {}) if BACKENDS[b].compiles):
        for size, dtypes, bar in GOALS:
            ratios = [r.vs_torch(backend) for r in rows if r.size == size and r.dtype in dtypes
                      and r.torch is not None]
            if ratios:
                met = sum(ratio <= bar for ratio in ratios)
                lines.append(f"{backend} ÷ torch.nn ≤ {bar} at {size} ({', '.join(dtypes)}): {met} of "
                             f"{len(ratios)} rows, worst {max(ratios):.2f}")
    return lines
