"""PyTorch float64 as the oracle for whole expressions and for second derivatives.

Each hand-written expression below runs twice, once on autograd Values and
once on 0-d float64 tensors, through the same Python code (``ops`` supplies
the three functions that are spelled differently: leaky_relu, dot and sum).
Together they use every primitive of the table and every operator, including
the reflected ones, and values and gradients must agree to 1e-9 relative.
Second derivatives from ``grad(..., create_graph=True)`` applied twice are
compared with ``torch.autograd.functional.hessian``.

(Random expression graphs against PyTorch live in
tests/test_random_expressions_vs_torch.py.)
"""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value, grad

pytestmark = pytest.mark.torch
F64 = torch.float64
REL = 1e-9


class ValueOps:
    leaky_relu = staticmethod(lambda x, slope: x.leaky_relu(slope))
    dot = staticmethod(autograd.dot)
    sum = staticmethod(autograd.sum)
    max = staticmethod(autograd.max)
    logsumexp = staticmethod(autograd.logsumexp)


def _stack(values):
    return torch.stack([torch.as_tensor(v, dtype=F64) for v in values])


class TorchOps:
    leaky_relu = staticmethod(lambda x, slope: torch.nn.functional.leaky_relu(x, slope))
    dot = staticmethod(lambda ws, xs: torch.dot(_stack(ws), _stack(xs)))
    sum = staticmethod(lambda values: _stack(values).sum())
    max = staticmethod(lambda values: _stack(values).max())
    logsumexp = staticmethod(lambda values: torch.logsumexp(_stack(values), 0))


# name -> (expression(ops, *inputs), input points). Points keep every
# intermediate inside its function's smooth domain and away from kinks.
EXPRESSIONS = {
    "arithmetic and reflected operators": (
        lambda o, x, y: (x * y + 3 - x) / (y - 0.5) + 2 * x - 1 / y + 4 / (x * x + 1) - (5 - y),
        [(0.7, -1.3), (2.0, 3.0), (-1.5, 0.25)],
    ),
    "unary minus and plus": (
        lambda o, x, y: -(x * -y) + (+x) * -(y * -1.0) - (-x),
        [(0.7, -1.3), (-2.0, 0.5)],
    ),
    "powers with constant exponents": (
        lambda o, x, y: x**2 + x**3 - y**-1 + (x * x + 1) ** 0.5 + y**-2.5 + x**0 + y**1.5,
        [(0.7, 1.3), (-2.0, 0.5)],
    ),
    "powers with Value exponents and bases": (
        lambda o, x, y: x**y + 2**x + (y + 1) ** (x * 0.5) + 3.0**-y,
        [(0.7, 1.3), (1.5, 0.5), (2.0, 2.5)],
    ),
    "exp log sqrt": (
        lambda o, x, y: (x.exp() + y.exp()).log() + (x * x + y * y).sqrt() * (-x).exp(),
        [(0.7, -1.3), (-2.0, 0.5), (1.2, 2.2)],
    ),
    "tanh sigmoid as a neuron": (
        lambda o, x, y: (x * 0.3 - y * 0.8 + 0.1).tanh() * (x * y - 0.2).sigmoid(),
        [(0.7, -1.3), (-2.0, 0.5), (3.0, 3.0)],
    ),
    "relu leaky_relu abs": (
        lambda o, x, y: (x - y).relu() * 3 + (y - x).relu() + o.leaky_relu(x * y, 0.1)
        + o.leaky_relu(x - 2 * y, 0.01) + (x - 0.25).abs() * y.abs(),
        [(0.7, -1.3), (-2.0, 0.5), (1.5, 1.0)],
    ),
    "sin cos": (
        lambda o, x, y: x.sin() * y.cos() - (x * y).cos() + (x + y).sin() ** 2,
        [(0.7, -1.3), (-2.0, 0.5), (3.1, 1.0)],
    ),
    "fused dot and sum": (
        lambda o, x, y: o.dot([x, y, x * y], [y.tanh(), x, 2.0 + x])
        + o.sum([x, y * y, x.exp(), -y]),
        [(0.7, -1.3), (-2.0, 0.5)],
    ),
    "fused max and logsumexp": (
        lambda o, x, y: o.max([x, y * 2, x * y]) * o.logsumexp([x, -y, x * y, 3.0])
        + o.logsumexp([x * 400, y * 400]),
        [(0.7, -1.3), (-2.0, 0.5), (1.5, 1.0)],
    ),
    "two-layer network with softmax cross-entropy": (
        lambda o, x, y: _tiny_network(o, x, y),
        [(0.7, -1.3), (-2.0, 0.5), (1.0, 1.0)],
    ),
    "shared subexpressions": (
        lambda o, x, y: ((x * y).tanh() + x) * ((x * y).tanh() - y) * (x + x) + (x * y).sigmoid(),
        [(0.7, -1.3), (-2.0, 0.5)],
    ),
}


