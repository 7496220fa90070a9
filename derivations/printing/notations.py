"""How a symbol of the derivations is written on a sheet: the course's notation or the Deep Learning book's.

The derivations name their ``MatrixSymbol``s in one plain convention (``W_hh``, ``b_f``, ``h_{t-1}``,
``a_{f,t}``, ``δW_xh``, ``ŷ_t``, ``ℓ_t``, the carried gradient ``δh_t^{(t+1)}``). A name is read by a
small grammar, not by string replacement::

    name      = ["δ"] base ["_" subscript] ["^{(" index ")}"]
    subscript = one letter or digit | letters | "{" part ("," part)* "}"
    index     = letter [("+" | "-") digits] | digits              (t, t-1, t+1, T, j, k+1, 3)

``W`` and ``b`` are parameters: their subscript names what they connect (``W_xf``: input → forget
gate, ``W_hf``: hidden → forget gate, ``b_hn``: the recurrent bias of the GRU candidate, ``W_f``: the
course's weight on the concatenated ``[h_{t-1}, x_t]``). Every other base is a value of one step whose
last subscript part is its time index (``a_{f,t}``: the forget gate's pre-activation at step t).

``course`` (the course's sheet, seed 003): plain italic, subscripts, ``C_t`` for the LSTM cell state,
``\\tilde{C}_t`` for its candidate (our ``g_t``), ``\\tilde{h}_t`` for the GRU candidate (our ``n_t``),
and the parameters of those two named after them (``W_{xC}``, ``b_{\\tilde{h}}``).
``dlbook`` (Goodfellow, Bengio & Courville, ch. 10): bold vectors and matrices, the time step as a
superscript, ``U``/``W``/``V`` for the input, recurrent and output weights, ``b``/``c`` for the biases,
``\\bm{U}^{f}``, ``\\bm{W}^{f}``, ``\\bm{b}^{f}`` for a gate's, ``L^{(t)}`` for a step's loss.

>>> course, dlbook = notation("course"), notation("dlbook")
>>> [course.latex(n) for n in ("W_hy", "h_{t-1}", "δa_{f,t}", "g_t", "δh_t^{(t+1)}")]
['W_{hy}', 'h_{t-1}', '\\\\delta a_{f,t}', '\\\\tilde{C}_t', '\\\\delta h_t^{(t+1)}']
>>> [dlbook.latex(n) for n in ("W_hy", "h_{t-1}", "δa_{f,t}", "W_xf", "ℓ_t")]
['\\\\bm{V}', '\\\\bm{h}^{(t-1)}', '\\\\delta \\\\bm{a}_f^{(t)}', '\\\\bm{U}^{f}', 'L^{(t)}']
>>> dlbook.latex("x_t", superscript=r"\\top")
'\\\\bm{x}^{(t)\\\\top}'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache
from typing import ClassVar

__all__ = [
    "NOTATIONS",
    "PARAMETER_BASES",
    "Index",
    "Name",
    "Notation",
    "Typeset",
    "notation",
    "parse_index",
    "parse_name",
]

NOTATIONS = ("course", "dlbook")

#: Bases that name parameters: shared by all steps, so they carry no time index.
PARAMETER_BASES = ("W", "b")

# The letters a parameter's subscript may use: where a weight reads from (x: the input, h: the
# hidden state) and what it feeds (h: the RNN's hidden layer, y: the output, a gate or candidate).
SOURCES = ("x", "h")
GATE_LETTERS = ("i", "f", "g", "o", "z", "r", "n")
DESTINATIONS = ("h", "y", *GATE_LETTERS)

# Values of one step, by base letter (the head's ŷ and ℓ included).
VALUE_BASES = ("x", "h", "c", "a", "i", "f", "g", "o", "z", "r", "n", "u", "m", "s", "y", "ŷ", "ℓ", "L")

_NAME = re.compile(r"(?P<delta>δ)?(?P<base>[^\W\d_]+?)(?:_(?P<sub>\{[^{}]*\}|[^\W_]+))?"
                   r"(?:\^\{\((?P<carry>[^()]*)\)\})?")
_INDEX = re.compile(r"(?P<letter>[A-Za-z])(?P<offset>[+-]\d+)?|(?P<step>\d+)")


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

    @property
    def is_parameter(self) -> bool:
        return self.base in PARAMETER_BASES

    def raw(self) -> str:
        """The name in the derivations' convention (``parse_name(n).raw() == n`` for their names)."""
        parts = [*self.labels, *([str(self.time)] if self.time is not None else [])]
        if not parts:
            sub = ""
        elif len(parts) == 1 and (parts[0].isalpha() or len(parts[0]) == 1):
            sub = "_" + parts[0]
        else:
            sub = "_{" + ",".join(parts) + "}"
        carry = "" if self.carry is None else "^{(" + str(self.carry) + ")}"
        return ("δ" if self.delta else "") + self.base + sub + carry


