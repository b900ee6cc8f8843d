"""micrograd code runs unchanged with ``from autograd import Value``.

Three sources: micrograd's own engine tests (test/test_engine.py of
karpathy/micrograd, reproduced here and checked against PyTorch as they are
there), the expressions of the "spelled-out intro to neural networks and
backpropagation" lecture notebook (``label=``, ``_prev``, ``_op``, manual
``_backward()`` chains, the hand-written topological sort, the tanh neuron,
the tiny MLP and its training loop), and micrograd 0.1.0 itself, installed as
the benchmark peer: where micrograd has the op, both engines must agree.

Deliberate differences (see the README): ``_prev`` is a tuple in operand
order (micrograd: a set), ``grad`` starts as 0.0 (micrograd: the int 0), op
names for relu and the ops micrograd builds as composites (``-``, ``/``, unary
minus) differ, and a second ``backward()`` doubles gradients exactly.
"""

import math
import random

import micrograd.engine
import micrograd.nn
import pytest
import torch

from autograd import Value, topological_order

MicrogradValue = micrograd.engine.Value


# -- micrograd's test/test_engine.py -----------------------------------------------------


def _sanity_check(x):
    """micrograd's test_sanity_check expression, for any scalar type with relu()."""
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    return y


@pytest.mark.torch
def test_micrograd_sanity_check_matches_pytorch_exactly():
    xmg = Value(-4.0)
    ymg = _sanity_check(xmg)

    xpt = torch.Tensor([-4.0]).double()
    xpt.requires_grad = True
    ypt = _sanity_check(xpt)

    assert ymg.data == ypt.data.item()
    assert xmg.grad == xpt.grad.item()


def _more_ops(a, b):
    """micrograd's test_more_ops expression, for any scalar type with relu()."""
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return g


