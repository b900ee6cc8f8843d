"""``Value``: one scalar node of a computation graph.

A Value holds a float (``data``), the gradient accumulated into it by backward
(``grad``), the nodes it was computed from (``_prev``, in operand order) and
the row of the primitive table that computed it (its ``_op`` is that row's
name). The constructor keeps micrograd's signature, so every micrograd
tutorial runs unchanged with ``from autograd import Value``.

Nodes hold references only to their inputs, never to their consumers, so a
graph has no reference cycles and is freed by reference counting as soon as
the last reference to its root goes away.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterable

from . import ieee
from . import mode as _mode
from . import primitives as P

_current_mode = _mode.current.get
_new = object.__new__
_to_float_or_inf = ieee.to_float

_mul = P.MUL.forward
_fsum = math.fsum
_math_pow = math.pow
_power_of = P.power_of


def _to_float(data) -> float:
    """data as a float; TypeError naming the type for anything not a real number.

    A number too large for a float (an int such as ``10**400``) is +-inf, as
    numpy's and PyTorch's conversions give.
    """
    if isinstance(data, numbers.Real):  # int, float, bool, Fraction, numpy real scalars
        return _to_float_or_inf(data)
    if getattr(data, "ndim", None) == 0 and getattr(data, "dtype", None) is not None:
        if data.dtype.kind in "biuf":  # a 0-d numpy array of a real type
            return float(data)
    raise TypeError(
        f"Value data must be a real number (int, float, bool, numpy real scalar or "
        f"0-d array), got {type(data).__name__}: {data!r:.60}"
    )


def _record(rule: P.Primitive, children: tuple, data: float) -> Value:
    """The node for ``rule`` applied to ``children``, whose result is ``data``."""
    mode = _current_mode()
    node = _new(Value)
    node.data = data
    node.grad = 0.0
    node.label = ""
    node._scope = mode.scope
    if mode.fast:
        node._prev = children
        node._rule = rule
        return node
    if mode.recording:
        node._prev = children
        node._rule = rule
    else:
        node._prev = ()
        node._rule = None
    if mode.anomaly is not None:
        mode.anomaly.check_forward(node, rule, children)
    if mode.tracer is not None:
        return mode.tracer.node(node)
    return node


def apply(rule: P.Primitive, *operands: Value) -> Value:
    """Applies a row of the primitive table to Values (the general path)."""
    return _record(rule, operands, rule.forward(*[v.data for v in operands]))


def _lift(other):
    """other as a Value, or NotImplemented when it is not a real number."""
    if isinstance(other, Value):
        return other
    if type(other) is float or type(other) is int:  # the common case, kept fast
        leaf = _new(Value)
        leaf.data = other if type(other) is float else _to_float_or_inf(other)
        leaf.grad = 0.0
        leaf._prev = ()
        leaf._rule = None
        leaf.label = ""
        mode = _current_mode()
        leaf._scope = mode.scope
        return leaf if mode.tracer is None else mode.tracer.leaf(leaf)
    try:
        return Value(other)
    except TypeError:
        return NotImplemented


def _binary(rule: P.Primitive, fast_forward=None):
    """The method ``self <op> other`` for a binary row, with _record's fast path inlined.

    ``fast_forward`` is the plain float operation (``operator.truediv`` for
    ``/``), tried first; where it raises ZeroDivisionError the row's own
    forward gives IEEE's answer.
    """
    forward = rule.forward
    plain = forward if fast_forward is None else fast_forward

    def method(self, other):
        if type(other) is not Value:
            other = _lift(other)
            if other is NotImplemented:
                return NotImplemented
        try:
            data = plain(self.data, other.data)
        except ZeroDivisionError:
            data = forward(self.data, other.data)
        mode = _current_mode()
        if not mode.fast:
            return _record(rule, (self, other), data)
        node = _new(Value)
        node.data = data
        node.grad = 0.0
        node._prev = (self, other)
        node._rule = rule
        node.label = ""
        node._scope = mode.scope
        return node

    return method


def _unary(rule: P.Primitive):
    """The method ``self.<op>()`` for a unary row, with _record's fast path inlined."""
    forward = rule.forward

    def method(self):
        data = forward(self.data)
        mode = _current_mode()
        if not mode.fast:
            return _record(rule, (self,), data)
        node = _new(Value)
        node.data = data
        node.grad = 0.0
        node._prev = (self,)
        node._rule = rule
        node.label = ""
        node._scope = mode.scope
        return node

    method.__name__, method.__qualname__ = rule.name, f"Value.{rule.name}"
    return method


