"""The benchmarks run at small sizes and measure both sides: ours, PyTorch's and the GEMM floor."""

import time

import numpy as np

from bpttlab.reports.benchmarks.derive import bench_derive
from bpttlab.reports.benchmarks.engine import format_rows, goal_lines, median_seconds, run_benchmark


def test_cold_derive_runs_in_a_fresh_interpreter():
    seconds = bench_derive(repeats=1)  # imports bpttlab.derivations in a subprocess
    assert 0 < seconds < 60


def test_engine_benchmark_measures_torch_beside_ours():
    rows = run_benchmark(("rnn", "gru"), ("tiny",), repeats=1, dtypes=(np.float32,), settle=0.0)
    assert [(r.cell, r.head, r.dtype, r.size) for r in rows] == [
        (cell, head, "float32", "tiny") for cell in ("rnn", "gru") for head in ("linear", "softmax")]
    rnn, _, gru, _ = rows
    assert min(rnn.ours, rnn.ours_params, rnn.torch, rnn.torch_params, rnn.floor) > 0
    assert gru.torch is None and gru.torch_params is None  # PyTorch has no reset-before GRU
    table = format_rows(rows).splitlines()
    assert table[0].split() == ["cell", "head", "dtype", "size", "numpy", "÷torch", "torch", "numpy(θ)",
                                "÷torch(θ)", "torch(θ)", "floor", "÷floor"] and len(table) == 7
    assert table[2].split()[:4] == ["rnn", "linear", "float32", "tiny"]
    assert float(table[2].split()[5]) == round(rnn.ours / rnn.torch, 2)


def test_both_backends_side_by_side_with_jaxs_first_call_apart():
    """Issue 24: NumPy and JAX in the same run, each against torch.nn, the JAX program's first call
    (its compilation) apart from its steady state, and the goals counted."""
    rows = run_benchmark(("lstm",), ("small",), repeats=1, dtypes=(np.float64,), heads=("linear",),
                         settle=0.0, backends=("numpy", "jax"))
    (row,) = rows
    assert list(row.backends) == ["numpy", "jax"] and row.backends["numpy"].first_call is None
    jax_timing = row.backends["jax"]
    assert jax_timing.first_call > jax_timing.seconds > 0 and jax_timing.params_seconds > 0
    assert row.vs_torch("jax") == jax_timing.seconds / row.torch
    header, _, line, _ = format_rows(rows).splitlines()
    assert header.split() == ["cell", "head", "dtype", "size", "numpy", "÷torch", "jax", "÷torch", "torch",
                              "numpy(θ)", "÷torch(θ)", "jax(θ)", "÷torch(θ)", "torch(θ)", "floor", "÷floor",
                              "jax", "1st", "s"]
    assert float(line.split()[-1]) == round(jax_timing.first_call, 2)
    (goal,) = goal_lines(rows)
    assert goal.startswith("jax ÷ torch.nn ≤ 0.7 at small (float32, float64): ")
    assert "of 1 rows, worst" in goal


def test_the_blas_kernel_is_named(monkeypatch):
    from threadpoolctl import threadpool_info

    from bpttlab.reports.benchmarks.engine import blas_kernel

    blas = next(i for i in threadpool_info() if i["user_api"] == "blas")
    named = f"{blas['internal_api']} {blas['version']} kernel {blas['architecture']}, "
    assert blas_kernel().startswith(named)
    # a kernel forced by the environment is said to be, with the command that lets OpenBLAS choose
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    assert ("chosen by OPENBLAS_CORETYPE=Haswell" in blas_kernel()) == (blas["internal_api"] == "openblas")
    monkeypatch.delenv("OPENBLAS_CORETYPE")
    assert "OPENBLAS_CORETYPE" not in blas_kernel()


def test_timings_start_once_what_ran_before_has_settled():
    """A call slowed for the first 0.15 s (as PyTorch is while NumPy's BLAS threads still spin) is
    timed at its settled speed only after enough untimed calls."""
    started = time.perf_counter()

    def call() -> None:
        time.sleep(0.02 if time.perf_counter() - started < 0.15 else 0.002)

    assert median_seconds(call, repeats=3) > 0.015  # no settling: the slowed calls are timed
    started = time.perf_counter()
    assert median_seconds(call, repeats=3, settle=0.2) < 0.015
