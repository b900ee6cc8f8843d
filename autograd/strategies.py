"""hypothesis strategies for testing gradients: ``expressions()`` and ``reals()``.

    from hypothesis import given
    from autograd import gradcheck
    from autograd.strategies import expressions

    @given(expressions())
    def test_backward_matches_finite_differences(expr):
        gradcheck(expr.fn, expr.inputs)

``expressions(max_depth, variables, ops)`` draws a random expression tree over
the primitive table together with the point to evaluate it at. The drawn
``Expression`` has ``fn`` (takes one Value per variable, returns a Value),
``inputs`` (the floats to call it with), ``variables`` (``x0``, ``x1``, ... in
order of first appearance) and ``str(expr)``, its source in the expression
syntax of ``autograd.expression``, for example ``tanh(x0 * x1) + x0 ** 2``
(``chainrule graph -o g.svg -- "<str(expr)>" x0=... x1=...`` draws it; the
``--`` lets a source start with ``-``).

How inputs stay inside each primitive's domain. The inputs are drawn first,
then the tree is built bottom-up and evaluated as it grows. When the argument
of an op would be outside the op's domain at the drawn point (``log``,
``sqrt``, a fractional or negative power or the base of ``**`` below the
table's lower bound, a divisor within 0.5 of zero, a relu/abs/leaky_relu
argument within 0.1 of its kink, an ``exp`` argument above 4), the argument is
shifted by a whole number that moves it back inside, and the shift is part of
the tree: the expression reads ``log(x0 - x1 + 3)``, and ``fn`` computes
exactly what ``str(expr)`` says. We chose this repair over two alternatives:
filtering (``assume``) rejects most deep trees, so hypothesis would spend its
time discarding examples and report health-check failures; guarding every op
(``log(x ** 2 + 0.5)``) makes every expression look the same and hides the
simple cases. Repairs are a deterministic function of what was drawn, so
shrinking works as usual, and they keep the distance to every singularity
and kink well above gradcheck's ``eps``. The only rejections left are for
draws where some intermediate value exceeds ``VALUE_LIMIT`` in magnitude or
its gradient (1-norm, over all variables) exceeds ``STEEPNESS_LIMIT`` (0.3%
of draws at depth 4, 2% at depth 5: powers and exponentials of exponentials), where
finite differences lose their accuracy; the gradient is bounded with the
rows' own local derivatives as the tree is built.

Shrinking gives small readable examples: trees shrink towards a single op
on ``x0`` (ops are tried in the order given, simplest first by default),
constants towards 2, inputs towards 1.0 (inside every domain, away from every
kink, so shrunk examples need no repairs) and then towards short decimals.

``sum`` and ``dot`` (the fused n-ary rows) have no expression syntax, so
``ops`` cannot select them; ``lists(reals())`` with ``autograd.sum`` covers
them. hypothesis is imported with this module, never by ``import autograd``.
"""

from __future__ import annotations

import keyword
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass

try:
    from hypothesis import reject
    from hypothesis import strategies as st
except ImportError as error:  # pragma: no cover - hypothesis is in the test extra
    raise ImportError(
        "autograd.strategies needs hypothesis: pip install hypothesis "
        "(or pip install 'chainrule[test]')"
    ) from error

from . import expression
from . import primitives as P
from .expression import format_number
from .value import Value

# One-argument functions of the expression syntax (leaky_relu may take a slope too).
FUNCTIONS = (*expression.FUNCTIONS, "leaky_relu")
BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
          "**": operator.pow}
# Every row of the table that has expression syntax, simplest first (shrinking
# prefers the first ones), plus the everyday square.
DEFAULT_OPS = ("+", "*", "-", "/", "neg", "**2", "exp", "tanh", "log", "sqrt", "sigmoid",
               "relu", "abs", "sin", "cos", "leaky_relu", "**", "**3", "**-1", "**0.5")
NO_SYNTAX = P.N_ARY  # sum, dot, max, logsumexp
CONSTANTS = (2.0, 1.0, 0.5, 3.0)
LEAKY_RELU_SLOPES = (0.01, 0.1, 0.2)
DEFAULT_SLOPE = P.LEAKY_RELU_SLOPE  # leaky_relu(x) without a slope, as in the expression syntax
KINK_MARGIN = 0.1  # the least distance from a kink an argument may have
EXP_MAX = 4.0  # the largest argument of exp (e**4 ~ 55)
VALUE_LIMIT = 1e3  # the largest magnitude of any intermediate value
STEEPNESS_LIMIT = 1e3  # the largest gradient (1-norm) of any intermediate value
INPUT_LOW, INPUT_HIGH = -2.0, 2.0

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "**": 4}
_ATOM = 5


