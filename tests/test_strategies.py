"""autograd.strategies: expressions stay in every op's domain, print what they compute,
select ops by name, shrink to small examples, and hypothesis stays a lazy import."""

import contextlib
import io
import math
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

import autograd
from autograd import PRIMITIVES, Value, topological_order
from autograd import primitives as P
from autograd.expression import parse
from autograd.strategies import (
    DEFAULT_OPS,
    EXP_MAX,
    KINK_MARGIN,
    VALUE_LIMIT,
    Expression,
    Node,
    expressions,
    reals,
)

SEARCH = settings(max_examples=500, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))


def test_importing_autograd_does_not_import_hypothesis():
    code = "import sys, autograd; print('hypothesis' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_strategies_is_reachable_as_an_attribute_and_a_submodule():
    import autograd.strategies as imported
    from autograd import strategies

    assert autograd.strategies is strategies is imported
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        autograd.nonexistent  # noqa: B018


def test_default_ops_cover_every_row_with_expression_syntax():
    assert set(DEFAULT_OPS) >= set(PRIMITIVES) - set(P.N_ARY)


def out_of_domain(node: Value) -> str | None:
    """Why node's op is applied outside its domain at this point, or None."""
    args = [child.data for child in node._prev]
    row = node._rule
    if node._op in ("log", "sqrt") or (node._op.startswith("**") and row.domain[0][0] > 0):
        if args[0] < row.domain[0][0]:
            return f"{node._op} of {args[0]}"
    if node._op == "/" and abs(args[1]) < 0.5:
        return f"division by {args[1]}"
    if any(abs(args[0] - kink) < KINK_MARGIN for kink in row.kinks):
        return f"{node._op} at {args[0]}, near its kink"
    if node._op == "exp" and args[0] > EXP_MAX:
        return f"exp of {args[0]}"
    if not (math.isfinite(node.data) and abs(node.data) <= VALUE_LIMIT):
        return f"{node._op} gave {node.data}"
    return None


@settings(max_examples=500)
@given(expressions(max_depth=4))
def test_every_op_is_applied_inside_its_domain(expr):
    out = expr.fn(*[Value(x) for x in expr.inputs])
    for node in topological_order(out):
        if node._prev:
            assert out_of_domain(node) is None, f"{out_of_domain(node)} in {expr!r}"


@given(expressions())
def test_variables_are_numbered_in_order_of_first_appearance(expr):
    appearance = list(dict.fromkeys(re.findall(r"\bx\d+\b", str(expr))))
    assert list(expr.variables) == appearance == [f"x{i}" for i in range(len(appearance))]
    assert len(expr.inputs) == len(expr.variables)


@given(expressions(variables=["w", "b"]))
def test_named_variables_keep_their_names(expr):
    assert set(expr.variables) <= {"w", "b"}
    assert list(expr.variables) == list(dict.fromkeys(re.findall(r"\b[wb]\b", str(expr))))


@pytest.mark.parametrize("op", ["exp", "/", "**", "**0.5", "leaky_relu", "**2.0"])
def test_ops_select_the_rows_used(op):
    row = P.lookup(op)
    allowed = {row.name, "+", "-"}  # + and - shift arguments into a domain

    @settings(max_examples=40)
    @given(expressions(ops=[op]))
    def check(expr):
        out = expr.fn(*expr.inputs)
        used = {node._op for node in topological_order(out) if node._prev}
        assert row.name in used and used <= allowed, f"{used} in {expr!r}"

    check()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ops": ["sum"]}, "without expression syntax"),
        ({"ops": ["dot", "+"]}, "without expression syntax"),
        ({"ops": ["softmax"]}, "unknown op 'softmax'"),
        ({"ops": []}, "at least one op"),
        ({"variables": 0}, "at least 1"),
        ({"variables": ["exp"]}, "not an identifier free to use"),
        ({"variables": ["a", "a"]}, "distinct"),
        ({"max_depth": -1}, "max_depth"),
    ],
)
def test_bad_arguments_are_rejected_with_the_reason(kwargs, message):
    with pytest.raises(ValueError, match=message):
        expressions(**kwargs)


def test_ops_given_as_a_string_is_rejected():
    with pytest.raises(TypeError, match=r"use \['exp'\]"):
        expressions(ops="exp")


def test_fn_computes_what_the_source_says():
    # (x0 + 1) ** x1 / 2 - tanh(x0)
    tree = Node("-", (
        Node("/", (Node("**", (Node("+", (Node("var", (), "x0"), Node("const", (), 1))),
                               Node("var", (), "x1"))),
                   Node("const", (), 2.0))),
        Node("tanh", (Node("var", (), "x0"),)),
    ))
    expr = Expression(tree, ["x0", "x1"], [0.5, 2.0])
    assert str(expr) == "(x0 + 1) ** x1 / 2 - tanh(x0)"
    assert expr.fn(*expr.inputs).data == pytest.approx(1.5**2 / 2 - math.tanh(0.5))
    assert repr(expr) == "Expression('(x0 + 1) ** x1 / 2 - tanh(x0)', x0=0.5, x1=2.0)"