class HandBuilt:
    """The rule of a node built or changed by hand, micrograd's way (one per node).

    ``name`` is its ``_op``; ``row`` the table row it computes gradients by (the
    row named by its op when built, or the row of the node it relabels), or
    None; ``fn`` the ``_backward`` closure assigned to it, or None. backward
    calls ``fn`` when there is one, else applies ``row``; with neither the node
    passes no gradient on (micrograd's default ``_backward``).
    """

    __slots__ = ("name", "row", "fn", "code", "arity", "family", "param", "domain", "kinks")

    def __init__(self, name: str, row: P.Primitive | None = None, fn=None):
        self.name, self.row, self.fn = name, row, fn
        if fn is not None:
            self.code = P.HAND_BUILT_CLOSURE
        else:
            self.code = P.GENERIC if row is not None else P.HAND_BUILT_LABEL
        self.arity = row.arity if row is not None else None
        self.family = row.family if row is not None else name
        self.param = row.param if row is not None else None
        self.domain = row.domain if row is not None else ()
        self.kinks = row.kinks if row is not None else ()

    @property
    def forward(self):
        return self.row.forward if self.row is not None else None

    @property
    def local_grads(self):
        return self.row.local_grads if self.row is not None else None

    def __repr__(self) -> str:
        what = "closure" if self.fn is not None else self.row or "no gradient"
        return f"<hand-built {self.name!r}: {what}>"


def _check_arity(row: P.Primitive, children: tuple, op: str) -> None:
    n = len(children)
    if row.arity is not None:
        ok, expected = n == row.arity, f"{row.arity}"
    elif row is P.DOT:
        ok, expected = n >= 2 and n % 2 == 0, "an even number (weights then inputs)"
    else:
        ok, expected = n >= 1, "at least 1"
    if not ok:
        raise ValueError(
            f"Value(..., _op={op!r}) has {n} children, but the row {op!r} takes {expected}: "
            "give it its operands, or an op name that is not a row (a label only)"
        )


