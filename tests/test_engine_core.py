"""Core behaviour of Value and backward: the contract of SPEC's autograd section."""

import gc
import math
import sys
import threading

import pytest

import autograd
from autograd import Value, grad, no_grad, scope, topological_order


def test_data_is_stored_as_float():
    for raw in (3, 2.5, True):
        v = Value(raw)
        assert type(v.data) is float and v.data == float(raw)
    assert Value(2.0).grad == 0.0


@pytest.mark.parametrize("bad", ["1.0", None, 1 + 2j, [1.0], (1.0,), {}])
def test_non_numbers_raise_type_error_naming_the_type(bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)


def test_numpy_scalars_and_0d_arrays_are_accepted_but_1d_arrays_are_not():
    np = pytest.importorskip("numpy")
    assert Value(np.float32(1.5)).data == 1.5
    assert Value(np.int64(3)).data == 3.0
    assert Value(np.array(2.0)).data == 2.0
    with pytest.raises(TypeError, match="ndarray"):
        Value(np.array([2.0]))


def test_shared_subexpression_accumulates():
    a = Value(3.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0
    assert b.grad == 2.0


def test_square_of_shared_node():
    a = Value(3.0)
    b = a + a
    c = b * b
    c.backward()
    assert a.grad == pytest.approx(4 * b.data)


def test_second_backward_doubles_every_gradient_exactly():
    x = Value(0.7)
    y = Value(-1.3)
    z = (x * y + x.tanh()) * (y.exp() + x)
    z.backward()
    first = [n.grad for n in topological_order(z)]
    z.backward()
    assert [n.grad for n in topological_order(z)] == [2 * g for g in first]


def test_children_are_ordered_operands_and_op_names_are_set():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    assert c._prev == (a, b) and c._op == "*"
    d = a + a
    assert d._prev == (a, a)
    assert (a**2)._op == "**2"
    assert a._op == ""


def test_reflected_operators_and_value_exponents():
    a = Value(2.0)
    assert (3 - a).data == 1.0 and (3 / a).data == 1.5 and (2**a).data == 4.0
    b = Value(3.0)
    c = a**b
    c.backward()
    assert a.grad == pytest.approx(3 * 2.0**2)
    assert b.grad == pytest.approx(8 * math.log(2.0))


def test_unsupported_operands_raise_type_error():
    with pytest.raises(TypeError):
        Value(1.0) + "x"
    with pytest.raises(TypeError):
        Value(1.0) * None


def test_comparisons_use_data_and_equality_is_identity():
    a, b = Value(1.0), Value(1.0)
    assert a < 2 and a <= b and b >= a and not a > b
    assert a != b and len({a, b}) == 2
    assert float(a) == 1.0


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: Value(0.0).log(), -math.inf),
        (lambda: Value(1.0) / 0.0, math.inf),
        (lambda: Value(-1.0) / 0.0, -math.inf),
        (lambda: Value(0.0) / 0.0, math.nan),
        (lambda: Value(1000.0).exp(), math.inf),
        (lambda: Value(-1.0).sqrt(), math.nan),
        (lambda: Value(-8.0) ** 0.5, math.nan),
        (lambda: Value(10.0) ** 400, math.inf),
        (lambda: Value(0.0) ** -1, math.inf),
        (lambda: Value(math.inf).sin(), math.nan),
        (lambda: Value(-1000.0).sigmoid(), 0.0),
        (lambda: autograd.sum([Value(1e308), Value(1e308)]), math.inf),
        (lambda: autograd.sum([Value(math.inf), Value(-math.inf)]), math.nan),
        (lambda: autograd.dot([Value(1e200), Value(-1e200)], [Value(1e200), Value(1e200)]),
         math.nan),
    ],
)
def test_ieee_semantics_instead_of_python_exceptions(make, expected):
    out = make()
    out.backward()  # no exception escapes backward either
    if math.isnan(expected):
        assert math.isnan(out.data)
    else:
        assert out.data == expected


def test_derivatives_at_kinks_follow_pytorch():
    for method, expected in (("relu", 0.0), ("abs", 0.0)):
        x = Value(0.0)
        getattr(x, method)().backward()
        assert x.grad == expected
    x = Value(0.0)
    x.leaky_relu(0.1).backward()
    assert x.grad == pytest.approx(0.1)


