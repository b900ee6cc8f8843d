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

import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import attrgetter

from . import mode as _mode
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
_grad = attrgetter("grad")


def _as_seed(grad) -> float:
    if type(grad) is float:
        return grad
    if isinstance(grad, Value):
        grad = grad.data
    if not isinstance(grad, numbers.Real):
        raise TypeError(f"backward's grad must be a real number, got {type(grad).__name__}")
    return float(grad)


def backward(root: Value, grad: float = 1.0) -> None:
    """Adds ``grad * d(root)/d(node)`` to ``node.grad`` for every node of root's graph.

    Gradient already in ``.grad`` is kept aside during the pass and added back
    at the end, so it is never propagated again: a second call without zeroing
    doubles every gradient exactly.
    """
    seed = _as_seed(grad)
    if _current_mode().anomaly is not None:
        for _ in backward_steps(root, seed):
            pass
        return
    order = topological_order(root)
    # Set aside gradient the nodes already hold, to add back after the pass:
    # inner nodes must pass on only this pass's gradient, and a leaf's sum
    # must round as it did the first time for a second call to double exactly.
    # On a fresh or zeroed graph the check is one pass in C.
    held = [(node, node.grad) for node in order if node.grad] if any(map(_grad, order)) else ()
    for node, _ in held:
        node.grad = 0.0
    root.grad = seed
    for node in reversed(order):
        rule = node._rule
        if rule is None:
            continue
        upstream = node.grad  # complete: every consumer of node ran already
        children = node._prev
        arity = len(children)
        # Unary and binary nodes are nearly all nodes: they get unrolled paths.
        if arity == 2:
            a, b = children
            local_a, local_b = rule.local_grads(a.data, b.data, node.data)
            a.grad += upstream * local_a
            b.grad += upstream * local_b
        elif arity == 1:
            (child,) = children
            (local,) = rule.local_grads(child.data, node.data)
            child.grad += upstream * local
        else:
            locals_ = rule.local_grads(*[child.data for child in children], node.data)
            for child, local in zip(children, locals_, strict=False):
                child.grad += upstream * local
    for node, kept in held:
        node.grad += kept


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


def _chain_rule(root: Value, seed, create_graph: bool = False) -> Iterator[Step]:
    """Yields a Step per node in backward order; touches no ``.grad``."""
    anomaly = _current_mode().anomaly
    upstream_of = {root: seed}
    for node in reversed(topological_order(root)):
        upstream = upstream_of.pop(node)
        contributions = ()
        if node._rule is not None:
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
    for step in _chain_rule(output, grad_output, create_graph):
        if step.node in wanted:
            found[step.node] = step.upstream
    return [_as_value(found.get(x, 0.0)) for x in inputs]


def _as_value(g) -> Value:
    return g if isinstance(g, Value) else Value(g)
