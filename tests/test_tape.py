"""The compiled tape replays the scalar engine's numbers over a batch (autograd.trace)."""

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value, trace
from autograd.strategies import expressions, reals
from nn import MLP

TraceError = autograd.TraceError
BOUNDED = settings(max_examples=60, deadline=None)


def assert_close(actual, expected, rel=1e-12):
    """Equal within ``rel`` relative (an absolute floor of rel for numbers near 0); nan == nan."""
    np.testing.assert_allclose(actual, expected, rtol=rel, atol=rel, equal_nan=True)


def scalar_reference(fn, rows, parameters=(), seeds=None):
    """Per sample: fn on Values of the row, backward(seed); summed parameter grads."""
    outputs, input_grads = [], []
    for p in parameters:
        p.grad = 0.0
    for b, row in enumerate(rows):
        leaves = [Value(float(x)) for x in row]
        out = fn(*leaves)
        outs = out if isinstance(out, list) else [out]
        seed = np.ones(len(outs)) if seeds is None else np.atleast_1d(seeds[b])
        for o, s in zip(outs, seed, strict=True):
            o.backward(float(s))
        outputs.append([o.data for o in outs] if isinstance(out, list) else out.data)
        input_grads.append([leaf.grad for leaf in leaves])
    grads = [p.grad for p in parameters]
    for p in parameters:
        p.grad = 0.0
    return np.array(outputs), np.array(input_grads).reshape(len(rows), -1).T, np.array(grads)


def batch_around(point, seed, size=7):
    """The drawn point and samples within 0.03 of it (inside the domains its repairs chose)."""
    rng = np.random.default_rng(seed)
    point = np.asarray(point, dtype=np.float64)
    return np.vstack([point, point + rng.uniform(-0.03, 0.03, (size - 1, len(point)))])


# -- the tape equals the scalar engine per sample --------------------------------------------


@BOUNDED
@given(expressions(max_depth=4), st.integers(0, 2**32 - 1))
def test_replayed_expression_equals_the_scalar_engine_per_sample(expr, seed):
    rows = batch_around(expr.inputs, seed)
    tape = trace(expr.fn, *expr.inputs)
    expected, expected_grads, _ = scalar_reference(expr.fn, rows)
    assert_close(tape(*rows.T), expected)
    seeds = np.random.default_rng(seed).uniform(-2, 2, len(rows))
    outputs, input_grads = tape.backward(*rows.T, seed=seeds)
    _, seeded_grads, _ = scalar_reference(expr.fn, rows, seeds=seeds)
    assert_close(outputs, expected)
    assert_close(np.array(input_grads), seeded_grads)


@BOUNDED
@given(expressions(max_depth=4, variables=3), st.integers(0, 2**32 - 1))
def test_leaves_reached_through_a_closure_are_parameters_with_summed_gradients(expr, seed):
    if len(expr.inputs) < 2:
        return
    parameters = [Value(x) for x in expr.inputs[1:]]
    fn = lambda x: expr.fn(x, *parameters)
    rows = batch_around(expr.inputs[:1], seed)
    tape = trace(fn, expr.inputs[0])
    assert tape.parameters == parameters or set(tape.parameters) <= set(parameters)
    expected, expected_grads, expected_param_grads = scalar_reference(fn, rows, parameters)
    outputs, param_grads, input_grads = tape.backward_arrays([rows[:, 0]])
    assert_close(outputs, expected)
    assert_close(input_grads[0], expected_grads[0])
    by_parameter = dict(zip(tape.parameters, param_grads, strict=True))
    assert_close([by_parameter.get(p, 0.0) for p in parameters], expected_param_grads)
    _, param_grads_only, none = tape.backward_arrays([rows[:, 0]], input_grads=False)
    assert none is None
    assert_close(param_grads_only, param_grads)


@BOUNDED
@given(st.lists(reals(-3, 3), min_size=1, max_size=6), st.integers(0, 2**32 - 1),
       st.sampled_from(["sum", "dot", "max", "logsumexp"]))
