"""Notebook 04: Gradient checks with hypothesis (its cells, read by notebooks/build.py)."""

from build import code, md

CELLS = [
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
numbers into nan or inf, here the backward step of sqrt at 0. The error
names the operation, its node and inputs and where the node was created (the
cell's line); the lines after those are the calling frames, here Jupyter's
own, so the cell prints the first six:
"""),
    code("""
from autograd import detect_anomaly, AnomalyError

with detect_anomaly():
    x = Value(0.0, label="x")
    y = x.sqrt(); y.label = "y"
    try:
        y.backward()
    except AnomalyError as error:
        print("\\n".join(str(error).splitlines()[:6]))
"""),
]