@dataclass(frozen=True)
class Node:
    """A node of an expression tree.

    ``op`` is ``'var'``, ``'const'`` or the name of a row of the primitive table
    (``'+'``, ``'exp'``, ``'**2'``, ``'leaky_relu'``...); ``args`` are child
    Nodes in operand order; ``param`` is the variable's name, the constant,
    leaky_relu's slope or a power row's exponent.
    """

    op: str
    args: tuple[Node, ...] = ()
    param: object = None


def _precedence(node: Node) -> int:
    if node.op.startswith("**"):
        return _PRECEDENCE["**"]
    return _PRECEDENCE.get(node.op, _ATOM)


def _wrapped(node: Node, needs_parentheses: bool) -> str:
    text = _source(node)
    return f"({text})" if needs_parentheses else text


def _source(node: Node) -> str:
    """The node as expression syntax, with the parentheses its evaluation order needs."""
    op, args = node.op, node.args
    if op == "var":
        return node.param
    if op == "const":
        return format_number(node.param)
    if op == "leaky_relu" and node.param != DEFAULT_SLOPE:
        return f"leaky_relu({_source(args[0])}, {format_number(node.param)})"
    if op in FUNCTIONS:
        return f"{op}({_source(args[0])})"
    if op == "neg":  # -(-x) and -(x ** 2) spelled out, though Python would not need it
        return "-" + _wrapped(args[0], _precedence(args[0]) < _ATOM)
    if op.startswith("**") and op != "**":
        return f"{_wrapped(args[0], _precedence(args[0]) < _ATOM)} ** {format_number(node.param)}"
    if op == "**":
        left, right = (_wrapped(a, _precedence(a) < _ATOM) for a in args)
        return f"{left} ** {right}"
    # Left-associative: an equal-precedence right operand keeps its parentheses,
    # so a + (b + c) rounds exactly as fn computes it.
    level = _PRECEDENCE[op]
    left = _wrapped(args[0], _precedence(args[0]) < level)
    right = _wrapped(args[1], _precedence(args[1]) <= level)
    return f"{left} {op} {right}"


def apply_value(op: str, param, args: Sequence) -> Value:
    """Applies one tree node's op to Values (numbers for constants), as the engine does."""
    if op in BINARY:
        return BINARY[op](*args)
    (arg,) = args
    if op == "neg":
        return -arg
    if op == "leaky_relu":
        return arg.leaky_relu(param)
    if op.startswith("**"):
        return arg**param
    return getattr(arg, op)()


class Expression:
    """A drawn expression: ``fn`` computes it on Values; ``str(expr)`` is its source.

    ``tree`` is the root ``Node``; ``variables`` the variable names in order
    of first appearance; ``inputs`` the point drawn for them, in that order.
    """

    def __init__(self, tree: Node, variables: Sequence[str], inputs: Sequence[float]):
        self.tree = tree
        self.variables = tuple(variables)
        self.inputs = list(inputs)
        self.source = _source(tree)

    def fn(self, *values) -> Value:
        """The expression applied to one Value (or number) per variable, in order."""
        if len(values) != len(self.variables):
            raise TypeError(
                f"{self.source!r} takes {len(self.variables)} values "
                f"({', '.join(self.variables)}), got {len(values)}"
            )
        env = {
            name: value if isinstance(value, Value) else Value(value, label=name)
            for name, value in zip(self.variables, values, strict=True)
        }
        return self.evaluate(env)

    def evaluate(self, env: dict, apply: Callable = apply_value):
        """Folds the tree: ``apply(op, param, args)`` per node, ``env[name]`` per variable.

        With another ``apply`` (say, one calling torch functions) the same
        tree runs in another library; constants are passed as floats.
        """
        results: dict[int, object] = {}
        # Children before parents, without recursion (trees can be deep).
        stack = [(self.tree, False)]
        while stack:
            node, expanded = stack.pop()
            if node.op == "var":
                results[id(node)] = env[node.param]
            elif node.op == "const":
                results[id(node)] = float(node.param)
            elif expanded:
                args = [results[id(child)] for child in node.args]
                results[id(node)] = apply(node.op, node.param, args)
            else:
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(node.args))
        return results[id(self.tree)]

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        point = ", ".join(f"{name}={x!r}" for name, x in zip(self.variables, self.inputs,
                                                               strict=True))
        return f"Expression({self.source!r}, {point})"


