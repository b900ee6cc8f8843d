"""Notebook 02: Stepping through backward (its cells, read by notebooks/build.py)."""

from build import code, md

CELLS = [
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
chain-rule product of the step: the total derivative written `do/dn`, the
local one `∂o/∂n` (names of several characters in parentheses).
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
preview) it shows a note and a picture of the finished pass. This is that
pass, drawn by `draw_dot` after `backward()`:
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