def test_million_operation_chain_runs_without_recursion_error():
    assert sys.getrecursionlimit() <= 10_000
    x = Value(1.0)
    y = x
    for _ in range(1_000_000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0
    del y  # freeing a million-deep chain must not overflow the C stack either


def test_graph_is_freed_by_reference_counting():
    gc.collect()
    gc.disable()
    try:
        def live_values():
            return sum(1 for o in gc.get_objects() if type(o) is Value)

        before = live_values()
        x = Value(2.0)
        y = x
        for _ in range(1000):
            y = (y * 0.5 + 1.0).tanh()
        y.backward()
        assert live_values() > before + 1000
        del y
        assert live_values() == before + 1  # only x is left
    finally:
        gc.enable()


def test_no_grad_records_nothing():
    x = Value(2.0)
    with no_grad():
        y = x * 3
    assert y._prev == () and y._op == ""
    assert (x * 3)._prev != ()


def test_no_grad_is_per_thread():
    seen = {}
    entered = threading.Event()
    done = threading.Event()

    def other_thread():
        entered.wait()
        seen["recording"] = (Value(1.0) * 2)._prev != ()
        done.set()

    t = threading.Thread(target=other_thread)
    t.start()
    with no_grad():
        entered.set()
        done.wait()
    t.join()
    assert seen["recording"] is True


def test_scope_paths_nest():
    x = Value(1.0)
    with scope("layers.0"):
        with scope("neurons.3"):
            y = x * 2
        z = y + 1
    assert y.scope == "layers.0/neurons.3"
    assert z.scope == "layers.0"
    assert (z * 1).scope is None


def test_grad_returns_gradients_without_touching_grad_fields():
    x, y, unused = Value(2.0), Value(3.0), Value(5.0)
    out = x * y + x**2
    gx, gy, gu = grad(out, [x, y, unused])
    assert (gx.data, gy.data, gu.data) == (7.0, 2.0, 0.0)
    assert x.grad == y.grad == 0.0


def test_grad_with_create_graph_gives_second_derivatives():
    x = Value(0.3)
    f = x.sin() * x**3
    (df,) = grad(f, [x], create_graph=True)
    (d2f,) = grad(df, [x])
    expected = -math.sin(0.3) * 0.3**3 + 6 * math.cos(0.3) * 0.3**2 + 6 * 0.3 * math.sin(0.3)
    assert d2f.data == pytest.approx(expected, rel=1e-12)


def test_backward_steps_leave_the_same_grads_as_backward():
    def build():
        a, b = Value(1.5, label="a"), Value(-0.5, label="b")
        return a, b, (a * b + a).tanh() * (b - a)

    a1, b1, out1 = build()
    out1.backward()
    a2, b2, out2 = build()
    steps = list(autograd.backward_steps(out2))
    assert (a2.grad, b2.grad) == (a1.grad, b1.grad)
    assert len(steps) == len(topological_order(out2))
    for step in steps:
        for _child, local, added in step.contributions:
            assert added == step.upstream * local


def test_a_plus_a_shows_two_contributions():
    a = Value(2.0)
    b = a + a
    (first, _) = list(autograd.backward_steps(b))
    assert [c[0] for c in first.contributions] == [a, a]


def test_numpy_interop_matmul():
    np = pytest.importorskip("numpy")
    W = autograd.asarray([[1.0, 2.0], [3.0, 4.0]])
    x = autograd.asarray([0.5, -1.0])
    out = (W @ x).sum()
    out.backward()
    assert autograd.data(W @ x).tolist() == [-1.5, -2.5]
    np.testing.assert_allclose(autograd.grads(W), [[0.5, -1.0], [0.5, -1.0]])
    np.testing.assert_allclose(autograd.grads(x), [4.0, 6.0])


def test_fused_dot_and_sum_match_unfused():
    ws = [Value(w) for w in (0.5, -1.0, 2.0)]
    xs = [Value(x) for x in (1.0, 3.0, -0.5)]
    d = autograd.dot(ws, xs) + autograd.sum(xs)
    d.backward()
    assert d.data == pytest.approx(0.5 - 3.0 - 1.0 + 3.5)
    assert [w.grad for w in ws] == [1.0, 3.0, -0.5]
    assert [x.grad for x in xs] == [1.5, 0.0, 3.0]


def test_user_built_node_with_a_non_value_child_raises_naming_it():
    with pytest.raises(TypeError, match="NoneType"):
        Value(1.0, (Value(2.0), None), "+")


def test_topological_order_is_micrograds_recursive_order():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a * b
    d = (c + b.exp()) * (a - c)
    order = topological_order(d)

    def build_topo(v, topo, visited):  # micrograd's, for a small graph
        if v not in visited:
            visited.add(v)
            for child in v._prev:
                build_topo(child, topo, visited)
            topo.append(v)
        return topo

    assert order == build_topo(d, [], set())
    assert order[0] is a and order[-1] is d and len(order) == len(set(order))


def test_a_graph_holds_at_most_250_bytes_per_node_after_backward():
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        x, w = Value(0.5), Value(-1.5)
        out = x
        for i in range(5000):  # a mix of binary nodes, constant leaves and activations
            out = ((out * w + 0.25 * i).tanh() - x).relu() + out * 0.5
        out.backward()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    nodes = len(topological_order(out))
    assert held / nodes <= 250, f"{held / nodes:.0f} bytes per node over {nodes} nodes"


def _diamond_graph():
    """Inner nodes with several consumers, a leaf used three times."""
    x, y = Value(0.6), Value(-1.1)
    shared = x * y + x
    top = (shared.tanh() * shared + shared**3) / (y - x)
    return x, y, top


def test_backward_after_an_interrupted_backward_gives_the_same_gradients():
    # backward marks the nodes it has visited in their .grad; a pass stopped halfway
    # (Ctrl-C in a micrograd closure here) must not make the next pass skip nodes.
    x, y, top = _diamond_graph()
    top.backward()
    expected = (x.grad, y.grad)

    x, y, top = _diamond_graph()
    hook = Value(0.0, (top,), "interrupt")

    def interrupt():
        raise KeyboardInterrupt

    hook._backward = interrupt
    with pytest.raises(KeyboardInterrupt):
        hook.backward()  # every node of top's graph was visited, none has gradient yet
    assert x.grad == y.grad == 0.0
    top.backward()
    assert (x.grad, y.grad) == expected


def test_backward_visits_each_shared_node_once_and_zeroes_no_caller_gradient():
    x, y, top = _diamond_graph()
    steps = list(autograd.backward_steps(top))
    x.grad = y.grad = 0.0
    for node in topological_order(top):
        node.grad = 0.0
    top.backward()
    by_steps = {id(step.node): step.upstream for step in steps}
    assert all(node.grad == by_steps[id(node)] for node in topological_order(top))
    top.backward()  # the second pass doubles exactly, shared nodes included
    assert all(node.grad == 2 * by_steps[id(node)] for node in topological_order(top))