def reals(
    min_value: float = -3.0,
    max_value: float = 3.0,
    *,
    away_from: Sequence[float] = (),
    margin: float = KINK_MARGIN,
) -> st.SearchStrategy[float]:
    """Finite, non-subnormal floats in [min_value, max_value], at least ``margin`` from
    each point of ``away_from`` (say, a primitive's ``kinks``).

    A draw that lands too close to such a point is moved to the nearer side at
    distance ``margin``, rather than filtered, so no example is rejected.
    """
    if not (math.isfinite(min_value) and math.isfinite(max_value) and min_value <= max_value):
        raise ValueError(f"reals needs finite min_value <= max_value, got {min_value}, {max_value}")
    away_from = tuple(float(point) for point in away_from)

    def keep_away(x: float) -> float:
        for point in away_from:
            if abs(x - point) < margin:
                x = point + margin if x >= point else point - margin
        return min(max(x, min_value), max_value)

    floats = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False,
                       allow_subnormal=False)
    return floats.map(keep_away) if away_from else floats


def _row(op: str, param) -> P.Primitive:
    return P.leaky_relu_of(param) if op == "leaky_relu" else P.lookup(op)


def _shift_into_domain(op: str, param, index: int, value: float) -> int:
    """The whole number to add to argument ``index`` of ``op`` so it lies in op's domain."""
    row = _row(op, param)
    positive_only = op in ("log", "sqrt") or (op.startswith("**") and row.domain[0][0] > 0)
    if positive_only and index == 0:  # log, sqrt, x ** 0.5, x ** -1 and the base of x ** y
        lowest = row.domain[0][0]
        return math.floor(lowest - value) + 1 if value < lowest else 0
    if op == "/" and index == 1:  # the divisor stays at least 0.5 (the table's bound) from 0
        return 1 if abs(value) < row.domain[1][0] else 0
    if any(abs(value - kink) < KINK_MARGIN for kink in row.kinks):
        return 1  # kinks are at 0: x + 1 is at least 0.9 away
    if op == "exp" and value > EXP_MAX:
        return -math.ceil(value - EXP_MAX)
    return 0


def _node(op: str, args: Sequence[tuple[Node, float, float]], param=None):
    """The node ``op(args)`` with its arguments shifted into op's domain, its value and
    its steepness.

    Each argument is ``(node, value, steepness)``, where steepness bounds the
    sum over the variables of |d(value)/d(variable)| (1 for a variable, 0 for
    a constant), propagated with the rows' own local derivatives.
    """
    shifted = []
    for index, (child, value, steepness) in enumerate(args):
        shift = _shift_into_domain(op, param, index, value)
        if shift > 0:
            child, value = Node("+", (child, Node("const", (), shift))), value + shift
        elif shift < 0:
            child, value = Node("-", (child, Node("const", (), -shift))), value + shift
        shifted.append((child, value, steepness))
    row = _row(op, param)
    values = [value for _, value, _ in shifted]
    value = row.forward(*values)
    locals_ = row.local_grads(*values, value)
    steepness = math.fsum(abs(local) * s for local, (_, _, s) in zip(locals_, shifted,
                                                                      strict=True))
    # Finite differences mean little where values or slopes are huge (say
    # exp(exp(x) - 51) at x = 4): such rare draws are rejected.
    if not (abs(value) <= VALUE_LIMIT and steepness <= STEEPNESS_LIMIT):
        reject()
    return Node(op, tuple(child for child, _, _ in shifted), param), value, steepness


def _canonical_ops(ops: Sequence[str]) -> tuple[str, ...]:
    if isinstance(ops, str):
        raise TypeError(f"ops must be a sequence of op names, got the string {ops!r}; "
                        f"use [{ops!r}]")
    names = []
    for name in ops:
        if name in NO_SYNTAX:
            raise ValueError(
                f"op {name!r} is a fused n-ary row without expression syntax; "
                "test it with lists(reals()) and autograd.sum / autograd.dot"
            )
        row = P.lookup(name) if isinstance(name, str) else None
        if row is None:
            raise ValueError(f"unknown op {name!r}: expected names from {DEFAULT_OPS} or "
                             "'**<number>'")
        names.append(row.name)
    if not names:
        raise ValueError("ops must name at least one op")
    return tuple(names)


