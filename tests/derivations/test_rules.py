"""The rule tables of the derivations, one per interpretation: the reverse pass (:func:`vjp`), the step
Jacobian's forward mode (:func:`jvp`), explicit evaluation (:func:`evaluate`) and the clean-up
(:func:`clean`). Each rule is checked on its own, on small concrete matrices: a derivative rule against
``sympy.diff`` of the explicit node, an evaluation rule against SymPy's own ``as_explicit``, a clean-up
rule for what it removes and for keeping the value. Every registered rule has a case here, and every
rule is reached: deriving every registered cell and head, and cells the grammar accepts, uses each
derivative rule and meets no node type without one."""

from collections import Counter
from contextlib import contextmanager

import pytest
import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

from bpttlab.derivations import CELLS, HEADS, custom_cell, derive
from bpttlab.derivations import derivation as derivation_module
from bpttlab.derivations.activations import ACTIVATIONS
from bpttlab.derivations.elementwise import Elementwise
from bpttlab.derivations.explicit import evaluate, explicit
from bpttlab.derivations.heads import Head, TargetKind, register_head, unregister_head
from bpttlab.derivations.jacobian import Tangents, jvp
from bpttlab.derivations.reverse import vjp
from bpttlab.derivations.softmax import LogSoftmax, Softmax
from bpttlab.derivations.symbols import H, K, matrix, vector
from bpttlab.derivations.tidy import clean, tidy


def leaf(name: str, rows: int, cols: int = 1) -> sp.MatrixSymbol:
    return sp.MatrixSymbol(name, rows, cols)


a, b, c, v = leaf("a", 2), leaf("b", 2), leaf("c", 2), leaf("v", 2)
z3 = leaf("z", 3)
A, B, W, U = leaf("A", 2, 3), leaf("B", 3, 2), leaf("W", 2, 2), leaf("U", 2, 2)


def rules(table) -> set[type]:
    """The node types of the package and of SymPy that ``table`` has a rule for (a test may register a
    node of its own too, as test_prove_near_miss does)."""
    return {cls for cls in table.registry
            if cls is not object and cls.__module__.startswith(("bpttlab.", "sympy."))}


def is_zero_matrix(m: sp.MatrixBase) -> bool:
    return all(sp.simplify(sp.expand(e)) == 0 for e in m)


# ----------------------------------------------------------------- vjp against sympy.diff
VJP_CASES = {
    sp.MatAdd: [sp.MatAdd(a, b, c)],
    sp.MatMul: [sp.MatMul(3, A, B, a), sp.MatMul(W, a)],
    sp.MatPow: [sp.MatPow(W, 2), sp.MatPow(W, 3)],
    sp.HadamardProduct: [sp.HadamardProduct(a, b, c)],
    sp.HadamardPower: [sp.HadamardPower(a, 3)],
    Elementwise: [Elementwise(name, a) for name in ACTIVATIONS],
    LogSoftmax: [LogSoftmax(z3)],
}


def test_every_reverse_pass_rule_has_a_case():
    assert set(VJP_CASES) == rules(vjp)


@pytest.mark.parametrize("node", [n for cases in VJP_CASES.values() for n in cases], ids=str)
def test_each_reverse_pass_rule_against_sympy_diff(node):
    """vjp(node, δ) sends each child c the gradient of ⟨δ, node⟩ with respect to c."""
    env: dict = {}
    upstream = leaf("δ", *node.shape)
    objective = sum(x * y for x, y in zip(explicit(upstream, {}, env), explicit(node, {}, env), strict=True))
    sent: dict = {}
    for child, contribution in vjp(node, upstream):
        assert isinstance(child, sp.MatrixSymbol), child  # every case's children are leaves
        claim = explicit(contribution, {}, env)
        sent[child] = claim if child not in sent else sent[child] + claim
    children = node.atoms(sp.MatrixSymbol) - {upstream}
    assert set(sent) == children
    for child, claim in sent.items():
        truth = explicit(child, {}, env).applyfunc(lambda x: sp.diff(objective, x))
        assert is_zero_matrix(claim - truth), (node, child)


