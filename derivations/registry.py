"""``Registry``: a table of records by name, the one shape of every table in the toolkit.

Cells, heads, activations, notations and languages are each a :class:`Registry`: read as a mapping
(name → record, in registration order), added to with :meth:`Registry.register`, removed from with
:meth:`Registry.unregister` (for temporary registrations, e.g. a recipe's test), and looked up with
:meth:`Registry.lookup`, which names the valid entries when a name is not one of them.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Colour:
...     name: str
>>> COLOURS = Registry("colour", Colour)
>>> COLOURS.register(Colour("red"))
Colour(name='red')
>>> list(COLOURS), COLOURS.lookup("red")
(['red'], Colour(name='red'))
>>> COLOURS.lookup("blue")
Traceback (most recent call last):
    ...
ValueError: unknown colour 'blue'; valid: red
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

__all__ = ["Registry"]

R = TypeVar("R")


class Registry(Mapping[str, R], Generic[R]):
    """Name → record of one ``kind`` (read-only as a mapping). ``record_type``: what :meth:`register`
    accepts (``described`` says it in the error, e.g. "a Cell (from custom_cell or a .cell file)");
    ``key``: the record's attribute that names it (``code`` for a language); ``check``: more about a
    record to refuse, a function returning why (or None); ``protected``: names that cannot be
    unregistered (the built-in cells)."""

    def __init__(self, kind: str, record_type: type, *, key: str = "name", described: str | None = None,
                 check: Callable[[R], str | None] | None = None,
                 protected: Callable[[str], bool] | None = None) -> None:
        self.kind, self.record_type, self.key = kind, record_type, key
        self.described = described or f"a {record_type.__name__}"
        self._check, self._protected = check, protected
        self._records: dict[str, R] = {}

    def __getitem__(self, name: str) -> R:
        return self._records[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def __repr__(self) -> str:
        return f"<Registry of {self.kind}: {', '.join(self._records)}>"

    def register(self, record: R, *, replace: bool = False) -> R:
        """Add ``record`` under its name; a name already taken by a different record raises
        ``ValueError`` unless ``replace`` (registering an equal record again changes nothing)."""
        if not isinstance(record, self.record_type):
            raise ValueError(f"{self.kind}: expected {self.described}, got {record!r}")
        name = getattr(record, self.key)
        why = self._check(record) if self._check is not None else None
        if not name or why is not None:
            raise ValueError(f"cannot register the {self.kind} {name!r}: {why or f'its {self.key} is empty'}")
        if name in self._records and not replace and self._records[name] != record:
            raise ValueError(f"{self.kind} {name!r} is registered already; pass replace=True")
        self._records[name] = record
        return record

    def unregister(self, name: str) -> None:
        """Remove the record called ``name`` (nothing if there is none); a protected one raises."""
        if self._protected is not None and self._protected(name):
            raise ValueError(f"the {self.kind} {name!r} is built in or shipped and cannot be unregistered")
        self._records.pop(name, None)

    def lookup(self, name: object) -> R:
        """The record called ``name``; a ``ValueError`` listing the valid names otherwise."""
        if isinstance(name, str) and name in self._records:
            return self._records[name]
        raise ValueError(f"unknown {self.kind} {name!r}; valid: {', '.join(self._records)}")
