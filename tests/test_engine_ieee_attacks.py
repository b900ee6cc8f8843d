"""Attacks on the engine's IEEE promise (issue 17): no exception escapes an operation or backward.

Where Python raises (huge ints, inf and nan exponents), the engine gives what
numpy's and PyTorch's float64 give: an int too large for a float is +-inf, as
their conversions make it, and powers are C's pow.
"""

import math

import pytest

import autograd
from autograd import Value, grad, no_grad

HUGE = 10**400


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: Value(2.0) ** math.inf, math.inf),
        (lambda: Value(0.5) ** math.inf, 0.0),
        (lambda: Value(2.0) ** -math.inf, 0.0),
        (lambda: Value(1.0) ** math.inf, 1.0),
        (lambda: Value(0.5) ** HUGE, 0.0),
        (lambda: Value(1.0) ** HUGE, 1.0),
        (lambda: Value(2.0) ** HUGE, math.inf),
        (lambda: Value(-2.0) ** HUGE, math.inf),
        (lambda: Value(2.0) ** -HUGE, 0.0),
        (lambda: Value(2.0) * HUGE, math.inf),
        (lambda: Value(2.0) * -HUGE, -math.inf),
        (lambda: HUGE * Value(2.0), math.inf),
        (lambda: Value(2.0) + HUGE, math.inf),
        (lambda: HUGE - Value(2.0), math.inf),
        (lambda: Value(2.0) / HUGE, 0.0),
        (lambda: Value(HUGE), math.inf),
        (lambda: Value(-HUGE), -math.inf),
        (lambda: 2 ** Value(float(2**1023)), math.inf),
        (lambda: autograd.dot([Value(1e308), Value(1e308)], [2.0, 2.0]), math.inf),
    ],
)
def test_huge_and_infinite_numbers_follow_ieee(make, expected):
    assert make().data == expected


@pytest.mark.parametrize("base", [2.0, 0.5, -2.0, 0.0])
def test_nan_exponent_gives_nan_except_for_a_base_of_one(base):
    assert math.isnan((Value(base) ** math.nan).data)
    assert (Value(1.0) ** math.nan).data == 1.0  # C's pow(1, nan), as torch.pow


@pytest.mark.parametrize(
    "x, exponent, expected",
    [
        (2.0, HUGE, math.inf),  # inf * 2 ** inf
        (0.5, HUGE, math.nan),  # inf * 0.5 ** inf = inf * 0, as torch
        (2.0, math.inf, math.inf),
        (2.0, math.nan, math.nan),
        (2.0, -HUGE, math.nan),  # -inf * 2 ** -inf = -inf * 0, as torch
    ],
)
def test_backward_of_huge_and_infinite_powers_raises_nothing(x, exponent, expected):
    v = Value(x)
    (v**exponent).backward()
    assert math.isnan(v.grad) if math.isnan(expected) else v.grad == expected


def test_backward_through_huge_products_and_value_powers_raises_nothing():
    x, y = Value(2.0), Value(HUGE)
    out = (x * HUGE + x**y) / (x - 2.0)
    out.backward()
    assert all(isinstance(g, float) for g in (x.grad, y.grad))
    steps = list(autograd.backward_steps((Value(0.0) ** -1.0).log()))
    assert len(steps) == 3


def test_seed_of_backward_may_be_a_huge_int():
    x = Value(3.0)
    (x * 2.0).backward(HUGE)
    assert x.grad == math.inf


def test_grad_with_create_graph_builds_the_graph_inside_no_grad_as_pytorch():
    x = Value(2.0)
    y = x**3
    with no_grad():
        (dy,) = grad(y, [x], create_graph=True)
        (d2y,) = grad(dy, [x])
    assert dy.data == 12.0 and d2y.data == 12.0  # 3 x**2 and 6 x at 2, as PyTorch gives
    with no_grad():
        assert not (x * 2.0)._prev  # no_grad itself is untouched


def test_value_operations_on_huge_ints_keep_the_power_rows_names_readable():
    assert (Value(2.0) ** HUGE)._op == "**inf"
    assert (Value(2.0) ** -HUGE)._op == "**-inf"
    assert (Value(2.0) ** math.nan)._op == "**nan"
