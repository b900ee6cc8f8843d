"""A checker that never fails is worthless: plant a wrong derivative in each row of
the primitive table in turn and make sure gradcheck over random expressions finds it.

For every row and every operand, the local derivative is replaced by a wrong
one (sign flipped, or off by a factor of 1.1) for the duration of one search;
hypothesis then looks for an expression using that op on which gradcheck
fails, and shrinks it. The found expression must pass again once the row is
restored, so the failure is the planted bug and nothing else.
"""

from contextlib import contextmanager
from itertools import combinations

import pytest
from hypothesis import HealthCheck, find, settings
from hypothesis import strategies as st

import autograd
from autograd import GradcheckError, gradcheck, gradgradcheck
from autograd import primitives as P
from autograd.strategies import DEFAULT_OPS, LEAKY_RELU_SLOPES, expressions, reals

SEARCH = settings(
    max_examples=300,
    database=None,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
MISTAKES = {"sign flipped": -1.0, "off by 10%": 1.1}


def rows_of(op: str) -> list:
    """The table rows an op name stands for (leaky_relu has one row per slope)."""
    if op == "leaky_relu":
        return [P.leaky_relu_of(slope) for slope in LEAKY_RELU_SLOPES]
    return [P.lookup(op)]


@contextmanager
def wrong_derivative(rows, operand: int, factor: float):
    """Multiplies the local derivative of ``operand`` by ``factor`` in each of ``rows``."""
    originals = [(row.local_grads, row.code) for row in rows]

    def planting(correct):
        def wrong(*args):
            grads = list(correct(*args))
            grads[operand] = grads[operand] * factor
            return tuple(grads)

        return wrong

    try:
        for row, (correct, _) in zip(rows, originals, strict=True):
            object.__setattr__(row, "local_grads", planting(correct))  # rows are frozen
            # backward writes the commonest rows' chain rule out by code: make it
            # call the planted derivative
            object.__setattr__(row, "code", P.GENERIC)
        yield
    finally:
        for row, (correct, code) in zip(rows, originals, strict=True):
            object.__setattr__(row, "local_grads", correct)
            object.__setattr__(row, "code", code)


def fails_gradcheck(expr) -> bool:
    return not gradcheck(expr.fn, expr.inputs, raise_exception=False)


CASES = [
    pytest.param(op, operand, factor, id=f"{op}-operand{operand}-{mistake}")
    for op in DEFAULT_OPS
    for operand in range(P.lookup(op).arity)
    for mistake, factor in MISTAKES.items()
]


def test_cases_cover_every_row_with_expression_syntax():
    covered = {op for op, _, _ in (case.values for case in CASES)}
    assert covered == set(autograd.PRIMITIVES) - set(P.N_ARY) | {"**2"}


@pytest.mark.parametrize(("op", "operand", "factor"), CASES)
def test_gradcheck_finds_a_wrong_derivative_in_every_row(op, operand, factor):
    rows = rows_of(op)
    with wrong_derivative(rows, operand, factor):
        found = find(expressions(max_depth=2, ops=[op]), fails_gradcheck, settings=SEARCH)
        with pytest.raises(GradcheckError, match="FAILED"):
            gradcheck(found.fn, found.inputs)
    assert gradcheck(found.fn, found.inputs), f"{found!r} fails without the planted bug"
    assert len(str(found)) <= 40, f"shrunk example is not small: {found!r}"


FUSED = {
    "sum": (P.SUM, lambda *v: autograd.sum(v)),
    "dot": (P.DOT, lambda *v: autograd.dot(v[: len(v) // 2], v[len(v) // 2 :])),
    "max": (P.MAX, lambda *v: autograd.max(v)),
    "logsumexp": (P.LOGSUMEXP, lambda *v: autograd.logsumexp(v)),
}


def test_every_fused_row_is_searched():
    assert set(FUSED) == set(P.N_ARY)


@pytest.mark.parametrize("factor", MISTAKES.values())
@pytest.mark.parametrize("name", FUSED)
def test_gradcheck_finds_a_wrong_derivative_in_the_fused_rows(name, factor):
    row, function = FUSED[name]
    inputs = st.lists(reals(), min_size=4, max_size=4)
    if name == "max":  # ties are max's kinks: keep the inputs apart
        inputs = inputs.filter(lambda xs: min(abs(a - b) for a, b in combinations(xs, 2)) > 0.01)
    with wrong_derivative([row], 1, factor):
        found = find(
            inputs,
            lambda xs: not gradcheck(function, xs, raise_exception=False),
            settings=SEARCH,
        )
    assert gradcheck(function, found)


def forgets_the_graph(correct):
    """tanh's rule treating its output as a constant on the create_graph path: a bug
    that first derivatives cannot see (the numbers are right) but second ones can."""

    def rule(x, out):
        if isinstance(out, autograd.Value):
            return (1.0 - out * out.data,)
        return correct(x, out)

    return rule


def test_second_order_check_finds_a_create_graph_only_bug():
    correct = P.TANH.local_grads
    object.__setattr__(P.TANH, "local_grads", forgets_the_graph(correct))
    try:
        assert gradcheck(lambda x: x.tanh(), [0.7])  # first order cannot tell
        with pytest.raises(GradcheckError, match="d2f/dx0dx0"):
            gradgradcheck(lambda x: x.tanh(), [0.7])
        with pytest.raises(GradcheckError):
            gradcheck(lambda x: x.tanh(), [0.7], order=2)
    finally:
        object.__setattr__(P.TANH, "local_grads", correct)
