"""One backward pass as plain records: what the stepper shows and ``chainrule explain`` prints.

Both read the pass from ``autograd.backward_steps`` through ``trace`` here, so
they name nodes alike (a node's label, the name given with ``names=``, or
``n{i}``, its index in ``autograd.topological_order(root)`` as in draw_dot)
and write the same formulas (``c = a * b``). Nothing here imports graphviz, so
the command line can explain a pass without it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import autograd
from autograd import Value

_BINARY = {"+", "-", "*", "/", "**"}


def names_of(names) -> dict[Value, str]:
    """Value -> name from a Module (its named_parameters()), a mapping or (name, Value) pairs."""
    if names is None:
        return {}
    if hasattr(names, "named_parameters"):
        pairs = names.named_parameters()
    elif isinstance(names, Mapping):
        pairs = names.items()
    else:
        pairs = names
    found: dict[Value, str] = {}
    for name, value in pairs:
        if not isinstance(value, Value):
            raise TypeError(f"names must map names to Values, got {name!r}: {type(value).__name__}")
        found.setdefault(value, str(name))
    return found


def scopes_and_labels(order: list[Value], names: dict[Value, str], boxed: bool = False,
                      depth: int | None = None):
    """Each node's scope and the name its box shows (its label, else its ``names=`` name).

    A parameter is created outside any module call (scope None), but its name
    says where it lives. Only when the picture draws boxes (``boxed``:
    ``cluster=True`` or ``'collapse'``, scopes cut after ``depth`` levels) is
    a named parameter placed in the box of the module that consumes it and
    shown there by the rest of its name: ``layers.0.neurons.3.w.1`` consumed
    inside scope ``layers.0/neurons.3`` shows as ``w.1`` in the box of
    ``neurons.3`` (as ``neurons.3.w.1`` with ``depth=1``, in the box of
    ``layers.0``). Without boxes it keeps its full dotted name, so no two
    boxes read ``w.0``. Nodes with neither label nor name get ``''`` here.
    """
    scopes = {node: node.scope for node in order}
    labels = {node: names.get(node, "") if node.label in ("", None) else str(node.label)
              for node in order}
    if not names or not boxed:
        return scopes, labels
    for node in order:
        scope = node.scope
        if depth is not None and scope is not None:
            scope = "/".join(scope.split("/")[:depth])
        if scope is None:
            continue
        prefix = scope.replace("/", ".") + "."
        for child in node._prev:
            name = names.get(child)
            if name and not child.label and scopes[child] is None and name.startswith(prefix):
                scopes[child], labels[child] = scope, name[len(prefix):]
    return scopes, labels


def display_names(order: list[Value], names=None, cluster=False, depth=None) -> list[str]:
    """Node i's name as draw_dot (with these options) shows it: label or ``names=`` name, else
    ``n{i}``, its index in the topological order."""
    _, labels = scopes_and_labels(order, names_of(names), cluster in (True, "collapse"),
                                  depth if cluster else None)
    return [labels[node] or f"n{i}" for i, node in enumerate(order)]


def term(name: str) -> str:
    """name as it stands in ``dL/d(name)``: one character bare, a longer name in parentheses."""
    return name if len(name) == 1 else f"({name})"


_PLAIN = re.compile(r"[A-Za-z_][\w.]*|[-+]?\d[\d.e+-]*")


def operand(name: str) -> str:
    """name as it stands in a formula: bare if it is one word (``x``, ``n3``, ``w.1``), else in
    parentheses, so that a label such as ``x1*w1 + x2*w2`` reads as one operand."""
    return name if _PLAIN.fullmatch(name) else f"({name})"


def trace(root: Value, order: list[Value], names: list[str], seed: float = 1.0):
    """The seed record and one record per step of backward_steps; the final gradients.

    A record is ``{"step", "node", "name", "op", "upstream", "contributions"}``
    with ``node`` an index into ``order``; record 0 is the seed (op '', no
    contributions). Each contribution is ``{"child", "name", "local", "added",
    "total"}``, ``total`` being the child's gradient after it. The totals are
    kept here, from zero, in the order backward adds them (so they equal
    backward()'s gradients bit for bit), not read from ``.grad``, which may
    hold gradients of earlier passes; backward_steps still adds to ``.grad``.
    """
    index = {node: i for i, node in enumerate(order)}
    steps = list(autograd.backward_steps(root, seed))
    totals = [0.0] * len(order)
    totals[index[root]] = steps[0].upstream
    records = [_record(0, steps[0], index, names, [])]
    for k, step in enumerate(steps, start=1):
        contributions = []
        for child, local, added in step.contributions:
            j = index[child]
            totals[j] += added
            contributions.append(
                {"child": j, "name": names[j], "local": local, "added": added, "total": totals[j]}
            )
        records.append(_record(k, step, index, names, contributions))
    return records, totals


def _record(k, step, index, names, contributions) -> dict:
    node = index[step.node]
    return {
        "step": k,
        "node": node,
        "name": names[node],
        "op": step.node._op if k else "",  # the seed applies no op
        "upstream": step.upstream,
        "contributions": contributions,
    }


def formulas(records, names) -> list[str]:
    """``c = a * b`` for each node computed by an op ('' for leaves); see ``operand``."""
    written = [""] * len(names)
    for record in records[1:]:
        op, children = record["op"], [operand(c["name"]) for c in record["contributions"]]
        if not op:
            continue
        if op in _BINARY and len(children) == 2:
            expression = f"{children[0]} {op} {children[1]}"
        elif op.startswith("**") and len(children) == 1:
            expression = f"{children[0]}{op}"
        elif op == "neg" and len(children) == 1:
            expression = f"-{children[0]}"
        else:
            expression = f"{op}({', '.join(children)})"
        written[record["node"]] = f"{operand(record['name'])} = {expression}"
    return written
