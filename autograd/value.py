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

import numbers
from collections.abc import Iterable

from . import mode as _mode
from . import primitives as P

_PLAIN = _mode.PLAIN
_current_mode = _mode.current.get
_new = object.__new__

_add = P.ADD.forward
_sub = P.SUB.forward
_mul = P.MUL.forward
_div = P.DIV.forward


def _to_float(data) -> float:
    """data as a float; TypeError naming the type for anything not a real number."""
    if isinstance(data, numbers.Real):  # int, float, bool, Fraction, numpy real scalars
        return float(data)
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
    if mode is _PLAIN:
        node._prev = children
        node._rule = rule
        node._scope = None
        return node
    node._scope = mode.scope
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
        leaf.data = float(other)
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


class Value:
    """A scalar node: ``data``, ``grad``, its inputs ``_prev`` and its ``_op``."""

    __slots__ = ("data", "grad", "_prev", "_rule", "label", "_scope")

    def __init__(self, data, _children: Iterable[Value] = (), _op: str = "", label: str = ""):
        self.data = data if type(data) is float else _to_float(data)
        self.grad = 0.0
        self._prev = _children if type(_children) is tuple else tuple(_children)
        for child in self._prev:
            if not isinstance(child, Value):
                raise TypeError(f"Value's _children must be Values, got {type(child).__name__}")
        self._rule = None
        if _op:  # a user-built node (micrograd style) whose op names a row gets its rule
            self._rule = P.lookup(_op)
            if self._rule is None:
                raise ValueError(
                    f"unknown op {_op!r}: expected one of {sorted(P.PRIMITIVES)} or '**<number>'"
                )
        self.label = label
        mode = _current_mode()
        self._scope = mode.scope
        if mode.tracer is not None:
            (mode.tracer.built if self._prev else mode.tracer.leaf)(self)

    # -- what the node is ------------------------------------------------------

    @property
    def _op(self) -> str:
        """The name of the op that produced this node ('' for leaves)."""
        return self._rule.name if self._rule is not None else ""

    @property
    def scope(self) -> str | None:
        """The scope path the node was created in (see ``autograd.scope``)."""
        return self._scope

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    def __float__(self) -> float:
        return self.data

    # -- arithmetic ----------------------------------------------------------------

    def __add__(self, other):
        if type(other) is not Value:
            other = _lift(other)
            if other is NotImplemented:
                return NotImplemented
        return _record(P.ADD, (self, other), _add(self.data, other.data))

    def __mul__(self, other):
        if type(other) is not Value:
            other = _lift(other)
            if other is NotImplemented:
                return NotImplemented
        return _record(P.MUL, (self, other), _mul(self.data, other.data))

    def __pow__(self, exponent):
        if type(exponent) is int:
            rule = P.power_of(exponent)
            return _record(rule, (self,), rule.forward(self.data))
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

    def __sub__(self, other):
        if type(other) is not Value:
            other = _lift(other)
            if other is NotImplemented:
                return NotImplemented
        return _record(P.SUB, (self, other), _sub(self.data, other.data))

    def __truediv__(self, other):
        if type(other) is not Value:
            other = _lift(other)
            if other is NotImplemented:
                return NotImplemented
        return _record(P.DIV, (self, other), _div(self.data, other.data))

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

    def exp(self):
        return _record(P.EXP, (self,), P.EXP.forward(self.data))

    def log(self):
        return _record(P.LOG, (self,), P.LOG.forward(self.data))

    def sqrt(self):
        return _record(P.SQRT, (self,), P.SQRT.forward(self.data))

    def tanh(self):
        return _record(P.TANH, (self,), P.TANH.forward(self.data))

    def sigmoid(self):
        return _record(P.SIGMOID, (self,), P.SIGMOID.forward(self.data))

    def relu(self):
        return _record(P.RELU, (self,), P.RELU.forward(self.data))

    def leaky_relu(self, slope: float = P.LEAKY_RELU_SLOPE):
        rule = P.leaky_relu_of(float(slope))
        return _record(rule, (self,), rule.forward(self.data))

    def abs(self):
        return _record(P.ABS, (self,), P.ABS.forward(self.data))

    __abs__ = abs

    def sin(self):
        return _record(P.SIN, (self,), P.SIN.forward(self.data))

    def cos(self):
        return _record(P.COS, (self,), P.COS.forward(self.data))

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

    def _backward(self) -> None:
        """micrograd's per-node step: pushes this node's ``.grad`` into its inputs."""
        if self._rule is None:
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
    weights, inputs = list(weights), list(inputs)
    if len(weights) != len(inputs):
        raise ValueError(f"dot needs equal lengths, got {len(weights)} and {len(inputs)}")
    try:  # a neuron's weights and inputs are Values already: no pass to lift them
        return apply(P.DOT, *weights, *inputs)
    except (AttributeError, TypeError):  # a number among them (no .data, or numpy's)
        return apply(P.DOT, *_lifted(weights), *_lifted(inputs))


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
