"""Nothing half-written: an exception or Ctrl-C inside the write leaves the old file or none."""

import os

import pytest

from bpttlab.reports.atomic import atomic_path, write_text


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "sheet.tex"
    write_text(target, "old\n")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as temporary:
        temporary.write_text("half of the new")
        raise KeyboardInterrupt
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["sheet.tex"]


def test_a_failed_first_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "plot.png") as temporary:
        temporary.write_bytes(b"\x89PNG")
        raise RuntimeError("matplotlib failed")
    assert list(tmp_path.iterdir()) == []


def test_the_temporary_keeps_the_suffix_and_the_file_gets_normal_permissions(tmp_path):
    with atomic_path(tmp_path / "decay.csv") as temporary:
        assert temporary.suffix == ".csv" and temporary.parent == tmp_path
        temporary.write_text("k,norm\n")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "decay.csv").stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