def parse_name(name: str) -> Name:
    """Read a derivation symbol name.

    >>> parse_name("δh_t^{(t+1)}")
    Name(delta=True, base='h', labels=(), time=Index(letter='t', offset=0), carry=Index(letter='t', offset=1))
    >>> parse_name("W_hn").labels, parse_name("a_{f,3}").time
    (('hn',), Index(letter=None, offset=3))
    """
    match = _NAME.fullmatch(name)
    if match is None:
        raise ValueError(f"cannot read the symbol name {name!r}: expected [δ]base[_subscript][^{{(index)}}], "
                         "e.g. W_hh, a_{f,t}, δh_t^{(t+1)}")
    sub = match["sub"] or ""
    parts = tuple(p.strip() for p in sub.strip("{}").split(",")) if sub else ()
    if any(not p for p in parts):
        raise ValueError(f"symbol {name!r} has an empty subscript part")
    base = match["base"]
    try:
        if base in PARAMETER_BASES:
            labels, time = parts, None
        else:
            labels, time = parts[:-1], parse_index(parts[-1]) if parts else None
        carry = parse_index(match["carry"]) if match["carry"] is not None else None
    except ValueError as error:
        raise ValueError(f"symbol {name!r}: {error}") from None
    return Name(bool(match["delta"]), base, labels, time, carry)


@dataclass(frozen=True)
class Typeset:
    """A symbol as LaTeX pieces, so a printer can merge a further superscript (``^{\\top}``) into it."""

    body: str
    sub: str = ""
    sup: str = ""

    def latex(self, superscript: str = "") -> str:
        text = self.body
        if self.sub:
            text += f"_{self.sub}" if len(self.sub) == 1 else f"_{{{self.sub}}}"
        sup = self.sup + superscript
        return text + (f"^{{{sup}}}" if sup else "")


class Notation:
    """Maps derivation symbol names to LaTeX; one instance per entry of :data:`NOTATIONS`."""

    name: str = ""

    def typeset(self, name: str) -> Typeset:
        parsed = parse_name(name)
        try:
            typeset = self._parameter(parsed) if parsed.is_parameter else self._value(parsed)
        except ValueError as error:
            raise ValueError(f"symbol {name!r} has no {self.name} notation: {error}") from None
        if parsed.delta:
            typeset = replace(typeset, body=r"\delta " + typeset.body)
        return typeset

    def latex(self, name: str, superscript: str = "") -> str:
        """The LaTeX of the symbol called ``name``, with ``superscript`` appended to its own."""
        return self.typeset(name).latex(superscript)

    def has_superscript(self, name: str) -> bool:
        """Whether the symbol already carries a superscript (then a power needs parentheses)."""
        return bool(self.typeset(name).sup)

    def _parameter(self, name: Name) -> Typeset:
        raise NotImplementedError

    def _value(self, name: Name) -> Typeset:
        raise NotImplementedError


def _parameter_parts(name: Name) -> tuple[str, str]:
    """(source, destination) of a parameter: ``W_xf`` → ("x", "f"), ``W_f`` → ("", "f"),
    ``b_hn`` → ("h", "n")."""
    if len(name.labels) != 1:
        raise ValueError("a parameter has one subscript naming what it connects")
    label = name.labels[0]
    if len(label) == 1 and label in DESTINATIONS:
        source, destination = "", label
    elif len(label) == 2 and label[0] in SOURCES and label[1] in DESTINATIONS:
        source, destination = label[0], label[1]
    else:
        raise ValueError(f"subscript {label!r} is not [x|h] followed by one of {', '.join(DESTINATIONS)}")
    if name.base == "W" and source == "" and destination not in GATE_LETTERS:
        raise ValueError("a concatenated weight W_k belongs to a gate or candidate "
                         f"({', '.join(GATE_LETTERS)})")
    if name.base == "b" and source == "x":
        raise ValueError("biases are not read from the input")
    if name.base == "b" and source == "h" and destination not in GATE_LETTERS:
        raise ValueError("only a gate or candidate has a recurrent bias b_h<k>")
    return source, destination