@pytest.mark.parametrize(
    ("tree", "source"),
    [
        (Node("-", (Node("var", (), "a"), Node("-", (Node("var", (), "b"),
                                                     Node("var", (), "c"))))), "a - (b - c)"),
        (Node("+", (Node("+", (Node("var", (), "a"), Node("var", (), "b"))),
                    Node("var", (), "c"))), "a + b + c"),
        (Node("neg", (Node("**2", (Node("var", (), "a"),), 2),)), "-(a ** 2)"),
        (Node("**2", (Node("neg", (Node("var", (), "a"),)),), 2), "(-a) ** 2"),
        (Node("neg", (Node("neg", (Node("var", (), "a"),)),)), "-(-a)"),
        (Node("**-1", (Node("var", (), "a"),), -1), "a ** -1"),
        (Node("leaky_relu", (Node("var", (), "a"),), 0.2), "leaky_relu(a, 0.2)"),
        (Node("leaky_relu", (Node("var", (), "a"),), 0.01), "leaky_relu(a)"),
        (Node("*", (Node("/", (Node("var", (), "a"), Node("var", (), "b"))),
                    Node("const", (), 0.5))), "a / b * 0.5"),
    ],
)
def test_source_has_exactly_the_parentheses_evaluation_order_needs(tree, source):
    assert str(Expression(tree, [], [])) == source


def test_fn_checks_the_number_of_values():
    expr = find(expressions(), lambda e: len(e.variables) == 2, settings=SEARCH)
    with pytest.raises(TypeError, match=r"takes 2 values \(x0, x1\), got 1"):
        expr.fn(Value(1.0))


def test_shrinks_to_the_smallest_expression_with_two_variables():
    expr = find(expressions(), lambda e: len(e.variables) == 2, settings=SEARCH)
    assert str(expr) == "x0 + x1"
    assert expr.inputs == [1.0, 1.0]


def test_shrinks_to_a_bare_call_with_an_input_in_the_domain():
    expr = find(expressions(), lambda e: "log" in str(e), settings=SEARCH)
    assert repr(expr) == "Expression('log(x0)', x0=1.0)"


def test_shrinks_a_value_property_to_a_short_example():
    expr = find(expressions(), lambda e: e.fn(*e.inputs).data > 20.0, settings=SEARCH)
    # Found here: '(exp(x0) ** 2) ** 2' (19 characters). Shrinking may stop on
    # a neighbour of it on a loaded machine, so allow a little room; an
    # unshrunk depth-3 draw is typically 40 to 80 characters long.
    assert len(str(expr)) <= 30, repr(expr)


def test_max_depth_zero_draws_a_variable():
    expr = find(expressions(max_depth=0), lambda e: True, settings=SEARCH)
    assert str(expr) == "x0" and expr.fn(Value(2.5)).data == 2.5


@given(reals(-1.0, 2.0, away_from=(0.0, 1.0), margin=0.25))
def test_reals_stay_in_range_and_away_from_given_points(x):
    assert -1.0 <= x <= 2.0
    assert math.isfinite(x)
    assert abs(x) >= 0.25 and abs(x - 1.0) >= 0.25


@given(reals())
def test_reals_are_finite_normal_floats(x):
    assert math.isfinite(x) and -3.0 <= x <= 3.0
    assert x == 0.0 or abs(x) >= sys.float_info.min


def test_reals_rejects_an_empty_range():
    with pytest.raises(ValueError, match="min_value <= max_value"):
        reals(1.0, -1.0)


@given(st.data())
def test_leaky_relu_slopes_print_and_evaluate_alike(data):
    expr = data.draw(expressions(ops=["leaky_relu"], max_depth=1))
    (slope_text,) = re.findall(r"leaky_relu\(x0(?:, ([\d.]+))?\)", str(expr)) or [""]
    slope = float(slope_text) if slope_text else 0.01
    (x,) = expr.inputs
    argument = x if abs(x) >= KINK_MARGIN else x + 1
    assert expr.fn(x).data == (argument if argument > 0 else slope * argument)


@settings(max_examples=500)
@given(expressions(max_depth=4))
def test_source_parses_back_to_the_same_graph(expr):
    parsed = parse(str(expr))
    assert parsed.variables == expr.variables
    ours = expr.fn(*[Value(x) for x in expr.inputs])
    theirs = parsed.evaluate({name: Value(x) for name, x in zip(expr.variables, expr.inputs,
                                                                strict=True)})
    assert theirs.data == ours.data
    assert [n._op for n in topological_order(theirs)] == [n._op for n in topological_order(ours)]


@settings(max_examples=25)
@given(expr=expressions())
def test_source_is_accepted_by_the_graph_command(tmp_path_factory, expr):
    from viz.cli import main

    path = tmp_path_factory.mktemp("graph") / "graph.dot"
    assignments = [f"{name}={x!r}" for name, x in zip(expr.variables, expr.inputs, strict=True)]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        # "--": a source may start with "-", which argparse would take for an option.
        assert main(["graph", "-o", str(path), "--", str(expr), *assignments]) == 0
    values = [Value(x) for x in expr.inputs]
    expr.fn(*values).backward()
    for name, value in zip(expr.variables, values, strict=True):
        row = rf"^{name}\s+\S+\s+{re.escape(f'{value.grad:.6g}')}$"
        assert re.search(row, printed.getvalue(), re.M), printed.getvalue()
    assert path.exists()