@pytest.mark.torch
def test_micrograd_more_ops_match_pytorch():
    a, b = Value(-4.0), Value(2.0)
    g = _more_ops(a, b)
    g.backward()

    at = torch.tensor([-4.0], dtype=torch.float64, requires_grad=True)
    bt = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    gt = _more_ops(at, bt)
    gt.backward()

    assert g.data == pytest.approx(gt.item(), rel=1e-12)
    assert a.grad == pytest.approx(at.grad.item(), rel=1e-12)
    assert b.grad == pytest.approx(bt.grad.item(), rel=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("method", ["tanh", "exp"])
@pytest.mark.parametrize("x", [-1.0, 0.123, 2.0])
def test_micrograd_unary_tensor_fns_match_pytorch(method, x):
    xv = Value(x)
    yv = getattr(xv, method)()
    yv.backward()
    xt = torch.tensor([x], dtype=torch.float64, requires_grad=True)
    yt = getattr(xt, method)()
    yt.backward()
    assert yv.data == pytest.approx(yt.item(), rel=1e-12)
    assert xv.grad == pytest.approx(xt.grad.item(), rel=1e-12)


# -- against micrograd 0.1.0 itself ------------------------------------------------------

# Expressions over micrograd's op set: + - * / ** (number exponent), relu,
# reflected operators and unary minus, and Python's sum with a Value start.
MICROGRAD_EXPRESSIONS = {
    "more_ops": _more_ops,
    "a/b": lambda a, b: a / b,
    "a-b": lambda a, b: a - b,
    "a**2": lambda a, b: a**2 + b**3 + a**-1,
    "2*a": lambda a, b: 2 * a - 3 / b + 1 - a,
    "neg": lambda a, b: -a * -(b + 1),
    "sum with a Value start": lambda a, b: sum((w * x for w, x in ((a, b), (b, b), (a, 3.0))), a),
    "relu neuron": lambda a, b: (a * 0.5 + b * -1.5 + 0.25).relu() + (a * b).relu(),
    "shared": lambda a, b: (a + a) * (a + b) * (b * b),
}


@pytest.mark.parametrize("name", sorted(MICROGRAD_EXPRESSIONS))
@pytest.mark.parametrize("a0, b0", [(-4.0, 2.0), (1.5, 0.75), (0.3, -2.5)])
def test_same_values_and_gradients_as_micrograd(name, a0, b0):
    expression = MICROGRAD_EXPRESSIONS[name]
    a, b = Value(a0), Value(b0)
    out = expression(a, b)
    out.backward()
    ma, mb = MicrogradValue(a0), MicrogradValue(b0)
    mout = expression(ma, mb)
    mout.backward()
    # micrograd writes a / b as a * b**-1: equal up to rounding, not bit for bit.
    assert out.data == pytest.approx(mout.data, rel=1e-12, abs=1e-12)
    assert a.grad == pytest.approx(ma.grad, rel=1e-12, abs=1e-12)
    assert b.grad == pytest.approx(mb.grad, rel=1e-12, abs=1e-12)


def test_micrograd_nn_runs_on_autograd_values():
    """micrograd.nn's own Neuron/Layer/MLP code, its Value swapped for ours."""

    def train_two_steps(value_class):
        original = micrograd.nn.Value
        micrograd.nn.Value = value_class
        try:
            random.seed(7)
            model = micrograd.nn.MLP(3, [4, 4, 1])
        finally:
            micrograd.nn.Value = original
        xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
        ys = [1.0, -1.0, -1.0, 1.0]
        losses = []
        for _ in range(2):
            scores = [model([value_class(x) for x in row]) for row in xs]
            loss = sum((1 + -y * s).relu() for y, s in zip(ys, scores, strict=True))
            model.zero_grad()
            loss.backward()
            for p in model.parameters():
                p.data -= 0.05 * p.grad
            losses.append(loss.data)
        return losses, [p.data for p in model.parameters()]

    ours, theirs = train_two_steps(Value), train_two_steps(MicrogradValue)
    assert ours[0] == pytest.approx(theirs[0], rel=1e-12)
    assert ours[1] == pytest.approx(theirs[1], rel=1e-12)


# -- the lecture notebook ------------------------------------------------------------------


def _lecture_expression(h=0.0):
    """The lecture's first graph, with a nudge h on a (its lol() function)."""
    a = Value(2.0 + h, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f
    L.label = "L"
    return a, b, c, d, e, f, L


def test_lecture_graph_fields_labels_prev_and_op():
    a, b, c, d, e, f, L = _lecture_expression()
    assert L.data == -8.0 and repr(L) == "Value(data=-8.0, grad=0.0)"
    assert set(d._prev) == {e, c} and d._op == "+"
    assert set(e._prev) == {a, b} and e._op == "*"
    assert [v.label for v in (a, b, c, d, e, f, L)] == list("abcdefL")
    assert a._prev == () and a._op == ""


def test_lecture_manual_gradients_and_numerical_check():
    a, b, c, d, e, f, L = _lecture_expression()
    L.backward()
    # The lecture derives these by hand: dL/dd = f, dL/df = d, dL/de = dL/dd, ...
    assert (L.grad, f.grad, d.grad) == (1.0, 4.0, -2.0)
    assert (c.grad, e.grad) == (-2.0, -2.0)
    assert (a.grad, b.grad) == (6.0, -4.0)
    # and its lol(): nudge a by h and watch L move by about h * dL/da.
    h = 0.0001
    L1 = _lecture_expression()[-1].data
    L2 = _lecture_expression(h)[-1].data
    assert (L2 - L1) / h == pytest.approx(a.grad, rel=1e-6)


def test_lecture_one_step_of_optimisation_increases_L():
    a, b, c, d, e, f, L = _lecture_expression()
    L.backward()
    for leaf in (a, b, c, f):
        leaf.data += 0.01 * leaf.grad
    e = a * b
    d = e + c
    L2 = d * f
    assert L2.data > L.data == -8.0


def _lecture_neuron(use_exp=False):
    x1 = Value(2.0, label="x1")
    x2 = Value(0.0, label="x2")
    w1 = Value(-3.0, label="w1")
    w2 = Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    if use_exp:  # the lecture's tanh built from exp: (e^2n - 1) / (e^2n + 1)
        e = (2 * n).exp()
        o = (e - 1) / (e + 1)
    else:
        o = n.tanh()
    o.label = "o"
    return [x1, x2, w1, w2, b, x1w1, x2w2, x1w1x2w2, n, o]


def _assert_lecture_neuron_gradients(nodes):
    x1, x2, w1, w2, b, x1w1, x2w2, x1w1x2w2, n, o = nodes
    assert o.data == pytest.approx(math.sqrt(0.5), rel=1e-12)
    assert n.grad == pytest.approx(0.5, rel=1e-12)
    assert (x1w1x2w2.grad, b.grad, x1w1.grad, x2w2.grad) == pytest.approx([0.5] * 4, rel=1e-12)
    assert x1.grad == pytest.approx(-1.5, rel=1e-12)
    assert w1.grad == pytest.approx(1.0, rel=1e-12)
    assert x2.grad == pytest.approx(0.5, rel=1e-12)
    assert w2.grad == 0.0


def test_lecture_neuron_manual_backward_chain():
    nodes = _lecture_neuron()
    x1, x2, w1, w2, b, x1w1, x2w2, x1w1x2w2, n, o = nodes
    o.grad = 1.0
    o._backward()
    n._backward()
    b._backward()  # a leaf: nothing to do, as in micrograd
    x1w1x2w2._backward()
    x2w2._backward()
    x1w1._backward()
    _assert_lecture_neuron_gradients(nodes)


def test_lecture_hand_written_topological_sort_then_backward_calls():
    nodes = _lecture_neuron()
    o = nodes[-1]
    topo = []
    visited = set()

    def build_topo(v):
        if v not in visited:
            visited.add(v)
            for child in v._prev:
                build_topo(child)
            topo.append(v)

    build_topo(o)
    assert topo == topological_order(o)  # the same order as the engine's own
    o.grad = 1.0
    for node in reversed(topo):
        node._backward()
    _assert_lecture_neuron_gradients(nodes)


@pytest.mark.parametrize("use_exp", [False, True])
def test_lecture_neuron_backward_with_tanh_or_its_exp_form(use_exp):
    nodes = _lecture_neuron(use_exp)
    nodes[-1].backward()
    _assert_lecture_neuron_gradients(nodes)


def test_lecture_bug_a_plus_a_accumulates():
    a = Value(3.0, label="a")
    b = a + a
    b.label = "b"
    b.backward()
    assert a.grad == 2.0

    a, b = Value(-2.0, label="a"), Value(3.0, label="b")
    d = a * b
    e = a + b
    f = d * e
    f.backward()
    assert (a.grad, b.grad) == (-3.0, -8.0)


def test_lecture_operators_with_numbers():
    a, b = Value(2.0), Value(4.0)
    assert (a + 1).data == 3.0 and (1 + a).data == 3.0
    assert (a * 2).data == 4.0 and (2 * a).data == 4.0
    assert (a / b).data == 0.5 and (a - b).data == -2.0 and (a**2).data == 4.0
    assert a.exp().data == pytest.approx(math.exp(2.0))


def test_lecture_trace_function_sees_nodes_and_edges():
    def trace(root):  # the lecture's graphviz helper, verbatim in spirit
        nodes, edges = set(), set()

        def build(v):
            if v not in nodes:
                nodes.add(v)
                for child in v._prev:
                    edges.add((child, v))
                    build(child)

        build(root)
        return nodes, edges

    nodes, edges = trace(_lecture_expression()[-1])
    assert len(nodes) == 7 and len(edges) == 6
    names = {(child.label, parent.label) for child, parent in edges}
    assert ("e", "d") in names and ("a", "e") in names and ("f", "L") in names


class _LectureNeuron:
    def __init__(self, nin):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(random.uniform(-1, 1))

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x, strict=True)), self.b)
        return act.tanh()

    def parameters(self):
        return self.w + [self.b]


