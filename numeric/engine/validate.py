"""Input checks with messages a student understands, raised before any array reaches NumPy — and the
one check after: a result that overflowed is reported, never returned.

Every failure is a ``ValueError`` naming the argument (``xs``, ``h0``, ``parameter W_hh``, ``targets``,
``D``, ``dtype`` …) and what was expected. Arrays may be anything :func:`numpy.asarray` reads (nested
lists too) holding real numbers: floats or integers; booleans, complex numbers, strings and objects
are refused rather than guessed at. A value that is finite in its own dtype but too large for the
dtype the engine computes in (1e300 given to a float32 computation) is refused too, since casting
would turn it into Inf.

>>> import numpy as np
>>> as_float_array("h0", [[1, 2]], (1, 2), np.dtype(np.float32))
array([[1., 2.]], dtype=float32)
>>> as_float_array("h0", [[1e300, 2]], (1, 2), np.dtype(np.float32))
Traceback (most recent call last):
...
ValueError: h0 holds values too large for float32 (largest magnitude 1e+300; float32 holds up to 3.4e+38)
>>> infer_sizes({"W_hy": np.zeros((4, 2)), "b_y": np.zeros(3)}, ["W_hy", "b_y"], {"K": ["W_hy", "b_y"]})
Traceback (most recent call last):
...
ValueError: parameter b_y has shape (3,), expected (4,) (K = 4 from W_hy (4, 2))
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np

from bpttlab.derivations import HEADS, Head
from bpttlab.derivations.heads import TargetKind

__all__ = [
    "FLOAT_DTYPES",
    "Inputs",
    "Sizes",
    "as_array",
    "as_float_array",
    "check_finite_results",
    "check_init_options",
    "check_inputs",
    "check_params",
    "check_size",
    "check_targets",
    "common_float_dtype",
    "infer_sizes",
    "overflow_message",
]

#: The dtypes the engine computes in.
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class Sizes(NamedTuple):  # a record made every call: a named tuple is the cheapest to make
    """A call's sizes: ``T`` steps, ``N`` sequences, ``D`` inputs, ``H`` hidden units, ``K`` outputs
    (None for an engine without a head)."""

    T: int
    N: int
    D: int
    H: int
    K: int | None


class Inputs(NamedTuple):
    """A call's inputs, checked and laid out as the engine computes: ``params`` by name, 2-D (a bias
    is a (rows, 1) column); ``xs`` (T, N, D); ``initial`` the initial states by the cell's names for
    its previous states (``h_{t-1}`` …), each (H, N), columns being sequences; the ``sizes`` and the
    ``dtype`` of the computation."""

    params: dict[str, np.ndarray]
    xs: np.ndarray
    initial: dict[str, np.ndarray]
    sizes: Sizes
    dtype: np.dtype


def as_array(name: str, value: object) -> np.ndarray:
    """``np.asarray(value)``, with a ragged nested list reported under ``name``."""
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{name} is not a rectangular array of numbers ({error})") from None


def _is_real(array: np.ndarray) -> bool:
    return array.dtype.kind in "fiu"  # floats, signed and unsigned integers (not bool, not complex)


def as_float_array(name: str, value: object, shape: tuple[int | None, ...], dtype: np.dtype) -> np.ndarray:
    """``value`` as an array of ``dtype`` with ``shape`` (``None`` = any size), finite everywhere,
    before and after the cast."""
    array = as_array(name, value)
    if not _is_real(array):
        raise ValueError(f"{name} must be a float array (or integers), got dtype {array.dtype}")
    mismatch = array.ndim != len(shape) or any(
        n is not None and n != m for n, m in zip(shape, array.shape, strict=True))
    if mismatch:
        expected = "(" + ", ".join("?" if n is None else str(n) for n in shape) + ")"
        raise ValueError(f"{name} has shape {array.shape}, expected {expected}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or Inf")
    if array.dtype == dtype:  # already finite in the dtype asked for: nothing to cast or check again
        return array
    with np.errstate(over="ignore"):
        cast = array.astype(dtype, copy=False)
    if not np.isfinite(cast).all():
        largest = float(np.max(np.abs(array.astype(np.float64))))
        raise ValueError(f"{name} holds values too large for {np.dtype(dtype).name} (largest magnitude "
                         f"{largest:.3g}; {np.dtype(dtype).name} holds up to {np.finfo(dtype).max:.2g})")
    return cast


def infer_sizes(params: object, expected: Sequence[str], rows: Mapping[str, Sequence[str]],
                columns: Mapping[str, Sequence[str]] | None = None) -> dict[str, int]:
    """The sizes (H, K …) the parameters give: for each label in ``rows``, the first-axis length most
    of the parameters listed under it agree on, so that the odd one out is the one a later shape
    check blames. A tie (W_hy says K = 4, b_y says 3) is reported here: the parameter listed first
    decides, and the message names both. A label no parameter has as rows is read from the second
    axis of those listed under it in ``columns`` (a cell without parameters: H from the head's W_hy)."""
    if not isinstance(params, Mapping):
        raise ValueError(f"params must be a dict of arrays, got {type(params).__name__}")
    sizes = {}
    for label, names in {**(columns or {}), **rows}.items():
        axis = 0 if label in rows else 1
        shapes = {n: as_array(f"parameter {n}", params[n]).shape for n in names if n in params}
        votes = {n: shape[axis] for n, shape in shapes.items() if len(shape) > axis}
        if not votes:
            missing = [n for n in expected if n not in params]
            if missing:
                raise ValueError(f"missing parameter(s): {', '.join(missing)}")
            which, got = ("first", "scalars") if axis == 0 else ("second", "vectors or scalars")
            raise ValueError(f"parameter(s) {', '.join(names)} must be arrays whose {which} axis is {label}, "
                             f"got {got}")
        (size, count), *others = Counter(votes.values()).most_common()
        if others and others[0][1] == count:  # a tie: the first parameter listed decides, and says so
            tied = [n for n, v in votes.items() if v in (size, others[0][0])]
            winner = next((n for n in tied if votes[n] >= 1), tied[0])  # a size of 0 does not win
            size = votes[winner]
            loser = next(n for n, v in votes.items() if v != size)
            wanted = (size, *shapes[loser][1:])
            raise ValueError(f"parameter {loser} has shape {shapes[loser]}, expected {wanted} "
                             f"({label} = {size} from {winner} {shapes[winner]})")
        if size < 1:
            empty = ", ".join(f"{n} {shapes[n]}" for n, v in votes.items() if v == size)
            raise ValueError(f"{label} must be at least 1, but parameter(s) {empty} have no rows")
        sizes[label] = int(size)
    return sizes


def check_params(params: Mapping[str, object], shapes: Mapping[str, tuple[int, ...]], dtype: np.dtype
                 ) -> dict[str, np.ndarray]:
    """Every expected parameter, of its expected shape, as ``dtype``; nothing missing, nothing extra."""
    if not isinstance(params, Mapping):
        raise ValueError(f"params must be a dict of arrays, got {type(params).__name__}")
    missing = [n for n in shapes if n not in params]
    extra = [n for n in params if n not in shapes]
    if missing:
        wanted = ", ".join(f"{n} {shapes[n]}" for n in missing)
        raise ValueError(f"missing parameter(s): {wanted}")
    if extra:
        raise ValueError(f"unknown parameter(s): {', '.join(map(repr, extra))}; expected {', '.join(shapes)}")
    return {n: as_float_array(f"parameter {n}", params[n], shapes[n], dtype) for n in shapes}


def check_targets(head: str | Head, targets: object, shape: tuple[int, ...], classes: int, dtype: np.dtype
                  ) -> np.ndarray:
    """The targets the head's kind of target asks for (``head`` a :class:`Head` or a registered
    head's name): class indices in [0, K) (:attr:`TargetKind.CLASS`), shaped ``shape``; probabilities in
    [0, 1] (:attr:`TargetKind.PROBABILITY`: binary cross-entropy is a cross-entropy only for those; below 0
    or above 1 the loss has no minimum); any finite floats (:attr:`TargetKind.REAL`). Float targets are
    shaped like the outputs, ``(*shape, K)``, and converted to ``dtype``."""
    record = HEADS[head] if isinstance(head, str) else head
    kind = record.target_kind
    if kind is not TargetKind.CLASS:
        array = as_float_array("targets", targets, (*shape, classes), dtype)
        if kind is TargetKind.PROBABILITY and array.size and (array.min() < 0 or array.max() > 1):
            raise ValueError(f"{record.name} targets are probabilities and must lie in [0, 1], "
                             f"got {array.min():.3g}..{array.max():.3g}")
        return array
    array = as_array("targets", targets)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{record.name} targets must be integer class indices, got dtype {array.dtype}")
    if array.shape != shape:
        raise ValueError(f"targets has shape {array.shape}, expected {shape} (class indices)")
    if array.size and (array.min() < 0 or array.max() >= classes):
        raise ValueError(f"class targets must lie in 0..{classes - 1}, got {array.min()}..{array.max()}")
    return array


def common_float_dtype(arrays: Mapping[str, object]) -> np.dtype:
    """The dtype a call computes in: that of the float32 or float64 arrays among ``arrays`` (name →
    value), float64 when there are none (integers, nested lists). Two different ones are refused:
    casting one to the other would silently change the precision asked for.

    >>> common_float_dtype({"xs": np.zeros(2, np.float32), "h0": [[0.5]]})
    dtype('float32')
    >>> common_float_dtype({"xs": np.zeros(2, np.float32), "W": np.zeros(2)})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: xs is float32 but W is float64: give xs, the parameters and the initial states one ...
    """
    typed = [(name, value.dtype) for name, value in arrays.items()
             if isinstance(value, np.ndarray) and value.dtype in FLOAT_DTYPES]
    kinds = list(dict.fromkeys(kind for _, kind in typed))
    if len(kinds) > 1:
        first = next(name for name, kind in typed if kind == kinds[0])
        other = next(name for name, kind in typed if kind == kinds[1])
        raise ValueError(f"{first} is {kinds[0].name} but {other} is {kinds[1].name}: give xs, the "
                         f"parameters and the initial states one float dtype (float32 or float64)")
    return np.dtype(kinds[0]) if kinds else np.dtype(np.float64)


def check_size(name: str, value: object) -> int:
    """A size such as D, H or K: a positive integer (``True`` is not a size), as a plain ``int``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_init_options(seed: object, dtype: object, forget_bias: object) -> np.dtype:
    """The options of ``init_params``: a non-negative integer ``seed``, ``dtype`` float32 or float64
    (what the engine computes in), a ``forget_bias`` finite in that dtype. Returns the dtype."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    try:
        chosen = np.dtype(dtype)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if chosen not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {chosen}")
    if isinstance(forget_bias, (bool, np.bool_)) or not isinstance(forget_bias, (int, float, np.integer,
                                                                                 np.floating)):
        raise ValueError(f"forget_bias must be a real number, got {forget_bias!r}")
    with np.errstate(over="ignore"):
        finite = np.isfinite(np.asarray(forget_bias, dtype=chosen))
    if not finite:
        raise ValueError(f"forget_bias must be finite in {chosen}, got {forget_bias!r}")
    return chosen


def check_finite_results(what: str, results: Mapping[str, object]) -> None:
    """Raise if any of ``results`` (name → array or number; ``None`` is skipped) holds NaN or Inf:
    every input was finite, so the computation overflowed."""
    bad = [name for name, value in results.items()
           if value is not None and not np.isfinite(value).all()]
    if bad:
        raise ValueError(overflow_message(what, bad))


def overflow_message(what: str, names: Sequence[str]) -> str:
    """The one sentence for results ``names`` of ``what`` that hold NaN or Inf from finite inputs."""
    return (f"{what} overflowed: {', '.join(names)} holds NaN or Inf although every input is finite; the "
            f"inputs or parameters are too large in magnitude")


def initial_values(cell: object, h0: object, c0: object, initial: object) -> list[tuple[str, object]]:
    """(label, value or None) for every previous state of ``cell``, from ``h0``/``c0`` (the first and
    second state, as the built-in cells spell them) or ``initial`` (label → value, the cell's spelling)."""
    labels = cell.initial
    if initial is None:
        initial = {}
    if not isinstance(initial, dict):
        raise ValueError(f"initial must be a dict of initial states by name ({', '.join(labels)}), "
                         f"got {type(initial).__name__}")
    unknown = [k for k in initial if k not in labels]
    if unknown:
        raise ValueError(f"initial: unknown state {unknown[0]!r}; {cell.name}'s initial states are "
                         f"{', '.join(labels)}")
    values = dict(initial)
    for position, (name, value) in enumerate((("h0", h0), ("c0", c0))):
        if value is None:
            continue
        if position >= len(labels):
            raise ValueError(f"{name} is for a cell with a second state (the LSTM's cell state); "
                             f"{cell.name} has one state")
        if labels[position] in values and labels[position] != name:
            raise ValueError(f"{name} and initial[{labels[position]!r}] give the same state twice")
        values[labels[position]] = value
    return [(label, values.get(label)) for label in labels]


def check_inputs(params: object, xs: object, h0: object, c0: object, initial: object, *, cell: object,
                 names: Sequence[str], rows: Mapping[str, Sequence[str]],
                 shapes: Callable[[int, int, int | None], Mapping[str, tuple[int, ...]]],
                 columns: Mapping[str, Sequence[str]] | None = None) -> Inputs:
    """Every input of a call checked (see the module docstring) and laid out as :class:`Inputs`.

    ``cell`` gives the states and their labels; ``names`` every parameter; ``rows`` those that have H
    (K) rows, by label, from which H and K are read (:func:`infer_sizes`); ``shapes(D, H, K)`` every
    parameter's expected shape."""
    array = as_array("xs", xs)
    if array.ndim != 3:
        raise ValueError(f"xs must have shape (T, N, D) (time-major), got an array of rank {array.ndim}")
    T, N, D = array.shape
    if T == 0 or N == 0 or D == 0:
        raise ValueError(f"xs must have T, N, D ≥ 1, got shape {array.shape}")
    found = infer_sizes(params, names, rows, columns)
    starts = initial_values(cell, h0, c0, initial)
    H, K = found.get("H"), found.get("K")
    if H is None:  # no parameter has H rows or columns (a cell without parameters, no head): the states
        given = [as_array(label, value).shape for label, value in starts if value is not None]
        if not given or len(given[0]) != 2:
            raise ValueError(f"{cell.name} has no parameter whose shape gives the number of hidden units H: "
                             f"give its initial states ({', '.join(cell.initial)}), each of shape (N, H)")
        H = given[0][1]
    dtype = common_float_dtype({"xs": xs, **{f"parameter {name}": value for name, value in params.items()},
                                **{label: value for label, value in starts}})
    checked = check_params(params, shapes(D, H, K), dtype)
    columns = {name: (p[:, None] if p.ndim == 1 else p) for name, p in checked.items()}
    xs = as_float_array("xs", array, (T, N, D), dtype)
    states = {}
    for (_, previous), (label, value) in zip(cell.states, starts, strict=True):
        value = np.zeros((N, H), dtype) if value is None else as_float_array(label, value, (N, H), dtype)
        states[previous.name] = np.ascontiguousarray(value.T)
    return Inputs(columns, xs, states, Sizes(T, N, D, H, K), dtype)
