"""The table of primitives: every operation the engine can differentiate.

Each row pairs a forward function on floats with its local derivatives. A rule
``local_grads(*inputs, out)`` returns d(out)/d(input_i) for each input, given
the inputs and the output (passing the output lets exp, tanh and sigmoid reuse
it). Rules are pure and written with ordinary arithmetic plus the few helpers
below, so the same rule serves two paths:

* ``backward()`` calls it with floats (the fast path);
* ``grad(..., create_graph=True)`` calls it with Values, so the derivative is
  itself a graph that can be differentiated again.

The engine applies the chain rule (``child.grad += upstream * local``); no rule
accumulates anything. Adding an operation is adding a row. ``-``, ``/`` and
unary minus are rows too, not composites as in micrograd (``a * b**-1``): one
node instead of two or three, so graphs are smaller, faster and read like the
expression that built them, and ``a / b`` rounds exactly as PyTorch's does.

Derivatives at kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0 and
leaky_relu'(0) = slope.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from . import ieee


# Helpers that work on floats (IEEE semantics, never raising) and on Values
# (building graph), so one rule serves both paths. Values provide the methods.
# The plain float operation is tried first: it is the common case, and one
# call cheaper than going through ieee.
def _log(x):
    if type(x) is float:
        try:
            return math.log(x)
        except ValueError:
            return ieee.log(x)
    return x.log()


def _exp(x):
    return ieee.exp(x) if type(x) is float else x.exp()


def _sin(x):
    return ieee.sin(x) if type(x) is float else x.sin()


def _cos(x):
    return ieee.cos(x) if type(x) is float else x.cos()


def _div(a, b):  # b is a float or a Value; a is then a float or a number
    if type(b) is float:
        try:
            return a / b
        except ZeroDivisionError:
            return ieee.div(a, b)
    return a * b**-1


def _pow(x, y):  # in the Value path x is always a Value
    if type(x) is float:
        try:
            return math.pow(x, y)
        except (OverflowError, ValueError):
            return ieee.power(x, y)
    return x**y


# Codes of the rows whose chain rule the engine's backward writes out (engine.py),
# numbered by arity so that backward finds a row in a few comparisons: binary
# rows below FIRST_UNARY, unary rows below FIRST_N_ARY, then the n-ary ones.
# GENERIC rows call local_grads; HAND_BUILT_CLOSURE and HAND_BUILT_LABEL are
# micrograd-style nodes (value.py).
(C_ADD, C_MUL, C_SUB, C_DIV,
 C_RELU, C_SQUARE, C_POWK, C_TANH, C_NEG,
 C_DOT, C_SUM,
 GENERIC, HAND_BUILT_CLOSURE, HAND_BUILT_LABEL) = range(14)
FIRST_UNARY, FIRST_N_ARY = C_RELU, C_DOT


@dataclass(frozen=True, eq=False)
class Primitive:
    """One row of the table.

    ``name`` is the op shown on graphs (``Value._op``); ``arity`` is 1, 2 or
    None for n-ary rows; ``domain`` gives, per input, an interval where the
    function is smooth and well conditioned, and ``kinks`` the points to keep
    away from (test generators and strategies draw inputs from these).

    A parametrised row carries its parameter as data, so that nothing (the
    tape's compiler included) ever parses an op name: ``family`` names the
    family of rows (``'**k'`` for every constant power, ``'leaky_relu'`` for
    every slope; a plain row's family is its name) and ``param`` is the
    exponent or the slope (None for plain rows).

    ``code`` is a small integer the engine's backward loop dispatches on: the
    commonest rows have their chain rule written out there (the same numbers
    as ``local_grads``, in the same order); ``GENERIC`` rows call
    ``local_grads``.
    """

    name: str
    arity: int | None
    forward: Callable[..., float]
    local_grads: Callable[..., tuple]
    domain: tuple[tuple[float, float], ...] = ((-3.0, 3.0),)
    kinks: tuple[float, ...] = ()
    family: str = ""
    param: float | None = None
    code: int = GENERIC  # how the engine's backward dispatches the row (see the codes above)

    def __post_init__(self):
        if not self.family:
            object.__setattr__(self, "family", self.name)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


def _relu_grads(x, out):
    return (1.0 if x > 0.0 else 0.0,)  # relu'(0) = 0, as PyTorch


def _abs_grads(x, out):
    return (1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0,)  # abs'(0) = 0, as PyTorch


def _pow_grads(x, y, out):
    # d/dy = x**y * log(x). At x == 0 with y >= 0 that is 0 * -inf; PyTorch
    # defines it as 0, and so do we.
    d_dy = 0.0 if float(x) == 0.0 and y >= 0.0 else out * _log(x)
    return (y * _pow(x, y - 1.0), d_dy)


def _dot_forward(*values):
    half = len(values) // 2
    try:
        return math.fsum(map(operator.mul, values[:half], values[half:]))
    except (OverflowError, ValueError):  # IEEE's inf or nan instead (rare: read the terms again)
        return ieee.fsum(list(map(operator.mul, values[:half], values[half:])))


def _dot_grads(*values_and_out):
    values = values_and_out[:-1]
    half = len(values) // 2
    # d(sum w_i x_i)/dw_i = x_i and d/dx_i = w_i
    return values[half:] + values[:half]


def _sum_forward(*values):
    return ieee.fsum(values)


def _number(x) -> float:
    """The float of a float or a Value (rules compare numbers, never Values' identity)."""
    return x if type(x) is float else x.data


def _max_forward(*values):
    top = max(values)
    # nan wins, as torch.max: Python's max would ignore a nan after the first element
    return top if top == top and all(v == v for v in values) else ieee.nan


def _max_grads(*values_and_out):
    # All of the gradient goes to the first maximum (a nan counts as the maximum),
    # as PyTorch's max-pooling does; the others get 0.
    *values, out = values_and_out
    out = _number(out)
    hit = next(
        (i for i, v in enumerate(map(_number, values)) if v == out or v != v), 0
    )
    return tuple(1.0 if i == hit else 0.0 for i in range(len(values)))


def _logsumexp_forward(*values):
    # log(sum(exp(v))) shifted by the largest input, so no exp overflows; with an
    # infinite or nan maximum there is nothing to shift by and IEEE takes over.
    top = max(values)
    if not math.isfinite(top):
        return ieee.log(ieee.fsum([ieee.exp(v) for v in values]))
    return top + math.log(math.fsum([math.exp(v - top) for v in values]))


def _logsumexp_grads(*values_and_out):
    # d/dv_i log(sum_j exp(v_j)) = exp(v_i - out): the softmax of the inputs
    *values, out = values_and_out
    return tuple(_exp(v - out) for v in values)


def _sum_grads(*values_and_out):
    return (1.0,) * (len(values_and_out) - 1)


ADD = Primitive("+", 2, operator.add, lambda a, b, out: (1.0, 1.0), code=C_ADD)
SUB = Primitive("-", 2, operator.sub, lambda a, b, out: (1.0, -1.0), code=C_SUB)
MUL = Primitive("*", 2, operator.mul, lambda a, b, out: (b, a), code=C_MUL)
DIV = Primitive(
    "/", 2, ieee.div, lambda a, b, out: (_div(1.0, b), -_div(out, b)),
    domain=((-3.0, 3.0), (0.5, 3.0)), code=C_DIV,
)
NEG = Primitive("neg", 1, operator.neg, lambda x, out: (-1.0,), code=C_NEG)
POW = Primitive("**", 2, ieee.power, _pow_grads, domain=((0.2, 3.0), (-2.5, 2.5)))
EXP = Primitive("exp", 1, ieee.exp, lambda x, out: (out,))
LOG = Primitive("log", 1, ieee.log, lambda x, out: (_div(1.0, x),), domain=((0.1, 5.0),))
SQRT = Primitive("sqrt", 1, ieee.sqrt, lambda x, out: (_div(0.5, out),), domain=((0.1, 5.0),))
TANH = Primitive("tanh", 1, math.tanh, lambda x, out: (1.0 - out * out,), code=C_TANH)
SIGMOID = Primitive("sigmoid", 1, ieee.sigmoid, lambda x, out: (out * (1.0 - out),))
RELU = Primitive(
    "relu", 1, lambda x: 0.0 if x <= 0.0 else x, _relu_grads, kinks=(0.0,), code=C_RELU
)
ABS = Primitive("abs", 1, abs, _abs_grads, kinks=(0.0,))
SIN = Primitive("sin", 1, ieee.sin, lambda x, out: (_cos(x),))
COS = Primitive("cos", 1, ieee.cos, lambda x, out: (-_sin(x),))
# Fused n-ary rows: one node instead of a chain of binary ones. ``dot`` takes
# its children as (w_1..w_n, x_1..x_n). Both sum with fsum, so the result does
# not depend on the order of the terms.
SUM = Primitive("sum", None, _sum_forward, _sum_grads, code=C_SUM)
DOT = Primitive("dot", None, _dot_forward, _dot_grads, code=C_DOT)
# The largest input (max-pooling; the gradient goes to the first maximum, as
# PyTorch) and a stable log-sum-exp (cross-entropy and softmax). Neither reads
# a number to choose the graph's shape, so both trace onto a tape.
MAX = Primitive("max", None, _max_forward, _max_grads, kinks=())
LOGSUMEXP = Primitive("logsumexp", None, _logsumexp_forward, _logsumexp_grads)


@lru_cache(maxsize=1024)
def power_of(exponent: float) -> Primitive:
    """The row for ``x ** exponent`` with a constant exponent (micrograd's ``**2``).

    An int too large for a float (``10**400``) is +-inf, as converting it to a
    float in numpy or PyTorch gives; ``x ** inf`` and ``x ** nan`` are C's pow.
    """
    if type(exponent) is int and exponent.bit_length() > 1000:
        as_float = ieee.to_float(exponent)
        if math.isinf(as_float):
            return power_of(as_float)
    lowered = exponent - 1

    def forward(x):  # _pow inlined: the commonest unary op after the activations
        try:
            return math.pow(x, exponent)
        except (OverflowError, ValueError):
            return ieee.power(x, exponent)

    code = GENERIC
    if exponent == 0:  # PyTorch: the derivative of x ** 0 is 0 everywhere
        grads = lambda x, out: (0.0,)
    elif exponent == 2:  # the square, the commonest power: 2 * x ** 1 is 2 * x
        grads = lambda x, out: (2.0 * x,)
        code = C_SQUARE
    else:
        grads = lambda x, out: (exponent * _pow(x, lowered),)
        code = C_POWK
    integer = math.isfinite(exponent) and exponent == int(exponent)
    positive_only = not integer or exponent < 0
    return Primitive(
        f"**{exponent}",
        1,
        forward,
        grads,
        domain=((0.2, 3.0),) if positive_only else ((-3.0, 3.0),),
        family="**k",
        param=exponent,
        code=code,
    )


LEAKY_RELU_SLOPE = 0.01  # the default negative slope, as torch.nn.functional.leaky_relu


@lru_cache(maxsize=1024)
def leaky_relu_of(slope: float) -> Primitive:
    """The row for leaky_relu with the given negative slope; f'(0) = slope, as PyTorch."""
    return Primitive(
        "leaky_relu",
        1,
        lambda x: x if x > 0.0 else x * slope,
        lambda x, out: (1.0 if x > 0.0 else slope,),
        kinks=(0.0,),
        family="leaky_relu",
        param=slope,
    )


# The table, by name. power_of and leaky_relu_of make parametrised rows; their
# representative rows (x ** 3, the default slope) stand in for them here.
PRIMITIVES: dict[str, Primitive] = {
    p.name: p
    for p in (
        ADD, SUB, MUL, DIV, NEG, POW, EXP, LOG, SQRT, TANH, SIGMOID, RELU, ABS, SIN, COS,
        SUM, DOT, MAX, LOGSUMEXP,
        power_of(3), power_of(-1), power_of(0.5), leaky_relu_of(LEAKY_RELU_SLOPE),
    )
}


# The fused n-ary rows (arity None): built by autograd.sum, dot, max and logsumexp,
# not by operators, so the expression syntax has none of them.
N_ARY: tuple[str, ...] = tuple(name for name, row in PRIMITIVES.items() if row.arity is None)


def lookup(name: str) -> Primitive | None:
    """The row for an op name as stored in ``Value._op`` (including ``**2``)."""
    row = PRIMITIVES.get(name)
    if row is None and name.startswith("**"):
        try:
            exponent = float(name[2:])
        except ValueError:
            return None
        return power_of(int(exponent) if exponent.is_integer() else exponent)
    return row
