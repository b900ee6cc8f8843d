"""Writes chainrule's notebooks from the cells below; with --execute, runs them and saves outputs.

    python notebooks/build.py             # write the .ipynb files (no outputs)
    python notebooks/build.py --execute   # write, run in a kernel, save with outputs

The notebooks are committed with their outputs so they read well on GitHub;
tests/test_notebooks.py executes them again. Keeping their source here, as
plain Python lists, makes them easy to review and to edit without Jupyter.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


def md(text):
    return new_markdown_cell(text.strip())


def code(text):
    return new_code_cell(text.strip())


CHAIN_RULE = [
    md("""
# 1. The chain rule by hand

A network with two inputs, two hidden sigmoid neurons and one sigmoid output
(2-2-1), one training example, squared error. We compute the forward pass, the
loss, **every gradient by hand** with the chain rule, compare them with what
chainrule's engine computes, and take one gradient-descent step.

| | |
|---|---|
| inputs | x1 = 0.5, x2 = 0.1 |
| target | t = 0.6 |
| hidden neuron 1 | h1 = sigmoid(w11 x1 + w12 x2 + b1), w11 = 0.4, w12 = 0.3, b1 = 0.1 |
| hidden neuron 2 | h2 = sigmoid(w21 x1 + w22 x2 + b2), w21 = 0.6, w22 = 0.9, b2 = 0.2 |
| output | y = sigmoid(w31 h1 + w32 h2 + b3), w31 = 0.5, w32 = 0.7, b3 = 0.3 |
| loss | L = (y - t)² |
| learning rate | 0.1 |
"""),
    code("""
from autograd import Value
from viz import draw_dot

x1, x2 = Value(0.5, label="x1"), Value(0.1, label="x2")   # inputs are leaves of the graph too
t, lr = 0.6, 0.1
start = dict(w11=0.4, w12=0.3, w21=0.6, w22=0.9, w31=0.5, w32=0.7, b1=0.1, b2=0.2, b3=0.3)
p = {name: Value(v, label=name) for name, v in start.items()}

def forward(p):
    z1 = p["w11"] * x1 + p["w12"] * x2 + p["b1"]; z1.label = "z1"
    z2 = p["w21"] * x1 + p["w22"] * x2 + p["b2"]; z2.label = "z2"
    h1, h2 = z1.sigmoid(), z2.sigmoid()
    h1.label, h2.label = "h1", "h2"
    z3 = p["w31"] * h1 + p["w32"] * h2 + p["b3"]; z3.label = "z3"
    y = z3.sigmoid(); y.label = "y"
    loss = (y - t) ** 2; loss.label = "L"
    return h1, h2, y, loss

h1, h2, y, loss = forward(p)
print(f"h1 = {h1.data:.6f}   h2 = {h2.data:.6f}   y = {y.data:.6f}   L = {loss.data:.6f}")
"""),
    md("""
## Every gradient by hand

Write σ'(z) = σ(z)(1 − σ(z)): the derivative of a sigmoid is read off its
output. Going backward from the loss, each step multiplies by one local
derivative:

* dL/dy = 2 (y − t)
* δ3 = dL/dz3 = dL/dy · y (1 − y)
* dL/dw31 = δ3 · h1, dL/dw32 = δ3 · h2, dL/db3 = δ3
* δ1 = dL/dz1 = δ3 · w31 · h1 (1 − h1), and δ2 = δ3 · w32 · h2 (1 − h2)
* dL/dw11 = δ1 · x1, dL/dw12 = δ1 · x2, dL/db1 = δ1 (and the same for neuron 2)
"""),
    code("""
