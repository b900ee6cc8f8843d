"""gradcheck: compare backward's gradients with central finite differences.

``gradcheck(f, inputs)`` evaluates ``f`` on Values made from ``inputs``, runs
``backward()`` and compares each input's gradient with the central difference
``(f(x + eps) - f(x - eps)) / (2 eps)``. A gradient passes when

    |analytic - numeric| <= atol + rtol * |numeric|

(``numpy.allclose``'s rule, as PyTorch's gradcheck uses). On any failure it
raises ``GradcheckError``, an AssertionError, so pytest shows its table: one
row per input with its value, the analytic and numeric gradients, the
absolute and relative errors and which rows failed. Otherwise it returns a
``GradcheckResult``, which is truthy and prints the same table.

``order=2`` (or ``gradgradcheck``) also checks second derivatives, as JAX's
``check_grads(order=2)`` and PyTorch's ``gradgradcheck`` do: the gradients
built by ``grad(..., create_graph=True)`` are differentiated again and
compared with central differences of the first-order gradients from
``backward()``. That catches a rule whose float path is right but whose
create_graph path is not.

Kinks and other false alarms. Finite differences assume ``f`` is smooth on
``[x - eps, x + eps]``. Near a kink (relu, abs and leaky_relu at 0) the
central difference averages the two one-sided slopes: ``relu`` at
``x = 1e-7`` has derivative 1, but ``(relu(x+eps) - relu(x-eps)) / 2eps`` is
about 0.55. Exactly at the kink the engine follows PyTorch (relu'(0) = 0,
abs'(0) = 0) while the difference gives 0.5 (relu) or 0 (abs). To avoid
false alarms: keep inputs (and the arguments of kinked ops) further than
``eps`` from kinks, as ``autograd.strategies`` does; keep away from
singularities (``log``/``sqrt``/division near 0), where the difference is
inaccurate; and prefer inputs of moderate size, since the rounding error of
the difference grows like ``1e-16 * |f| / eps``. When a failing check has a
kinked op within ``1000 * eps`` of its kink, the error says so.

Non-finite numbers: a row passes only if both gradients are finite (or are
the same infinity); a nan never passes.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .engine import grad, topological_order
from .value import Value

KINK_WARNING_DISTANCE = 1000.0  # in units of eps: how close to a kink earns a note


class GradcheckError(AssertionError):
    """Analytic and numeric gradients disagree; ``.result`` holds the full comparison."""

    def __init__(self, message: str, result: GradcheckResult):
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class GradcheckRow:
    """One compared derivative: ``name`` is the input (``x0``) or, for a second
    derivative, ``d2f/dx{i}dx{j}`` with ``value`` the pair of input values."""

    name: str
    value: float | tuple[float, float]
    analytic: float
    numeric: float
    abs_err: float
    rel_err: float
    ok: bool


@dataclass(frozen=True)
class GradcheckResult:
    """The outcome of gradcheck: rows per checked derivative; truthy iff every row passed."""

    rows: tuple[GradcheckRow, ...]
    output: float
    eps: float
    atol: float
    rtol: float
    notes: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return all(row.ok for row in self.rows)

    @property
    def failures(self) -> tuple[GradcheckRow, ...]:
        return tuple(row for row in self.rows if not row.ok)

    def __bool__(self) -> bool:
        return self.passed

    def table(self) -> str:
        """The comparison as an aligned text table, one row per derivative."""
        header = ("input", "value", "analytic", "numeric", "abs err", "rel err", "")
        body = [
            (
                row.name,
                ", ".join(_number(v) for v in row.value)
                if isinstance(row.value, tuple)
                else _number(row.value),
                _number(row.analytic),
                _number(row.numeric),
                f"{row.abs_err:.2e}",
                f"{row.rel_err:.2e}",
                "ok" if row.ok else "FAILED",
            )
            for row in self.rows
        ]
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
        return "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
            for line in [header, *body]
        )

    def __str__(self) -> str:
        verdict = "passed" if self.passed else f"{len(self.failures)} of {len(self.rows)} failed"
        return (
            f"gradcheck {verdict} (eps={self.eps}, atol={self.atol}, rtol={self.rtol}; "
            f"f = {_number(self.output)})\n{self.table()}"
        )


def _number(x: float) -> str:
    return f"{x:.10g}"


def _compare(name, value, analytic: float, numeric: float, atol: float, rtol: float):
    if math.isfinite(analytic) and math.isfinite(numeric):
        abs_err = abs(analytic - numeric)
        ok = abs_err <= atol + rtol * abs(numeric)
    else:  # same infinity passes; a nan or a single infinity does not
        abs_err = math.inf if analytic != numeric else 0.0
        ok = analytic == numeric
    if abs_err == 0.0:
        rel_err = 0.0
    else:
        rel_err = abs_err / abs(numeric) if numeric != 0.0 and math.isfinite(numeric) else math.inf
    return GradcheckRow(name, value, analytic, numeric, abs_err, rel_err, ok)


def _as_floats(inputs, name: str = "gradcheck's inputs") -> list[float]:
    """inputs (numbers or Values) as floats; TypeError naming ``name`` and the culprit."""
    if isinstance(inputs, (numbers.Real, Value)):
        raise TypeError(f"{name} must be a sequence of numbers; wrap a single one: [x]")
    try:
        items = list(inputs)
    except TypeError:
        raise TypeError(
            f"{name} must be a sequence of numbers, got {type(inputs).__name__}"
        ) from None
    floats = []
    for i, x in enumerate(items):
        if isinstance(x, Value):
            x = x.data
        if not isinstance(x, numbers.Real):
            raise TypeError(f"{name}[{i}] must be a real number, got {type(x).__name__}")
        floats.append(float(x))
    return floats


def _leaves(point: Sequence[float]) -> list[Value]:
    return [Value(x, label=f"x{i}") for i, x in enumerate(point)]


def _evaluate(f: Callable, leaves: list[Value]) -> Value:
    out = f(*leaves)
    if not isinstance(out, Value):
        raise TypeError(
            f"gradcheck's f must return a Value, got {type(out).__name__}: {out!r:.60}"
        )
    return out


def _output(f: Callable, point: Sequence[float]) -> float:
    return _evaluate(f, _leaves(point)).data


def _gradient(f: Callable, point: Sequence[float]) -> tuple[float, list[float]]:
    """f's value and its gradient by backward() (the fast path users run).

    The ``.grad`` of every other node, such as the parameters f closes over,
    is put back as it was.
    """
    leaves = _leaves(point)
    out = _evaluate(f, leaves)
    nodes = topological_order(out)
    before = [node.grad for node in nodes]
    out.backward()
    gradient = [leaf.grad for leaf in leaves]
    for node, kept in zip(nodes, before, strict=True):
        node.grad = kept
    return out.data, gradient


def _shifted(point: Sequence[float], index: int, delta: float) -> list[float]:
    moved = list(point)
    moved[index] += delta
    return moved


def _kink_notes(f: Callable, point: Sequence[float], eps: float) -> tuple[str, ...]:
    """Notes for every kinked op whose argument lies within KINK_WARNING_DISTANCE*eps of a kink."""
    notes = []
    for node in topological_order(_evaluate(f, _leaves(point))):
        rule = node._rule
        if rule is None or not rule.kinks:
            continue
        argument = node._prev[0].data
        for kink in rule.kinks:
            if abs(argument - kink) <= KINK_WARNING_DISTANCE * eps:
                notes.append(
                    f"note: the argument of {rule.name} is {argument!r}, within "
                    f"{KINK_WARNING_DISTANCE * eps:g} of its kink at {kink:g}; finite "
                    "differences straddle the kink there, so this may be a false alarm "
                    "(move the input away from the kink)"
                )
    return tuple(notes)


def _first_order_rows(f, point, eps, atol, rtol):
    output, analytic = _gradient(f, point)
    rows = []
    for i, x in enumerate(point):
        numeric = (_output(f, _shifted(point, i, eps)) - _output(f, _shifted(point, i, -eps))) / (
            2 * eps
        )
        rows.append(_compare(f"x{i}", x, analytic[i], numeric, atol, rtol))
    return output, rows


def _second_order_rows(f, point, eps, atol, rtol):
    leaves = _leaves(point)
    out = _evaluate(f, leaves)
    first = grad(out, leaves, create_graph=True)
    hessian = [[g.data for g in grad(gradient, leaves)] for gradient in first]
    rows = []
    for j in range(len(point)):
        _, above = _gradient(f, _shifted(point, j, eps))
        _, below = _gradient(f, _shifted(point, j, -eps))
        for i in range(len(point)):
            numeric = (above[i] - below[i]) / (2 * eps)
            name = f"d2f/dx{i}dx{j}"
            rows.append(
                _compare(name, (point[i], point[j]), hessian[i][j], numeric, atol, rtol)
            )
    return out.data, rows


def gradcheck(
    f: Callable[..., Value],
    inputs: Sequence[float],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    order: int = 1,
    raise_exception: bool = True,
) -> GradcheckResult:
    """Checks f's gradients at ``inputs`` against central differences; raises GradcheckError.

    ``f`` takes one Value per input and returns a Value. ``order=2`` checks
    second derivatives too (see ``gradgradcheck``). With
    ``raise_exception=False`` a failing check returns a falsy result instead
    of raising.
    """
    if order not in (1, 2):
        raise ValueError(f"gradcheck's order must be 1 or 2, got {order!r}")
    orders = (1, 2) if order == 2 else (1,)
    return _check("gradcheck", f, inputs, eps, atol, rtol, orders, raise_exception)


def gradgradcheck(
    f: Callable[..., Value],
    inputs: Sequence[float],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    raise_exception: bool = True,
) -> GradcheckResult:
    """Checks f's second derivatives (from ``grad(create_graph=True)``) against differences.

    Row ``d2f/dx{i}dx{j}`` compares d/dx_j of the create_graph gradient
    d(f)/dx_i with the central difference, in x_j, of backward's gradient.
    """
    return _check("gradgradcheck", f, inputs, eps, atol, rtol, (2,), raise_exception)


def _check(who, f, inputs, eps, atol, rtol, orders, raise_exception) -> GradcheckResult:
    """Compares the derivatives of the given orders; raises or returns the result."""
    if not (eps > 0 and math.isfinite(eps)):
        raise ValueError(f"{who}'s eps must be a positive finite number, got {eps!r}")
    point = _as_floats(inputs)
    rows = []
    for order in orders:
        compare = _first_order_rows if order == 1 else _second_order_rows
        output, rows_of_order = compare(f, point, eps, atol, rtol)
        rows += rows_of_order
    return _finish(f, point, output, rows, eps, atol, rtol, raise_exception)


def _finish(f, point, output, rows, eps, atol, rtol, raise_exception) -> GradcheckResult:
    result = GradcheckResult(tuple(rows), output, eps, atol, rtol)
    if result.passed:
        return result
    result = GradcheckResult(
        result.rows, output, eps, atol, rtol, notes=_kink_notes(f, point, eps)
    )
    if not raise_exception:
        return result
    name = getattr(f, "__qualname__", type(f).__name__)
    owner = getattr(f, "__self__", None)
    if owner is not None and type(owner).__repr__ is not object.__repr__:
        name = f"{name} of {owner!r}"
    message = (
        f"gradient check of {name} at {point} failed: analytic derivatives disagree "
        f"with central finite differences in {len(result.failures)} of {len(rows)} rows "
        f"(a row fails when |analytic - numeric| > atol + rtol * |numeric|)\n{result}"
    )
    if result.notes:
        message += "\n" + "\n".join(result.notes)
    raise GradcheckError(message, result)
