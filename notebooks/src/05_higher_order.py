"""Notebook 05: Higher-order derivatives: Newton's method (its cells, read by notebooks/build.py)."""

from build import code, md

CELLS = [
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
