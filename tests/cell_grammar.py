"""A hypothesis strategy for the cells users write: random ``.cell`` files from the grammar of
:mod:`bpttlab.derivations.cells.spec`.

A generated file has one to three states (the first feeds the head; their names sometimes those the
heads use, ``s_t``, ``y_t``, ``a_t``), zero to three intermediate lines, and right sides built from
every construct the grammar has: each callable function, constants, scalings and divisions by
constants, residual sums, Hadamard products, weight matrices on x_t and on H-vectors (shared between
lines or not), biases and declared vector parameters, declared names left unused, cancellations
(``b - b``, ``0*v``), deep nesting, and now and then a mistake (a parameter used with two shapes, a
name the heads own, a name not defined yet, nesting past the stated limits). Every file must be
refused at parse time with one ``ValueError`` naming ``gen.cell:line``, or be derived, proven,
printed and run.

>>> from hypothesis import find
>>> text = find(cell_files(), lambda t: "tanh" in t and "c_t" in t)
>>> text.splitlines()[0]
'name: generated'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from hypothesis import strategies as st

from bpttlab.derivations.cells.translate import function_names

__all__ = ["CONSTANTS", "cell_files"]

#: Constants as a user writes them.
CONSTANTS = ("0.5", "2", "1", "3", "0.25", "1e-3", "0", "1.5e2", "10")
NONZERO = tuple(c for c in CONSTANTS if c != "0")
#: The names a state may take: plain ones, and the names the heads use for their own values.
STATE_NAMES = ("h", "c", "m", "s", "y", "a", "g2", "state_long_name")
INTERMEDIATE_NAMES = ("u_t", "v_t", "gate_t", "z_t", "s_t", "y_t", "a_t", "k", "q_1")


def _now_and_then(draw, one_in: int) -> bool:
    """True about once in ``one_in`` draws. Not ``integers(0, n) == 0``: Hypothesis draws the bounds of a
    range far more often than the rest, so that would be true in a third of the cells."""
    return draw(st.integers(1, one_in)) == one_in // 2


class _Context(NamedTuple):
    """What writing one construct needs: ``draw``, ``sub()`` (a smaller expression) and the weights so far."""

    draw: st.DrawFn
    sub: Callable[[], str]
    weights: dict[str, str]


def _matmul(c: _Context, on_input: bool) -> str:
    """``W @ operand``: a new weight, or now and then one used before (a shared weight)."""
    draw, weights = c.draw, c.weights
    operand, shape = ("x_t", "x") if on_input else (c.sub(), "h")
    reuse = [w for w, s in weights.items() if s == shape or _now_and_then(draw, 40)]
    if reuse and draw(st.booleans()):
        name = draw(st.sampled_from(reuse))
    else:
        name = f"W_{shape}{len(weights)}"
        weights[name] = shape
    return f"{name} @ {operand if operand.isidentifier() else f'({operand})'}"


def _cancelled(c: _Context) -> str:
    inner = c.sub()
    return f"({inner} - {inner})"


#: Each construct of the grammar: how to write one in a :class:`_Context`.
CONSTRUCTS = {
    "matmul_x": lambda c: _matmul(c, on_input=True),
    "matmul_h": lambda c: _matmul(c, on_input=False),
    "add": lambda c: f"{c.sub()} + {c.sub()}",
    "sub": lambda c: f"{c.sub()} - ({c.sub()})",
    "hadamard": lambda c: f"({c.sub()}) * ({c.sub()})",
    "power": lambda c: f"({c.sub()}) ** {c.draw(st.integers(1, 3))}",
    "scale": lambda c: f"{c.draw(st.sampled_from(CONSTANTS))} * ({c.sub()})",
    "divide": lambda c: f"({c.sub()}) / {c.draw(st.sampled_from(NONZERO))}",
    "shift": lambda c: f"{c.draw(st.sampled_from(CONSTANTS))} {c.draw(st.sampled_from('+-'))} ({c.sub()})",
    "function": lambda c: f"{c.draw(st.sampled_from(function_names()))}({c.sub()})",
    "negate": lambda c: f"{'-' * c.draw(st.integers(1, 45))}({c.sub()})",
    "cancel": lambda c: _cancelled(c),
    "zero": lambda c: f"0 * ({c.sub()})",
    "parens": lambda c: f"({c.sub()})",
}


@st.composite
def _expression(draw: st.DrawFn, vectors: list[str], params: list[str], weights: dict[str, str],
                depth: int) -> str:
    """An expression of H entries over ``vectors`` (defined names) and parameters."""
    leaves = {"vector": lambda: draw(st.sampled_from(vectors)),
              "bias": lambda: f"b_{draw(st.sampled_from('abcdef'))}",
              **({"param": lambda: draw(st.sampled_from(params))} if params else {})}
    kinds = list(leaves) if depth <= 0 else [*leaves, *CONSTRUCTS, "function"]  # functions twice as often
    kind = draw(st.sampled_from(kinds))
    if kind in leaves:
        return leaves[kind]()
    def sub() -> str:
        return draw(_expression(vectors, params, weights, depth - 1))

    return CONSTRUCTS[kind](_Context(draw, sub, weights))


@st.composite
def cell_files(draw: st.DrawFn, max_depth: int = 4) -> str:
    """The text of a ``.cell`` file (see the module docstring)."""
    count = draw(st.integers(1, 3))
    bases = draw(st.lists(st.sampled_from(STATE_NAMES), min_size=count, max_size=count, unique=True))
    states = [(f"{b}_t", f"{b}_prev") for b in bases]
    params = draw(st.lists(st.sampled_from(["p", "u", "p_i", "w2"]), max_size=2, unique=True))
    intermediates = draw(st.lists(st.sampled_from(INTERMEDIATE_NAMES), max_size=3, unique=True))
    intermediates = [n for n in intermediates if n not in {s for s, _ in states}]
    vectors = [prev for _, prev in states]
    weights: dict[str, str] = {}
    lines = []
    order = intermediates + [new for new, _ in states]
    if _now_and_then(draw, 10):  # now and then a name used before its line defines it
        order = draw(st.permutations(order))
    for name in order:
        rhs = draw(_expression(vectors, params, weights, draw(st.integers(0, max_depth))))
        if _now_and_then(draw, 30):
            rhs = "tanh(" * 9 + rhs + ")" * 9  # past MAX_FUNCTIONS
        if _now_and_then(draw, 60):
            rhs = f"W_hy @ {rhs}" if rhs.isidentifier() else f"W_hy @ ({rhs})"  # the head's parameter
        lines.append(f"{name} = {rhs}")
        vectors.append(name)
    header = ["name: generated", "title: A generated cell",
              "states: " + ", ".join(f"{new} <- {prev}" for new, prev in states),
              "params: " + ", ".join(params)]
    return "\n".join(header + lines) + "\n"
