"""The derivations' naming convention, read by a small grammar rather than by string replacement, and
moving a name's running time index to another step.

Every ``MatrixSymbol`` of the derivations is named in one plain convention (``W_hh``, ``b_f``,
``h_{t-1}``, ``a_{f,t}``, ``δW_xh``, ``ŷ_t``, ``ℓ_t``, the carried gradient ``δh_t^{(t+1)}``)::

    name      = ["δ"] base ["'"…] ["_" subscript] ["^{(" index ")}"]
    subscript = one letter or digit | letters | "{" part ("," part)* "}"
    index     = letter [("+" | "-") digits] | digits              (t, t-1, t+1, T, j, k+1, 3)

``W`` and ``b`` are parameters: their subscript names what they connect. Every other base is a value
of one step whose last subscript part is its time index (``a_{f,t}``: the forget gate's
pre-activation at step t). Primes after the base mark a head's value renamed out of the way of a
cell's name (``y'_t``). Any other identifier (a user's ``my_state_t``) is read too: its last part is a
time index if it is one built on t, and the rest is its base. The notations
(:mod:`bpttlab.derivations.printing.notations`) print names read here.

>>> shift_name("a_{f,t}", 3), shift_name("h_{t-1}", "j"), shift_name("W_hh", 3), shift_name("ℓ_t", "T")
('a_{f,3}', 'h_{j-1}', 'W_hh', 'ℓ_T')
>>> from sympy import MatrixSymbol
>>> at_step(MatrixSymbol("δh_t^{(t+1)}", 3, 1), "j")
δh_j^{(j+1)}
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

import sympy as sp

__all__ = [
    "GATE_LETTERS",
    "OUTPUT",
    "PARAMETER_BASES",
    "RUNNING",
    "TIME_LETTERS",
    "VALUE_BASES",
    "Index",
    "Name",
    "at_step",
    "parse_index",
    "parse_name",
    "shift_name",
]

#: Bases that name parameters: shared by all steps, so they carry no time index.
PARAMETER_BASES = ("W", "b")

# The letters a parameter's subscript may use: where a weight reads from (x: the input, h: the
# hidden state) and what it feeds (h: the RNN's hidden layer, y: the output, a gate or candidate).
SOURCES = ("x", "h")
GATE_LETTERS = ("i", "f", "g", "o", "z", "r", "n")
#: The label of the output layer: its weight W_hy, bias b_y and pre-activation (the logits) a_{y,t}.
OUTPUT = "y"
DESTINATIONS = ("h", OUTPUT, *GATE_LETTERS)

# Values of one step, by base letter (the head's ŷ and ℓ included).
VALUE_BASES = ("x", "h", "c", "a", "i", "f", "g", "o", "z", "r", "n", "u", "m", "s", "y", "ŷ", "ℓ", "L")

_NAME = re.compile(r"(?P<delta>δ)?(?P<base>[^\W\d_]+?)(?P<prime>'*)(?:_(?P<sub>\{[^{}]*\}|[^\W_]+))?"
                   r"(?:\^\{\((?P<carry>[^()]*)\)\})?")
_INDEX = re.compile(r"(?P<letter>[A-Za-z])(?P<offset>[+-]\d+)?|(?P<step>\d+)")
# A user's name: [δ] core [^{(index)}], the core an identifier, perhaps ending in _index or _{index}.
_LOOSE = re.compile(r"(?P<delta>δ)?(?P<core>[^\^]+?)(?:\^\{\((?P<carry>[^()]*)\)\})?")
_TIMED = re.compile(r"(?P<stem>.+)_(?P<time>\{[^{}]*\}|[^\W_]+)")
#: The time indices a name the notations do not know may carry: those built on t and the ones the
#: sheets move t to (the last step T, running indices j and k, a step number).
TIME_LETTERS = ("t", "T", "j", "k")


@dataclass(frozen=True)
class Index:
    """A time index: ``letter + offset`` (``t-1``, ``j``, ``T``) or a concrete step (``letter=None``)."""

    letter: str | None
    offset: int = 0

    def __str__(self) -> str:
        if self.letter is None:
            return str(self.offset)
        if self.offset == 0:
            return self.letter
        return f"{self.letter}{self.offset:+d}"


def parse_index(text: str) -> Index:
    """``"t-1"`` → ``Index("t", -1)``; ``"3"`` → ``Index(None, 3)``.

    >>> parse_index("k+1"), str(parse_index("t-1"))
    (Index(letter='k', offset=1), 't-1')
    """
    match = _INDEX.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"time index {text!r} is not a letter with an optional ±offset (t, t-1, j) "
                         "or a step number (3)")
    if match["step"] is not None:
        return Index(None, int(match["step"]))
    return Index(match["letter"], int(match["offset"] or 0))


@dataclass(frozen=True)
class Name:
    """A symbol name read by the grammar: ``δa_{f,t}`` is delta, base ``a``, labels ``("f",)``, time ``t``."""

    delta: bool
    base: str
    labels: tuple[str, ...]
    time: Index | None
    carry: Index | None
    plain: bool = False  # the base is a whole identifier, underscores and all (``my_state``)
    prime: int = 0  # primes after the base: a head's value renamed out of a cell's way (``y'_t``)

    @property
    def is_parameter(self) -> bool:
        return self.base in PARAMETER_BASES and not self.plain

    def raw(self) -> str:
        """The name in the derivations' convention (``parse_name(n).raw() == n`` for their names)."""
        parts = [*self.labels, *([str(self.time)] if self.time is not None else [])]
        if self.plain and len(parts) == 1 and len(parts[0]) == 1:
            sub = "_" + parts[0]
        elif self.plain:
            sub = "_{" + ",".join(parts) + "}" if parts else ""
        else:
            sub = None
        base = self.base + "'" * self.prime
        if sub is not None:
            carry = "" if self.carry is None else "^{(" + str(self.carry) + ")}"
            return ("δ" if self.delta else "") + base + sub + carry
        if not parts:
            sub = ""
        elif len(parts) == 1 and parts[0].isalnum() and (parts[0].isalpha() or len(parts[0]) == 1):
            sub = "_" + parts[0]
        else:
            sub = "_{" + ",".join(parts) + "}"
        carry = "" if self.carry is None else "^{(" + str(self.carry) + ")}"
        return ("δ" if self.delta else "") + base + sub + carry


