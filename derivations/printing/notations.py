"""How a symbol of the derivations is written on a sheet: the course's notation or the Deep Learning book's.

The derivations name their ``MatrixSymbol``s in one plain convention (``W_hh``, ``b_f``, ``h_{t-1}``,
``a_{f,t}``, ``δW_xh``, ``ŷ_t``, ``ℓ_t``, the carried gradient ``δh_t^{(t+1)}``). A name is read by a
small grammar, not by string replacement::

    name      = ["δ"] base ["_" subscript] ["^{(" index ")}"]
    subscript = one letter or digit | letters | "{" part ("," part)* "}"
    index     = letter [("+" | "-") digits] | digits              (t, t-1, t+1, T, j, k+1, 3)

``W`` and ``b`` are parameters: their subscript names what they connect (``W_xf``: input → forget
gate, ``W_hf``: hidden → forget gate, ``b_hn``: the recurrent bias of the GRU candidate, ``W_f``: the
course's weight on the concatenated ``[h_{t-1}; x_t]``). Every other base is a value of one step whose
last subscript part is its time index (``a_{f,t}``: the forget gate's pre-activation at step t).

Any other identifier a user gives a custom cell is read too, never refused: a base the notation does
not know, a weight ``W_if`` from gate i to gate f, a vector ``p_i``, a name with several underscores,
digits or non-ASCII letters (``my_state_t``, ``h2_{t-1}``, ``état_t``). Its last part is a time index
if it is one built on t (``t``, ``t-1``, ``T``, ``j``, ``k``, ``3``), and the rest is printed plainly,
escaped by :mod:`.escape`: ``W_{if}``, ``p_i``, ``\\mathit{my\\_state}_t`` in the course's notation,
``\\bm{W}_{if}``, ``\\bm{p}_i``, ``\\bm{\\mathit{my\\_state}}^{(t)}`` in the book's.

``course`` (the course's sheet, seed 003): plain italic, subscripts, ``C_t`` for the LSTM cell state,
``\\tilde{C}_t`` for its candidate (our ``g_t``), ``\\tilde{h}_t`` for the GRU candidate (our ``n_t``),
and the parameters of those two named after them (``W_{xC}``, ``b_{\\tilde{h}}``).
``dlbook`` (Goodfellow, Bengio & Courville, ch. 10), symbol for symbol where the sheets do not say
otherwise: bold vectors and matrices, the
time step as a superscript, τ for the length (``h_T`` is ``\\bm{h}^{(\\tau)}``), ``U``/``W``/``V`` for the
input, recurrent and output weights, ``b``/``c`` for the biases, ``\\bm{o}^{(t)}`` for the output
pre-activation (our ``a_{y,t}``), ``L^{(t)}`` for a step's loss; the LSTM's state ``\\bm{s}^{(t)}``, input
gate ``\\bm{g}^{(t)}`` and output gate ``\\bm{q}^{(t)}`` (our ``c_t``, ``i_t``, ``o_t``; their weights
``\\bm{U}^{g}``, ``\\bm{U}^{o}``); the GRU's update gate keeps the course's ``\\bm{z}^{(t)}`` (the book's
``u`` weights the old state, the course's gate the candidate: ``z = 1 − u``); a gate's
``\\bm{U}^{f}``, ``\\bm{W}^{f}``, ``\\bm{b}^{f}``. What the book leaves unnamed: the candidates
``\\tilde{\\bm{s}}^{(t)}``, ``\\tilde{\\bm{h}}^{(t)}`` with weights ``\\bm{U}^{s}``, ``\\bm{U}^{h}``
(so that no two symbols print alike), the GRU's ``r ⊙ h`` ``\\bm{v}^{(t)}``. A parameter's term of one step
``δW_xh^{(t)}`` is ``\\delta \\bm{U}^{(t)}``; :meth:`Notation.element` writes one entry, never bold.

>>> course, dlbook = notation("course"), notation("dlbook")
>>> [course.latex(n) for n in ("W_hy", "h_{t-1}", "δa_{f,t}", "g_t", "δh_t^{(t+1)}")]
['W_{hy}', 'h_{t-1}', '\\\\delta a_{f,t}', '\\\\tilde{C}_t', '\\\\delta h_t^{(\\\\leftarrow t+1)}']
>>> [dlbook.latex(n) for n in ("W_hy", "h_{t-1}", "δa_{f,t}", "W_xf", "ℓ_t")]
['\\\\bm{V}', '\\\\bm{h}^{(t-1)}', '\\\\delta \\\\bm{a}_f^{(t)}', '\\\\bm{U}^{f}', 'L^{(t)}']
>>> dlbook.latex("x_t", superscript=r"\\top")
'\\\\bm{x}^{(t)\\\\top}'
>>> [course.latex(n) for n in ("W_if", "p_i", "u", "gate_t")], dlbook.latex("W_if"), dlbook.latex("p_i")
(['W_{if}', 'p_i', 'u', '\\\\mathit{gate}_t'], '\\\\bm{W}_{if}', '\\\\bm{p}_i')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import ClassVar

from bpttlab.derivations.names import (
    DESTINATIONS,
    GATE_LETTERS,
    OUTPUT,
    PARAMETER_BASES,
    SOURCES,
    VALUE_BASES,
    Index,
    Name,
    parse_index,
    parse_name,
)
from bpttlab.derivations.printing.escape import math_text
from bpttlab.derivations.registry import Registry

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
    "register_notation",
    "unregister_notation",
]


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
    """Maps derivation symbol names to LaTeX; one instance per entry of :data:`NOTATIONS`.

    A notation owns what differs between notations: its symbols (:meth:`typeset`), how it writes a
    time index and the sequence's length (:attr:`length`: T, or the book's τ), its identity matrix,
    whether it writes a gate's weights as one matrix on the concatenated ``[h_{t-1}; x_t]``
    (:attr:`concatenated_weights`), and the key of its words on a sheet (``notation.{name}.*`` in
    each language's words: its name and the paragraph that introduces it)."""

    name: str = ""
    #: How the identity matrix prints.
    identity: str = "I"
    #: Whether a gate's pre-activation is also written with one weight matrix on [h_{t-1}; x_t].
    concatenated_weights: bool = False

    @property
    def length(self) -> str:
        """The sequence's length as this notation writes it (T, τ)."""
        return self.time(Index("T"))

    def typeset(self, name: str) -> Typeset:
        """The pieces of the symbol called ``name``: in this notation's own letters when it knows the
        name's role, else plainly as written (:meth:`plain`)."""
        parsed = parse_name(name)
        try:
            typeset = self._known(parsed)
        except ValueError:
            typeset = self.plain(parsed)
        if parsed.prime:  # braced: a prime is a superscript, and a transpose may follow (y'_t^⊤)
            typeset = replace(typeset, body="{" + typeset.body + "'" * parsed.prime + "}")
        if parsed.delta:
            typeset = replace(typeset, body=r"\delta " + typeset.body)
        return typeset

    def latex(self, name: str, superscript: str = "") -> str:
        """The LaTeX of the symbol called ``name``, with ``superscript`` appended to its own."""
        return self.typeset(name).latex(superscript)

    def element(self, name: str, index: str) -> str:
        """The entry ``index`` of the vector called ``name``, a scalar: never bold (the book's
        ``\\hat{y}^{(t)}_{k}`` for an entry of ``\\hat{\\bm{y}}^{(t)}``)."""
        typeset = self.typeset(name)
        body = re.sub(r"\\bm\{([^{}]*)\}", r"\1", typeset.body)
        sub = ",".join(part for part in (typeset.sub, index) if part)
        return replace(typeset, body=body, sub=sub).latex()

    def time(self, index: Index) -> str:
        """A time index as this notation writes it."""
        return str(index)

    def has_superscript(self, name: str) -> bool:
        """Whether the symbol already carries a superscript (then a power needs parentheses)."""
        return bool(self.typeset(name).sup)

    def known(self, name: str) -> bool:
        """Whether the notation has letters of its own for ``name`` (else it is printed plainly)."""
        try:
            self._known(parse_name(name))
        except ValueError:
            return False
        return True

    def _known(self, name: Name) -> Typeset:
        if name.plain:
            raise ValueError("a name outside the grammar")
        return self._parameter(name) if name.is_parameter else self._value(name)

    def plain(self, name: Name) -> Typeset:
        """A name the notation has no letters for, as written: its base (one letter as it is, a
        longer one as a word in italics), its labels and time index as subscripts, escaped."""
        raise NotImplementedError

    def _parameter(self, name: Name) -> Typeset:
        raise NotImplementedError

    def _value(self, name: Name) -> Typeset:
        raise NotImplementedError


def _word(text: str) -> str:
    """A base as written: ``p`` → ``p``, ``α`` → ``{\\alpha}``, ``gate`` → ``\\mathit{gate}``."""
    escaped = math_text(text)
    return escaped if len(text) == 1 else rf"\mathit{{{escaped}}}"


def _plain_parts(name: Name) -> list[str]:
    """The subscript parts of a name printed plainly: labels (letters as they are), then the time."""
    parts = [math_text(label) for label in name.labels]
    return parts + ([str(name.time)] if name.time is not None else [])


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


def _is_output(name: Name) -> bool:
    """The output layer's pre-activation (the logits) ``a_{y,t}``."""
    return name.base == "a" and name.labels == (OUTPUT,)


def _check_value(name: Name) -> None:
    if name.base not in VALUE_BASES:
        raise ValueError(f"unknown base {name.base!r}; known: {', '.join(PARAMETER_BASES + VALUE_BASES)}")
    if _is_output(name):
        return
    for label in name.labels:
        if label not in GATE_LETTERS:
            raise ValueError(f"label {label!r} is not a gate or candidate ({', '.join(GATE_LETTERS)})")


class CourseNotation(Notation):
    """Seed 003: ``W_{hh}``, ``W_{xh}``, ``W_{hy}``, ``b_h``, ``h_{t-1}``, ``\\hat{y}_t``, ``C_t``,
    ``\\tilde{C}_t``."""

    name = "course"
    concatenated_weights = True
    # Gate letters renamed after the value they make: the LSTM candidate C̃ (W_C in the course) and
    # the GRU candidate h̃.
    LETTERS: ClassVar[dict[str, str]] = {"g": "C", "n": r"\tilde{h}"}
    BASES: ClassVar[dict[str, str]] = {"c": "C", "g": r"\tilde{C}", "n": r"\tilde{h}", "ŷ": r"\hat{y}",
                                       "ℓ": r"\ell"}

    def _parameter(self, name: Name) -> Typeset:
        source, destination = _parameter_parts(name)
        sup = "" if name.carry is None else f"({name.carry})"  # step t's term of the gradient
        return Typeset(name.base, source + self.LETTERS.get(destination, destination), sup)

    def plain(self, name: Name) -> Typeset:
        if name.carry is None:
            sup = ""
        elif name.time is None:  # a parameter's step term, δp^{(t)}
            sup = f"({name.carry})"
        else:
            sup = rf"(\leftarrow {name.carry})"
        return Typeset(_word(name.base), ",".join(_plain_parts(name)), sup)

    def _value(self, name: Name) -> Typeset:
        _check_value(name)
        parts = [self.LETTERS.get(label, label) for label in name.labels]
        if name.time is not None:
            parts.append(str(name.time))
        # what reaches the value from step carry: δh_t^{(←t+1)}, the book's δh^{(t←t+1)} without the t;
        # a vector without a time index is a parameter (IndRNN's u), whose step t's term is δu^{(t)}
        if name.carry is None:
            sup = ""
        elif name.time is None:
            sup = f"({name.carry})"
        else:
            sup = rf"(\leftarrow {name.carry})"
        return Typeset(self.BASES.get(name.base, name.base), ",".join(parts), sup)


class BookNotation(Notation):
    """Goodfellow ch. 10: ``\\bm{h}^{(t)}``, ``\\bm{U}``, ``\\bm{W}``, ``\\bm{V}``, ``\\bm{b}``, ``\\bm{c}``,
    and a gate's ``\\bm{W}^{f}``."""

    name = "dlbook"
    identity = r"\bm{I}"
    # (base, source, destination) → the book's letter for the Elman RNN's parameters.
    RNN: ClassVar[dict[tuple[str, str, str], str]] = {
        ("W", "x", "h"): "U", ("W", "h", "h"): "W", ("W", "h", "y"): "V",
        ("b", "", "h"): "b", ("b", "", "y"): "c",
    }
    SCALARS: ClassVar[dict[str, str]] = {"ℓ": "L", "L": "L"}
    # The book's letters (eqs. 10.8, 10.40-10.46): the output pre-activation o, the LSTM's state s,
    # input gate g and output gate q; the candidates, which the book writes inside its equations, as a
    # tilde over the state they feed. The GRU's product r ⊙ h, our u, is v. The update gate keeps the
    # course's z: the book's u weights the old state, where the course's GRU weights the candidate
    # with its gate (z = 1 − u), so printing z as u would give the letter the opposite meaning.
    BASES: ClassVar[dict[str, str]] = {"c": "s", "i": "g", "o": "q", "u": "v",
                                       "g": r"\tilde{s}", "n": r"\tilde{h}"}
    # A gate's letter as a label (a_{f,t}) and as the superscript of its parameters: U^{g} for the
    # input gate and U^{o} for the output gate (the book's), U^{z} for the update gate. The book
    # writes the candidates' parameters as plain U, W, b, which are the Elman RNN's; here they carry
    # the letter of the state they feed (U^{s}, U^{h}) so that no two symbols print alike.
    LABELS: ClassVar[dict[str, str]] = {"i": "g", "o": "q", "g": r"\tilde{s}", "n": r"\tilde{h}"}
    PARAMETER_LABELS: ClassVar[dict[str, str]] = {"i": "g", "g": "s", "n": "h"}

    def time(self, index: Index) -> str:
        """A time index in the book's letters: the length T is τ."""
        text = str(index)
        return text.replace("T", r"\tau", 1) if index.letter == "T" else text

    def _parameter(self, name: Name) -> Typeset:
        source, destination = _parameter_parts(name)
        key = (name.base, source, destination)
        step = "" if name.carry is None else f"({self.time(name.carry)})"
        if key in self.RNN:
            return Typeset(rf"\bm{{{self.RNN[key]}}}", "", step)
        if name.base == "W" and source == "":
            raise ValueError("the book has no concatenated weights; print them in the course notation")
        if destination not in GATE_LETTERS:
            raise ValueError(f"no weight from {source!r} to {destination!r} in the book's RNN")
        letter = self.PARAMETER_LABELS.get(destination, destination)
        if name.base == "b":  # b^{f}, and b^{h} for the GRU candidate's recurrent bias
            label = letter if source == "" else source + letter
        else:
            label = letter
        sup = ",".join(part for part in (label, step) if part)
        return Typeset(rf"\bm{{{'U' if source == 'x' else 'W' if name.base == 'W' else 'b'}}}", "", sup)

    def plain(self, name: Name) -> Typeset:
        """Bold, with labels as subscripts and the time as a superscript: ``\\bm{p}_i``, ``\\bm{W}_{if}``,
        ``\\bm{\\mathit{gate}}^{(t)}``."""
        labels = ",".join(math_text(label) for label in name.labels)
        if name.time is not None:
            sup = f"({name.time})" if name.carry is None else rf"({name.time} \leftarrow {name.carry})"
        elif name.carry is None:
            sup = ""
        elif name.carry == Index("t"):  # step t's term of a parameter's gradient, δp^{(t)}
            sup = "(t)"
        else:
            sup = rf"(\cdot \leftarrow {name.carry})"
        return Typeset(rf"\bm{{{_word(name.base)}}}", labels, sup)

    def _value(self, name: Name) -> Typeset:
        _check_value(name)
        if name.base in self.SCALARS:
            body = self.SCALARS[name.base]
        elif name.base == "ŷ":
            body = r"\hat{\bm{y}}"
        elif _is_output(name):  # the logits a_{y,t}: the book's output pre-activation o^{(t)}
            body, name = r"\bm{o}", replace(name, labels=())
        else:
            # The book's letters are for values of a step; a vector without a time index is a
            # parameter (IndRNN's u) and keeps its own.
            letter = self.BASES.get(name.base, name.base) if name.time is not None else name.base
            body = rf"\tilde{{\bm{{{letter[-2]}}}}}" if letter.startswith(r"\tilde") else rf"\bm{{{letter}}}"
        sup = ""
        if name.time is not None:
            time = self.time(name.time)
            sup = f"({time})" if name.carry is None else rf"({time} \leftarrow {self.time(name.carry)})"
        elif name.carry is not None:
            raise ValueError("a carried gradient needs the step it reaches")
        return Typeset(body, ",".join(self.LABELS.get(label, label) for label in name.labels), sup)


#: Every notation a sheet can be printed in, by name: one :class:`Notation` each.
NOTATIONS: Registry[Notation] = Registry("notation", Notation, described="a named Notation")
#: Add a notation under its name; a name already taken raises ``ValueError`` unless ``replace``.
register_notation = NOTATIONS.register
#: Remove a notation registered for a while (the recipe's test of a new notation).
unregister_notation = NOTATIONS.unregister
#: The notation called ``name``: one of :data:`NOTATIONS`.
notation = NOTATIONS.lookup


register_notation(CourseNotation())
register_notation(BookNotation())
