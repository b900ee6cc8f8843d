"""The backward pass: topological order and the chain rule.

One iterative topological order serves ``backward``, ``backward_steps``,
``grad`` and viz. Nothing here recurses, so a chain of a million operations
differentiates under Python's default recursion limit.

The chain rule is applied in two loops that compute the same numbers in the
same order:

* ``backward()`` keeps each node's upstream gradient in its ``.grad`` field
  during the pass (the fast path: no dictionary, no records);
* ``_chain_rule()`` keeps upstream gradients in a dictionary and yields one
  record per node; ``backward_steps()``, ``grad()`` (also with
  ``create_graph=True``) and backward under anomaly mode use it.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from . import ieee
from . import mode as _mode
from . import primitives as P
from .value import Value, local_grads


def topological_order(root: Value) -> list[Value]:
    """Every node of root's graph, each after all of its inputs (root last).

    Iterative depth-first search in operand order, the order in which the
    recursive ``build_topo`` of micrograd's lecture emits nodes; the order
    depends only on the graph, so it is deterministic.
    """
    if not isinstance(root, Value):
        raise TypeError(f"expected a Value, got {type(root).__name__}")
    order: list[Value] = []
    seen: set[Value] = set()
    # The stack holds nodes still to visit and, below a None, each node whose
    # inputs are being visited: it is emitted when the None comes off. No
    # object that outlives its step is allocated per node, so even a
    # million-deep chain gives the garbage collector nothing to do.
    stack = [root]
    pop, push, extend = stack.pop, stack.append, stack.extend
    mark, emit = seen.add, order.append
    while stack:
        node = pop()
        if node is None:
            emit(pop())
        elif node not in seen:
            mark(node)
            children = node._prev
            if children:
                push(node)
                push(None)
                if len(children) == 2:  # most nodes: push only unseen inputs
                    first, second = children
                    if second not in seen:
                        push(second)
                    if first not in seen:
                        push(first)
                else:
                    extend(children[::-1])  # the first operand comes off first
            else:
                emit(node)
    return order


_current_mode = _mode.current.get

_ADD, _SUB, _MUL, _DOT, _RELU = P.C_ADD, P.C_SUB, P.C_MUL, P.C_DOT, P.C_RELU
_SUM, _SQUARE, _POWK, _TANH = P.C_SUM, P.C_SQUARE, P.C_POWK, P.C_TANH
_FIRST_UNARY, _FIRST_N_ARY = P.FIRST_UNARY, P.FIRST_N_ARY
_pow = math.pow
_CLOSURE, _LABEL = P.HAND_BUILT_CLOSURE, P.HAND_BUILT_LABEL


def _as_seed(grad) -> float:
    if type(grad) is float:
        return grad
    if isinstance(grad, Value):
        grad = grad.data
    if not isinstance(grad, numbers.Real):
        raise TypeError(f"backward's grad must be a real number, got {type(grad).__name__}")
    return ieee.to_float(grad)


def _inner_order(root: Value) -> tuple[list[Value], list[tuple[Value, float]]]:
    """(the inner nodes of root's graph in ``topological_order``, the gradients they held).

    Leaves are left out of the order: backward has nothing to do for them but
    receive. Every node's gradient is checked on the way: one already holding
    gradient is listed with it and zeroed (backward adds it back at the end).
    """
    held = []
    if root.grad:
        held.append((root, root.grad))
    order: list[Value] = []
    if not root._prev:
        root.grad = 0.0
        return order, held
    # As topological_order, with the leaves handled where they are met. An inner
    # node is marked visited by the zero its gradient is reset to: a float object
    # made for this pass, which nothing else refers to, so ``grad is visited``
    # answers what a set of seen nodes would, for less. It is 0.0 like any other,
    # so backward's sums come out the same.
    visited = float(0)
    root.grad = visited
    stack = [root, None]
    children = root._prev
    while True:
        if len(children) == 2:  # most nodes: unrolled, the second operand pushed first
            first, second = children
            if second._prev:
                if second.grad is not visited:
                    stack.append(second)
            elif second.grad:
                held.append((second, second.grad))
                second.grad = 0.0
            if first._prev:
                if first.grad is not visited:
                    stack.append(first)
            elif first.grad:
                held.append((first, first.grad))
                first.grad = 0.0
        else:
            for child in reversed(children):
                if child._prev:
                    if child.grad is not visited:
                        stack.append(child)
                elif child.grad:
                    held.append((child, child.grad))
                    child.grad = 0.0
        while True:
            node = stack.pop()
            if node is None:
                order.append(stack.pop())
                if not stack:
                    return order, held
            elif node.grad is not visited:
                break
        if node.grad:
            held.append((node, node.grad))
        node.grad = visited
        stack.append(node)
        stack.append(None)
        children = node._prev


def backward(root: Value, grad: float = 1.0) -> None:
    """Adds ``grad * d(root)/d(node)`` to ``node.grad`` for every node of root's graph.

    Gradient already in ``.grad`` is kept aside during the pass and added back
    at the end, so it is never propagated again: a second call without zeroing
    doubles every gradient exactly.
    """
    seed = grad if type(grad) is float else _as_seed(grad)
    if _current_mode().anomaly is not None:
        for _ in backward_steps(root, seed):
            pass
        return
    # Set aside gradient the nodes already hold, to add back after the pass:
    # inner nodes must pass on only this pass's gradient, and a leaf's sum
    # must round as it did the first time for a second call to double exactly.
    order, held = _inner_order(root)
    root.grad = seed
    # The chain rule of the commonest rows is written out here, computing what
    # their local_grads give (upstream * local, added in operand order).
    for node in reversed(order):
        rule = node._rule
        code = rule.code
        upstream = node.grad  # complete: every consumer of node ran already
        if code < _FIRST_UNARY:
            a, b = node._prev
            if code == _ADD:
                a.grad += upstream
                b.grad += upstream
            elif code == _MUL:
                a.grad += upstream * b.data
                b.grad += upstream * a.data
            elif code == _SUB:
                a.grad += upstream
                b.grad -= upstream
            else:  # a / b
                divisor = b.data
                try:
                    local_a, local_b = 1.0 / divisor, -(node.data / divisor)
                except ZeroDivisionError:  # the row gives IEEE's infinities
                    _generic(node, rule, upstream)
                else:
                    a.grad += upstream * local_a
                    b.grad += upstream * local_b
        elif code < _FIRST_N_ARY:
            (child,) = node._prev
            if code == _RELU:
                child.grad += upstream * (1.0 if child.data > 0.0 else 0.0)
            elif code == _SQUARE:
                child.grad += upstream * (2.0 * child.data)
            elif code == _POWK:
                exponent = rule.param
                try:
                    child.grad += upstream * (exponent * _pow(child.data, exponent - 1))
                except (OverflowError, ValueError):  # pow's domain: the row decides
                    _generic(node, rule, upstream)
            elif code == _TANH:
                out = node.data
                child.grad += upstream * (1.0 - out * out)
            else:  # -x
                child.grad -= upstream
        elif code == _DOT:  # children: the weights, then the inputs
            children = node._prev
            half = len(children) >> 1
            weights, inputs = children[:half], children[half:]
            for w, x in zip(weights, inputs, strict=False):
                w.grad += upstream * x.data
            for w, x in zip(weights, inputs, strict=False):
                x.grad += upstream * w.data
        elif code == _SUM:
            for child in node._prev:
                child.grad += upstream
        elif code == _CLOSURE:  # micrograd's idiom: the node's own _backward
            rule.fn()
        elif code != _LABEL:
            _generic(node, rule, upstream)
    for node, kept in held:
        node.grad += kept


Value.backward = backward  # the method is this function: one call less per backward


@dataclass(frozen=True)
class Step:
    """One node's turn in the backward pass.

    node: the node whose gradient is now complete.
    upstream: d(root)/d(node) in this pass.
    contributions: for each child, in operand order, ``(child, local_grad,
        added)`` with ``added == upstream * local_grad``, what this step adds
        to the child's gradient.
    """

    node: Value
    upstream: float
    contributions: tuple[tuple[Value, float, float], ...]


def _generic(node: Value, rule, upstream: float) -> None:
    """Applies a row's ``local_grads`` (every row backward does not write out)."""
    children = node._prev
    if len(children) == 2:
        a, b = children
        local_a, local_b = rule.local_grads(a.data, b.data, node.data)
        a.grad += upstream * local_a
        b.grad += upstream * local_b
    elif len(children) == 1:
        (child,) = children
        (local,) = rule.local_grads(child.data, node.data)
        child.grad += upstream * local
    else:
        locals_ = rule.local_grads(*[child.data for child in children], node.data)
        for child, local in zip(children, locals_, strict=False):
            child.grad += upstream * local


def _chain_rule(root: Value, seed, create_graph: bool = False) -> Iterator[Step]:
    """Yields a Step per node in backward order; touches no ``.grad``."""
    anomaly = _current_mode().anomaly
    upstream_of = {root: seed}
    for node in reversed(topological_order(root)):
        upstream = upstream_of.pop(node)
        contributions = ()
        rule = node._rule
        if rule is not None and rule.code == _CLOSURE:
            if create_graph:
                raise TypeError(
                    f"grad(create_graph=True) cannot differentiate through the node "
                    f"{node._op or node.label or node!r}: its gradient is a micrograd "
                    "_backward closure, which adds floats and builds no graph; build the "
                    "op from autograd's operations (or use create_graph=False)"
                )
            contributions = _closure_contributions(node, upstream)
            if anomaly is not None:
                anomaly.check_backward(node, upstream, [local for _, local, _ in contributions])
        elif node._prev and rule is not None and rule.code != _LABEL:
            if anomaly is not None:
                # With create_graph the local gradients are new nodes, checked
                # in forward: the checker names the node they belong to.
                anomaly.differentiating = node
                try:
                    locals_ = local_grads(node, create_graph)
                finally:
                    anomaly.differentiating = None
                anomaly.check_backward(node, upstream, locals_)
            else:
                locals_ = local_grads(node, create_graph)
            contributions = tuple(
                (child, local, upstream * local)
                for child, local in zip(node._prev, locals_, strict=True)
            )
        for child, _, added in contributions:
            earlier = upstream_of.get(child)
            upstream_of[child] = added if earlier is None else earlier + added
        yield Step(node, upstream, contributions)


def _closure_contributions(node: Value, upstream: float) -> tuple:
    """What a micrograd closure adds into each child: ``(child, local, added)`` per operand.

    The closure runs twice on zeroed children (every ``.grad`` is put back
    after): with this pass's upstream in ``node.grad`` (``added``, exactly
    what backward adds) and with 1.0 (``local``). A child listed twice gets
    the closure's whole addition at its first place.
    """
    children = list(dict.fromkeys(node._prev))
    kept = [child.grad for child in children]
    kept_own = node.grad

    def run(seed: float) -> list[float]:
        for child in children:
            child.grad = -0.0  # -0.0 + x is x exactly, so each sum is the closure's own
        node.grad = seed
        node._rule.fn()
        return [child.grad for child in children]

    try:
        added = dict(zip(children, run(upstream), strict=True))
        local = dict(zip(children, run(1.0), strict=True))
    finally:
        for child, grad in zip(children, kept, strict=True):
            child.grad = grad
        node.grad = kept_own
    out, done = [], set()
    for child in node._prev:
        first = child not in done
        done.add(child)
        out.append((child, local[child] if first else 0.0, added[child] if first else 0.0))
    return tuple(out)


def backward_steps(root: Value, grad: float = 1.0) -> Iterator[Step]:
    """Runs backward one node at a time, yielding a ``Step`` per node.

    Each step adds its node's upstream gradient to ``node.grad`` before it is
    yielded; consuming every step leaves exactly the ``.grad`` values that
    ``backward()`` leaves.
    """
    for step in _chain_rule(root, _as_seed(grad)):
        step.node.grad += step.upstream
        yield step


def grad(
    output: Value,
    inputs: Sequence[Value],
    grad_output=1.0,
    create_graph: bool = False,
) -> list[Value]:
    """d(output)/d(x) for each x in ``inputs``, as Values; no ``.grad`` is touched.

    With ``create_graph=True`` the gradients are Values in a graph built from
    the inputs, so they can be differentiated again (Hessians, Newton's
    method). An input that output does not depend on gets 0.0.
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad's output must be a Value, got {type(output).__name__}")
    if isinstance(inputs, Value):
        raise TypeError("grad's inputs must be a sequence of Values; wrap a single one: [x]")
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(f"grad's inputs[{i}] must be a Value, got {type(x).__name__}")
    if not create_graph or not isinstance(grad_output, Value):
        grad_output = _as_seed(grad_output)
    wanted = set(inputs)
    found = {}
    # The gradient graph is built even inside no_grad(), as PyTorch's
    # create_graph does.
    recording = _mode.enable_grad() if create_graph else contextlib.nullcontext()
    with recording:
        for step in _chain_rule(output, grad_output, create_graph):
            if step.node in wanted:
                found[step.node] = step.upstream
    return [_as_value(found.get(x, 0.0)) for x in inputs]


def _as_value(g) -> Value:
    return g if isinstance(g, Value) else Value(g)