def _time_of(part: str, any_letter: bool) -> Index | None:
    """``part`` as a time index, or None; a name the notations do not know takes only
    :data:`TIME_LETTERS` (so that ``p_i`` is the vector p of gate i, not p at step i)."""
    try:
        index = parse_index(part)
    except ValueError:
        return None
    return index if any_letter or index.letter is None or index.letter in TIME_LETTERS else None


def _is_part(part: str) -> bool:
    return part.isidentifier() or part.isalnum() or _INDEX.fullmatch(part) is not None


def parse_name(name: str) -> Name:
    """Read a derivation symbol name, or any identifier a user gave a custom cell.

    >>> name = parse_name("δh_t^{(t+1)}")
    >>> name.delta, name.base, name.labels, name.time, name.carry
    (True, 'h', (), Index(letter='t', offset=0), Index(letter='t', offset=1))
    >>> parse_name("W_hn").labels, parse_name("a_{f,3}").time
    (('hn',), Index(letter=None, offset=3))
    >>> mine = parse_name("my_state_{t-1}")
    >>> parse_name("p_i").labels, mine.base, mine.time, mine.plain
    (('i',), 'my_state', Index(letter='t', offset=-1), True)
    """
    if not isinstance(name, str):
        raise ValueError(f"a symbol name is a string, got {name!r}")
    loose = _LOOSE.fullmatch(name)
    try:
        carry = parse_index(loose["carry"]) if loose and loose["carry"] is not None else None
    except ValueError as error:
        raise ValueError(f"symbol {name!r}: {error}") from None
    match = _NAME.fullmatch(name)
    if match is not None:
        sub = match["sub"] or ""
        parts = tuple(p.strip() for p in sub.strip("{}").split(",")) if sub else ()
        if any(not p for p in parts):
            raise ValueError(f"symbol {name!r} has an empty subscript part")
        base, prime = match["base"], len(match["prime"])
        if base in PARAMETER_BASES:
            return Name(bool(match["delta"]), base, parts, None, carry, prime=prime)
        time = _time_of(parts[-1], base in VALUE_BASES) if parts else None
        labels = parts[:-1] if time is not None else parts
        if all(_is_part(p) for p in labels):
            return Name(bool(match["delta"]), base, labels, time, carry, prime=prime)
        raise ValueError(f"symbol {name!r}: time index {parts[-1]!r} is not a letter with an optional "
                         "±offset (t, t-1, j) or a step number (3)")
    # A user's identifier may itself start with δ (δ1): then the δ is part of the name.
    readings = [(bool(loose["delta"]), loose["core"])] if loose else []
    if loose and loose["delta"]:
        readings.append((False, "δ" + loose["core"]))
    for is_delta, core in readings:
        timed = _TIMED.fullmatch(core)
        parameter = core.isidentifier() and core.startswith(tuple(f"{p}_" for p in PARAMETER_BASES))
        if timed and not parameter:  # a parameter has no time index, whatever its name ends in
            time = _time_of(timed["time"].strip("{}"), any_letter=False)
            if time is not None and timed["stem"].isidentifier():
                return Name(is_delta, timed["stem"], (), time, carry, plain=True)
        if core.isidentifier():
            return Name(is_delta, core, (), None, carry, plain=True)
    raise ValueError(f"cannot read the symbol name {name!r}: expected [δ]base[_subscript][^{{(index)}}], "
                     "e.g. W_hh, a_{f,t}, δh_t^{(t+1)}, or an identifier such as my_state_t")



