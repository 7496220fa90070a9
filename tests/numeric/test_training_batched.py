"""Many runs at once (issue 24, goal 3): ``train_many`` on the JAX backend is one vmapped, jitted program
over the runs, and each run is the NumPy loop's ``train`` with the same settings — the same seed gives
the same numbers up to float rounding (``FLOAT64_AGREEMENT`` relative in float64); on the NumPy backend
it *is* ``train``, bit for bit. Runs stop on their own: at the evaluation that solves the task, or at
the step that overflows, while the others go on."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import rel_err

from bpttlab.numeric.engine import build_engine
from bpttlab.numeric.training import (
    SGD,
    Adam,
    AddingProblem,
    CharacterModel,
    Run,
    initial_params,
    train,
    train_many,
)
from bpttlab.numeric.training.batched import CHAOTIC_AGREEMENT, FLOAT64_AGREEMENT


def _loop(engine, run, task, optimizer, steps, **options):
    """The NumPy loop's run with the same settings."""
    numpy_engine = build_engine(engine.cell, task.head, task.loss_at)
    lr = optimizer.lr if run.lr is None else run.lr
    return train(numpy_engine, run.params, task, type(optimizer)(**{**vars(optimizer), "lr": lr}), steps,
                 seed=run.seed, clip=run.clip, **options)


def _assert_same_run(ours, loop, tolerance: float | None) -> None:
    """The same course (steps, solved, diverged, evaluations) and, with a ``tolerance``, the same numbers."""
    assert (ours.steps, ours.solved_at, ours.diverged) == (loop.steps, loop.solved_at, loop.diverged)
    assert [step for step, _ in ours.evaluations] == [step for step, _ in loop.evaluations]
    if tolerance is None:
        return
    assert rel_err(ours.losses, loop.losses) <= tolerance
    assert rel_err(ours.grad_norms, loop.grad_norms) <= tolerance
    assert rel_err([e for _, e in ours.evaluations], [e for _, e in loop.evaluations]) <= tolerance
    assert ours.state.step == loop.state.step and sorted(ours.state.slots) == sorted(loop.state.slots)
    for name, value in loop.params.items():
        assert ours.params[name].dtype == value.dtype and rel_err(ours.params[name], value) <= tolerance, name


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_a_batch_of_runs_follows_the_numpy_loop(cell):
    """Three seeds, three learning rates, one run clipped (for the RNN, an exploding one: W_hh of
    spectral radius 3): 200 Adam steps on the adding problem."""
    task = AddingProblem(T=8)
    engine = build_engine(cell, task.head, task.loss_at, backend="jax")
    runs = [Run(initial_params(engine, task, H=6, seed=0), seed=0),
            Run(initial_params(engine, task, H=6, seed=1), seed=1, lr=0.003),
            Run(initial_params(engine, task, H=6, seed=2, radius=3.0 if cell == "rnn" else None), seed=2,
                lr=0.02, clip=0.5)]
    options = {"batch_size": 8, "eval_every": 40, "eval_size": 64}
    results = train_many(engine, runs, task, Adam(lr=0.01), 200, **options)
    assert len(results) == 3
    for number, (run, ours) in enumerate(zip(runs, results, strict=True)):
        chaotic = cell == "rnn" and number == 2  # the exploding RNN amplifies rounding
        _assert_same_run(ours, _loop(engine, run, task, Adam(lr=0.01), 200, **options),
                         CHAOTIC_AGREEMENT if chaotic else FLOAT64_AGREEMENT)
    assert max(results[2].grad_norms) > 0.5  # the clipped run was clipped


def test_on_the_numpy_backend_it_is_the_loop_bit_for_bit():
    task = AddingProblem(T=6)
    engine = build_engine("gru", task.head, task.loss_at)
    runs = [Run(initial_params(engine, task, H=4, seed=seed), seed=seed, lr=lr)
            for seed, lr in ((0, None), (3, 0.05))]
    for run, ours in zip(runs, train_many(engine, runs, task, Adam(lr=0.01), 30, batch_size=4, eval_every=10),
                         strict=True):
        loop = _loop(engine, run, task, Adam(lr=0.01), 30, batch_size=4, eval_every=10)
        assert ours.losses.tobytes() == loop.losses.tobytes()
        assert all(ours.params[k].tobytes() == loop.params[k].tobytes() for k in loop.params)


