"""Every row of the primitive table against central finite differences.

The tests loop over ``autograd.PRIMITIVES`` (plus parametrised rows made by
``power_of`` and ``leaky_relu_of``), drawing inputs inside each row's
``domain`` and away from its ``kinks``, so a new row is tested by being added.
Each row's rule is checked on both of its paths: floats (backward) and Values
(``grad(..., create_graph=True)``), whose own derivatives are checked against
finite differences of the float rule, i.e. second derivatives.
"""

import math
import random

import pytest

import autograd
from autograd import PRIMITIVES, Value, grad
from autograd.primitives import leaky_relu_of, power_of
from autograd.value import apply

# Rows beyond the table's representatives: more exponents and another slope.
EXTRA_ROWS = [power_of(2), power_of(0), power_of(1), power_of(-2), power_of(2.5),
              power_of(-0.5), leaky_relu_of(0.2)]
ROWS = list(PRIMITIVES.values()) + EXTRA_ROWS
N_ARY_ARITY = {"sum": 3, "dot": 6, "max": 4, "logsumexp": 4}  # dot: 3 weights, 3 inputs
STEP = 1e-6


def _row_id(row):
    if row.name == "leaky_relu":
        return f"leaky_relu({row.local_grads(-1.0, 0.0)[0]})"  # the slope
    return row.name


def arity_of(row) -> int:
    return row.arity if row.arity is not None else N_ARY_ARITY[row.name]


def domain_of(row, i):
    """The interval input i is drawn from (n-ary rows share their first interval)."""
    return row.domain[min(i, len(row.domain) - 1)]


def sample_points(row, count=5, seed=0):
    """``count`` input tuples inside the row's domain, at least 1e-3 from every kink."""
    rng = random.Random(f"{row.name}/{seed}")
    points = []
    while len(points) < count:
        point = tuple(rng.uniform(*domain_of(row, i)) for i in range(arity_of(row)))
        if all(abs(x - kink) > 1e-3 for x in point for kink in row.kinks):
            points.append(point)
    return points


def numeric_partials(fn, point):
    """Central differences of the float function ``fn`` at ``point``, one per input."""
    partials = []
    for i in range(len(point)):
        up = list(point)
        down = list(point)
        up[i] += STEP
        down[i] -= STEP
        partials.append((fn(*up) - fn(*down)) / (2 * STEP))
    return partials


def float_local_grads(row, point):
    return row.local_grads(*point, row.forward(*point))


def test_the_table_rows_are_named_by_their_key_and_well_formed():
    for name, row in PRIMITIVES.items():
        assert row.name == name
        assert row.arity in (1, 2, None)
        for low, high in row.domain:
            assert low < high
        locals_ = float_local_grads(row, sample_points(row, 1)[0])
        assert len(locals_) == arity_of(row), name


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_local_grads_match_central_differences(row):
    for point in sample_points(row):
        analytic = float_local_grads(row, point)
        numeric = numeric_partials(row.forward, point)
        for i, (a, n) in enumerate(zip(analytic, numeric, strict=True)):
            assert a == pytest.approx(n, rel=1e-6, abs=1e-7), (row.name, point, i)


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_backward_through_a_node_of_the_row_gives_its_local_grads(row):
    for point in sample_points(row, count=3):
        inputs = [Value(x) for x in point]
        out = apply(row, *inputs)
        assert out._op == row.name and out._prev == tuple(inputs)
        assert out.data == row.forward(*point)
        out.backward()
        assert [x.grad for x in inputs] == list(float_local_grads(row, point))


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_create_graph_rule_has_the_same_values_and_correct_derivatives(row):
    """The Value path of the rule: same numbers, and its derivatives are second derivatives."""
    for point in sample_points(row, count=3):
        inputs = [Value(x) for x in point]
        out = apply(row, *inputs)
        symbolic = row.local_grads(*inputs, out)
        floats = float_local_grads(row, point)
        for i, local in enumerate(symbolic):
            assert float(local) == pytest.approx(floats[i], rel=1e-12, abs=1e-15)
            if not isinstance(local, Value):  # a constant: its derivatives are 0
                continue
            second = [g.data for g in grad(local, inputs)]
            numeric = numeric_partials(
                lambda *xs, i=i: row.local_grads(*xs, row.forward(*xs))[i], point
            )
            assert second == pytest.approx(numeric, rel=1e-5, abs=1e-6), (row.name, point, i)