def test_fused_n_ary_rows_equal_the_scalar_engine(values, seed, row):
    n = len(values)
    weights = [Value(w) for w in np.random.default_rng(seed).uniform(-1, 1, n)]
    functions = {
        "sum": lambda *xs: autograd.sum([x * x for x in xs]),
        "dot": lambda *xs: autograd.dot(weights, xs),
        "max": lambda *xs: autograd.max(xs),
        "logsumexp": lambda *xs: autograd.logsumexp(xs),
    }
    fn = functions[row]
    rows = batch_around(values, seed)
    tape = trace(fn, *values)
    params = weights if row == "dot" else []
    expected, expected_grads, expected_param_grads = scalar_reference(fn, rows, params)
    outputs, param_grads, input_grads = tape.backward_arrays(list(rows.T))
    assert_close(outputs, expected)
    assert_close(np.array(input_grads), expected_grads)
    assert_close(param_grads, expected_param_grads)


def test_an_mlp_with_several_outputs_takes_a_seed_per_sample_and_output():
    model = MLP(3, [5, 4, 3], seed=1)
    fn = lambda *x: model(list(x))
    rows = np.random.default_rng(0).normal(size=(9, 3))
    seeds = np.random.default_rng(1).normal(size=(9, 3))
    tape = trace(fn, *rows[0])
    assert tape.parameters == model.parameters()
    expected, expected_grads, expected_param_grads = scalar_reference(
        fn, rows, model.parameters(), seeds)
    outputs, param_grads, input_grads = tape.backward_arrays(list(rows.T), seed=seeds)
    assert outputs.shape == (9, 3)
    assert_close(outputs, expected)
    assert_close(np.array(input_grads), expected_grads)
    assert_close(param_grads, expected_param_grads)


def test_backward_adds_to_the_parameters_grad_like_the_scalar_engine():
    model = MLP(2, [4, 1], seed=2)
    fn = lambda a, b, y: (1 + -y * model([a, b])).relu()
    rows = np.array([[0.5, -1.0, 1.0], [2.0, 0.1, -1.0], [-0.3, 0.7, 1.0]])
    _, _, expected = scalar_reference(fn, rows, model.parameters())
    tape = trace(fn, *rows[0])
    tape.backward(*rows.T)
    assert_close([p.grad for p in model.parameters()], expected)
    tape.backward(*rows.T)  # a second call adds again
    assert_close([p.grad for p in model.parameters()], 2 * expected)


# -- kinks, inf and nan follow the scalar engine -------------------------------------------------

SPECIAL = [0.0, -0.0, 1.0, -1.0, 1e-300, 1e300, -1e300, math.inf, -math.inf, math.nan, 710.0,
           -745.0]
UNARY = {
    "relu": lambda x: x.relu(),
    "abs": lambda x: abs(x),
    "leaky_relu": lambda x: x.leaky_relu(0.2),
    "exp": lambda x: x.exp(),
    "log": lambda x: x.log(),
    "sqrt": lambda x: x.sqrt(),
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "sin": lambda x: x.sin(),
    "cos": lambda x: x.cos(),
    "neg": lambda x: -x,
    "**2": lambda x: x**2,
    "**3": lambda x: x**3,
    "**-1": lambda x: x**-1,
    "**0.5": lambda x: x**0.5,
    "**0": lambda x: x**0,
    "1/x": lambda x: 1 / x,
    "x/0": lambda x: x / 0.0,
    "2**x": lambda x: 2**x,
    "x**x": lambda x: x**x,
    "0**x": lambda x: 0.0**x,
    "x*x": lambda x: x * x,
    "x-x": lambda x: x - x,
    "max(x,0,x)": lambda x: autograd.max([x, Value(0.0), x]),
    "logsumexp": lambda x: autograd.logsumexp([x, 2 * x, Value(1.0)]),
}


@pytest.mark.parametrize("name", list(UNARY))
def test_kinks_infinities_and_nan_follow_the_scalar_engine(name):
    fn = UNARY[name]
    rows = np.array(SPECIAL)[:, None]
    tape = trace(fn, 1.0)
    expected, expected_grads, _ = scalar_reference(fn, rows)
    outputs, (grads,) = tape.backward(rows[:, 0])
    assert_close(outputs, expected)
    assert_close(grads, expected_grads[0])