Y, H1, H2 = y.data, h1.data, h2.data
dL_dy = 2 * (Y - t)
delta3 = dL_dy * Y * (1 - Y)
delta1 = delta3 * start["w31"] * H1 * (1 - H1)
delta2 = delta3 * start["w32"] * H2 * (1 - H2)
by_hand = dict(
    w11=delta1 * x1.data, w12=delta1 * x2.data, b1=delta1,
    w21=delta2 * x1.data, w22=delta2 * x2.data, b2=delta2,
    w31=delta3 * H1, w32=delta3 * H2, b3=delta3,
)
print(f"dL/dy = {dL_dy:.6f}   delta3 = {delta3:.6f}")
print(f"delta1 = {delta1:.6f}   delta2 = {delta2:.6f}")
"""),
    md("## The same gradients from the engine"),
    code("""
loss.backward()
print(f"{'param':>6} {'by hand':>14} {'engine':>14} {'difference':>11}")
for name in start:
    difference = abs(by_hand[name] - p[name].grad)
    print(f"{name:>6} {by_hand[name]:14.10f} {p[name].grad:14.10f} {difference:11.1e}")
assert all(abs(by_hand[name] - p[name].grad) < 1e-12 for name in start)
"""),
    md("""
The whole computation as the engine recorded it: every box is a Value with its
data and its gradient, every circle the operation that made it. Green
gradients are positive, red negative; the deeper the colour, the larger.
"""),
    code("draw_dot(loss)"),
    md("""
## One gradient-descent step

Each parameter moves against its gradient: p ← p − lr · dL/dp. The loss goes
down.
"""),
    code("""
for name, param in p.items():
    param.data -= lr * param.grad
    print(f"{name:>4}: {start[name]:.4f} -> {param.data:.6f}")
_, _, y_new, loss_new = forward(p)
print(f"loss before {loss.data:.6f}, after one step {loss_new.data:.6f}")
assert loss_new.data < loss.data
"""),
    md("""
`python -m autograd` prints the same table from the command line, and
`chainrule explain` shows any expression's backward pass step by step:

    chainrule explain "sigmoid(w * x + b)" w=0.5 x=0.4 b=0.3
"""),
]


STEPPING = [
    md("""
# 2. Stepping through backward

`backward()` visits the nodes of the graph from the output back to the
inputs. At each node it multiplies the node's gradient (the *upstream*
gradient) by the *local* derivative of the node with respect to each of its
inputs, and adds the product to that input's gradient. Here we watch that
happen one step at a time.

## A neuron

The neuron of Karpathy's micrograd lecture: `o = tanh(x1 w1 + x2 w2 + b)`.
Use the buttons, the slider or the arrow keys: the current node is
highlighted, gradients fill in as the steps go, and the panel shows the
chain-rule product of the step.
"""),
    code("""
from autograd import Value, backward_steps, topological_order
from viz import draw_dot, step_through

x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
b = Value(6.8813735870195432, label="b")
x1w1 = x1 * w1; x1w1.label = "x1*w1"
x2w2 = x2 * w2; x2w2.label = "x2*w2"
x1w1x2w2 = x1w1 + x2w2; x1w1x2w2.label = "x1*w1 + x2*w2"
n = x1w1x2w2 + b; n.label = "n"
o = n.tanh(); o.label = "o"
step_through(o)
"""),
    md("""
Where the viewer's script cannot run (an untrusted notebook, or GitHub's
preview) it shows only a note. This is the pass it steps through, finished:
"""),
    code("""
o.backward()
draw_dot(o)
"""),
    md("""
The same steps as data: `autograd.backward_steps` yields one record per node,
in the order backward processes them. `added` is always `upstream × local`.
"""),
    code("""
def name(v):
    return v.label or f"{v.data:g}"

for x in (x1, x2, w1, w2, b, x1w1, x2w2, x1w1x2w2, n, o):
    x.grad = 0.0
for step in backward_steps(o):
    for child, local, added in step.contributions:
        print(f"{name(step.node):>13} ({step.node._op})  upstream {step.upstream:+.4f}"
              f"  x local {local:+.4f}  ->  adds {added:+.4f} to {name(child)}")
print({v.label: round(v.grad, 4) for v in (x1, x2, w1, w2, b)})
"""),
    md("""
## `a + a`: gradients add up

