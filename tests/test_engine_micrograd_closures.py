"""micrograd's way of adding an op: hand-built nodes, ``_backward`` closures, ``_op`` and ``label``.

The closures below are copied in the shape micrograd's engine and its lecture
write them: ``out = Value(t, (self,), 'tanh')`` then ``out._backward = _backward``.
"""

import math

import pytest

import autograd
from autograd import Value, backward_steps, detect_anomaly, grad


def micrograd_tanh(self):
    x = self.data
    t = (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)
    out = Value(t, (self,), "tanh")

    def _backward():
        self.grad += (1 - t**2) * out.grad

    out._backward = _backward
    return out


def micrograd_relu(self):
    out = Value(0 if self.data < 0 else self.data, (self,), "ReLU")

    def _backward():
        self.grad += (out.data > 0) * out.grad

    out._backward = _backward
    return out


def micrograd_mul(self, other):
    out = Value(self.data * other.data, (self, other), "*")

    def _backward():
        self.grad += other.data * out.grad
        other.grad += self.data * out.grad

    out._backward = _backward
    return out


def test_a_closure_assigned_to_backward_is_what_backward_calls():
    x = Value(0.5)
    y = micrograd_tanh(x * 2.0)
    y.backward()
    assert x.grad == pytest.approx(2.0 * (1.0 - math.tanh(1.0) ** 2), rel=1e-12)


def test_a_closure_replaces_the_row_its_op_names():
    x = Value(3.0)
    out = Value(9.0, (x,), "**2")  # the row would give 2 * x = 6
    out._backward = lambda: setattr(x, "grad", x.grad + 100.0 * out.grad)
    out.backward()
    assert x.grad == 100.0


def test_any_op_name_is_a_label_and_a_node_without_row_or_closure_passes_nothing():
    x = Value(3.0)
    for name in ("ReLU", "x", "my op", ""):
        node = Value(1.0, (x,), name)
        assert node._op == name
        node.backward()
        assert x.grad == 0.0 and node.grad == 1.0  # micrograd's default _backward


def test_a_hand_built_node_naming_a_row_gets_the_rows_gradient():
    a, b = Value(2.0), Value(-3.0)
    node = Value(-6.0, (a, b), "*")
    node.backward()
    assert (a.grad, b.grad) == (-3.0, 2.0)


@pytest.mark.parametrize(
    "children, op",
    [
        ((1,), "+"), ((1, 1, 1), "*"), ((1, 1), "tanh"), ((1, 1), "**2"),
        ((1,), "dot"), ((1, 1, 1), "dot"),
    ],
)
def test_a_row_given_the_wrong_number_of_children_raises_when_built(children, op):
    a = Value(1.0)
    with pytest.raises(ValueError, match=rf"has {len(children)} children.*takes"):
        Value(5.0, tuple(a for _ in children), op)


def test_op_and_label_are_assignable_and_op_renames_without_changing_the_gradient():
    a = Value(2.0)
    b = a * 3.0
    b._op, b.label = "times three", "b"
    assert (b._op, b.label) == ("times three", "b")
    b.backward()
    assert a.grad == 3.0
    leaf = Value(1.0)
    leaf._op = "input"
    assert leaf._op == "input" and leaf._prev == ()
    with pytest.raises(TypeError, match="str"):
        b._op = 3


def test_backward_of_a_hand_built_graph_matches_the_engine_exactly():
    def by_hand(x, y):
        return micrograd_relu(micrograd_mul(micrograd_tanh(x), y))

    def by_engine(x, y):
        return (x.tanh() * y).relu()

    x1, y1, x2, y2 = Value(0.3), Value(1.7), Value(0.3), Value(1.7)
    by_hand(x1, y1).backward()
    by_engine(x2, y2).backward()
    assert (x1.grad, y1.grad) == pytest.approx((x2.grad, y2.grad), rel=1e-15)


def test_a_second_backward_through_a_closure_doubles_exactly():
    x = Value(0.7)
    y = micrograd_tanh(x * x) * 3.0
    y.backward()
    first = x.grad
    y.backward()
    assert x.grad == 2 * first


def test_backward_steps_through_a_closure_leave_the_same_grads_as_backward():
    def build():
        x, w = Value(0.4), Value(-1.3)
        return x, w, micrograd_tanh(micrograd_mul(x, w) + x) * w

    x1, w1, out1 = build()
    out1.backward()
    x2, w2, out2 = build()
    steps = list(backward_steps(out2))
    assert (x2.grad, w2.grad) == (x1.grad, w1.grad)
    tanh_step = next(s for s in steps if s.node._op == "tanh")
    ((child, local, added),) = tanh_step.contributions
    assert local == pytest.approx(1.0 - tanh_step.node.data**2)
    assert added == pytest.approx(tanh_step.upstream * local)


def test_a_closure_adding_twice_into_one_child_shows_it_at_its_first_place():
    x = Value(3.0)
    (step, *_) = backward_steps(micrograd_mul(x, x))
    assert [(c, local, added) for c, local, added in step.contributions] == [
        (x, 6.0, 6.0),
        (x, 0.0, 0.0),
    ]
    assert x.grad == 6.0


def test_grad_through_a_closure_works_and_create_graph_says_why_it_cannot():
    x = Value(0.5)
    y = micrograd_tanh(x)
    assert grad(y, [x])[0].data == pytest.approx(1.0 - math.tanh(0.5) ** 2)
    assert x.grad == 0.0 and y.grad == 0.0
    with pytest.raises(TypeError, match=r"create_graph=True.*'tanh'.*closure"):
        grad(y, [x], create_graph=True)


def test_anomaly_mode_checks_a_closures_gradient():
    x = Value(0.0)
    out = Value(0.0, (x,), "mysqrt")
    out._backward = lambda: setattr(x, "grad", x.grad + math.inf * out.grad)  # 0.5 / sqrt(0)
    with detect_anomaly(), pytest.raises(autograd.AnomalyError, match="mysqrt"):
        out.backward()


def test_reading_backward_gives_micrograds_manual_step():
    a, b = Value(2.0), Value(3.0)
    c = a * b
    c.grad = 1.0
    c._backward()
    assert (a.grad, b.grad) == (3.0, 2.0)
    d = micrograd_tanh(a)
    assert callable(d._backward)
    Value(1.0)._backward()  # a leaf: nothing to do
    Value(1.0, (a,), "label only")._backward()
    assert a.grad == 3.0


def test_assigning_something_not_callable_to_backward_raises():
    with pytest.raises(TypeError, match="function"):
        Value(1.0)._backward = 3.0


def test_values_have_no_instance_dict_but_show_their_fields_as_one():
    v = Value(2.0, label="v")
    assert v.__dict__ == {"data": 2.0, "grad": 0.0, "_prev": (), "_op": "", "label": "v"}
    assert vars(v) == v.__dict__
    with pytest.raises(AttributeError):
        v.colour = "red"


def test_op_names_that_are_not_strings_raise():
    with pytest.raises(TypeError, match="_op must be a str"):
        Value(1.0, (Value(2.0),), 42)
