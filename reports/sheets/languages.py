r"""The languages a sheet is written in: one :class:`Language` record each, read from a words file
(``reports/sheets/words/{code}.toml``), and the one registry :data:`LANGUAGES`.

A language is words only. Its record holds how it writes numbers (the decimal mark, the thousands
separator), how it orders a list (a comma before the last "and" or not), how it counts ("three
gates"), how it glosses a technical term the first time a sheet uses it (Indonesian writes the
English term once in parentheses), and its words: every sentence of a sheet, as a short template
(``\VAR{...}`` for the values the sheet puts in, never a statement). The sheet's structure, and
every decision about what to say, lives once, in ``templates/``.

>>> en, id_ = LANGUAGES["en"], LANGUAGES["id"]
>>> en.number(0.2519, 3), id_.number(0.2519, 3), id_.number(-0.0001, 2), id_.grouped(5376)
('0.252', '0{,}252', '0{,}00', '5.376')
>>> en.listing(["a", "b", "c"]), id_.listing(["a", "b", "c"]), en.count(3, "gate"), id_.count(1, "gate")
('$a$, $b$ and $c$', '$a$, $b$, dan $c$', 'three gates', 'satu gerbang')
>>> id_.interval(0, 1), en.interval(-1, 1)
('(0; 1)', '(-1, 1)')
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from types import MappingProxyType

from bpttlab.derivations.registry import Registry

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib

__all__ = ["LANGUAGES", "WORDS", "FigureWords", "Language", "language", "load_language", "register_language",
           "unregister_language"]

#: The folder of the words files, one per language.
WORDS = Path(__file__).with_name("words")
_PLACEHOLDER = re.compile(r"\\VAR\{(.*?)\}")


@dataclass(frozen=True)
class Language:
    """One language of the sheets. ``code`` names it (``en``, the sheets' file names); ``babel`` is
    the option of LaTeX's babel package; ``decimal_mark`` and ``thousands_separator`` how numbers are
    written (the mark braced in math, ``0{,}25``, so that TeX sets no space after it);
    ``interval_separator`` what stands between an interval's ends and between the numbers of a list
    (``;`` beside a decimal comma);
    ``serial_comma`` whether a list of three has a comma before its last "and"; ``numbers`` the
    words for zero to twenty; ``nouns`` a noun's singular and plural; ``terms`` a technical term in
    the language and, where the language is not English, the English term that is glossed once;
    ``words`` every sentence, by key."""

    code: str
    name: str
    babel: str
    decimal_mark: str
    thousands_separator: str
    interval_separator: str
    serial_comma: bool
    numbers: tuple[str, ...]
    nouns: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    terms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    words: Mapping[str, str] = field(default_factory=dict)
    figures: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def figure_words(self, family: str) -> dict[str, str]:
        """The words of one family of figures (``decay``, ``remedies``, ``learning``), with the decimal
        mark under ``decimal`` and the language's code under ``code``: Python format strings, for
        matplotlib."""
        if family not in self.figures:
            raise ValueError(f"language {self.code!r} has no words for the {family!r} figures")
        return {"decimal": self.decimal_mark, "code": self.code, **self.figures[family]}

    def title(self, text: str) -> str:
        """A registered title (a cell's, a head's) in this language: its ``titles`` words where it has
        them, else the title as written."""
        return self.words.get(f"titles.{text}", text)

    # --- numbers -------------------------------------------------------------------------------
    def number(self, value: Real | str, places: int | None = None, *, math: bool = True) -> str:
        """``value`` with ``places`` decimals (a string is taken as written), in this language's
        decimal mark; ``math``: for math mode (a comma braced), else for text. A rounded zero has no
        minus sign."""
        if isinstance(value, str):
            text = value
        else:
            if places is not None and (isinstance(places, bool) or not isinstance(places, int)
                                       or not 0 <= places <= 15):
                raise ValueError(f"places must be an integer from 0 to 15, got {places!r}")
            text = f"{value:.{places}f}" if places is not None else f"{value:.3g}"
            if text.startswith("-") and float(text) == 0:
                text = text[1:]  # no "-0.000"
        if self.decimal_mark == ".":
            return text
        mark = "{" + self.decimal_mark + "}" if math and self.decimal_mark == "," else self.decimal_mark
        return text.replace(".", mark)

    def grouped(self, value: Real, *, math: bool = False) -> str:
        """A whole number with its thousands grouped: 5,376 (English), 5.376 (Indonesian)."""
        text = f"{round(value):,}"
        separator = self.thousands_separator
        if math and separator == ",":
            separator = "{,}"
        return text.replace(",", separator)

    def interval(self, low: object, high: object, *, closed: tuple[bool, bool] = (False, False)) -> str:
        """An interval as math, its ends separated as this language does beside its decimal mark."""
        return (("[" if closed[0] else "(") + f"{low}{self.interval_separator} {high}"
                + ("]" if closed[1] else ")"))

    # --- words ---------------------------------------------------------------------------------
    def word(self, key: str) -> str:
        try:
            return self.words[key]
        except KeyError:
            raise ValueError(f"language {self.code!r} has no words for {key!r}") from None

    def spell(self, n: int) -> str:
        """``n`` in words up to twenty, in digits from 21 on."""
        return self.numbers[n] if 0 <= n < len(self.numbers) else str(n)

    def noun(self, key: str, n: int = 1) -> str:
        try:
            one, many = self.nouns[key]
        except KeyError:
            raise ValueError(f"language {self.code!r} has no noun {key!r}") from None
        return one if n == 1 else many

    def count(self, n: int, noun: str) -> str:
        """``n`` things in words: "three gates", "tiga gerbang"."""
        return f"{self.spell(n)} {self.noun(noun, n)}"

    def listing(self, items: Iterable[str], *, math: bool = True, separator: str = ",") -> str:
        """Items as a list in prose: ``$a$``, ``$a$ and $b$``, ``$a$, $b$ and $c$`` (with a serial
        comma: ``$a$, $b$, and $c$``); ``math``: each item is math; ``separator``: ";" between items
        that are lists themselves (then always before the conjunction too)."""
        items = [f"${item}$" if math else item for item in items]
        conjunction = self.word("and")
        if len(items) < 2:
            return "".join(items)
        if len(items) == 2:
            return f" {conjunction} ".join(items)
        tail = separator if self.serial_comma or separator != "," else ""
        return f"{separator} ".join(items[:-1]) + tail + f" {conjunction} " + items[-1]

    def placeholders(self, key: str) -> frozenset[str]:
        """The names a sentence reads (the first name of each ``\\VAR{...}``)."""
        return frozenset(re.match(r"\s*([A-Za-z_]\w*)", found).group(1)
                         for found in _PLACEHOLDER.findall(self.word(key)))


#: Every language a sheet can be written in, by code: one record each.
LANGUAGES: Registry[Language] = Registry("language", Language, key="code",
                                         described="a Language (from load_language)")


def load_language(path: str | os.PathLike) -> Language:
    """A language from its words file: a ``[language]`` table (code, name, babel, decimal_mark,
    thousands_separator, interval_separator, serial_comma, numbers), ``[nouns]`` (key = [one,
    many]), ``[terms]`` (key = [term] or [term, English term]), ``[words]`` (nested tables are
    flattened into dotted keys) and ``[figures.{family}]`` (the figures' words, Python format strings)."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    head = data.get("language", {})
    words: dict[str, str] = {}

    def flatten(table: Mapping, prefix: str = "") -> None:
        for key, value in table.items():
            if isinstance(value, Mapping):
                flatten(value, f"{prefix}{key}.")
            else:
                words[f"{prefix}{key}"] = value.strip() if isinstance(value, str) else value

    flatten(data.get("words", {}))
    try:
        return Language(
            code=head["code"], name=head["name"], babel=head["babel"], decimal_mark=head["decimal_mark"],
            thousands_separator=head["thousands_separator"],
            interval_separator=head["interval_separator"], serial_comma=bool(head["serial_comma"]),
            numbers=tuple(head["numbers"]),
            nouns=MappingProxyType({k: tuple(v) for k, v in data.get("nouns", {}).items()}),
            terms=MappingProxyType({k: tuple(v) for k, v in data.get("terms", {}).items()}),
            words=MappingProxyType(words),
            figures=MappingProxyType({k: MappingProxyType(dict(v))
                                      for k, v in data.get("figures", {}).items()}))
    except KeyError as missing:
        raise ValueError(f"{path}: the [language] table has no {missing}") from None


#: Add a language under its code; a code already taken raises ``ValueError`` unless ``replace``.
register_language = LANGUAGES.register
#: Remove a language registered for a while (the recipe's test of a new language).
unregister_language = LANGUAGES.unregister


def language(code: str | Language) -> Language:
    """The language ``code`` (a :class:`Language` is itself)."""
    return code if isinstance(code, Language) else LANGUAGES.lookup(code)


class FigureWords(Mapping):
    """Language code → the words of one family of figures, read from :data:`LANGUAGES` whenever asked
    (so a language registered later has its figures too): ``WORDS["id"]["step"]``."""

    def __init__(self, family: str) -> None:
        self.family = family

    def __getitem__(self, code: str) -> dict[str, str]:
        return LANGUAGES[code].figure_words(self.family)

    def __iter__(self):
        return iter(LANGUAGES)

    def __len__(self) -> int:
        return len(LANGUAGES)


for _path in sorted(WORDS.glob("*.toml")):
    register_language(load_language(_path))
