"""The package as a user installs it: a wheel built from the repository holds one import name,
``bpttlab``, and installed into a fresh virtual environment it works from any folder — the console
scripts, ``python -m bpttlab``, and the sheet templates shipped as package data."""

import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(REPOSITORY)], check=True, capture_output=True, timeout=300)
    (built,) = out.glob("bpttlab-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel; the dependencies come from this interpreter's
    site-packages (no download), bpttlab itself only from the wheel."""
    env = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env)
    python = env / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                    str(wheel)], check=True, capture_output=True, timeout=300)
    return env


def run(env: Path, *command: str, cwd: Path) -> subprocess.CompletedProcess:
    executable = env / "bin" / command[0]
    return subprocess.run([str(executable), *command[1:]], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_the_wheel_installs_one_import_name(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"bpttlab", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}
    assert "bpttlab/reports/sheets/templates/sheet.tex.j2" in names
    assert "bpttlab/reports/sheets/templates/parts/cell.tex.j2" in names
    assert "bpttlab/reports/sheets/words/id.toml" in names  # a language is its words file
    assert "bpttlab/derivations/cells/lstm.py" in names
    assert not any(name.startswith("tests/") for name in names)


def test_python_m_bpttlab_from_another_folder(installed, tmp_path):
    result = run(installed, "python", "-m", "bpttlab", "--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == "bpttlab 0.1.0"
    where = run(installed, "python", "-c", "import bpttlab.derivations as d; print(d.__file__)", cwd=tmp_path)
    assert where.stdout.strip().startswith(str(installed))


def test_the_bare_folder_names_are_not_installed(installed, tmp_path):
    for bare in ("derivations", "numeric", "reports"):
        result = run(installed, "python", "-c", f"import {bare}", cwd=tmp_path)
        assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr, bare


def test_sheet_writes_from_the_packaged_templates(installed, tmp_path):
    result = run(installed, "bpttlab", "sheet", "--cell", "rnn", "--lang", "id", "--no-pdf", "--out", "out",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    tex = (tmp_path / "out" / "rnn.id.course.tex").read_text()
    assert r"\begin{document}" in tex and r"\tanh" in tex


def test_verify_gradients_console_script(installed, tmp_path):
    result = run(installed, "verify_gradients", "--cells", "rnn", "--heads", "linear", "--loss-at", "last",
                 "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["check"] for r in rows] == ["finite differences", "torch autograd", "torch nn module"]
    assert all(r["status"] == "passed" for r in rows)