class _LectureLayer:
    def __init__(self, nin, nout):
        self.neurons = [_LectureNeuron(nin) for _ in range(nout)]

    def __call__(self, x):
        outs = [n(x) for n in self.neurons]
        return outs[0] if len(outs) == 1 else outs

    def parameters(self):
        return [p for neuron in self.neurons for p in neuron.parameters()]


class _LectureMLP:
    def __init__(self, nin, nouts):
        sz = [nin] + nouts
        self.layers = [_LectureLayer(sz[i], sz[i + 1]) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


@pytest.mark.torch
def test_lecture_mlp_training_loop_matches_pytorch_step_for_step():
    random.seed(42)
    n = _LectureMLP(3, [4, 4, 1])
    start = [p.data for p in n.parameters()]
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]

    # The same model on 0-d float64 tensors, one per parameter, same order.
    params_t = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in start]

    def forward_torch(x):
        it = iter(params_t)
        for nin, nout in ((3, 4), (4, 4), (4, 1)):
            outs = []
            for _ in range(nout):
                w = [next(it) for _ in range(nin)]
                bias = next(it)
                outs.append(sum((wi * xi for wi, xi in zip(w, x, strict=True)), bias).tanh())
            x = outs
        return x[0]

    for _ in range(5):
        ypred = [n(x) for x in xs]
        loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred, strict=True))
        for p in n.parameters():
            p.grad = 0.0
        loss.backward()
        for p in n.parameters():
            p.data += -0.1 * p.grad

        loss_t = sum((forward_torch(x) - y) ** 2 for x, y in zip(xs, ys, strict=True))
        for p in params_t:
            p.grad = None
        loss_t.backward()
        with torch.no_grad():
            for p in params_t:
                p += -0.1 * p.grad
        assert loss.data == pytest.approx(loss_t.item(), rel=1e-9)
    assert [p.data for p in n.parameters()] == pytest.approx(
        [p.item() for p in params_t], rel=1e-9
    )