# ----------------------------------------------------------------- jvp against Matrix.jacobian
def _jvp_cases() -> dict:
    u = leaf("u", 2)  # an earlier value u = W v, whose derivative W is known
    return {
        sp.MatAdd: [(sp.MatAdd(v, sp.MatMul(W, v), b), {}), (sp.MatAdd(u, v), {u: (W, W * v)})],
        sp.MatMul: [(sp.MatMul(3, U, W, v), {}), (sp.MatMul(W, u), {u: (W, W * v)})],
        sp.HadamardProduct: [(sp.HadamardProduct(v, b, Elementwise("tanh", v)), {}),
                             (sp.HadamardProduct(u, v), {u: (W, W * v)})],
        sp.HadamardPower: [(sp.HadamardPower(sp.MatMul(W, v), 3), {})],
        Elementwise: [(Elementwise(name, sp.MatMul(W, v) + b), {}) for name in ACTIVATIONS],
    }


JVP_CASES = _jvp_cases()


def test_every_jacobian_rule_has_a_case():
    assert set(JVP_CASES) == rules(jvp)


@pytest.mark.parametrize(("node", "known"), [case for cases in JVP_CASES.values() for case in cases],
                         ids=lambda case: str(case) if isinstance(case, sp.Basic) else "")
def test_each_jacobian_rule_against_matrix_jacobian(node, known):
    """∂node/∂v in matrix form equals the Jacobian of the explicit node by the entries of v; a value
    read through ``known`` (u = W v, its derivative W) is put back as what it stands for."""
    claim = Tangents(v, {u: derivative for u, (derivative, _) in known.items()}, {}).of(node)
    values = {u: value for u, (_, value) in known.items()}
    env: dict = {}
    truth = explicit(node.xreplace(values), {}, env).jacobian(explicit(v, {}, env))
    assert is_zero_matrix(explicit(claim.xreplace(values), {}, env) - truth), node


def test_only_the_last_factor_of_a_product_may_depend_on_the_direction():
    with pytest.raises(NotImplementedError, match="only the last factor"):
        Tangents(v, {}, {}).of(sp.MatMul(sp.Transpose(v), v))


# ----------------------------------------------------------------- evaluate against as_explicit
EVALUATE_CASES = {
    sp.MatrixSymbol: [A],
    sp.MatAdd: [a + 2 * b],
    sp.MatMul: [sp.MatMul(2, A, B)],
    sp.MatPow: [sp.MatPow(W, 3)],
    sp.HadamardProduct: [sp.HadamardProduct(a, b, c)],
    sp.HadamardPower: [sp.HadamardPower(a, 3)],
    Elementwise: [Elementwise("tanh", W * a)],
    Softmax: [Softmax(z3)],
    LogSoftmax: [LogSoftmax(z3)],
    sp.Transpose: [sp.Transpose(A)],
    DiagMatrix: [DiagMatrix(a)],
    sp.OneMatrix: [sp.OneMatrix(2, 3), sp.OneMatrix(H, 1)],
    sp.ZeroMatrix: [sp.ZeroMatrix(2, 3), sp.ZeroMatrix(H, K)],
    sp.Identity: [sp.Identity(3), sp.Identity(H)],
}


def test_every_evaluation_rule_has_a_case():
    assert set(EVALUATE_CASES) == rules(evaluate)


@pytest.mark.parametrize("node", [n for cases in EVALUATE_CASES.values() for n in cases], ids=str)
def test_each_evaluation_rule_against_sympy_as_explicit(node):
    sizes = {H: 3, K: 2}
    concrete = node.xreplace(sizes)
    env = {s.name: sp.ImmutableMatrix(s.as_explicit()) for s in concrete.atoms(sp.MatrixSymbol)}
    assert explicit(node, sizes, env) == concrete.as_explicit()


