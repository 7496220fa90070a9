r"""Untrusted text into LaTeX: a cell's title, name and symbol names may come from a student's
``.cell`` file on a shared server, so every character that reaches pdflatex is either harmless as it
is (ASCII letters and digits, spaces, plain punctuation) or replaced by a fixed LaTeX spelling of it.

* :func:`escape_text`: text mode (titles, names in prose). TeX's special characters
  (``\ { } $ & # % _ ~ ^``) and the characters pdflatex's default OT1 fonts print as something else
  (``< > | " ` -- ''``) are spelled out, so ``\input{/etc/passwd}`` prints as those 19 characters;
  accented Latin letters become accent commands (``é`` → ``\'{e}``), Greek letters math symbols.
* :func:`math_text`: a piece of a symbol name in math mode (``my_state`` → ``my\_state``,
  ``α`` → ``{\alpha}``).

A character with no spelling here (a CJK letter, an emoji) is printed as its code point,
``U+72B6``, in typewriter type: visible, unambiguous, and safe. Control and format characters
(category C: tabs, newlines, escape, zero-width joiners, bidirectional overrides) and line or
paragraph separators cannot be printed safely and are refused with a ``ValueError``
(:func:`check_text`).

>>> print(escape_text(r"\input{/etc/passwd} & $x^2$ #%_{}"))
\textbackslash{}input\{/etc/passwd\} \& \$x\texttt{\char`\^}2\$ \#\%\texttt{\char`\_}\{\}
>>> print(escape_text("Sel memori é"), math_text("my_state"), math_text("α2"), math_text("状"))
Sel memori \'{e} my\_state {\alpha}2 \mathtt{U{+}72B6}
>>> escape_text("bell\a")
Traceback (most recent call last):
...
ValueError: text 'bell\x07' contains the control character U+0007; remove it
"""

from __future__ import annotations

import unicodedata

from bpttlab.derivations.printable import check_text

__all__ = ["check_text", "escape_text", "math_text"]

_TEXT_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    # In OT1 text fonts these are accents, rules or other glyphs: the typewriter font has them as typed.
    "_": r"\texttt{\char`\_}",
    "~": r"\texttt{\char`\~}",
    "^": r"\texttt{\char`\^}",
    '"': r"\texttt{\char`\"}",
    "`": r"\texttt{\char`\`}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "-": "-{}",  # no -- or --- ligature: each hyphen stays one hyphen
    "'": "'{}",  # no '' ligature
}
# In a PDF bookmark (hyperref's PU encoding) the text-mode names of the characters work, \texttt not.
_BOOKMARK_SPECIALS = {**_TEXT_SPECIALS, "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                      '"': r"\textquotedbl{}", "`": r"\textasciigrave{}"}
_MATH_SPECIALS = {
    "_": r"\_", "$": r"\$", "&": r"\&", "#": r"\#", "%": r"\%", "{": r"\{", "}": r"\}",
    "\\": r"\backslash{}", "~": r"\sim{}", "^": r"\wedge{}",
}

_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta", "η": "eta",
    "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi", "ο": "o",
    "π": "pi", "ρ": "rho", "ς": "varsigma", "σ": "sigma", "τ": "tau", "υ": "upsilon", "φ": "phi",
    "χ": "chi", "ψ": "psi", "ω": "omega", "ϑ": "vartheta", "ϕ": "varphi", "ϵ": "varepsilon",
    "Γ": "Gamma", "Δ": "Delta", "Θ": "Theta", "Λ": "Lambda", "Ξ": "Xi", "Π": "Pi", "Σ": "Sigma",
    "Υ": "Upsilon", "Φ": "Phi", "Ψ": "Psi", "Ω": "Omega",
}
# Upper-case Greek letters that look like Latin ones have no command of their own.
_GREEK_LATIN = {"Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
                "Ο": "O", "Ρ": "P", "Τ": "T", "Χ": "X"}

# Combining marks → (text accent, math accent); all of them exist in pdflatex's default OT1 fonts.
_ACCENTS = {
    "\u0300": ("`", "grave"), "\u0301": ("'", "acute"), "\u0302": ("^", "hat"), "\u0303": ("~", "tilde"),
    "\u0304": ("=", "bar"), "\u0306": ("u", "breve"), "\u0307": (".", "dot"), "\u0308": ('"', "ddot"),
    "\u030a": ("r", "mathring"), "\u030c": ("v", "check"), "\u0327": ("c", None),
}
_TEXT_LETTERS = {"ß": r"{\ss}", "æ": r"{\ae}", "Æ": r"{\AE}", "ø": r"{\o}", "Ø": r"{\O}", "œ": r"{\oe}",
                 "Œ": r"{\OE}", "ł": r"{\l}", "Ł": r"{\L}", "ı": r"{\i}", "–": r"\textendash{}",
                 "—": r"\textemdash{}", "‘": "`", "’": "'", "“": "``", "”": "''", "…": r"\ldots{}",
                 "\u00a0": "~"}


def _code_point(char: str, math: bool) -> str:
    return rf"\mathtt{{U{{+}}{ord(char):04X}}}" if math else rf"\texttt{{U+{ord(char):04X}}}"


def _accented(char: str, math: bool) -> str | None:
    """``é`` as ``\\'{e}`` (text) or ``\\acute{e}`` (math), when it is one ASCII letter and one accent."""
    decomposed = unicodedata.normalize("NFD", char)
    if len(decomposed) != 2 or not decomposed[0].isascii() or not decomposed[0].isalpha():
        return None
    accent = _ACCENTS.get(decomposed[1])
    if accent is None or (math and accent[1] is None):
        return None
    base = decomposed[0]
    if math:
        return rf"\{accent[1]}{{{base}}}"
    if base in "ij" and accent[0] not in "c":  # the dotless letters carry accents
        base = rf"\{base}"
    return rf"\{accent[0]}{{{base}}}"


def escape_text(text: str, what: str = "text", *, bookmark: bool = False) -> str:
    """``text`` as LaTeX text-mode source that prints it literally (see the module docstring);
    ``bookmark``: for the optional argument of ``\\section``, which hyperref also turns into a PDF
    bookmark (there the typewriter characters would fail)."""
    check_text(text, what)
    specials = _BOOKMARK_SPECIALS if bookmark else _TEXT_SPECIALS
    out = []
    for char in text:
        if char in specials:
            out.append(specials[char])
        elif char.isascii():
            out.append(char)
        elif char in _TEXT_LETTERS:
            out.append(_TEXT_LETTERS[char])
        elif char in _GREEK:
            out.append(rf"\ensuremath{{\{_GREEK[char]}}}")
        elif char in _GREEK_LATIN:
            out.append(_GREEK_LATIN[char])
        elif unicodedata.category(char).startswith("Z"):
            out.append(" ")
        else:
            out.append(_accented(char, math=False) or _code_point(char, math=False))
    return "".join(out)


def math_text(text: str, what: str = "symbol name") -> str:
    """``text``, a piece of a symbol's name, as LaTeX math-mode source that prints it literally."""
    check_text(text, what)
    out = []
    for char in text:
        if char in _MATH_SPECIALS:
            out.append(_MATH_SPECIALS[char])
        elif char.isascii() and (char.isalnum() or char in " .,;:!?()[]+-*/=<>|'@"):
            out.append(char)
        elif char.isascii():
            out.append(_code_point(char, math=True))
        elif char in _GREEK:
            out.append(rf"{{\{_GREEK[char]}}}")
        elif char in _GREEK_LATIN:
            out.append(_GREEK_LATIN[char])
        else:
            out.append(_accented(char, math=True) or _code_point(char, math=True))
    return "".join(out)