def test_runs_stop_on_their_own_when_solved_or_diverged():
    """hello with SGD: a fast learning rate solves early and stops there while a slow one goes on to the
    end; the adding problem with SGD: a learning rate of 10 overflows at step 81 — mid-block — and stops
    with the loop's message while the other run goes on."""
    hello, adding = CharacterModel(), AddingProblem(T=4)
    for task, lrs, options in ((hello, (0.5, 0.001), {"batch_size": 1, "eval_every": 5}),
                               (adding, (0.1, 10.0), {"batch_size": 8, "eval_every": 15, "eval_size": 64})):
        engine = build_engine("rnn", task.head, task.loss_at, backend="jax")
        runs = [Run(initial_params(engine, task, H=8, seed=0), seed=0, lr=lr) for lr in lrs]
        first, second = results = train_many(engine, runs, task, SGD(lr=0.1, momentum=0.9), 100, **options)
        for run, ours in zip(runs, results, strict=True):
            exploding = run.lr == 10.0  # its losses grow ×100 a step to 1e305: rounding grows with them
            _assert_same_run(ours, _loop(engine, run, task, SGD(lr=0.1, momentum=0.9), 100, **options),
                             None if exploding else FLOAT64_AGREEMENT)
        if task is hello:
            assert first.solved_at is not None and first.steps == first.solved_at < 100
            assert second.solved_at is None and second.steps == 100
        else:
            assert first.steps == 100 and first.diverged == ""
            assert second.steps == 80 and second.diverged.startswith("the loss overflowed: loss holds NaN")


def test_float32_runs_stay_float32_and_close_to_the_loop():
    task = AddingProblem(T=6)
    engine = build_engine("lstm", task.head, task.loss_at, backend="jax")
    runs = [Run(initial_params(engine, task, H=4, seed=seed, dtype=np.float32), seed=seed) for seed in (0, 1)]
    for run, ours in zip(runs, train_many(engine, runs, task, Adam(lr=0.01), 40, batch_size=4, eval_every=20),
                         strict=True):
        assert all(value.dtype == np.float32 for value in ours.params.values())
        loop = _loop(engine, run, task, Adam(lr=0.01), 40, batch_size=4, eval_every=20)
        assert rel_err(ours.losses, loop.losses) <= 1e-4
        assert all(rel_err(ours.params[k], loop.params[k]) <= 1e-4 for k in loop.params)


def test_bad_runs_are_refused_naming_the_run():
    task = AddingProblem(T=6)
    engine = build_engine("rnn", task.head, task.loss_at, backend="jax")
    good = initial_params(engine, task, H=4, seed=0)
    wrong = {**good, "W_hh": good["W_hh"][:, :3]}
    with pytest.raises(ValueError, match=r"^run 1 \(seed 7\): parameter W_hh has shape \(4, 3\)"):
        train_many(engine, [Run(good), Run(wrong, seed=7)], task, Adam(), 5)
    with pytest.raises(ValueError, match="runs must be a non-empty sequence of Run"):
        train_many(engine, [], task, Adam(), 5)
    with pytest.raises(ValueError, match="the adding task needs an engine with head='linear'"):
        train_many(build_engine("rnn", "softmax", "last", backend="jax"), [Run(good)], task, Adam(), 5)


SHARDED = """
import numpy as np, jax
from bpttlab.numeric.engine import build_engine
from bpttlab.numeric.training import Adam, AddingProblem, Run, initial_params, train_many
task = AddingProblem(T=6)
engine = build_engine("gru", task.head, task.loss_at, backend="jax")
runs = [Run(initial_params(engine, task, H=4, seed=seed), seed=seed) for seed in range(3)]
devices = jax.devices()
sharded = train_many(engine, runs, task, Adam(lr=0.01), 20, batch_size=4, eval_every=10, devices=devices)
single = train_many(engine, runs, task, Adam(lr=0.01), 20, batch_size=4, eval_every=10)
def rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
worst = max(max(rel(a.losses, b.losses), *(rel(a.params[k], b.params[k]) for k in a.params))
            for a, b in zip(sharded, single))
print(len(devices), sharded[0].params["W_hy"].shape, worst <= 1e-12, [r.steps for r in sharded])
"""


def test_the_run_axis_shards_over_devices():
    """Two CPU devices (XLA's host-platform device count): three runs padded to four, sharded along the
    run axis; the same runs as on one device (to rounding: XLA compiles the halves on their own)."""
    result = subprocess.run([sys.executable, "-c", SHARDED], capture_output=True, text=True, timeout=600,
                            env={**__import__("os").environ,
                                 "XLA_FLAGS": "--xla_force_host_platform_device_count=2"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "2 (1, 4) True [20, 20, 20]"