def test_relu_abs_and_leaky_relu_derivatives_at_zero_are_those_of_pytorch():
    x = np.array([0.0, -0.0])
    assert np.all(trace(lambda v: v.relu(), 1.0).backward(x)[1][0] == 0.0)
    assert np.all(trace(lambda v: abs(v), 1.0).backward(x)[1][0] == 0.0)
    assert np.all(trace(lambda v: v.leaky_relu(0.3), 1.0).backward(x)[1][0] == 0.3)


def test_max_sends_the_gradient_to_the_first_maximum_and_nan_wins():
    tape = trace(lambda a, b, c: autograd.max([a, b, c]), 1.0, 2.0, 3.0)
    a = np.array([1.0, 2.0, 1.0, math.nan])
    b = np.array([1.0, 2.0, math.nan, 0.0])
    c = np.array([0.0, 2.0, 5.0, math.nan])
    outputs, grads = tape.backward(a, b, c)
    assert_close(outputs, [1.0, 2.0, math.nan, math.nan])
    assert_close(np.array(grads).T, [[1, 0, 0], [1, 0, 0], [0, 1, 0], [1, 0, 0]])


def test_logsumexp_does_not_overflow():
    tape = trace(lambda a, b: autograd.logsumexp([a, b]), 1.0, 2.0)
    outputs, grads = tape.backward(np.array([1000.0, -1000.0]), np.array([1000.0, -1000.0]))
    assert_close(outputs, [1000.0 + math.log(2), -1000.0 + math.log(2)])
    assert_close(np.array(grads), [[0.5, 0.5], [0.5, 0.5]])


# -- the guards -------------------------------------------------------------------------------


def raises_at_line(fn, *inputs, what):
    """trace(fn) raises TraceError naming ``what`` and this file at fn's (one-line) line."""
    with pytest.raises(TraceError) as caught:
        trace(fn, *inputs)
    message = str(caught.value)
    assert what in message
    assert f"{__file__}:{fn.__code__.co_firstlineno}" in message, message
    return message


def test_reading_data_while_tracing_raises_with_the_users_line():
    raises_at_line(lambda x: x * x.data, 1.0, what="reading .data")


def test_assigning_data_while_tracing_raises_with_the_users_line():
    def fn(x):
        y = x * 2
        y.data = 3.0
        return y

    with pytest.raises(TraceError, match="assigning .data") as caught:
        trace(fn, 1.0)
    assert f"{__file__}:{fn.__code__.co_firstlineno + 2}" in str(caught.value)


def test_float_of_a_traced_value_raises():
    raises_at_line(lambda x: x * float(x), 1.0, what="float()")


@pytest.mark.parametrize("compare", [
    lambda x: x if x > 0 else -x,
    lambda x: x if x < 0 else -x,
    lambda x: x if x >= 0 else -x,
    lambda x: x if x <= 0 else -x,
    lambda x: x if 0 < x else -x,
])
def test_comparing_a_traced_value_raises(compare):
    raises_at_line(compare, 1.0, what="comparing a Value")


def test_truth_testing_a_traced_value_raises():
    raises_at_line(lambda x: (x * 2) and x, 1.0, what="truth testing")


def test_a_node_built_by_hand_from_traced_values_raises():
    leaf = Value(1.0)  # built outside: reading its number is allowed
    raises_at_line(lambda x: Value(2.0, (x, leaf), "+"), 1.0, what="building a node by hand")


def test_a_node_built_by_hand_from_parameters_with_a_rows_op_replays_by_the_row():
    a, b = Value(2.0), Value(3.0)
    fn = lambda x: x * Value(a.data * b.data, (a, b), "*")  # micrograd's idiom, on parameters
    tape = trace(fn, 1.0)
    a.data = 5.0  # the tape recomputes the product by its row
    assert_close(tape(np.array([1.0, 2.0])), [15.0, 30.0])
    _, grads, _ = tape.backward_arrays([np.array([1.0, 2.0])])
    assert_close(grads, [3.0 * 3.0, 5.0 * 3.0])