@pytest.mark.parametrize("row", [r for r in ROWS if r.kinks], ids=_row_id)
def test_derivative_at_a_kink_is_defined_and_finite(row):
    for kink in row.kinks:
        (local,) = float_local_grads(row, (kink,))
        assert math.isfinite(local)


UNARY_METHODS = ["exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "sin", "cos"]


@pytest.mark.parametrize("method", UNARY_METHODS)
def test_each_unary_method_records_its_row(method):
    x = Value(0.7)
    out = getattr(x, method)()
    assert out._op == method and out._prev == (x,)
    assert out.data == PRIMITIVES[method].forward(0.7)


def test_operators_record_their_rows():
    a, b = Value(1.5), Value(0.5)
    assert [(a + b)._op, (a - b)._op, (a * b)._op, (a / b)._op, (-a)._op] == [
        "+", "-", "*", "/", "neg",
    ]
    assert [(a**b)._op, (a**2)._op, (a**-1)._op, (a**0.5)._op, (2**a)._op] == [
        "**", "**2", "**-1", "**0.5", "**",
    ]
    assert a.leaky_relu(0.2)._op == "leaky_relu"
    assert autograd.dot([a, b], [b, a])._op == "dot" and autograd.sum([a, b])._op == "sum"
    assert (+a) is a


@pytest.mark.parametrize("terms", [1, 2, 7, 33])
def test_fused_sum_and_dot_match_central_differences_at_every_width(terms):
    rng = random.Random(terms)
    ws = [rng.uniform(-2, 2) for _ in range(terms)]
    xs = [rng.uniform(-2, 2) for _ in range(terms)]
    wv, xv = [Value(w) for w in ws], [Value(x) for x in xs]
    out = autograd.dot(wv, xv) * autograd.sum(xv)
    out.backward()

    def f(*values):
        return math.fsum(w * x for w, x in zip(values[:terms], values[terms:], strict=True)) * (
            math.fsum(values[terms:])
        )

    numeric = numeric_partials(f, ws + xs)
    assert [v.grad for v in wv + xv] == pytest.approx(numeric, rel=1e-6, abs=1e-6)


def test_dot_rejects_unequal_lengths_naming_both():
    with pytest.raises(ValueError, match="2 and 3"):
        autograd.dot([1.0, 2.0], [1.0, 2.0, 3.0])


def test_max_gives_its_gradient_to_the_first_maximum_as_pytorch():
    xs = [Value(v) for v in (1.0, 3.0, 3.0, -2.0)]
    top = autograd.max(xs)
    top.backward()
    assert top.data == 3.0 and [x.grad for x in xs] == [0.0, 1.0, 0.0, 0.0]


def test_max_propagates_nan_wherever_it_stands():
    for values in ([math.nan, 1.0], [1.0, math.nan], [2.0, math.nan, 5.0]):
        assert math.isnan(autograd.max(values).data)


def test_logsumexp_stays_finite_for_large_inputs():
    xs = [Value(1000.0), Value(-1000.0), Value(999.0)]
    out = autograd.logsumexp(xs)
    out.backward()
    assert out.data == pytest.approx(1000.0 + math.log1p(math.exp(-1.0)))
    assert sum(x.grad for x in xs) == pytest.approx(1.0)
    assert xs[1].grad == 0.0


@pytest.mark.parametrize("function", [autograd.max, autograd.logsumexp, autograd.sum])
def test_n_ary_rows_lift_numbers_and_refuse_nothing_to_reduce(function):
    assert function([1.0, Value(2.0)]).data == pytest.approx(function([Value(1.0), 2.0]).data)
    if function is not autograd.sum:
        with pytest.raises(ValueError, match="at least one"):
            function([])