When a value is used twice, both uses send gradient back to it, so the
gradients must be **added** (`+=`), never assigned. `b = a + a` has two edges
from `a`, and db/da = 2. (An early version of micrograd assigned instead of
adding, and got 1.)
"""),
    code("""
a = Value(3.0, label="a")
b = a + a; b.label = "b"
print("children of b:", [child.label for child in b._prev])
b.backward()
print("a.grad =", a.grad)
assert a.grad == 2.0
draw_dot(b)
"""),
    md("""
## Why a topological order

A node may pass its gradient on only when it is **complete**: when every
node that consumes it has already added its share. Backward therefore
processes the nodes in reverse *topological* order (every node after all of
its consumers).

Here is what goes wrong with a plausible-looking order instead. In
`d = b · c` with `b = 3a` and `c = a + b`, the node `b` is used twice: by `d`
and by `c`. Walking the graph breadth-first from `d` reaches `b` before `c`,
so `b` passes its gradient on before `c` has added its share.
"""),
    code("""
def graph():
    a = Value(2.0, label="a")
    b = a * 3; b.label = "b"
    c = a + b; c.label = "c"
    d = b * c; d.label = "d"
    return a, b, c, d

def backward_in_breadth_first_order(root):
    order, seen, queue = [], set(), [root]
    while queue:
        node = queue.pop(0)
        if node not in seen:
            seen.add(node)
            order.append(node)
            queue.extend(node._prev)
    root.grad = 1.0
    for node in order:
        node._backward()   # micrograd's per-node step: push node.grad into its inputs
    return order

a, b, c, d = graph()
order = backward_in_breadth_first_order(d)
print("breadth-first order:", [name(v) for v in order])
print("a.grad (breadth-first) =", a.grad)

a, b, c, d = graph()
d.backward()
print("topological order:  ", [name(v) for v in reversed(topological_order(d))])
print("a.grad (backward)      =", a.grad)
print("by hand: d = 3a (a + 3a) = 12 a², so dd/da = 24 a =", 24 * 2.0)
assert a.grad == 48.0
"""),
    md("""
In the breadth-first order `b` is processed while its gradient holds only
`d`'s share (c = 8); the 6 that `c` adds later never reaches `a`. In the
topological order, `c` comes before `b`, so `b` is complete when it is
processed. Step through it:
"""),
    code("step_through(d)"),
    code("draw_dot(d)  # the finished pass (d.backward() ran above): a.grad = 48"),
]


TRAINING = [
    md("""
# 3. Training

From a network that cannot learn XOR to one that can, then two-moons,
optimizers, regularisation, early stopping and a regression. Each run is kept
small so the notebook runs in seconds.

## A network without a hidden layer cannot learn XOR

This is the numpy listing of the seed article *BackPropagation: The Heart of
Deep Learning*: two inputs, one sigmoid output, no hidden layer (and no bias),
squared error, learning rate 0.1, 10,000 epochs.
"""),
    code("""
import numpy as np

def sigmoid(x):
    return 1 / (1 + np.exp(-x))

def sigmoid_derivative(x):   # of the output: s (1 - s)
    return x * (1 - x)

np.random.seed(42)
inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
y_true = np.array([[0], [1], [1], [0]])
weights = np.random.rand(2, 1)
for epoch in range(10000):
    predictions = sigmoid(np.dot(inputs, weights))
    loss = np.mean((y_true - predictions) ** 2)
    gradient = (y_true - predictions) * sigmoid_derivative(predictions)
    weights += 0.1 * np.dot(inputs.T, gradient)
print("final loss", round(float(loss), 4), "weights", weights.ravel().round(3))
print("predictions", sigmoid(inputs @ weights).ravel().round(3), "targets", y_true.ravel())
"""),
    md("""