class Value:
    """A scalar node: ``data``, ``grad``, its inputs ``_prev`` and its ``_op``."""

    __slots__ = ("data", "grad", "_prev", "_rule", "label", "_scope")

    def __init__(self, data, _children: Iterable[Value] = (), _op: str = "", label: str = ""):
        self.data = data if type(data) is float else _to_float(data)
        self.grad = 0.0
        self.label = label
        mode = _current_mode()
        self._scope = mode.scope
        if not _children and not _op:  # a leaf: the common case
            self._prev = ()
            self._rule = None
            if mode.tracer is not None:
                mode.tracer.leaf(self)
            return
        self._prev = _children if type(_children) is tuple else tuple(_children)
        for child in self._prev:
            if not isinstance(child, Value):
                raise TypeError(f"Value's _children must be Values, got {type(child).__name__}")
        if not isinstance(_op, str):
            raise TypeError(f"Value's _op must be a str, got {type(_op).__name__}")
        # A hand-built node (micrograd style): an op naming a row of the table gets
        # the row's gradient; any other name is only a label.
        row = P.lookup(_op) if _op and self._prev else None
        if row is not None:
            _check_arity(row, self._prev, _op)
            self._rule = row
        else:
            self._rule = HandBuilt(_op)
        if mode.tracer is not None:
            (mode.tracer.built if self._prev else mode.tracer.leaf)(self)

    # -- what the node is ------------------------------------------------------

    @property
    def _op(self) -> str:
        """The name of the op that produced this node ('' for leaves); assignable.

        Assigning renames the node (drawings show the new name); its gradient
        stays the one it was built with.
        """
        rule = self._rule
        return rule.name if rule is not None else ""

    @_op.setter
    def _op(self, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"_op must be a str, got {type(name).__name__}")
        rule = self._rule
        if type(rule) is HandBuilt:
            rule.name = name
        elif rule is not None or name:
            self._rule = HandBuilt(name, row=rule)

    @property
    def _backward(self):
        """micrograd's per-node step; assign a closure to define a node's gradient.

        Reading gives the closure assigned to the node, or a function that
        pushes the node's ``.grad`` into its inputs by its row. Assigning
        ``out._backward = fn`` (micrograd's idiom) makes ``backward()`` call
        ``fn()`` for this node: it reads ``out.grad`` and adds into the
        children's ``.grad``, exactly as in micrograd.
        """
        rule = self._rule
        if type(rule) is HandBuilt and rule.fn is not None:
            return rule.fn
        return self._step

    @_backward.setter
    def _backward(self, fn) -> None:
        if not callable(fn):
            raise TypeError(
                f"_backward must be a function of no arguments, got {type(fn).__name__}"
            )
        mode = _current_mode()
        if mode.tracer is not None:
            mode.tracer.closure(self)
        rule = self._rule
        if type(rule) is HandBuilt:
            rule.fn = fn
            rule.code = P.HAND_BUILT_CLOSURE
        else:
            self._rule = HandBuilt(self._op, row=rule, fn=fn)

    @property
    def __dict__(self) -> dict:
        """The node's fields as a dict (for printing; Values take no new attributes)."""
        return {
            "data": self.data,
            "grad": self.grad,
            "_prev": self._prev,
            "_op": self._op,
            "label": self.label,
        }

    @property
    def scope(self) -> str | None:
        """The scope path the node was created in (see ``autograd.scope``)."""
        return self._scope

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    def __float__(self) -> float:
        return self.data

    # -- arithmetic ----------------------------------------------------------------

    __add__ = _binary(P.ADD)
    __sub__ = _binary(P.SUB)
    __mul__ = _binary(P.MUL)
    __truediv__ = _binary(P.DIV, operator.truediv)

    def __pow__(self, exponent):
        if type(exponent) is int:  # micrograd's x**2: the row's forward inlined
            rule = _power_of(exponent)
            try:
                data = _math_pow(self.data, exponent)
            except (OverflowError, ValueError):  # the row gives IEEE's answer
                data = rule.forward(self.data)
            return _record(rule, (self,), data)
        if isinstance(exponent, Value):
            return apply(P.POW, self, exponent)
        if not isinstance(exponent, numbers.Real):
            return NotImplemented
        if isinstance(exponent, float) and exponent.is_integer():
            exponent = int(exponent)  # x ** 2.0 and x ** 2 share the row '**2'
        elif not isinstance(exponent, (int, float)):
            exponent = float(exponent)
        rule = P.power_of(exponent)
        return _record(rule, (self,), rule.forward(self.data))

    def __rpow__(self, base):
        base = _lift(base)
        return NotImplemented if base is NotImplemented else apply(P.POW, base, self)

    def __neg__(self):
        return _record(P.NEG, (self,), -self.data)

    def __pos__(self):
        return self

    # Reflected operators: the number becomes the left operand's leaf.
    def __radd__(self, other):
        other = _lift(other)
        return NotImplemented if other is NotImplemented else other + self

    def __rsub__(self, other):
        other = _lift(other)
        return NotImplemented if other is NotImplemented else other - self

    def __rmul__(self, other):
        other = _lift(other)
        return NotImplemented if other is NotImplemented else other * self

    def __rtruediv__(self, other):
        other = _lift(other)
        return NotImplemented if other is NotImplemented else other / self

    # -- primitives as methods ---------------------------------------------------------

    exp = _unary(P.EXP)
    log = _unary(P.LOG)
    sqrt = _unary(P.SQRT)
    tanh = _unary(P.TANH)
    sigmoid = _unary(P.SIGMOID)
    relu = _unary(P.RELU)

    def leaky_relu(self, slope: float = P.LEAKY_RELU_SLOPE):
        rule = P.leaky_relu_of(float(slope))
        return _record(rule, (self,), rule.forward(self.data))

    abs = _unary(P.ABS)
    __abs__ = abs
    sin = _unary(P.SIN)
    cos = _unary(P.COS)

    # -- comparisons on data; == and hash stay identity ------------------------------

    def __lt__(self, other):
        other = other.data if isinstance(other, Value) else other
        return self.data < other if isinstance(other, numbers.Real) else NotImplemented

    def __le__(self, other):
        other = other.data if isinstance(other, Value) else other
        return self.data <= other if isinstance(other, numbers.Real) else NotImplemented

    def __gt__(self, other):
        other = other.data if isinstance(other, Value) else other
        return self.data > other if isinstance(other, numbers.Real) else NotImplemented

    def __ge__(self, other):
        other = other.data if isinstance(other, Value) else other
        return self.data >= other if isinstance(other, numbers.Real) else NotImplemented

    __hash__ = object.__hash__

    # -- gradients -------------------------------------------------------------------------

    def backward(self, grad: float = 1.0) -> None:
        """Adds ``grad * d(self)/d(node)`` to ``.grad`` of every node in the graph.

        A second call without zeroing doubles every gradient exactly (micrograd
        would propagate the already accumulated gradient again).
        """
        _engine.backward(self, grad)

    def _step(self) -> None:
        """Pushes this node's ``.grad`` into its inputs by its row (``_backward()``)."""
        rule = self._rule
        if rule is None or rule.local_grads is None:
            return
        for child, local in zip(self._prev, local_grads(self), strict=True):
            child.grad += self.grad * local

    def zero_grad(self) -> None:
        self.grad = 0.0


