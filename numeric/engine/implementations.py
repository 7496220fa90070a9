"""A library's implementation of each entry of a registry (the activations, the heads), keyed by the
registry's names: read-only as a mapping, extended only by :meth:`Implementations.register`, so that
adding an activation or a head is one registration per library (see CONTRIBUTING.md).

>>> table = Implementations("numpy", "activation", {"tanh": abs})
>>> table.register("softsign", abs)
>>> sorted(table), table["softsign"] is abs
(['softsign', 'tanh'], True)
>>> table.register("softsign", max)
Traceback (most recent call last):
...
ValueError: numpy has an implementation of the activation 'softsign' already; pass replace=True
>>> table.unregister("softsign"); "softsign" in table
False
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

__all__ = ["Implementations"]


class Implementations(Mapping[str, Callable]):
    """``library``'s implementation of each ``kind`` (an activation, a head) by its registered name."""

    def __init__(self, library: str, kind: str, entries: Mapping[str, Callable], *, where: str = ""):
        self.library, self.kind, self.where = library, kind, where or f"{library}'s table"
        self._entries = dict(entries)

    def __getitem__(self, name: str) -> Callable:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Implementations({self.library!r}, {self.kind!r}, {sorted(self._entries)})"

    def register(self, name: str, function: Callable, *, replace: bool = False) -> None:
        """Add ``function`` as the implementation of ``name``; a name implemented already raises unless
        ``replace``."""
        if not isinstance(name, str) or not callable(function):
            raise ValueError(f"register takes a name and a callable, got {name!r}, {function!r}")
        if name in self._entries and not replace and self._entries[name] is not function:
            raise ValueError(f"{self.library} has an implementation of the {self.kind} {name!r} already; "
                             f"pass replace=True")
        self._entries[name] = function

    def unregister(self, name: str) -> None:
        """Remove the implementation of ``name`` (for temporary registrations, e.g. in tests)."""
        self._entries.pop(name, None)

    def require(self, name: str) -> Callable:
        """The implementation of ``name``; one line saying what is missing and where to add it otherwise."""
        if name not in self._entries:
            raise ValueError(f"{self.library} has no implementation of the {self.kind} {name!r}: "
                             f"register one with {self.where}.register (CONTRIBUTING.md)")
        return self._entries[name]