def _tiny_network(o, x, y):
    """2 -> 3 (tanh) -> 2 logits, softmax cross-entropy with target class 1."""
    weights = [[0.3, -0.6], [0.8, 0.2], [-0.5, 0.9]]
    hidden = [(w0 * x + w1 * y + 0.1).tanh() for w0, w1 in weights]
    logits = [o.dot([0.5, -0.7, 1.1], hidden), o.dot([-0.4, 0.6, 0.3], hidden) + 0.2]
    # log-sum-exp with the max subtracted, as a careful user writes it
    top = logits[0] if logits[0] > logits[1] else logits[1]
    log_total = o.sum([(z - top).exp() for z in logits]).log() + top
    return log_total - logits[1]


def run_autograd(expression, point):
    inputs = [Value(v) for v in point]
    out = expression(ValueOps, *inputs)
    out.backward()
    return out.data, [x.grad for x in inputs]


def run_torch(expression, point):
    inputs = [torch.tensor(v, dtype=F64, requires_grad=True) for v in point]
    out = expression(TorchOps, *inputs)
    out.backward()
    return out.item(), [x.grad.item() if x.grad is not None else 0.0 for x in inputs]


CASES = [(name, point) for name, (_, points) in EXPRESSIONS.items() for point in points]


@pytest.mark.parametrize("name, point", CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_values_and_gradients_match_pytorch(name, point):
    expression = EXPRESSIONS[name][0]
    value, grads = run_autograd(expression, point)
    value_t, grads_t = run_torch(expression, point)
    assert value == pytest.approx(value_t, rel=REL, abs=1e-12)
    assert grads == pytest.approx(grads_t, rel=REL, abs=1e-12)


def test_the_expressions_use_every_primitive_of_the_table():
    used = set()
    for expression, points in EXPRESSIONS.values():
        out = expression(ValueOps, *[Value(v) for v in points[0]])
        used |= {node._op for node in autograd.topological_order(out)}
    def family(op):  # '**2', '**-1', ... are rows of one family, made by power_of
        return "**<number>" if op.startswith("**") and op != "**" else op

    assert {family(op) for op in autograd.PRIMITIVES} - {family(op) for op in used} == set()


# -- second derivatives ---------------------------------------------------------------


def rosenbrock(o, x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def neuron_loss(o, w0, w1, b):
    out = (o.dot([w0, w1], [0.5, -1.5]) + b).sigmoid()
    return (out - 0.25) ** 2 + 0.01 * o.sum([w0 * w0, w1 * w1])


def mixed(o, x, y, z):
    return (x * y).tanh() + x**2 * z + (y / (1 + z * z)).exp() * x.sin() - (x + 2) ** y


def soft_norm(o, x, y, z):
    return (x * x + y * y + z * z + 1).sqrt().log() * (x - y + z).cos() + o.leaky_relu(x, 0.1) * y


HESSIAN_CASES = [
    (rosenbrock, (-1.2, 1.0)),
    (rosenbrock, (0.5, 0.3)),
    (neuron_loss, (0.3, -0.8, 0.1)),
    (mixed, (0.4, 1.3, -0.7)),
    (mixed, (-0.9, 0.6, 0.2)),
    (soft_norm, (0.8, -0.4, 1.1)),
]


def hessian_autograd(fn, point):
    """Each row: grad of one first derivative (built with create_graph) w.r.t. every input."""
    inputs = [Value(v) for v in point]
    first = grad(fn(ValueOps, *inputs), inputs, create_graph=True)
    return [[g.data for g in grad(d, inputs)] for d in first], [d.data for d in first]


@pytest.mark.parametrize(
    "fn, point", HESSIAN_CASES, ids=[f"{f.__name__}-{p}" for f, p in HESSIAN_CASES]
)
def test_second_derivatives_match_torch_hessian(fn, point):
    hessian, gradient = hessian_autograd(fn, point)
    at = torch.tensor(point, dtype=F64)
    expected = torch.autograd.functional.hessian(lambda v: fn(TorchOps, *v.unbind()), at)
    expected_grad = torch.autograd.functional.jacobian(lambda v: fn(TorchOps, *v.unbind()), at)
    assert gradient == pytest.approx(expected_grad.tolist(), rel=REL, abs=1e-12)
    for row, row_t in zip(hessian, expected.tolist(), strict=True):
        assert row == pytest.approx(row_t, rel=REL, abs=1e-10)
    # A Hessian of a smooth function is symmetric.
    n = len(point)
    for i in range(n):
        for j in range(i):
            assert hessian[i][j] == pytest.approx(hessian[j][i], rel=1e-9, abs=1e-12)


def test_third_derivative_through_three_create_graph_calls():
    x = Value(0.6)
    (d1,) = grad(x.sin() * x.exp(), [x], create_graph=True)
    (d2,) = grad(d1, [x], create_graph=True)
    (d3,) = grad(d2, [x])
    xt = torch.tensor(0.6, dtype=F64, requires_grad=True)
    (t1,) = torch.autograd.grad(xt.sin() * xt.exp(), xt, create_graph=True)
    (t2,) = torch.autograd.grad(t1, xt, create_graph=True)
    (t3,) = torch.autograd.grad(t2, xt)
    assert [d1.data, d2.data, d3.data] == pytest.approx([t1.item(), t2.item(), t3.item()], rel=REL)


# -- fixed templates, random inputs -------------------------------------------------------

smooth = st.floats(min_value=-2.0, max_value=2.0, allow_nan=False)


@settings(max_examples=50)
@given(smooth, smooth)
def test_network_template_matches_pytorch_at_random_inputs(x, y):
    expression = EXPRESSIONS["two-layer network with softmax cross-entropy"][0]
    value, grads = run_autograd(expression, (x, y))
    value_t, grads_t = run_torch(expression, (x, y))
    assert value == pytest.approx(value_t, rel=REL, abs=1e-12)
    assert grads == pytest.approx(grads_t, rel=REL, abs=1e-12)


def test_backward_seed_and_grad_output_scale_like_pytorch():
    point = (0.7, -1.3)
    expression = EXPRESSIONS["tanh sigmoid as a neuron"][0]
    inputs = [Value(v) for v in point]
    out = expression(ValueOps, *inputs)
    by_grad = [g.data for g in grad(out, inputs, grad_output=-2.5)]
    out.backward(-2.5)
    tensors = [torch.tensor(v, dtype=F64, requires_grad=True) for v in point]
    out_t = expression(TorchOps, *tensors)
    expected = torch.autograd.grad(out_t, tensors, grad_outputs=torch.tensor(-2.5, dtype=F64))
    assert by_grad == pytest.approx([g.item() for g in expected], rel=REL)
    assert [x.grad for x in inputs] == pytest.approx([g.item() for g in expected], rel=REL)