# ----------------------------------------------------------------- clean-up: what it removes, same value
ones, zeros = sp.OneMatrix(2, 1), sp.ZeroMatrix(2, 1)
CLEAN_CASES = {  # (expression, what tidy makes of it)
    sp.HadamardProduct: [(sp.HadamardProduct(ones, 2 * a), 2 * a),
                         (sp.HadamardProduct(a, sp.HadamardProduct(b, 3 * c)),
                          3 * sp.HadamardProduct(a, b, c)),
                         (sp.HadamardProduct(a, zeros), zeros)],
    sp.MatMul: [(sp.MatMul(W, sp.Identity(2), U), sp.MatMul(W, U)),
                (sp.MatMul(DiagMatrix(a), DiagMatrix(b), W),
                 sp.MatMul(DiagMatrix(sp.HadamardProduct(a, b)), W)),
                (sp.MatMul(sp.Rational(1, 2), sp.Identity(2)), sp.MatMul(sp.Rational(1, 2), sp.Identity(2))),
                (sp.MatMul(0, W), sp.ZeroMatrix(2, 2))],
    sp.MatAdd: [(sp.MatAdd(a, zeros), a),
                (sp.MatAdd(sp.HadamardProduct(a, b), sp.HadamardProduct(a, c)),
                 sp.HadamardProduct(a, sp.MatAdd(b, c)))],
    sp.HadamardPower: [(sp.HadamardPower(a, 1), a), (sp.HadamardPower(a, 0), ones),
                       (sp.HadamardPower(sp.HadamardProduct(ones, a), 2), sp.HadamardPower(a, 2))],
    sp.MatPow: [(sp.MatPow(sp.MatMul(sp.Identity(2), W), 2), sp.MatPow(W, 2)), (sp.MatPow(W, 1), W)],
    sp.Transpose: [(sp.Transpose(sp.HadamardProduct(ones, a)), sp.Transpose(a))],
    Elementwise: [(Elementwise("tanh", sp.HadamardProduct(ones, a)), Elementwise("tanh", a))],
    Softmax: [(Softmax(sp.MatMul(sp.Identity(2), a)), Softmax(a))],
    LogSoftmax: [(LogSoftmax(sp.MatMul(sp.Identity(2), a)), LogSoftmax(a))],
    DiagMatrix: [(DiagMatrix(sp.HadamardProduct(ones, a)), DiagMatrix(a))],
    sp.OneMatrix: [(sp.OneMatrix(H, 1), sp.OneMatrix(H, 1))],
    sp.ZeroMatrix: [(sp.ZeroMatrix(H, 1), sp.ZeroMatrix(H, 1))],
    sp.Identity: [(sp.Identity(H), sp.Identity(H))],
}


def test_every_clean_up_rule_has_a_case():
    assert set(CLEAN_CASES) == rules(clean)


@pytest.mark.parametrize(("expression", "expected"),
                         [case for cases in CLEAN_CASES.values() for case in cases], ids=str)
def test_each_clean_up_rule_removes_what_it_should_and_keeps_the_value(expression, expected):
    result = tidy(expression)
    assert result == expected
    sizes, env = {H: 2, K: 2}, {}
    assert is_zero_matrix(explicit(result, sizes, env) - explicit(expression, sizes, env))


# ----------------------------------------------------------------- every rule reached, none missing
#: Cells written as equations that reach what the registered cells may not: a power, a scaling and a
#: residual path (so the Jacobian holds c·I); an input never read (a zero gradient).
GRAMMAR_CELLS = (
    custom_cell("powered", "h_t = 0.5 * tanh(W_xh @ x_t + W_hh @ h_prev + b_h) ** 2 + h_prev",
                {"h_t": "h_prev"}),
    custom_cell("unread", "h_t = tanh(W_hh @ h_prev + b_h)", {"h_t": "h_prev"}),
    # W (W v) is W² v to SymPy: a matrix power (found by the cell generator)
    custom_cell("squared_weight", "h_t = tanh(W_xh @ x_t + W_hh @ (W_hh @ h_prev))", {"h_t": "h_prev"}),
)