def test_an_operation_under_no_grad_raises_with_the_users_line():
    def fn(x):
        with autograd.no_grad():
            shift = x * 2
        return x - shift

    with pytest.raises(TraceError, match="no_grad") as caught:
        trace(fn, 1.0)
    assert f"{__file__}:{fn.__code__.co_firstlineno + 2}" in str(caught.value)


def test_a_backward_closure_raises():
    def fn(x):
        y = x * 2
        autograd.mode.current.get().tracer.closure(y)  # what value.py calls on `_backward =`
        return y

    with pytest.raises(TraceError, match="_backward closure"):
        trace(fn, 1.0)


def test_assigning_a_backward_closure_raises_with_the_users_line():
    if not isinstance(Value.__dict__.get("_backward"), property):
        pytest.skip("this engine's Value has no assignable _backward")

    def fn(x):
        y = x * 2
        y._backward = lambda: None
        return y

    with pytest.raises(TraceError, match="_backward closure") as caught:
        trace(fn, 1.0)
    assert f"{__file__}:{fn.__code__.co_firstlineno + 2}" in str(caught.value)


def test_reading_through_autograd_data_names_the_users_line():
    raises_at_line(lambda x: x * autograd.data([x * 1.0])[0], 1.0, what="reading .data")


def test_a_value_computed_before_tracing_raises():
    outside = Value(2.0) * 3
    with pytest.raises(TraceError, match="computed before tracing"):
        trace(lambda x: x * outside, 1.0)


def test_values_read_normally_after_tracing_even_after_a_trace_error():
    kept = []

    def fn(x):
        y = x.tanh()
        kept.append(y)
        return y * y.data

    with pytest.raises(TraceError):
        trace(fn, 0.5)
    assert kept[0].data == math.tanh(0.5) and type(kept[0]) is Value
    tape = trace(lambda x: kept.append(x.exp()) or kept[-1], 0.0)
    assert kept[-1].data == 1.0 and float(kept[-1]) == 1.0 and kept[-1] > 0
    assert len(tape) == 1


def test_parameters_and_constants_may_be_read_while_tracing():
    w = Value(2.0)
    tape = trace(lambda x: x * (w.data + 1.0) + w, 1.0)  # w is no traced value
    assert_close(tape(np.array([1.0, 2.0])), [5.0, 8.0])


# -- the API and its errors -------------------------------------------------------------------


def test_import_autograd_does_not_import_numpy():
    code = "import sys, autograd; assert 'numpy' not in sys.modules, 'numpy imported'; " \
           "autograd.trace; assert 'numpy' in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_arrays_api_with_a_parameter_vector_does_not_touch_the_values():
    model = MLP(2, [3, 1], seed=3)
    tape = trace(lambda a, b: model([a, b]), 0.0, 0.0)
    vector = tape.parameter_vector()
    assert vector.dtype == np.float64 and vector.shape == (len(model.parameters()),)
    columns = [np.array([0.5, 1.0]), np.array([-1.0, 2.0])]
    moved = vector + 0.1
    outputs, grads, _ = tape.backward_arrays(columns, params=moved)
    assert all(p.grad == 0.0 for p in model.parameters())
    assert_close(tape.forward_arrays(columns, params=moved), outputs)
    for p, x in zip(model.parameters(), moved, strict=True):
        p.data = float(x)
    assert_close(tape(*columns), outputs)
    assert_close(tape.backward_arrays(columns)[1], grads)


def test_columns_may_come_as_one_array_with_a_row_per_input():
    w = Value(2.0)
    tape = trace(lambda a, b: a * b + w, 1.0, 1.0)
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert_close(tape.forward_arrays(X.T), tape(X[:, 0], X[:, 1]))
    outputs, grads, inputs = tape.backward_arrays(X.T.astype(np.float32))
    assert_close(grads, [3.0])
    assert_close(inputs, [X[:, 1], X[:, 0]])
    with pytest.raises(TypeError, match=r"shape \(2, B\)"):
        tape.forward_arrays(X)