def local_grads(node: Value, create_graph: bool = False) -> tuple:
    """d(node)/d(child) for each child of ``node``: floats, or Values with create_graph."""
    if create_graph:
        return node._rule.local_grads(*node._prev, node)
    return node._rule.local_grads(*[child.data for child in node._prev], node.data)


def dot(weights: Iterable, inputs: Iterable) -> Value:
    """sum(w_i * x_i) as one fused node (numbers are lifted to Values)."""
    if type(weights) is not list:
        weights = list(weights)
    if type(inputs) is not list:
        inputs = list(inputs)
    if len(weights) != len(inputs):
        raise ValueError(f"dot needs equal lengths, got {len(weights)} and {len(inputs)}")
    try:  # a neuron's weights and inputs are Values already: no pass to lift them
        terms = list(map(_mul, [w.data for w in weights], [x.data for x in inputs]))
        data = _fsum(terms)
    except (AttributeError, TypeError):  # a number among them (no .data, or numpy's)
        return apply(P.DOT, *_lifted(weights), *_lifted(inputs))
    except (OverflowError, ValueError):  # IEEE's inf or nan instead (rare)
        data = ieee.fsum(terms)
    return _record(P.DOT, (*weights, *inputs), data)


def sum(values: Iterable) -> Value:  # autograd.sum, as torch.sum and jnp.sum
    """The sum of ``values`` as one fused node (numbers are lifted to Values)."""
    values = list(values)
    try:
        return apply(P.SUM, *values)
    except (AttributeError, TypeError):
        return apply(P.SUM, *_lifted(values))


def max(values: Iterable) -> Value:  # autograd.max, as torch.max of a vector
    """The largest of ``values`` as one node; its gradient goes to the first maximum."""
    return _n_ary(P.MAX, values, "max")


def logsumexp(values: Iterable) -> Value:
    """log(sum(exp(v))) as one node, computed without overflow (shifted by the largest v)."""
    return _n_ary(P.LOGSUMEXP, values, "logsumexp")


def _n_ary(rule: P.Primitive, values: Iterable, name: str) -> Value:
    values = list(values)
    if not values:
        raise ValueError(f"{name} needs at least one value, got none")
    try:
        return apply(rule, *values)
    except (AttributeError, TypeError):
        return apply(rule, *_lifted(values))


def _lifted(items: list) -> list[Value]:
    return [item if isinstance(item, Value) else Value(item) for item in items]


from . import engine as _engine  # noqa: E402  (engine imports Value from here)