def _check_value(name: Name) -> None:
    if name.base not in VALUE_BASES:
        raise ValueError(f"unknown base {name.base!r}; known: {', '.join(PARAMETER_BASES + VALUE_BASES)}")
    for label in name.labels:
        if label not in GATE_LETTERS:
            raise ValueError(f"label {label!r} is not a gate or candidate ({', '.join(GATE_LETTERS)})")


class CourseNotation(Notation):
    """Seed 003: ``W_{hh}``, ``W_{xh}``, ``W_{hy}``, ``b_h``, ``h_{t-1}``, ``\\hat{y}_t``, ``C_t``,
    ``\\tilde{C}_t``."""

    name = "course"
    # Gate letters renamed after the value they make: the LSTM candidate C̃ (W_C in the course) and
    # the GRU candidate h̃.
    LETTERS: ClassVar[dict[str, str]] = {"g": "C", "n": r"\tilde{h}"}
    BASES: ClassVar[dict[str, str]] = {"c": "C", "g": r"\tilde{C}", "n": r"\tilde{h}", "ŷ": r"\hat{y}",
                                       "ℓ": r"\ell"}

    def _parameter(self, name: Name) -> Typeset:
        source, destination = _parameter_parts(name)
        return Typeset(name.base, source + self.LETTERS.get(destination, destination))

    def _value(self, name: Name) -> Typeset:
        _check_value(name)
        parts = [self.LETTERS.get(label, label) for label in name.labels]
        if name.time is not None:
            parts.append(str(name.time))
        sup = "" if name.carry is None else f"({name.carry})"
        return Typeset(self.BASES.get(name.base, name.base), ",".join(parts), sup)


class BookNotation(Notation):
    """Goodfellow ch. 10: ``\\bm{h}^{(t)}``, ``\\bm{U}``, ``\\bm{W}``, ``\\bm{V}``, ``\\bm{b}``, ``\\bm{c}``,
    and a gate's ``\\bm{W}^{f}``."""

    name = "dlbook"
    # (base, source, destination) → the book's letter for the Elman RNN's parameters.
    RNN: ClassVar[dict[tuple[str, str, str], str]] = {
        ("W", "x", "h"): "U", ("W", "h", "h"): "W", ("W", "h", "y"): "V",
        ("b", "", "h"): "b", ("b", "", "y"): "c",
    }
    SCALARS: ClassVar[dict[str, str]] = {"ℓ": "L", "L": "L"}

    def _parameter(self, name: Name) -> Typeset:
        source, destination = _parameter_parts(name)
        key = (name.base, source, destination)
        if key in self.RNN:
            return Typeset(rf"\bm{{{self.RNN[key]}}}")
        if name.base == "W" and source == "":
            raise ValueError("the book has no concatenated weights; print them in the course notation")
        if destination not in GATE_LETTERS:
            raise ValueError(f"no weight from {source!r} to {destination!r} in the book's RNN")
        if name.base == "b":  # b^{f}, and b^{hn} for the GRU candidate's recurrent bias
            return Typeset(r"\bm{b}", "", source + destination)
        return Typeset(rf"\bm{{{'U' if source == 'x' else 'W'}}}", "", destination)

    def _value(self, name: Name) -> Typeset:
        _check_value(name)
        if name.base in self.SCALARS:
            body = self.SCALARS[name.base]
        elif name.base == "ŷ":
            body = r"\hat{\bm{y}}"
        else:
            body = rf"\bm{{{name.base}}}"
        sup = ""
        if name.time is not None:
            sup = f"({name.time})" if name.carry is None else rf"({name.time} \leftarrow {name.carry})"
        elif name.carry is not None:
            raise ValueError("a carried gradient needs the step it reaches")
        return Typeset(body, ",".join(name.labels), sup)


@cache
def notation(name: str) -> Notation:
    """The notation called ``name``: one of :data:`NOTATIONS`."""
    if name == "course":
        return CourseNotation()
    if name == "dlbook":
        return BookNotation()
    raise ValueError(f"unknown notation {name!r}; valid notations: {', '.join(NOTATIONS)}")
