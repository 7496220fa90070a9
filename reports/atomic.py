"""Nothing half-written: every file is written beside its destination under a temporary name and
renamed into place only once complete, so an error or Ctrl-C leaves either the old file or none.

>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> write_text(folder / "a.txt", "done\\n")
>>> (folder / "a.txt").read_text(), sorted(p.name for p in folder.iterdir())
('done\\n', ['a.txt'])
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "write_bytes", "write_text"]


@contextlib.contextmanager
def atomic_path(destination: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``destination`` (same suffix, so tools that look at it still work);
    renamed to ``destination`` when the block ends without an exception, removed otherwise."""
    destination = Path(destination)
    descriptor, name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.stem}.",
                                        suffix=destination.suffix)
    os.close(descriptor)
    temporary = Path(name)
    temporary.chmod(0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
    try:
        yield temporary
        os.replace(temporary, destination)
    except BaseException:  # KeyboardInterrupt included: no partial file survives
        temporary.unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_bytes(destination: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``destination`` atomically."""
    with atomic_path(destination) as temporary:
        temporary.write_bytes(data)


def write_text(destination: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``destination`` atomically."""
    write_bytes(destination, text.encode("utf-8"))