The weights shrink to zero and every prediction is 0.5, with loss 0.25:
gradient descent settles on not guessing at all. Why: the output is
`sigmoid(w1 x1 + w2 x2)`, an increasing function of one weighted sum, so
the points it calls "1" are those on one side of the line
`w1 x1 + w2 x2 = 0`. XOR puts (0, 1) and (1, 0) on one side and (0, 0) and
(1, 1) on the other, and no straight line separates them. Adding a bias moves
the line but does not bend it. The same happens with chainrule's single
neuron, bias included, trained with Adam:
"""),
    code("""
import nn
from nn import MLP, Neuron, data, fit

X, y = data.xor()
neuron = Neuron(2, activation="sigmoid", seed=0)
history = fit(neuron, X, y, loss="bce", optimizer="adam", lr=0.1, epochs=300, progress=False)
print(f"one neuron: loss {history.loss[-1]:.3f}, accuracy {history.metric[-1]:.2f}")
print("outputs", [round(neuron(list(map(float, row))).data, 3) for row in X])
"""),
    md("""
## A hidden layer can

Two hidden neurons are enough in principle (one computes OR, the other AND,
the output "OR and not AND"); four train reliably.
"""),
    code("""
model = MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=1)
history = fit(model, X, y, loss="bce", optimizer="adam", lr=0.1, epochs=300, progress=False)
print(f"2-4-1: loss {history.loss[-1]:.4f}, accuracy {history.metric[-1]:.2f}")
print("outputs", [round(model(list(map(float, row))).data, 3) for row in X])
"""),
    md("""
## Two moons and the decision boundary

`nn.data.moons` draws two interleaving half circles. An MLP 2-8-8-1 with ReLU
hidden layers and a linear output trained on `bce_with_logits` separates them;
`plot_decision_boundary` shades what the model predicts over the plane.
"""),
    code("""
%matplotlib inline
from viz import draw_network, plot_decision_boundary, plot_history

X, y = data.moons(100, noise=0.1, seed=0)
model = MLP(2, [8, 8, 1], seed=0)
history = fit(model, X, y, loss="bce_with_logits", optimizer="adam", lr=0.05, epochs=40,
              batch_size=20, validation=0.2, seed=0, progress=False)
print(history)
plot_decision_boundary(model, X, y)
"""),
    md("The trained network, weights as edges (colour: sign, width: size):"),
    code("draw_network(model)"),
    md("""
## SGD, momentum and Adam

The same network and data, three optimizers with their usual learning rates.
Momentum accumulates a velocity along directions that keep the same sign;
Adam also scales each parameter's step by a running estimate of its gradient's
size.
"""),
    code("""
import matplotlib.pyplot as plt  # viz's plots are Figures too; pyplot draws the comparison

X, y = data.moons(80, noise=0.15, seed=1)
runs = {
    "SGD, lr 0.1": lambda params: nn.SGD(params, lr=0.1),
    "SGD + momentum 0.9, lr 0.1": lambda params: nn.SGD(params, lr=0.1, momentum=0.9),
    "Adam, lr 0.05": lambda params: nn.Adam(params, lr=0.05),
}
fig, ax = plt.subplots(figsize=(6, 3.5))
for label, make_optimizer in runs.items():
    model = MLP(2, [8, 1], seed=2)
    optimizer = make_optimizer(model.parameters())
    history = fit(model, X, y, loss="bce_with_logits", optimizer=optimizer, epochs=30,
                  batch_size=16, seed=0, progress=False)
    ax.plot(range(1, 31), history.loss, label=f"{label}: {history.loss[-1]:.3f}")
ax.set_xlabel("epoch"); ax.set_ylabel("training loss"); ax.set_title("two moons, MLP 2-8-1")
ax.legend();
"""),
    md("""
## L2 and dropout

With few noisy points, a larger network fits the noise: its training accuracy
is well above its accuracy on fresh points from the same distribution. An L2
penalty (`l2=`, added to the loss) pulls
weights towards zero; dropout (`MLP(..., dropout=p)`) zeroes each hidden output
with probability p during training, so no neuron can rely on another. Here
both trade a little training accuracy for better validation accuracy and loss
(on a problem this small the effect depends on the seed; try others).
"""),
    code("""
