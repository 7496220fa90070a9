"""TikZ diagrams for the course sheet, generated from the cells' equations and printed in the sheet's
notation: one cell's step as a graph (:func:`cell_diagram`), the unrolled Elman RNN with its forward
and backward arrows (:func:`unrolled_diagram`) and the five RNN types with where their loss sits
(:func:`rnn_types`).

A cell's graph has a node for the input, each previous state and each value the equations define; a
pre-activation read only by one element-wise function is folded into that function's node (``f_t``
with σ under it stands for σ(a_{f,t})). Nodes are placed in columns by the longest path from the
inputs; the new states have a double border. Nothing is drawn that the equations do not say.

>>> diagram = cell_diagram("lstm", "course")
>>> [node.symbol for node in diagram.nodes if node.state]
['C_t', 'h_t']
>>> sorted(e for e in diagram.edges if e[1] == "c_t")
[('c_{t-1}', 'c_t'), ('f_t', 'c_t'), ('g_t', 'c_t'), ('i_t', 'c_t')]
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from functools import partial

import sympy as sp

from bpttlab.derivations import Cell, Elementwise, carry, resolve_cell
from bpttlab.derivations.activations import ACTIVATIONS
from bpttlab.derivations.heads import head as head_of
from bpttlab.derivations.printing.latex_printer import gates, latex
from bpttlab.derivations.printing.time_index import at_step
from bpttlab.derivations.structure import operands as structure_operands

__all__ = [
    "RNN_TYPES",
    "CellDiagram",
    "DiagramNode",
    "RnnType",
    "cell_diagram",
    "rnn_types",
    "unrolled_diagram",
]

# Column and row spacing of a cell's graph, in cm.
COLUMN, ROW = 2.3, 1.35
_PICTURE = (r"\begin{tikzpicture}[>=Stealth, font=\small, "
            r"node/.style={draw, rounded corners=2pt, align=center, minimum width=11mm, minimum height=7mm, "
            r"inner sep=2pt}, gate/.style={node, fill=orange!15}, function/.style={node, fill=blue!8}, "
            r"input/.style={node, draw=black!50}, state/.style={double, double distance=1pt}]")


@dataclass(frozen=True)
class DiagramNode:
    name: str  # the symbol's name in the derivations
    symbol: str  # its LaTeX in the sheet's notation
    operation: str  # what the node computes, as LaTeX ("\\sigma", "\\odot, +"), "" for an input
    kind: str  # "input", "gate" (a σ output), "function" or "combination"
    state: bool  # a new state of the cell
    column: int
    row: float


@dataclass(frozen=True)
class CellDiagram:
    cell: str
    nodes: tuple[DiagramNode, ...]
    edges: tuple[tuple[str, str], ...]
    tikz: str


def _operations(expr: sp.Basic) -> str:
    """The operations of a right-hand side, as LaTeX, in a fixed order."""
    found = []
    products = [m for m in expr.atoms(sp.MatMul) if any(isinstance(f, sp.MatrixSymbol) and f.shape[1] != 1
                                                       for f in m.args)]
    if products:
        found.append(r"W\cdot")
    functions = [node.name for node in sp.preorder_traversal(expr) if isinstance(node, Elementwise)]
    found += [ACTIVATIONS[f].latex for f in dict.fromkeys(functions)]
    if expr.atoms(sp.HadamardProduct):
        found.append(r"\odot")
    if isinstance(expr, sp.MatAdd) or expr.atoms(sp.MatAdd):
        found.append("+")
    return ", ".join(found)


def cell_diagram(cell: str | os.PathLike | Cell, notation: str = "course") -> CellDiagram:
    """One step of ``cell`` as a TikZ graph in ``notation``."""
    c = resolve_cell(cell)
    show = partial(latex, notation=notation, gates=gates(c))
    params = set(c.params)
    definitions = {eq.lhs: eq.rhs for eq in c.equations}
    readers: dict[sp.MatrixSymbol, int] = {}
    for rhs in definitions.values():
        for symbol in rhs.atoms(sp.MatrixSymbol) - params:
            readers[symbol] = readers.get(symbol, 0) + 1
    folded = {rhs.arg for rhs in definitions.values()
              if isinstance(rhs, Elementwise) and isinstance(rhs.arg, sp.MatrixSymbol)
              and rhs.arg in definitions and readers.get(rhs.arg) == 1}

    def sources(rhs: sp.Basic) -> list[sp.MatrixSymbol]:
        """The nodes a value is computed from, through any folded pre-activation."""
        found = []
        for symbol in sorted(rhs.atoms(sp.MatrixSymbol) - params, key=lambda s: s.name):
            found += sources(definitions[symbol]) if symbol in folded else [symbol]
        return list(dict.fromkeys(found))

    inputs = [c.x, *c.previous_states]
    column = {symbol: 0 for symbol in inputs}
    shown, edges, operation, kind = list(inputs), [], {}, {}
    for lhs, rhs in definitions.items():
        if lhs in folded:
            continue
        preds = sources(rhs)
        column[lhs] = 1 + max((column[p] for p in preds), default=0)  # of parameters alone: column 1
        shown.append(lhs)
        edges += [(p.name, lhs.name) for p in preds]
        if isinstance(rhs, Elementwise) and rhs.arg in folded:
            operation[lhs] = ACTIVATIONS[rhs.name].latex
            kind[lhs] = "gate" if ACTIVATIONS[rhs.name].is_gate else "function"
        else:
            operation[lhs] = _operations(rhs)
            kind[lhs] = "combination"
    rows, bends = _rows(shown, column, edges)
    nodes = tuple(DiagramNode(symbol.name, show(symbol), operation.get(symbol, ""), kind.get(symbol, "input"),
                              symbol in c.new_states, column[symbol], rows[symbol.name]) for symbol in shown)
    ids = {node.name: f"n{i}" for i, node in enumerate(nodes)}
    lines = [_PICTURE]
    for node in nodes:
        style = node.kind if node.kind in ("gate", "function", "input") else "node"
        style += ", state" if node.state else ""
        body = f"${node.symbol}$" + (rf"\\[-1pt]\scriptsize ${node.operation}$" if node.operation else "")
        lines.append(rf"\node[{style}] ({ids[node.name]}) at ({node.column * COLUMN:.2f}, "
                     rf"{node.row * ROW:.2f}) {{{body}}};")
    for start, end in edges:
        via = "".join(f" -- ({number * COLUMN:.2f}, {row * ROW:.2f})" for number, row in bends[(start, end)])
        lines.append(rf"\draw[->, rounded corners=6pt] ({ids[start]}){via} -- ({ids[end]});")
    lines.append(r"\end{tikzpicture}")
    return CellDiagram(c.name, tuple(nodes), tuple(edges), "\n".join(lines))


def _rows(shown: list[sp.MatrixSymbol], column: dict, edges: list[tuple[str, str]]
          ) -> tuple[dict[str, float], dict[tuple[str, str], list[tuple[int, float]]]]:
    """Rows of the nodes, and the bends of each arrow that spans more than one column (Sugiyama's
    layering: such an arrow gets a waypoint in every column it crosses, placed like a node). The
    inputs are stacked, states on top and the input at the bottom; every later node or waypoint
    sits near the mean row of what it reads and what it feeds, so that arrows run nearly straight,
    a row apart from the next node (half a row from a waypoint)."""
    level = {symbol.name: column[symbol] for symbol in shown}
    preds: dict[str, list[str]] = {}
    succs: dict[str, list[str]] = {}
    paths: dict[tuple[str, str], list[str]] = {}
    for start, end in edges:
        chain = [start]
        for number in range(level[start] + 1, level[end]):
            waypoint = f"{start}>{end}@{number}"
            level[waypoint] = number
            chain.append(waypoint)
        chain.append(end)
        paths[(start, end)] = chain[1:-1]
        for a, b in itertools.pairwise(chain):
            preds.setdefault(b, []).append(a)
            succs.setdefault(a, []).append(b)
    columns: dict[int, list[str]] = {}
    for name, number in level.items():
        columns.setdefault(number, []).append(name)
    rows = {name: -float(i) for i, name in enumerate(reversed(columns[0]))}  # x_t at the bottom

    def mean(names: list[str]) -> float:
        return sum(rows[n] for n in names) / len(names) if names else 0.0  # no inputs: level with x_t's top

    def gap(a: str, b: str) -> float:
        return 1.0 if "@" not in a and "@" not in b else 0.6

    def place(members: list[str], desired: dict[str, float]) -> None:
        ordered = sorted(members, key=lambda n: -desired[n])
        placed: list[float] = []
        for i, name in enumerate(ordered):  # top to bottom, each far enough below the one above
            below = placed[-1] - gap(ordered[i - 1], name) if placed else desired[name]
            placed.append(min(desired[name], below))
        shift = (sum(desired.values()) - sum(placed)) / len(placed)  # the pushed block re-centred
        rows.update({name: round(row + shift, 3) for name, row in zip(ordered, placed, strict=True)})

    later = sorted(number for number in columns if number)
    for number in later:
        place(columns[number], {n: mean(preds.get(n, [])) for n in columns[number]})
    for _ in range(2):
        for number in reversed(later[:-1]):
            place(columns[number], {n: (mean(preds.get(n, [])) + mean(succs[n])) / 2 if n in succs
                                    else mean(preds.get(n, [])) for n in columns[number]})
        for number in later[1:]:
            place(columns[number], {n: mean(preds.get(n, [])) for n in columns[number]})
    bends = {edge: [(level[w], rows[w]) for w in chain] for edge, chain in paths.items()}
    return {name: row for name, row in rows.items() if "@" not in name}, bends


def unrolled_diagram(cell: str | os.PathLike | Cell = "rnn", notation: str = "course", steps: int = 3,
                     head: str = "softmax") -> str:
    """The cell unrolled over ``steps`` steps from its first initial state: x_t below, the state in
    the middle, ŷ_t and ℓ_t above, every ℓ_t into L; the weights on the arrows (the ones the
    equations apply to x_t and to the previous state, and the head's); the backward arrows dashed,
    labelled with what step t+1 sends back."""
    c = resolve_cell(cell)
    hd = head_of(head)
    show = partial(latex, notation=notation, gates=gates(c))
    h, h_prev = c.states[0]
    operands: dict[sp.MatrixExpr, list[sp.MatrixSymbol]] = {}  # a value → the weights applied to it
    for weight, on in structure_operands(c).items():
        for value in on:
            operands.setdefault(value, []).append(weight)

    def weights(of: sp.MatrixSymbol) -> str:
        return ", ".join(show(w) for w in dict.fromkeys(operands.get(of, [])))

    head_weight = next(p for p in hd.params if p.shape[1] != 1)
    fixed = (*c.params, *hd.params)
    step_at = partial(at_step, fixed=fixed)
    lines = [_PICTURE.replace("font=\\small", "font=\\small, x=2.4cm, y=1.25cm")]
    lines.append(rf"\node[input] (h0) at (0, 0) {{${show(step_at(h_prev, 1))}$}};")
    for t in range(1, steps + 1):
        lines += [
            rf"\node[input] (x{t}) at ({t}, -1.5) {{${show(step_at(c.x, t))}$}};",
            rf"\node[function] (h{t}) at ({t}, 0) {{${show(step_at(h, t))}$}};",
            rf"\node[node] (y{t}) at ({t}, 1.2) {{${show(step_at(hd.prediction, t))}$}};",
            rf"\node[node] (l{t}) at ({t}, 2.3) {{${show(step_at(hd.loss, t))}$}};",
            rf"\draw[->] (x{t}) -- node[right, pos=0.3, font=\scriptsize] {{${weights(c.x)}$}} (h{t});",
            rf"\draw[->] (h{t}) -- node[right, pos=0.7, font=\scriptsize] {{${show(head_weight)}$}} (y{t});",
            rf"\draw[->] (y{t}) -- (l{t});",
            rf"\draw[->] (h{t - 1}.north east) -- node[above, font=\scriptsize] {{${weights(h_prev)}$}} "
            rf"(h{t}.north west);",
            rf"\draw[->, dashed, red!70!black] (h{t}.south west) -- node[below, font=\scriptsize] "
            rf"{{${show(step_at(carry(h), t - 1))}$}} (h{t - 1}.south east);",
        ]
    lines.append(rf"\node[node] (L) at ({(steps + 1) / 2}, 3.3) {{$L$}};")
    lines += [rf"\draw[->] (l{t}) -- (L);" for t in range(1, steps + 1)]
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines)


@dataclass(frozen=True)
class RnnType:
    """An RNN type: ``steps`` columns, those with an input and those with an output (and its loss),
    ``decoder`` the steps run by a second network (sequence to sequence); ``tikz`` its picture and
    ``loss`` the total loss as LaTeX."""

    key: str
    steps: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    decoder: tuple[int, ...] = ()
    tikz: str = ""
    loss: str = ""
    family: str = ""  # the type it is a form of (sequence to sequence is a many-to-many); "" for itself

    def __post_init__(self) -> None:
        if not self.family:
            object.__setattr__(self, "family", self.key)


#: The four types the course names, as data: which steps read an input, which give an output; the
#: many-to-many type comes in two forms, aligned and sequence to sequence.
RNN_TYPES = (
    RnnType("one_to_one", 1, (1,), (1,)),
    RnnType("one_to_many", 3, (1,), (1, 2, 3)),
    RnnType("many_to_one", 3, (1, 2, 3), (3,)),
    RnnType("many_to_many", 3, (1, 2, 3), (1, 2, 3)),
    RnnType("sequence_to_sequence", 5, (1, 2, 3), (4, 5), decoder=(4, 5), family="many_to_many"),
)


def _type_picture(kind: RnnType, show: partial, h: sp.MatrixSymbol, x: sp.MatrixSymbol,
                  prediction: sp.MatrixSymbol, loss: sp.MatrixSymbol) -> str:
    lines = [_PICTURE.replace("font=\\small", r"font=\scriptsize, x=1.05cm, y=0.95cm")
             .replace("minimum width=11mm, minimum height=7mm", "minimum width=7mm, minimum height=5mm")]
    for t in range(1, kind.steps + 1):
        style = "gate" if t in kind.decoder else "function"
        lines.append(rf"\node[{style}] (h{t}) at ({t}, 0) {{${show(at_step(h, t))}$}};")
        if t > 1:
            lines.append(rf"\draw[->] (h{t - 1}) -- (h{t});")
        if t in kind.inputs:
            lines += [rf"\node[input] (x{t}) at ({t}, -1) {{${show(at_step(x, t))}$}};",
                      rf"\draw[->] (x{t}) -- (h{t});"]
        if t in kind.outputs:
            lines += [rf"\node[node] (y{t}) at ({t}, 1) "
                      rf"{{${show(at_step(prediction, t))}$}};",
                      rf"\node[inner sep=1pt] (l{t}) at ({t}, 1.75) {{${show(at_step(loss, t))}$}};",
                      rf"\draw[->] (h{t}) -- (y{t});", rf"\draw[->] (y{t}) -- (l{t});"]
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines)


def rnn_types(notation: str = "course", cell: str | Cell = "rnn", head: str = "softmax"
              ) -> tuple[RnnType, ...]:
    """:data:`RNN_TYPES` with their pictures and total losses L = Σ ℓ_t over the steps with an output."""
    c, hd = resolve_cell(cell), head_of(head)
    show = partial(latex, notation=notation)
    typed = []
    for kind in RNN_TYPES:
        losses = [show(at_step(hd.loss, t)) for t in kind.outputs]
        total = "L = " + " + ".join(losses)
        picture = _type_picture(kind, show, c.h, c.x, hd.prediction, hd.loss)
        typed.append(RnnType(kind.key, kind.steps, kind.inputs, kind.outputs, kind.decoder, picture, total,
                             kind.family))
    return tuple(typed)
