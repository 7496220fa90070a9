"""Without JAX (``pip install bpttlab`` without the ``jax`` extra): everything runs on the NumPy engine,
and asking for the JAX backend is one sentence saying how to get it — from the library and from the
command line (exit status 2, one line, no traceback).

The subprocesses block ``import jax`` (``sys.modules["jax"] = None`` makes it raise ImportError), as on a
machine where JAX was never installed."""

import subprocess
import sys

BLOCK_JAX = """
import sys
sys.modules["jax"] = None
{body}
"""

LIBRARY = """
import numpy as np
from bpttlab.numeric.engine import BACKENDS, build_engine
from bpttlab.numeric.engine.jax_support import jax_available
engine = build_engine("lstm", "linear")
params = engine.init_params(D=2, H=3, K=1)
loss, grads = engine.loss_and_grads(params, np.ones((4, 2, 2)), np.zeros((4, 2, 1)))
print("numpy", sorted(BACKENDS), jax_available(), round(loss, 6) > 0)
try:
    build_engine("lstm", "linear", backend="jax")
except ModuleNotFoundError as error:
    print("refused:", error)
"""

INSTALL = "pip install 'bpttlab[jax]'"

CLI = """
from bpttlab.reports.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def run(body: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK_JAX.format(body=body), *args], capture_output=True,
                          text=True, timeout=600)


def test_jax_is_really_blocked():
    result = run("import jax")
    assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr


def test_the_numpy_engine_runs_and_the_jax_backend_is_one_sentence():
    result = run(LIBRARY)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines() == [
        "numpy ['jax', 'numpy'] False True",
        "refused: the JAX backend needs JAX, which is not installed: pip install 'bpttlab[jax]'"]


def test_asking_for_the_jax_backend_on_the_command_line_exits_2_with_one_line(tmp_path):
    for args, prog in ((["learn", "--quick", "--backend", "jax", "--out", str(tmp_path)], "learn"),
                       (["bench", "--quick", "--backend", "numpy", "jax"], "bench")):
        result = run(CLI, *args)
        assert result.returncode == 2 and result.stdout == "", result.stderr[-2000:]
        expected = f"bpttlab {prog}: error: --backend jax needs JAX, which is not installed: {INSTALL}"
        assert result.stderr.strip().splitlines() == [expected]


def test_the_learning_study_falls_back_to_numpy_and_says_so():
    result = run("""
from bpttlab.reports.cli.main_job import study_note
from bpttlab.reports.learn.study import quick_config
config = quick_config()
print(config.backend, len(config.seeds), max(config.lengths))
print(study_note(config))
""")
    assert result.returncode == 0, result.stderr[-2000:]
    backend, note = result.stdout.splitlines()
    assert backend == "numpy 1 20"
    assert note.startswith("learning study: the small study (") and note.endswith(
        "numpy backend; the course sheet's standard runs where JAX is installed (pip install 'bpttlab[jax]')")