X, y = data.moons(50, noise=0.35, seed=3)
X_val, y_val = data.moons(100, noise=0.35, seed=4)
print(f"{'':<12} {'train acc':>9} {'val acc':>8} {'val loss':>8}")
for label, dropout, l2 in (("plain", 0.0, 0.0), ("L2 1e-3", 0.0, 1e-3), ("dropout 0.1", 0.1, 0.0)):
    model = MLP(2, [16, 16, 1], dropout=dropout, seed=5)
    history = fit(model, X, y, loss="bce_with_logits", optimizer="adam", lr=0.03, epochs=60,
                  batch_size=20, l2=l2, validation=(X_val, y_val), seed=0, progress=False)
    print(f"{label:<12} {history.metric[-1]:9.2f} {history.val_metric[-1]:8.2f} "
          f"{history.val_loss[-1]:8.3f}")
"""),
    md("""
## Early stopping

Hold out part of the data, watch its loss, and stop when it has not improved
for `early_stopping` epochs; `fit` then restores the parameters of the best
epoch.
"""),
    code("""
model = MLP(2, [16, 16, 1], seed=5)
history = fit(model, X, y, loss="bce_with_logits", optimizer="adam", lr=0.03, epochs=200,
              batch_size=20, validation=(X_val, y_val), early_stopping=5, seed=0, progress=False)
print(f"stopped after {history.epochs} of 200 epochs; best epoch {history.best_epoch}, "
      f"validation loss {min(history.val_loss):.3f}")
plot_history(history)
"""),
    md("""
## A regression: house prices

`data.house_prices` gives size (m²) and bedrooms → price (thousands). The
features have very different scales, so standardise them first; the loss is
mean squared error and the metric R².
"""),
    code("""
X, y = data.house_prices(120, seed=0)
X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25, seed=0)
X_train_s, mean, std = data.standardize(X_train)
X_test_s, _, _ = data.standardize(X_test, mean, std)
y_mean, y_std = y_train.mean(), y_train.std()

model = MLP(2, [8, 1], seed=0)
history = fit(model, X_train_s, (y_train - y_mean) / y_std, loss="mse", optimizer="adam",
              lr=0.03, epochs=40, batch_size=15, seed=0, progress=False)
predicted = np.array([model(list(row)).data for row in X_test_s]) * y_std + y_mean
r2 = 1 - ((y_test - predicted) ** 2).sum() / ((y_test - y_test.mean()) ** 2).sum()
print(f"training R² {history.metric[-1]:.3f}, test R² {r2:.3f}")
fig, ax = plt.subplots(figsize=(4, 4))
ax.scatter(y_test, predicted, s=12)
ax.plot([y.min(), y.max()], [y.min(), y.max()], color="grey", lw=1)
ax.set_xlabel("actual price (thousands)"); ax.set_ylabel("predicted");
"""),
    md("""
The command line does all of this for a CSV file, standardising inputs for
you: `chainrule train --dataset houses.csv --target price`.
"""),
]


GRADIENT_CHECKS = [
    md("""
# 4. Gradient checks with hypothesis

How do we know the engine's gradients are right? Three oracles: central
finite differences, PyTorch in float64 (in the test suite) and properties
checked on random expressions with hypothesis.

## gradcheck

`gradcheck(f, inputs)` compares backward's gradient of each input with the
central difference (f(x + ε) − f(x − ε)) / 2ε.
"""),
    code("""
from autograd import Value, gradcheck, GradcheckError

result = gradcheck(lambda x, w, b: (x * w + b).tanh() + x ** 2, [0.5, -1.2, 0.3])
print(result)
"""),
    md("""
It catches real mistakes. A classic one: using `.data` inside a computation
takes a number out of the graph, so backward cannot see that part of the
dependency. `x * x.data` has derivative 2x, but backward reports x:
"""),
    code("""
try:
    gradcheck(lambda x: x * x.data, [1.5])
except GradcheckError as error:
    print(error)