def test_results_are_never_the_arrays_a_tape_reuses_between_calls():
    model = MLP(2, [3, 2], seed=9)
    tape = trace(lambda a, b: model([a, b]), 0.0, 0.0)
    columns = [np.array([0.5, -1.0]), np.array([2.0, 0.3])]
    first = tape.backward_arrays(columns)
    again = tape.backward_arrays(columns)
    for array in (first[0], first[1], *first[2]):
        array[...] = np.nan  # scribbling on one call's results changes no other call
    third = tape.backward_arrays(columns)
    for a, b in zip((again[0], again[1], *again[2]), (third[0], third[1], *third[2]),
                    strict=True):
        assert_close(a, b)
    assert_close(tape.forward_arrays(columns), again[0])


def test_threads_replaying_one_tape_at_once_get_their_own_numbers():
    import threading

    w = Value(1.5)
    tape = trace(lambda x: (x * w).tanh(), 0.0)
    results, errors = {}, []

    def replay(k):
        try:
            x = np.full(50, float(k))
            for _ in range(200):
                outputs, grads, _ = tape.backward_arrays([x])
            results[k] = (outputs, grads)
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=replay, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for k, (outputs, grads) in results.items():
        assert_close(outputs, np.full(50, math.tanh(1.5 * k)))
        assert_close(grads, [50 * k * (1 - math.tanh(1.5 * k) ** 2)])


def test_a_number_column_is_broadcast_and_numbers_only_make_one_sample():
    tape = trace(lambda a, b: a * b, 1.0, 1.0)
    assert_close(tape(np.array([1.0, 2.0]), 3), [3.0, 6.0])
    assert tape(2.0, 3.0).shape == (1,)


def test_a_function_of_parameters_only_traces_without_inputs():
    w = Value(3.0)
    tape = trace(lambda: w * w)
    assert_close(tape(), [9.0])
    tape.backward()
    assert w.grad == 6.0


def test_an_empty_batch_gives_empty_outputs_and_zero_gradients():
    w = Value(1.0)
    tape = trace(lambda a: a * w, 1.0)
    outputs, grads, (input_grads,) = tape.backward_arrays([np.array([])])
    assert outputs.shape == (0,) and input_grads.shape == (0,) and grads.tolist() == [0.0]


def test_outputs_may_be_inputs_parameters_or_constants():
    w = Value(3.0)
    tape = trace(lambda a: [a, w, Value(2.0), a * w], 1.0)
    outputs, grads, (input_grads,) = tape.backward_arrays([np.array([1.0, 2.0])])
    assert_close(outputs, [[1.0, 3.0, 2.0, 3.0], [2.0, 3.0, 2.0, 6.0]])
    assert_close(grads, [2.0 + 3.0])  # w as an output twice, plus d(a*w)/dw = a summed
    assert_close(input_grads, [4.0, 4.0])


def test_a_node_output_twice_gets_both_seeds():
    w = Value(3.0)
    tape = trace(lambda a: (lambda y: [y, y + 1.0, y])(a * w), 1.0)  # y: one node, twice
    outputs, grads, (input_grads,) = tape.backward_arrays(
        [np.array([1.0, 2.0])], seed=np.array([[1.0, 10.0, 100.0], [1.0, 10.0, 100.0]]))
    assert_close(outputs, [[3.0, 4.0, 3.0], [6.0, 7.0, 6.0]])
    assert_close(grads, [111.0 * (1.0 + 2.0)])
    assert_close(input_grads, [333.0, 333.0])


def test_len_and_repr_describe_the_tape():
    model = MLP(2, [4, 1], seed=4)
    tape = trace(lambda a, b: model([a, b]), 0.0, 0.0)
    assert len(tape) > 0
    text = repr(tape)
    assert "2 inputs" in text and f"{len(model.parameters())} parameters" in text
    assert "fused rows" in text and tape.bytes_per_sample > 0


