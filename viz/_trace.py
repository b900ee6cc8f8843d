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


def scopes_and_labels(order: list[Value], names: dict[Value, str]):
    """Each node's scope and label, placing named leaves in the module that owns them.

    A parameter is created outside any module call (scope None), but its name
    says where it lives: ``layers.0.neurons.3.w.1`` consumed inside scope
    ``layers.0/neurons.3`` belongs to that scope and shows as ``w.1``.
    """
    scopes = {node: node.scope for node in order}
    labels = {node: node.label or names.get(node, "") for node in order}
    if not names:
        return scopes, labels
    for node in order:
        scope = node.scope
        if scope is None:
            continue
        prefix = scope.replace("/", ".") + "."
        for child in node._prev:
            name = names.get(child)
            if name and not child.label and scopes[child] is None and name.startswith(prefix):
                scopes[child], labels[child] = scope, name[len(prefix):]
    return scopes, labels


def display_names(order: list[Value], names=None) -> list[str]:
    """Node i's name as draw_dot shows it (label, or its ``names=`` name), else ``n{i}``."""
    _, labels = scopes_and_labels(order, names_of(names))
    return [str(labels[node]) or f"n{i}" for i, node in enumerate(order)]


def every_name(order: list[Value], names=None) -> list[tuple[str, Value]]:
    """``names=`` for draw_dot that makes every box show its display name.

    The given names first (so named parameters still go into their modules'
    boxes), then ``n{i}`` for each node with neither a label nor a name: the
    stepper draws with these, so every name its panel uses is in the picture.
    """
    given = names_of(names)
    pairs = [(name, node) for node, name in given.items()]
    pairs += [
        (f"n{i}", node) for i, node in enumerate(order) if not node.label and node not in given
    ]
    return pairs


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