"""),
    md("""
## Properties on random expressions

`autograd.strategies.expressions()` draws random expression graphs over the
primitive table, with inputs inside each primitive's domain and away from
kinks. Each drawn expression prints as source you can paste into
`chainrule graph`.
"""),
    code("""
from hypothesis import given, settings, strategies as st
from autograd.strategies import expressions, reals

examples = []

@settings(max_examples=40, deadline=None, derandomize=True)
@given(expressions(max_depth=3))
def test_backward_matches_finite_differences(expr):
    examples.append(str(expr))
    gradcheck(expr.fn, expr.inputs)

test_backward_matches_finite_differences()
print(f"{len(examples)} expressions checked, for example:")
for source in list(dict.fromkeys(examples))[-5:]:
    print("  ", source)
"""),
    md("""
A second property: calling `backward()` twice without zeroing doubles every
gradient, exactly (micrograd re-propagates what is already accumulated and
gets more than double).
"""),
    code("""
@settings(max_examples=40, deadline=None, derandomize=True)
@given(expressions(max_depth=3))
def test_second_backward_doubles(expr):
    leaves = [Value(x) for x in expr.inputs]
    out = expr.fn(*leaves)
    out.backward()
    once = [leaf.grad for leaf in leaves]
    out.backward()
    assert [leaf.grad for leaf in leaves] == [2 * g for g in once]

test_second_backward_doubles()
print("doubling holds")
"""),
    md("""
## When a property fails, hypothesis shrinks the example

Claim: "the gradient of sqrt is finite everywhere on [0, 10]". hypothesis
finds a counterexample and shrinks it to the simplest one, 0.0, where
d/dx √x = 1 / (2√x) is infinite.
"""),
    code("""
import math
from hypothesis import find

def gradient_of_sqrt(x):
    v = Value(x)
    v.sqrt().backward()
    return v.grad

counterexample = find(st.floats(0, 10), lambda x: not math.isfinite(gradient_of_sqrt(x)))
print("smallest counterexample:", counterexample)
"""),
    md("""
`autograd.detect_anomaly()` stops at the first operation that turns finite
numbers into nan or inf, here the backward step of sqrt at 0:
"""),
    code("""
from autograd import detect_anomaly, AnomalyError

with detect_anomaly():
    x = Value(0.0, label="x")
    y = x.sqrt(); y.label = "y"
    try:
        y.backward()
    except AnomalyError as error:
        print(error)
"""),
]


HIGHER_ORDER = [
    md("""
# 5. Higher-order derivatives: Newton's method

`autograd.grad(f, [x], create_graph=True)` returns the derivative as a Value
*in a graph*, so it can be differentiated again. With the second derivative
we can run Newton's method, which jumps straight to where a quadratic model of
the function has its minimum: x ← x − f'(x) / f''(x).
"""),
    code("""
from autograd import Value, grad

def f(x):
    return x ** 4 - 3 * x ** 2 + x

x = Value(2.0, label="x")
y = f(x)
(dy,) = grad(y, [x], create_graph=True)
(d2y,) = grad(dy, [x])
print(f"f(2) = {y.data}, f'(2) = {dy.data}, f''(2) = {d2y.data}")
print("by hand: f'(x) = 4x³ - 6x + 1 =", 4 * 8 - 12 + 1, "  f''(x) = 12x² - 6 =", 12 * 4 - 6)
"""),
    md("Newton's method from x = 2, against gradient descent with a well-chosen step:"),
    code("""
def newton(x0, steps):
    x, path = x0, [x0]
    for _ in range(steps):
        v = Value(x)
        (d1,) = grad(f(v), [v], create_graph=True)
        (d2,) = grad(d1, [v])
        x = x - d1.data / d2.data
        path.append(x)
    return path

def gradient_descent(x0, steps, lr=0.02):
    x, path = x0, [x0]
    for _ in range(steps):
        v = Value(x)
        f(v).backward()
        x = x - lr * v.grad
        path.append(x)
    return path