def _variable_names(variables) -> tuple[str, ...] | int:
    if isinstance(variables, int) and not isinstance(variables, bool):
        if variables < 1:
            raise ValueError(f"variables must be at least 1, got {variables}")
        return variables
    names = tuple(variables)
    for name in names:
        if not (isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)
                and name not in FUNCTIONS):
            raise ValueError(f"variable name {name!r} is not an identifier free to use "
                             f"(function names {FUNCTIONS} are taken)")
    if not names or len(set(names)) != len(names):
        raise ValueError(f"variables must be distinct names, at least one, got {names}")
    return names


def expressions(
    max_depth: int = 3,
    variables: int | Sequence[str] = 3,
    ops: Sequence[str] = DEFAULT_OPS,
) -> st.SearchStrategy[Expression]:
    """Random expressions over the primitive table, with inputs inside every op's domain.

    max_depth: the most ops on a path from the root to a variable (repairs
        that shift an argument into a domain come on top).
    variables: how many variables may appear (named x0, x1, ...), or their
        names; ``expr.variables`` lists those that do appear, in order of
        first appearance, and ``expr.fn`` takes one Value for each.
    ops: names of rows of the primitive table to use (``autograd.PRIMITIVES``
        keys and ``'**<number>'``, except the fused ``sum`` and ``dot``).
    """
    if not isinstance(max_depth, int) or max_depth < 0:
        raise ValueError(f"max_depth must be an int >= 0, got {max_depth!r}")
    names = _variable_names(variables)
    count = names if isinstance(names, int) else len(names)
    ops = _canonical_ops(ops)
    # Binary ops are drawn three times as often as their share of ops (the
    # repeats come last, so shrinking still prefers the first op given): trees
    # then branch and mix variables instead of being chains of functions.
    ops_drawn = st.sampled_from(ops + tuple(op for op in ops if op in BINARY) * 2)
    # Inputs shrink towards 1.0, inside every domain and away from every kink.
    inputs = reals(1.0 - INPUT_HIGH, 1.0 - INPUT_LOW).map(lambda t: 1.0 - t)

    @st.composite
    def draw_expression(draw) -> Expression:
        point = [draw(inputs) for _ in range(count)]

        def variable() -> tuple[Node, float, float]:
            index = draw(st.integers(0, count - 1))
            return Node("var", (), index), point[index], 1.0

        def constant() -> tuple[Node, float, float]:
            number = draw(st.sampled_from(CONSTANTS))
            return Node("const", (), number), number, 0.0

        def subtree(depth: int, root: bool = False) -> tuple[Node, float, float]:
            # A leaf about a quarter of the time below the root; 0 shrinks to a leaf.
            if depth == 0 or (not root and draw(st.integers(0, 3)) == 0):
                return variable()
            op = draw(ops_drawn)
            if op in BINARY:
                # At most one side is a constant, so every op depends on a variable.
                constant_side = draw(st.integers(0, 3))  # 0 or 1 none, 2 right, 3 left
                if op == "**" and constant_side == 2:
                    constant_side = 0  # x ** 2 is the power row '**2', not '**'
                left = constant() if constant_side == 3 else subtree(depth - 1)
                right = constant() if constant_side == 2 else subtree(depth - 1)
                return _node(op, [left, right])
            argument = subtree(depth - 1)
            if op == "leaky_relu":
                return _node(op, [argument], draw(st.sampled_from(LEAKY_RELU_SLOPES)))
            return _node(op, [argument], _exponent(op))

        tree, _, _ = subtree(max_depth, root=True)
        return _named(tree, point, names)

    return draw_expression()


def _exponent(op: str):
    """The constant exponent of a power row such as '**2' (None for other ops)."""
    if not op.startswith("**") or op == "**":
        return None
    exponent = float(op[2:])
    return int(exponent) if exponent.is_integer() else exponent


def _named(tree: Node, point: list[float], names) -> Expression:
    """The Expression with variables named in order of first appearance."""
    appearance: dict[int, str] = {}

    def rename(node: Node) -> Node:
        if node.op == "var":
            index = node.param
            if index not in appearance:
                appearance[index] = (
                    f"x{len(appearance)}" if isinstance(names, int) else names[index]
                )
            return Node("var", (), appearance[index])
        return Node(node.op, tuple(rename(child) for child in node.args), node.param)

    renamed = rename(tree)
    return Expression(renamed, appearance.values(), [point[i] for i in appearance])
