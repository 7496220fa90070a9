"""The works a sheet may cite, and one citation style: author–year in the text (``Pascanu et al.
(2013)``, or in parentheses), the full entries listed at the end of the sheet, only those it cites,
in the order it first cites them.

>>> works = Citations(et_al="et al.", and_word="and")
>>> works.cite("pascanu2013"), works.citep("elman1990"), works.cite("hochreiter1997")
('Pascanu et al. (2013)', '(Elman, 1990)', 'Hochreiter and Schmidhuber (1997)')
>>> works.entries()[0].partition(" On ")[0]
'Pascanu, R., Mikolov, T. \\\\& Bengio, Y. (2013).'
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["WORKS", "Citations", "Work"]


@dataclass(frozen=True)
class Work:
    """One work: its authors' surnames (for the text), the full author list, year, title and where."""

    surnames: tuple[str, ...]
    authors: str
    year: int
    title: str
    venue: str


WORKS = {
    "elman1990": Work(("Elman",), "Elman, J. L.", 1990, "Finding structure in time",
                      r"\emph{Cognitive Science} 14(2), 179--211"),
    "werbos1990": Work(("Werbos",), "Werbos, P. J.", 1990,
                       "Backpropagation through time: what it does and how to do it",
                       r"\emph{Proc.\ IEEE} 78(10), 1550--1560"),
    "williams1990": Work(("Williams", "Peng"), r"Williams, R. J. \& Peng, J.", 1990,
                         "An efficient gradient-based algorithm for on-line training of recurrent network "
                         "trajectories", r"\emph{Neural Computation} 2(4), 490--501"),
    "bengio1994": Work(("Bengio", "Simard", "Frasconi"), r"Bengio, Y., Simard, P. \& Frasconi, P.", 1994,
                       "Learning long-term dependencies with gradient descent is difficult",
                       r"\emph{IEEE Trans.\ Neural Networks} 5(2), 157--166"),
    "hochreiter1997": Work(("Hochreiter", "Schmidhuber"), r"Hochreiter, S. \& Schmidhuber, J.", 1997,
                           "Long short-term memory", r"\emph{Neural Computation} 9(8), 1735--1780"),
    "gers2000": Work(("Gers", "Schmidhuber", "Cummins"), r"Gers, F. A., Schmidhuber, J. \& Cummins, F.", 2000,
                     "Learning to forget: continual prediction with LSTM",
                     r"\emph{Neural Computation} 12(10), 2451--2471"),
    "gers2002": Work(("Gers", "Schraudolph", "Schmidhuber"),
                     r"Gers, F. A., Schraudolph, N. N. \& Schmidhuber, J.", 2002,
                     "Learning precise timing with LSTM recurrent networks", r"\emph{JMLR} 3, 115--143"),
    "cho2014": Work(("Cho", "van Merrienboer", "Gulcehre", "Bahdanau", "Bougares", "Schwenk", "Bengio"),
                    r"Cho, K., van Merri\"enboer, B., Gulcehre, C., Bahdanau, D., Bougares, F., "
                    r"Schwenk, H. \& Bengio, Y.", 2014,
                    "Learning phrase representations using RNN encoder--decoder for statistical machine "
                    "translation", r"\emph{EMNLP 2014}, 1724--1734"),
    "pascanu2013": Work(("Pascanu", "Mikolov", "Bengio"), r"Pascanu, R., Mikolov, T. \& Bengio, Y.", 2013,
                        "On the difficulty of training recurrent neural networks",
                        r"\emph{ICML 2013}, PMLR 28(3), 1310--1318"),
    "jozefowicz2015": Work(("Jozefowicz", "Zaremba", "Sutskever"),
                           r"Jozefowicz, R., Zaremba, W. \& Sutskever, I.", 2015,
                           "An empirical exploration of recurrent network architectures",
                           r"\emph{ICML 2015}, PMLR 37, 2342--2350"),
    "le2015": Work(("Le", "Jaitly", "Hinton"), r"Le, Q. V., Jaitly, N. \& Hinton, G. E.", 2015,
                   "A simple way to initialize recurrent networks of rectified linear units",
                   "arXiv:1504.00941"),
    "goodfellow2016": Work(("Goodfellow", "Bengio", "Courville"),
                           r"Goodfellow, I., Bengio, Y. \& Courville, A.", 2016, r"\emph{Deep Learning}",
                           "chapter 10, MIT Press"),
    "zhou2016": Work(("Zhou", "Wu", "Zhang", "Zhou"),
                     r"Zhou, G.-B., Wu, J., Zhang, C.-L. \& Zhou, Z.-H.", 2016,
                     "Minimal gated unit for recurrent neural networks",
                     r"\emph{Int.\ J. Automation and Computing} 13(3), 226--234"),
    "greff2017": Work(("Greff", "Srivastava", "Koutník"),
                      r"Greff, K., Srivastava, R. K., Koutn\'{\i}k, J., Steunebrink, B. R. \& "
                      r"Schmidhuber, J.",
                      2017, "LSTM: a search space odyssey", r"\emph{IEEE TNNLS} 28(10), 2222--2232"),
    "li2018": Work(("Li", "Li", "Cook"), r"Li, S., Li, W., Cook, C., Zhu, C. \& Gao, Y.", 2018,
                   "Independently recurrent neural network (IndRNN)", r"\emph{CVPR 2018}, 5457--5466"),
}


@dataclass
class Citations:
    """The works a sheet has cited so far, in order; ``et_al`` and ``and_word`` are the language's."""

    et_al: str
    and_word: str
    cited: list[str] = field(default_factory=list)

    def _authors(self, key: str) -> str:
        if key not in WORKS:
            raise ValueError(f"no work {key!r} to cite; known: {', '.join(WORKS)}")
        if key not in self.cited:
            self.cited.append(key)
        names = WORKS[key].surnames
        if len(names) == 1:
            return names[0]
        if len(names) == 2:
            return f"{names[0]} {self.and_word} {names[1]}"
        return f"{names[0]} {self.et_al}"

    def cite(self, key: str) -> str:
        """In the text: ``Pascanu et al. (2013)``."""
        return f"{self._authors(key)} ({WORKS[key].year})"

    def citep(self, key: str) -> str:
        """In parentheses: ``(Pascanu et al., 2013)``."""
        return f"({self._authors(key)}, {WORKS[key].year})"

    def entries(self) -> list[str]:
        """The full entries of the works cited, in the order first cited."""
        return [f"{w.authors} ({w.year}). {w.title}. {w.venue}." for w in (WORKS[key] for key in self.cited)]