newton_path, descent_path = newton(2.0, 6), gradient_descent(2.0, 6)
print(f"{'step':>4} {'Newton x':>20} {'f(x)':>10} {'descent x':>12}")
for k, (xn, xd) in enumerate(zip(newton_path, descent_path)):
    print(f"{k:>4} {xn:20.15f} {f(Value(xn)).data:10.6f} {xd:12.6f}")
"""),
    md("""
Newton's method converges quadratically: once close, the number of correct
digits doubles with every step (the minimum is at x ≈ 1.1309). Gradient
descent creeps.

## Two variables: the Hessian

For f(x, y) the second derivatives form the Hessian matrix H. Differentiate
each first derivative again, then take the Newton step Δ = −H⁻¹ ∇f. On the
Rosenbrock function, Newton's method from (−1.2, 1) reaches the minimum (1, 1)
in a handful of steps.
"""),
    code("""
import numpy as np

def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2

point = np.array([-1.2, 1.0])
for step in range(8):
    x, y = Value(point[0]), Value(point[1])
    gradient = grad(rosenbrock(x, y), [x, y], create_graph=True)
    hessian = np.array([[h.data for h in grad(g, [x, y])] for g in gradient])
    g = np.array([g.data for g in gradient])
    point = point - np.linalg.solve(hessian, g)
    print(f"step {step + 1}: x = {point[0]: .8f}, y = {point[1]: .8f}, "
          f"f = {rosenbrock(Value(point[0]), Value(point[1])).data:.3e}")
assert np.allclose(point, [1.0, 1.0])
"""),
    md("""
The derivative graph is an ordinary graph, so it can be drawn too: here f'
of f(x) = x³ at x = 2 (3x² = 12), built from the primitive rules.
"""),
    code("""
from viz import draw_dot

x = Value(2.0, label="x")
(dx,) = grad(x ** 3, [x], create_graph=True)
dx.label = "f'(x)"
draw_dot(dx)
"""),
]


NOTEBOOKS = {
    "01_chain_rule_by_hand.ipynb": CHAIN_RULE,
    "02_stepping_through_backward.ipynb": STEPPING,
    "03_training.ipynb": TRAINING,
    "04_gradient_checks.ipynb": GRADIENT_CHECKS,
    "05_higher_order.ipynb": HIGHER_ORDER,
}


def build(name: str):
    notebook = new_notebook(cells=NOTEBOOKS[name])
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index}"  # stable ids: re-running changes only what changed
    notebook.metadata["kernelspec"] = {
        "name": "python3", "display_name": "Python 3", "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


KERNEL_NAME = "chainrule-python"


def execute(notebook, timeout: int = 300):
    """Runs every cell in a fresh kernel started by this very Python (so, the venv's).

    The kernel spec is written to a temporary folder and handed to the kernel
    manager directly: a ``python3`` spec installed for the user (``ipykernel
    install --user``) may name another interpreter, which lacks chainrule.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory(prefix="chainrule-kernel-") as kernels:
        spec = Path(kernels) / KERNEL_NAME
        spec.mkdir()
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (chainrule)",
            "language": "python",
        }))
        manager = AsyncKernelManager(
            kernel_name=KERNEL_NAME, kernel_spec_manager=KernelSpecManager(kernel_dirs=[kernels])
        )
        client = NotebookClient(notebook, km=manager, timeout=timeout, record_timing=False,
                                resources={"metadata": {"path": str(HERE)}})
        client.execute()
    return notebook


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--execute", action="store_true", help="run and save outputs")
    parser.add_argument("names", nargs="*", help="notebook file names (default: all)")
    args = parser.parse_args(argv)
    for name in args.names or NOTEBOOKS:
        notebook = build(name)
        if args.execute:
            started = time.perf_counter()
            execute(notebook)
            print(f"{name}: executed in {time.perf_counter() - started:.1f} s")
        nbformat.write(notebook, HERE / name)
        print(f"wrote {HERE / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