def _clear_derivation_caches() -> None:
    module = derivation_module
    for cached in (module._derive, module._cell_parts, module._head_backward):
        cached.cache_clear()


@contextmanager
def counted(table):
    """Within the block, how often each of ``table``'s rules ran, by node type."""
    calls: Counter = Counter()
    originals = {cls: table.registry[cls] for cls in rules(table)}

    def counting(cls, rule):
        def wrapped(*args):
            calls[cls] += 1
            return rule(*args)
        return wrapped

    for cls, rule in originals.items():
        table.register(cls, counting(cls, rule))
    try:
        yield calls
    finally:
        for cls, rule in originals.items():
            table.register(cls, rule)


def _node_types(expr: sp.Basic) -> set[type]:
    return {type(node) for node in sp.preorder_traversal(expr) if isinstance(node, sp.MatrixExpr)}


@pytest.fixture(scope="module")
def derived():
    """Every registered cell and grammar cell with every head and none, derived afresh (the caches
    emptied first) while counting the calls of each derivative rule. The derivations are left cached:
    the counting wrappers return what the rules return."""
    _clear_derivation_caches()
    with counted(vjp) as backward, counted(jvp) as forward:
        derivations = [derive(cell, head) for cell in (*CELLS.values(), *GRAMMAR_CELLS)
                       for head in (None, *HEADS)]
    return backward, forward, derivations


def test_every_derivative_rule_is_reached_and_no_node_lacks_one(derived):
    """Deriving every registered cell with every head, and the grammar's cells, runs each rule of the
    reverse pass and of the Jacobian at least once and asks for no rule that is missing (a rule that
    nothing reaches is dead code no proof checks)."""
    backward, forward, derivations = derived
    assert set(backward) == rules(vjp), rules(vjp) - set(backward)
    assert set(forward) == rules(jvp), rules(jvp) - set(forward)
    assert len(derivations) == (len(CELLS) + len(GRAMMAR_CELLS)) * (len(HEADS) + 1)


def test_every_node_type_met_has_an_evaluation_and_a_clean_up_rule_and_each_is_met(derived):
    """What the proofs evaluate (forward and backward equations, Jacobians) and what the clean-up meets
    is made of node types that each have a rule, and each rule's type is met."""
    met: set[type] = set()
    for d in derived[2]:
        for eq in (*d.forward, *d.backward):
            met |= _node_types(eq.lhs) | _node_types(eq.rhs)
        for expression in d.jacobian.values():
            met |= _node_types(expression)
    assert met == rules(evaluate), met ^ rules(evaluate)
    assert met - {sp.MatrixSymbol} == rules(clean), (met - {sp.MatrixSymbol}) ^ rules(clean)


def test_a_head_differentiated_through_softmax_is_refused_by_name():
    """softmax(a) has no reverse-pass rule: no registered head's loss or cell reads it on a differentiated
    path. A head that would (squared error on softmax's output) stops with the node named."""
    h, W_hy, b_y = vector("h_t", H), matrix("W_hy", K, H), vector("b_y", K)
    logits, y, y_hat, loss = vector("a_{y,t}", K), vector("y_t", K), vector("ŷ_t", K), matrix("ℓ_t", 1, 1)
    equations = (sp.Eq(logits, W_hy * h + b_y, evaluate=False), sp.Eq(y_hat, Softmax(logits), evaluate=False),
                 sp.Eq(loss, sp.OneMatrix(1, K) * sp.HadamardPower(y_hat - y, 2), evaluate=False))
    register_head(Head("brier", "softmax output, squared error", h, (W_hy, b_y), logits, y_hat, y, loss,
                       equations, TargetKind.PROBABILITY))
    try:
        refused = r"no reverse-pass rule for Softmax \(in softmax\(a_\{y,t\}\)\)"
        with pytest.raises(NotImplementedError, match=refused):
            derive("rnn", "brier")
    finally:
        unregister_head("brier")

