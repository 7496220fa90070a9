"""The benchmarks run at small sizes and measure both sides: ours, PyTorch's and the GEMM floor."""

import numpy as np

from bpttlab.reports.benchmarks.derive import bench_derive
from bpttlab.reports.benchmarks.engine import format_rows, run_benchmark


def test_cold_derive_runs_in_a_fresh_interpreter():
    seconds = bench_derive(repeats=1)  # imports bpttlab.derivations in a subprocess
    assert 0 < seconds < 60


def test_engine_benchmark_measures_torch_beside_ours():
    rows = run_benchmark(("rnn", "gru"), ("tiny",), repeats=1, dtypes=(np.float32,))
    assert [(r.cell, r.dtype, r.size) for r in rows] == [("rnn", "float32", "tiny"),
                                                         ("gru", "float32", "tiny")]
    rnn, gru = rows
    assert rnn.ours > 0 and rnn.torch > 0 and rnn.floor > 0
    assert gru.torch is None  # PyTorch has no reset-before GRU
    table = format_rows(rows).splitlines()
    assert table[0].split()[:4] == ["cell", "dtype", "size", "ours"] and len(table) == 4
