"""gradcheck and gradgradcheck: results, error tables, kinks, validation, and the
engine checked over thousands of random expressions."""

import itertools
import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import autograd
from autograd import GradcheckError, Value, gradcheck, gradgradcheck
from autograd.strategies import expressions, reals
from autograd.value import apply


def test_correct_gradients_pass_and_result_is_truthy():
    result = gradcheck(lambda a, b: (a * b).tanh() + a**2, [0.5, -1.2])
    assert result
    assert result.passed and not result.failures
    assert [row.name for row in result.rows] == ["x0", "x1"]
    x0, x1 = result.rows
    assert x0.value == 0.5 and x1.value == -1.2
    # d/da = b (1 - tanh(ab)^2) + 2a
    expected = -1.2 * (1 - math.tanh(-0.6) ** 2) + 1.0
    assert x0.analytic == pytest.approx(expected, rel=1e-12)
    assert x0.numeric == pytest.approx(expected, rel=1e-8)
    assert result.output == pytest.approx(math.tanh(-0.6) + 0.25)


def test_result_prints_a_table_with_every_input():
    text = str(gradcheck(lambda a, b, c: a * b + c.exp(), [1.0, 2.0, 0.5]))
    assert text.startswith("gradcheck passed")
    header = text.splitlines()[1].split()
    assert header == ["input", "value", "analytic", "numeric", "abs", "err", "rel", "err"]
    assert [line.split()[0] for line in text.splitlines()[2:]] == ["x0", "x1", "x2"]


def test_gradcheck_accepts_values_and_tuples_as_inputs():
    assert gradcheck(lambda a, b: a / b, (Value(1.5), 2))


def test_function_ignoring_an_input_has_zero_gradient_for_it():
    result = gradcheck(lambda a, b: a.sin(), [0.3, 7.0])
    assert result.rows[1].analytic == 0.0 and result.rows[1].numeric == 0.0


def test_gradcheck_leaves_grad_of_values_f_closes_over_unchanged():
    w = Value(3.0)
    w.grad = 0.25
    assert gradcheck(lambda a: a * w, [2.0], order=2)
    assert w.grad == 0.25


def test_relu_just_right_of_its_kink_is_a_reported_false_alarm():
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda a: a.relu(), [1e-7])
    message = str(caught.value)
    assert "FAILED" in message
    assert "kink" in message and "relu" in message
    (row,) = caught.value.result.rows
    assert row.analytic == 1.0 and row.numeric == pytest.approx(0.55)


def test_abs_at_its_kink_matches_the_symmetric_difference():
    # abs'(0) = 0 (PyTorch's choice) equals the central difference, 0.
    assert gradcheck(lambda a: a.abs(), [0.0])


def test_gradcheck_error_is_an_assertion_error_naming_the_failure():
    assert issubclass(GradcheckError, AssertionError)
    with pytest.raises(AssertionError, match=r"1 of 1 rows"):
        gradcheck(lambda a: a.relu(), [0.0])  # relu'(0) = 0, the difference says 0.5


def test_raise_exception_false_returns_a_falsy_result():
    result = gradcheck(lambda a: a.relu(), [0.0], raise_exception=False)
    assert not result
    assert len(result.failures) == 1 and result.failures[0].ok is False


def test_non_finite_gradient_fails():
    # sqrt at 0: the analytic derivative is inf, the difference is finite.
    result = gradcheck(lambda a: a.sqrt(), [0.0], raise_exception=False)
    assert not result
    assert math.isinf(result.rows[0].analytic)


def test_nan_gradient_never_passes():
    result = gradcheck(lambda a: a.log(), [-1.0], raise_exception=False)
    assert not result


def test_single_number_input_is_rejected_with_a_hint():
    with pytest.raises(TypeError, match="wrap a single one"):
        gradcheck(lambda a: a, 1.0)


def test_non_numeric_input_is_rejected():
    with pytest.raises(TypeError, match=r"inputs\[1\] must be a real number, got str"):
        gradcheck(lambda a, b: a, [1.0, "2"])


def test_function_returning_a_number_is_rejected():
    with pytest.raises(TypeError, match="must return a Value, got float"):
        gradcheck(lambda a: 3.0, [1.0])


def test_bad_order_and_eps_are_rejected():
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        gradcheck(lambda a: a, [1.0], order=3)
    with pytest.raises(ValueError, match="eps must be a positive"):
        gradcheck(lambda a: a, [1.0], eps=0.0)
    with pytest.raises(ValueError, match="eps must be a positive"):
        gradgradcheck(lambda a: a, [1.0], eps=-1.0)


def test_gradgradcheck_compares_the_hessian():
    # f = a^2 b + sin(b): H = [[2b, 2a], [2a, -sin(b)]]
    a, b = 0.7, -1.3
    result = gradgradcheck(lambda x, y: x * x * y + y.sin(), [a, b])
    assert result
    hessian = {row.name: row.analytic for row in result.rows}
    assert hessian == pytest.approx(
        {"d2f/dx0dx0": 2 * b, "d2f/dx1dx0": 2 * a, "d2f/dx0dx1": 2 * a,
         "d2f/dx1dx1": -math.sin(b)}
    )


def test_order_two_checks_first_and_second_derivatives():
    result = gradcheck(lambda x, y: (x * y).exp() / y, [0.4, 1.7], order=2)
    assert [row.name for row in result.rows] == [
        "x0", "x1", "d2f/dx0dx0", "d2f/dx1dx0", "d2f/dx0dx1", "d2f/dx1dx1"
    ]


def test_gradcheck_is_exported_with_its_error_and_result():
    assert autograd.gradcheck is gradcheck
    assert isinstance(gradcheck(lambda a: a, [1.0]), autograd.GradcheckResult)


@settings(max_examples=2000)
@given(expressions())
def test_backward_matches_finite_differences_on_random_expressions(expr):
    gradcheck(expr.fn, expr.inputs)


@settings(max_examples=300)
@given(expressions(max_depth=2))
def test_create_graph_gradients_match_differences_of_backward(expr):
    gradgradcheck(expr.fn, expr.inputs)


@pytest.mark.parametrize("name", sorted(autograd.PRIMITIVES))
@settings(max_examples=30)
@given(data=st.data())
def test_every_row_of_the_table_passes_first_and_second_order_checks(name, data):
    row = autograd.PRIMITIVES[name]
    arity = row.arity or 4  # sum and dot: four operands
    domains = row.domain * arity if len(row.domain) == 1 else row.domain
    inputs = [
        data.draw(reals(low, high, away_from=row.kinks), label=f"x{i}")
        for i, (low, high) in enumerate(domains[:arity])
    ]
    if name == "max":  # max's kinks are ties between inputs
        assume(min(abs(a - b) for a, b in itertools.combinations(inputs, 2)) > 0.01)
    assert gradcheck(lambda *values: apply(row, *values), inputs, order=2)
