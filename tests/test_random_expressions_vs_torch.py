"""Random expression graphs against PyTorch in float64: values, gradients and second
derivatives agree to 1e-9 relative.

Each drawn expression is evaluated twice from the same tree: once on Values
(chainrule) and once with every primitive mapped to its torch function.
"""

import math
import operator

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings

from autograd import Value, grad, gradgradcheck, topological_order
from autograd.strategies import DEFAULT_OPS, expressions

pytestmark = pytest.mark.torch

RTOL = 1e-9
ATOL = 1e-12  # for results that cancel to (nearly) zero

TORCH_FUNCTIONS = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": torch.pow,
    "neg": torch.neg,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "abs": torch.abs,
    "sin": torch.sin,
    "cos": torch.cos,
    "leaky_relu": F.leaky_relu,  # (x, slope)
}


def apply_torch(op, param, args):
    """One tree node in torch; constants arrive as floats, as they do for Values."""
    if op.startswith("**") and op != "**":  # a power row: param is the exponent
        return torch.pow(args[0], param)
    if op == "**" and not isinstance(args[0], torch.Tensor):  # a constant base
        return torch.pow(torch.tensor(args[0], dtype=torch.float64), args[1])
    if op == "leaky_relu":
        return F.leaky_relu(args[0], param)
    return TORCH_FUNCTIONS[op](*args)


def test_every_op_maps_to_a_torch_function():
    named = {op for op in DEFAULT_OPS if not op.startswith("**")} | {"**"}
    assert named == set(TORCH_FUNCTIONS)


def close(ours: float, theirs: float) -> bool:
    return math.isclose(ours, theirs, rel_tol=RTOL, abs_tol=ATOL)


def torch_leaves(expr):
    return [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in expr.inputs]


def torch_env(expr, leaves):
    return dict(zip(expr.variables, leaves, strict=True))


@settings(max_examples=500)
@given(expressions(max_depth=4))
def test_values_and_gradients_match_torch_float64(expr):
    values = [Value(x) for x in expr.inputs]
    out = expr.fn(*values)
    out.backward()

    leaves = torch_leaves(expr)
    expected = expr.evaluate(torch_env(expr, leaves), apply_torch)
    expected_grads = torch.autograd.grad(expected, leaves, allow_unused=True)

    assert close(out.data, expected.item()), f"{expr!r}: {out.data} vs {expected.item()}"
    for name, value, theirs in zip(expr.variables, values, expected_grads, strict=True):
        theirs = 0.0 if theirs is None else theirs.item()
        assert close(value.grad, theirs), f"{expr!r}: d/d{name} {value.grad} vs {theirs}"


def zero_exponent(out) -> bool:
    """Whether some x ** y in out's graph has y == 0 exactly, where torch's double
    backward masks d/dy of y * x ** (y - 1) to 0 (its x ** y backward is
    ``where(y == 0, 0, ...)``): d2/dx2 of x ** (x - 1) at x = 1 is 2 (finite
    differences and chainrule agree), torch says 1."""
    return any(node._op == "**" and node._prev[1].data == 0.0 for node in topological_order(out))


@settings(max_examples=200)
@given(expressions(max_depth=3))
def test_second_derivatives_match_torch_float64(expr):
    values = [Value(x) for x in expr.inputs]
    out = expr.fn(*values)
    assume(not zero_exponent(out))  # gradgradcheck covers these points instead
    first = grad(out, values, create_graph=True)

    leaves = torch_leaves(expr)
    expected = expr.evaluate(torch_env(expr, leaves), apply_torch)
    expected_first = torch.autograd.grad(expected, leaves, create_graph=True, allow_unused=True)

    for i, (ours, theirs) in enumerate(zip(first, expected_first, strict=True)):
        row = grad(ours, values)
        if theirs is None or not theirs.requires_grad:  # constant in every input
            expected_row = [0.0] * len(leaves)
        else:
            expected_row = [
                0.0 if g is None else g.item()
                for g in torch.autograd.grad(theirs, leaves, retain_graph=True, allow_unused=True)
            ]
        for j, (mine, want) in enumerate(zip(row, expected_row, strict=True)):
            assert close(mine.data, want), f"{expr!r}: d2/dx{i}dx{j} {mine.data} vs {want}"


def test_chainrule_is_right_where_torch_masks_the_second_derivative_of_pow():
    f = lambda x0, x1: -(x0 ** (x0 - x1))  # noqa: E731
    result = gradgradcheck(f, [1.0, 1.0])  # against finite differences
    assert result.rows[0].analytic == pytest.approx(-2.0)
    x0, x1 = (torch.tensor(1.0, dtype=torch.float64, requires_grad=True) for _ in range(2))
    (first,) = torch.autograd.grad(f(x0, x1), [x0], create_graph=True)
    (second,) = torch.autograd.grad(first, [x0])
    assert second.item() == pytest.approx(-1.0)  # torch 2.13's value, off by the masked term
