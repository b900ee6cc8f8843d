"""Notebook 01: The chain rule by hand (its cells, read by notebooks/build.py)."""

from build import code, md

CELLS = [
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
name, data and gradient (a box without a label of its own is named `n{i}`,
its place in the topological order), every circle the operation that made
it. Blue gradients are positive, red negative; the deeper the colour, the
larger, each shade a step of about ×3 (the legend gives the ranges). The
loss's own gradient, 1, does not set the scale, so the nine parameter
gradients, 0.0007 to 0.054, take three different shades: `w12` and `w22`
barely matter, the output layer's parameters most.
"""),
    code("draw_dot(loss, rankdir='TB')  # top to bottom: the 28 boxes fit the page's width"),
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
