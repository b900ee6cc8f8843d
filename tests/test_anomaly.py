"""detect_anomaly: the first op that turns finite numbers into nan/inf raises, naming the
op, its inputs, the labels involved and where in the user's code the node was made."""

import inspect
import math

import pytest
from hypothesis import given, settings

import autograd
from autograd import AnomalyError, Value, detect_anomaly, grad
from autograd import mode as _mode
from autograd.strategies import expressions


def here(offset: int = 0) -> str:
    """'this_file.py:<line>' for the caller's line plus ``offset``."""
    frame = inspect.currentframe().f_back
    return f"{__file__}:{frame.f_lineno + offset}"


def test_a_node_without_a_label_is_named_by_its_value_and_scope():
    x = Value(0.0)
    with detect_anomaly(), autograd.scope("layers.1"), pytest.raises(AnomalyError) as caught:
        x.log()
    message = str(caught.value)
    assert "  node: value -inf, scope layers.1\n" in message
    assert "  input 0: value 0.0\n" in message  # made outside the scope, with no label
    assert "no label" not in message


def test_log_of_zero_raises_in_forward_naming_op_inputs_labels_and_place():
    x = Value(0.0, label="x")
    with detect_anomaly(), pytest.raises(AnomalyError) as caught:
        place = here(1)
        x.log()
    message = str(caught.value)
    assert "forward of log(0.0) gave -inf" in message
    assert "input 0: label 'x', value 0.0" in message
    assert f"created at {place}" in message
    assert "x.log()" in message  # the source line is shown
    error = caught.value
    assert (error.op, error.phase, error.inputs) == ("log", "forward", (0.0,))
    assert error.site[0][:2] == (__file__, int(place.rsplit(":", 1)[1]))


@pytest.mark.parametrize(
    ("make", "op"),
    [
        (lambda a: a / 0.0, "/"),
        (lambda a: (a * 1000.0).exp(), "exp"),
        (lambda a: (-a).sqrt(), "sqrt"),
        (lambda a: (a * 1e200) * 1e200, "*"),
        (lambda a: (-a) ** 0.5, "**0.5"),
    ],
)
def test_first_op_producing_nan_or_inf_from_finite_inputs_raises(make, op):
    with detect_anomaly(), pytest.raises(AnomalyError) as caught:
        make(Value(2.0))
    assert caught.value.op == op and caught.value.phase == "forward"


def test_sqrt_at_zero_raises_in_backward_with_the_place_the_node_was_made():
    x = Value(0.0, label="x")
    with detect_anomaly():
        place = here(1)
        y = x.sqrt()
        y.label = "y"
        with pytest.raises(AnomalyError) as caught:
            (y * 2.0).backward()
    message = str(caught.value)
    assert message.startswith("backward of sqrt(0.0) = 0.0 (upstream gradient 2.0)")
    assert "local gradient d(out)/d(input 0) is inf" in message
    assert "node: label 'y', value 0.0" in message and "label 'x'" in message
    assert f"created at {place}" in message
    assert caught.value.phase == "backward" and caught.value.node is y


def test_overflowing_chain_rule_product_raises_in_backward():
    x = Value(1.0, label="x")
    with detect_anomaly(), pytest.raises(AnomalyError, match="overflows to inf"):
        (x * 1e10).backward(1e300)


def test_grad_is_checked_too():
    x = Value(0.0, label="x")
    with detect_anomaly(), pytest.raises(AnomalyError, match="backward of sqrt"):
        grad(x.sqrt(), [x])


def test_create_graph_names_the_node_whose_derivative_went_wrong():
    # With create_graph the local gradient 0.5 * out ** -1 is itself built from
    # ops, and the first non-finite one is out ** -1 at out = 0.
    x = Value(0.0, label="x")
    with detect_anomaly(), pytest.raises(AnomalyError) as caught:
        place = here(1)
        y = x.sqrt()
        grad(y, [x], create_graph=True)
    message = str(caught.value)
    assert "forward of **-1(0.0) gave inf" in message
    assert "built the local gradient of sqrt(0.0) = 0.0" in message
    assert f"which was created at {place}" in message


def test_nan_already_in_the_inputs_is_not_blamed_on_later_ops():
    with detect_anomaly():
        y = Value(math.nan) + 1.0
        z = (y * 2.0).exp()
    assert math.isnan(z.data)


def test_outside_the_block_ieee_semantics_apply():
    with detect_anomaly():
        pass
    assert Value(0.0).log().data == -math.inf
    x = Value(0.0)
    x.sqrt().backward()
    assert x.grad == math.inf


def test_node_created_outside_the_block_is_reported_without_a_place():
    x = Value(0.0, label="x")
    y = x.sqrt()
    with detect_anomaly(), pytest.raises(AnomalyError) as caught:
        y.backward()
    assert "created outside detect_anomaly()" in str(caught.value)
    assert caught.value.site == ()


def test_mode_is_plain_again_after_the_block_even_after_an_error():
    with pytest.raises(AnomalyError), detect_anomaly():
        Value(-1.0).log()
    assert _mode.current.get() is _mode.PLAIN  # the engine's fast path, no checks


def test_nested_blocks_share_one_checker():
    with detect_anomaly() as outer, detect_anomaly() as inner:
        assert inner is outer
        assert _mode.current.get().anomaly is outer


def test_anomaly_mode_works_under_no_grad_and_scope():
    with autograd.no_grad(), autograd.scope("layer"), detect_anomaly():
        with pytest.raises(AnomalyError, match="forward of log"):
            Value(0.0).log()


def test_anomaly_error_is_a_floating_point_error():
    assert issubclass(AnomalyError, FloatingPointError)


@settings(max_examples=200)
@given(expressions())
def test_well_behaved_expressions_give_identical_gradients_in_anomaly_mode(expr):
    plain = [Value(x) for x in expr.inputs]
    expr.fn(*plain).backward()
    checked = [Value(x) for x in expr.inputs]
    with detect_anomaly():
        out = expr.fn(*checked)
        out.backward()
    assert [v.grad for v in checked] == [v.grad for v in plain]
