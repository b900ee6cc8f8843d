"""Float functions with IEEE-754 semantics, as numpy and PyTorch have them.

Python's float arithmetic raises where IEEE arithmetic returns a special value:
``1.0 / 0.0`` raises ZeroDivisionError, ``math.log(0.0)`` raises ValueError,
``math.exp(1000.0)`` raises OverflowError and ``(-8.0) ** 0.5`` even returns a
complex number. The engine promises that no such exception escapes from an
operation or from backward, so every primitive that could raise goes through
one of these functions. Each tries the plain C function first (the common,
fast case) and only works out the special value when that raises.
"""

import math

inf = math.inf
nan = math.nan


def to_float(x) -> float:
    """float(x), giving +-inf for a number too large for a float (an int such as 10**400).

    numpy's and PyTorch's conversions of such a number overflow to inf too,
    where Python's ``float()`` raises OverflowError.
    """
    try:
        return float(x)
    except OverflowError:
        return inf if x > 0 else -inf


def _odd_integer(y: float) -> bool:
    return math.isfinite(y) and y == int(y) and int(y) % 2 == 1


def div(a: float, b: float) -> float:
    """a / b, giving +-inf for a nonzero a over zero and nan for 0/0."""
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0.0 or a != a:
            return nan
        # The sign of a zero divisor matters: 1 / -0.0 is -inf.
        return math.copysign(inf, a) * math.copysign(1.0, b)


def power(x: float, y: float) -> float:
    """x ** y as C's pow: nan outside the real domain, +-inf on overflow or 0 ** -y."""
    try:
        return math.pow(x, y)
    except OverflowError:
        odd_integer = _odd_integer(y)
        if abs(x) < 1.0:  # tiny ** large negative
            return math.copysign(inf, x) if odd_integer else inf
        return -inf if x < 0 and odd_integer else inf
    except ValueError:
        if x == 0.0:  # 0 ** negative
            odd_integer = _odd_integer(y)
            return math.copysign(inf, x) if odd_integer else inf
        return nan  # negative base, fractional exponent


def exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return inf


def log(x: float) -> float:
    try:
        return math.log(x)
    except ValueError:
        return -inf if x == 0.0 else nan


def sqrt(x: float) -> float:
    try:
        return math.sqrt(x)
    except ValueError:
        return nan


def sin(x: float) -> float:
    try:
        return math.sin(x)
    except ValueError:  # sin(+-inf)
        return nan


def cos(x: float) -> float:
    try:
        return math.cos(x)
    except ValueError:
        return nan


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x), computed so that neither branch can overflow."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    if x != x:
        return nan
    e = exp(x)
    return e / (1.0 + e)


def fsum(terms: list | tuple) -> float:
    """math.fsum, giving +-inf where the sum overflows and nan for inf + -inf."""
    try:
        return math.fsum(terms)
    except (OverflowError, ValueError):
        total = 0.0
        for term in terms:  # plain float addition follows IEEE: no exception
            total += term
        return total