#: The letter of the running time index in the derivations' names.
RUNNING = "t"


def _step_index(step: int | str) -> Index:
    if isinstance(step, bool) or not isinstance(step, int | str):
        raise ValueError(f"step must be a step number (3) or an index such as 'j', 'k+1', 'T'; got {step!r}")
    if isinstance(step, int):
        if step < 0:
            raise ValueError(f"step must be ≥ 0; got {step}")
        return Index(None, step)
    try:
        return parse_index(step)
    except ValueError as error:
        raise ValueError(f"step: {error}") from None


def _moved(index: Index | None, to: Index, name: str) -> Index | None:
    if index is None or index.letter != RUNNING:
        return index
    moved = Index(to.letter, to.offset + index.offset)
    if moved.letter is None and moved.offset < 0:
        raise ValueError(f"step {to} puts {name!r} at step {moved.offset}, before the first one")
    return moved


def shift_name(name: str, step: int | str) -> str:
    """The symbol name ``name`` with its running index ``t`` moved to ``step``.

    >>> shift_name("a_{f,t}", 3), shift_name("h_{t-1}", "j"), shift_name("W_hh", 3), shift_name("ℓ_t", "T")
    ('a_{f,3}', 'h_{j-1}', 'W_hh', 'ℓ_T')
    """
    to = _step_index(step)
    parsed = parse_name(name)
    moved = replace(parsed, time=_moved(parsed.time, to, name), carry=_moved(parsed.carry, to, name))
    return name if moved == parsed else moved.raw()


def at_step(expr: sp.Basic, step: int | str, fixed: Iterable[sp.MatrixSymbol] = ()) -> sp.Basic:
    """``expr`` with every time index built on ``t`` moved to ``step`` (a number, or an index like ``"j"``).

    Works on any expression or equation: each ``MatrixSymbol`` is renamed, keeping its shape, except
    those in ``fixed`` (a cell's parameters, whose names a user may have ended in ``_t``).
    """
    _step_index(step)  # a bad step is an error even when nothing would move
    renamed = {}
    kept = set(fixed)
    for symbol in expr.atoms(sp.MatrixSymbol) - kept:
        new = shift_name(symbol.name, step)
        if new != symbol.name:
            renamed[symbol] = sp.MatrixSymbol(new, *symbol.shape)
    return expr.xreplace(renamed)
