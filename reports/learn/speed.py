"""Training speed: optimizer steps per second of the engine's loop (``train``'s step: gradients from
the engine, Adam) against the same loop in PyTorch (``nn.RNN``/``nn.LSTM``/``nn.GRU`` and a linear
head, ``torch.optim.Adam``), on the same adding-problem batches, float64 both, one thread both, in
the same process. Only the cells PyTorch has a module for are compared.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bpttlab.derivations import CELLS
from bpttlab.numeric.engine import build_engine
from bpttlab.numeric.training import Adam, AddingProblem, gradients, initial_params
from bpttlab.numeric.verify import torch_available
from bpttlab.reports.learn.threads import one_thread

__all__ = ["TORCH_MODULES", "SpeedRow", "training_speed"]

#: The registered cells PyTorch ships a module for (the registry's ``torch_module``), and its name in
#: ``torch.nn``.
TORCH_MODULES = {name: cell.torch_module for name, cell in CELLS.items() if cell.torch_module}


@dataclass(frozen=True)
class SpeedRow:
    cell: str
    T: int
    engine_steps_per_second: float
    torch_steps_per_second: float | None

    @property
    def ratio(self) -> float | None:
        """Engine over PyTorch: above 1, the engine is faster."""
        if self.torch_steps_per_second is None:
            return None
        return self.engine_steps_per_second / self.torch_steps_per_second


def _engine_rate(cell: str, task: AddingProblem, H: int, batch: int, steps: int) -> float:
    engine = build_engine(cell, task.head, task.loss_at)
    params = initial_params(engine, task, H, seed=0)
    adam = Adam(lr=0.01)
    state = adam.init(params)
    batches = [task.batch(np.random.default_rng([0, s]), batch) for s in range(steps + 1)]
    gradients(engine, params, *batches[0])  # warm: the engine is compiled on first use
    started = time.perf_counter()
    for xs, targets in batches[1:]:
        _, grads = gradients(engine, params, xs, targets)
        params, state = adam.update(params, grads, state)
    return steps / (time.perf_counter() - started)


def _torch_rate(cell: str, task: AddingProblem, H: int, batch: int, steps: int) -> float:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        recurrent = getattr(torch.nn, TORCH_MODULES[cell])(task.D, H).double()
        head = torch.nn.Linear(H, task.K).double()
        optimizer = torch.optim.Adam([*recurrent.parameters(), *head.parameters()], lr=0.01)
        batches = [tuple(torch.from_numpy(a) for a in task.batch(np.random.default_rng([0, s]), batch))
                   for s in range(steps + 1)]

        def step(xs: torch.Tensor, targets: torch.Tensor) -> None:
            optimizer.zero_grad()
            states, _ = recurrent(xs)
            loss = 0.5 * ((head(states[-1]) - targets) ** 2).sum() / xs.shape[1]
            loss.backward()
            optimizer.step()

        step(*batches[0])
        started = time.perf_counter()
        for xs, targets in batches[1:]:
            step(xs, targets)
        return steps / (time.perf_counter() - started)
    finally:
        torch.set_num_threads(threads)


def training_speed(cells: Sequence[str] = tuple(TORCH_MODULES), lengths: Sequence[int] = (50,), H: int = 32,
                   batch: int = 32, steps: int = 50) -> list[SpeedRow]:
    """Steps per second of both loops for each cell and T; PyTorch's column is None without it."""
    unknown = [c for c in cells if c not in TORCH_MODULES]
    if unknown:
        raise ValueError(f"cells must be among {', '.join(TORCH_MODULES)} (those PyTorch has a module for), "
                         f"got {unknown[0]!r}")
    rows = []
    with one_thread():
        for cell in cells:
            for T in lengths:
                task = AddingProblem(T=T)
                theirs = _torch_rate(cell, task, H, batch, steps) if torch_available() else None
                rows.append(SpeedRow(cell, T, _engine_rate(cell, task, H, batch, steps), theirs))
    return rows