@pytest.mark.parametrize("call, error, match", [
    (lambda t: t(np.ones(2)), TypeError, "takes 2 columns"),
    (lambda t: t(np.ones(2), np.ones(3)), ValueError, "different lengths"),
    (lambda t: t(np.ones((2, 2)), np.ones(2)), ValueError, "shape"),
    (lambda t: t(np.array(["a", "b"]), np.ones(2)), TypeError, "dtype"),
    (lambda t: t(Value(1.0), 1.0), TypeError, "is a Value"),
    (lambda t: t(object(), 1.0), TypeError, "column 0"),
    (lambda t: t.backward(np.ones(2), np.ones(2), seed=np.ones(3)), ValueError, "seed"),
    (lambda t: t.forward_arrays([1.0, 1.0], params=np.ones(5)), ValueError, "params"),
    (lambda t: t.forward_arrays(np.ones(2)), TypeError, "list or tuple"),
    (lambda t: t.backward(1.0, 1.0, seed="a"), TypeError, "seed must hold real numbers"),
    (lambda t: t.forward_arrays([1.0, 1.0], params=["a"]), TypeError, "params must hold"),
    (lambda t: t([1.0, [2.0, 3.0]], 1.0), TypeError, "column 0 must be an array"),
])
def test_bad_calls_raise_errors_naming_what_was_expected(call, error, match):
    w = Value(1.0)
    tape = trace(lambda a, b: a * b + w, 1.0, 1.0)
    with pytest.raises(error, match=match):
        call(tape)


@pytest.mark.parametrize("fn, inputs, match", [
    (lambda x: 3.0, (1.0,), "must return a Value"),
    (lambda x: [x, 2.0], (1.0,), "output 1 must be a Value"),
    (lambda x: x, ("a",), r"example_inputs\[0\] must be a real number"),
])
def test_bad_traces_raise_type_errors(fn, inputs, match):
    with pytest.raises(TypeError, match=match):
        trace(fn, *inputs)


def test_an_empty_list_of_outputs_is_refused():
    with pytest.raises(ValueError, match="at least one output"):
        trace(lambda x: [], 1.0)


def test_an_interrupt_while_tracing_leaves_every_value_readable():
    made = []

    def fn(x):
        made.append(x * 2)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        trace(fn, 1.0)
    assert type(made[0]) is Value and made[0].data == 2.0
    assert autograd.mode.current.get().tracer is None


def test_a_tape_keeps_no_traced_node_alive():
    import gc

    w = Value(1.0)
    seen = []
    tape = trace(lambda x: seen.append(x * w) or seen[0].tanh(), 1.0)
    gc.collect()
    assert gc.get_referrers(seen[0]) == [seen]  # only this list holds the traced node
    assert tape.parameters == [w]


def test_nan_and_inf_parameters_propagate_as_in_the_scalar_engine():
    w = Value(math.nan)
    v = Value(math.inf)
    fn = lambda x: (x * w).relu() + (x * v).relu()
    rows = np.array([[1.0], [0.0], [-1.0]])
    tape = trace(fn, 1.0)
    expected, expected_grads, expected_params = scalar_reference(fn, rows, [w, v])
    outputs, params, (grads,) = tape.backward_arrays([rows[:, 0]])
    assert_close(outputs, expected)
    assert_close(grads, expected_grads[0])
    assert_close(params, expected_params)


def test_rebuild_gives_one_samples_graph_as_ordinary_values():
    model = MLP(2, [3, 1], seed=6)
    tape = trace(lambda a, b: model([a, b]).tanh(), 0.0, 0.0)
    columns = (np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.25, -0.5]))
    outputs, input_grads = tape.backward(*columns)
    model.zero_grad()
    out = tape.rebuild(*columns, sample=2)
    assert type(out) is Value and out._op == "tanh"
    out.backward()
    leaves = [node for node in autograd.topological_order(out) if node.label in ("x0", "x1")]
    assert_close(out.data, outputs[2])
    assert_close([leaf.grad for leaf in leaves], [g[2] for g in input_grads])
    with pytest.raises(IndexError, match="out of range"):
        tape.rebuild(*columns, sample=3)


def test_trace_needs_a_function():
    with pytest.raises(TypeError, match="function"):
        trace(3.0)


def test_the_readme_example_runs_and_its_claims_hold(capsys):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## The compiled tape\n(.*?)(?=^## )", readme, re.M | re.S).group(1)
    (code,) = re.findall(r"^```python\n(.*?)^```", section, re.M | re.S)
    exec(compile(code, "README compiled tape", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("<Tape: 3 inputs, 337 parameters")
    assert printed[1] == "True"
