"""Computation graphs as pictures: ``draw_dot``, ``to_svg``, ``render``, ``render_svg``.

``draw_dot(root)`` draws the graph of ``root`` the way micrograd's
``trace_graph`` does: each Value is a record ``name | data … | grad …`` and
each operation a small circle between its inputs and its result. Nodes are
coloured by the sign and size of their gradient and a legend says what each
shade means (``viz._style.Scale``: five shades a sign on a x3 ladder whose
top is the upper quartile of the gradients that matter, leaving out the
root, whose gradient is 1, and constants, so that neither they nor one
outlier wash the rest out); with ``show_grad=False``, or before any backward
(every grad 0), nothing is coloured and there is no legend. Negative numbers
are written with U+2212 (``−0.6884``). ``style='micrograd'`` draws
micrograd's own plain look instead (no fill, no legend, op ellipses), so a
lecture's picture can be reproduced; ``format=`` is what ``.render(name)``
writes (svg by default), micrograd's ``draw_dot(root, format='svg',
rankdir='LR')``.

One name per node: every box shows its name, which is the name the
stepper's panel and ``chainrule explain`` use: the node's label, else its
``names=`` name, else ``n{i}``; the grad is always the last field.

Node names are stable (contract 4, the stepper relies on them): the i-th node
of ``autograd.topological_order(root)`` is ``n{i}``, its op circle
``n{i}op``; edges run child -> op circle -> value. The same graph always gives
byte-identical DOT source.

Op circles show readable names: ``+``, ``−`` (subtraction), ``×``, ``÷``,
``−x`` (negation), ``x²``, ``x⁻¹``, ``x^0.5`` (constant powers), ``xʸ`` (a
Value exponent), ``Σ`` (sum), ``w·x`` (dot), ``√``, ``|x|``, ``σ`` (sigmoid),
``leaky relu``; other ops show their name (``tanh``, ``exp``, ``relu``…).

Big graphs. ``max_nodes`` (default 1000) bounds the number of boxes drawn
(value records and, when collapsing, module boxes; op circles ride along with
their value and are not counted); above it ``draw_dot`` raises GraphTooLargeError (a ValueError)
with the count and the options. Nodes created inside a module call carry a
scope such as ``layers.0/neurons.3`` (``autograd.scope``; nn opens one per
module call), which gives two ways to draw a big graph:

- ``cluster=True`` puts the nodes of each scope in a box, nested (one box per
  neuron inside one box per layer); ``depth=k`` stops the nesting after k
  levels.
- ``cluster='collapse'`` draws each module (the scope path cut after
  ``depth`` levels, default all levels, so ``depth=1`` gives one box per layer
  of an MLP) as a single box summarising all its calls (node count, data and
  grad of its output or their range). Leaves outside any module (parameters,
  inputs) are gathered into one box per set of boxes that consume them, and
  connected stretches of operations outside any module (a loss over a batch)
  become one box each (a loss that opens a scope, such as ``hinge`` or
  ``l2_penalty``, is a module box under that name). The root stays a record,
  unless it was made inside a module (the last neuron's ``+ b``): then it is
  in that module's box. A group of one node is drawn as the node itself. A
  box is coloured by its strongest output gradient, like the nodes it
  stands for.

Both ways draw the modules in their natural order (``neurons.0``,
``neurons.1``, … ``neurons.15``: numbers sorted as numbers), the modules
fed by the same boxes side by side in that order; box titles stand at the
top right with room reserved above the nodes, so no box or edge hides them;
with ``cluster=True`` the numbers fed to a layer's neurons are drawn in an
``inputs`` box inside the layer's box; the legend follows the root.

``names`` labels nodes that have no label of their own: pass a Module (its
``named_parameters()``), a mapping name -> Value or (name, Value) pairs.
Without boxes a parameter shows its full dotted name
(``layers.0.neurons.3.w.1``), so no two boxes share a name. With
``cluster=True`` or ``'collapse'`` a named parameter consumed inside the
module its name points to is drawn in that module's box (and collapsed with
it) under the rest of its name: ``w.1`` in the box of ``neurons.3``.

Rendering needs the Graphviz ``dot`` program. Without it, building the graph
and its ``.source`` still work, rendering raises ``GraphvizNotFoundError``
saying how to install Graphviz, and Jupyter shows the DOT source with that
message instead of a traceback.
"""

from __future__ import annotations

import base64
import math
import re
from pathlib import Path

try:
    import graphviz
except ImportError as error:  # a dependency of chainrule, but say what to do if it is missing
    raise ImportError(
        "viz needs the graphviz Python package: pip install graphviz "
        "(rendering also needs Graphviz's dot program, see the README)"
    ) from error

from autograd import Value, topological_order

from . import _style as S
from ._trace import names_of, scopes_and_labels

INSTALL_HINT = """\
Graphviz's `dot` program was not found on PATH; chainrule needs it to render
graphs (building a graph and its DOT source work without it). Install Graphviz:
  Debian/Ubuntu:  sudo apt-get install graphviz
  Fedora/RHEL:    sudo dnf install graphviz
  macOS:          brew install graphviz
  Windows:        winget install graphviz   (or: choco install graphviz),
                  then add Graphviz's bin folder to PATH
  conda:          conda install -c conda-forge graphviz
then check that `dot -V` works in a new terminal."""


class GraphvizNotFoundError(RuntimeError):
    """Rendering needs Graphviz's `dot` program and it is not installed; the message says how."""

    def __init__(self, message: str = INSTALL_HINT):
        super().__init__(message)


class Digraph(graphviz.Digraph):
    """A graphviz.Digraph for notebooks and micrograd's habits.

    ``.render('gout')`` writes ``gout.svg`` (the format given to draw_dot,
    svg by default, where graphviz's own default is pdf). In Jupyter it
    displays as SVG with a PNG beside it in the same bundle, so a notebook
    opened without running it (JupyterLab's untrusted mode, which refuses
    SVG; GitHub's preview) still shows the picture; the SVG is scaled down to
    the notebook's width (``max-width:100%``) instead of being clipped.
    Without ``dot`` it shows the DOT source with an install hint instead of a
    traceback.
    """

    def __init__(self, *args, format: str = "svg", **kwargs):
        super().__init__(*args, format=format, **kwargs)

    def render(self, *args, **kwargs):
        """graphviz's render (``.render('gout')`` writes ``gout.svg``); GraphvizNotFoundError
        saying how to install Graphviz when `dot` is missing."""
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound:
            raise GraphvizNotFoundError() from None

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        try:
            svg = _pipe(self, "svg").decode("utf-8")
            png = base64.b64encode(render_png(self, _png_dpi(svg))).decode("ascii")
            svg = fit_width(svg)
        except GraphvizNotFoundError:
            return {"text/plain": f"{INSTALL_HINT}\n\nDOT source:\n{self.source}"}
        except graphviz.CalledProcessError as error:  # dot ran and failed: say why, show the source
            reason = error.stderr or ""
            if isinstance(reason, bytes):
                reason = reason.decode("utf-8", "replace")
            reason = reason.strip()
            return {"text/plain": f"Graphviz could not lay out this graph: {reason}\n\n"
                                  f"DOT source:\n{self.source}"}
        bundle = {"image/svg+xml": svg, "image/png": png, "text/plain": self._summary()}
        if include:
            bundle = {k: v for k, v in bundle.items() if k in include}
        if exclude:
            bundle = {k: v for k, v in bundle.items() if k not in exclude}
        return bundle

    def _summary(self) -> str:
        nodes = sum(1 for line in self.body if re.match(r"\s*\w+ \[", line))
        return (f"<graph {self.name or ''}: {nodes} nodes; "
                f".render('graph') writes graph.{self.format}>")


_SVG_OPEN = re.compile(r"<svg\b([^>]*)>")


def fit_width(svg: str) -> str:
    """SVG text that a notebook scales down to its width (never up), keeping the aspect ratio."""
    return _SVG_OPEN.sub(
        lambda m: f'<svg{m.group(1)} style="max-width:100%;height:auto">', svg, count=1)


def render_png(digraph: graphviz.Graph, dpi: float | None = None) -> bytes:
    """The PNG bytes of a graphviz graph (at ``dpi``, Graphviz's 96 by default);
    GraphvizNotFoundError when `dot` is missing."""
    if dpi is not None:
        digraph = digraph.copy()
        digraph.graph_attr["dpi"] = f"{dpi:.1f}"
    return _pipe(digraph, "png")


PNG_WIDEST = 2400  # pixels: a notebook's PNG of a wider graph is drawn at a lower dpi
_SVG_WIDTH = re.compile(r'<svg\b[^>]*?\bwidth="([\d.]+)pt"')


def _png_dpi(svg: str) -> float | None:
    """The dpi that keeps the PNG of this SVG at most PNG_WIDEST pixels wide (None: 96 does)."""
    found = _SVG_WIDTH.search(svg)
    if not found:
        return None
    inches = float(found.group(1)) / 72
    return None if inches * 96 <= PNG_WIDEST else PNG_WIDEST / inches


def render_svg(digraph: graphviz.Graph) -> str:
    """The SVG text of a graphviz graph; GraphvizNotFoundError when `dot` is missing."""
    return _pipe(digraph, "svg").decode("utf-8")


def _pipe(digraph: graphviz.Graph, fmt: str) -> bytes:
    try:
        return digraph.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise GraphvizNotFoundError() from None


def to_svg(root: Value, **options) -> str:
    """The SVG text of ``draw_dot(root, **options)``."""
    return render_svg(draw_dot(root, **options))


RENDER_SUFFIXES = (".svg", ".png", ".pdf", ".dot")


def render(root: Value, path, **options) -> Path:
    """Writes draw_dot(root, **options) to path as SVG, PNG, PDF or DOT by suffix; returns path."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in RENDER_SUFFIXES:
        raise ValueError(
            f"cannot render to {str(path)!r}: unknown suffix {path.suffix!r}, "
            f"expected one of {', '.join(RENDER_SUFFIXES)}"
        )
    digraph = draw_dot(root, **options)
    if suffix == ".dot":
        path.write_text(digraph.source, encoding="utf-8")
    else:
        path.write_bytes(_pipe(digraph, suffix[1:]))
    return path


# -- op names ------------------------------------------------------------------

_OP_NAMES = {
    "-": "−",
    "*": "×",
    "/": "÷",
    "neg": "−x",
    "**": "xʸ",
    "sum": "Σ",
    "dot": "w·x",
    "sqrt": "√",
    "abs": "|x|",
    "sigmoid": "σ",
    "leaky_relu": "leaky relu",
}
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def op_name(op: str) -> str:
    """The name an op circle shows (``**2`` -> ``x²``, ``*`` -> ``×``; see the module docstring)."""
    if op in _OP_NAMES:
        return _OP_NAMES[op]
    if op.startswith("**"):
        exponent = op[2:]
        if exponent.lstrip("-").isdigit():
            return "x" + exponent.translate(_SUPERSCRIPT)
        return f"x^{exponent}"
    return op


# -- drawing ---------------------------------------------------------------------

CLUSTER_MODES = (False, True, "collapse")
RANKDIRS = ("LR", "RL", "TB", "BT")
STYLES = ("chainrule", "micrograd")


def draw_dot(
    root: Value,
    format: str = "svg",
    rankdir: str = "LR",
    show_data: bool = True,
    show_grad: bool = True,
    max_nodes: int = 1000,
    precision: int = 4,
    cluster: bool | str = False,
    depth: int | None = None,
    legend: bool = True,
    names=None,
    style: str = "chainrule",
) -> Digraph:
    """The computation graph of root as a graphviz Digraph (see the module docstring).

    ``draw_dot(root, format='svg', rankdir='LR')`` is micrograd's signature:
    ``format`` is what ``.render(name)`` writes (any Graphviz format; a
    rankdir such as ``'TB'`` in its place is taken as the rankdir, as older
    calls ``draw_dot(root, 'TB')`` meant). ``style='micrograd'`` draws
    micrograd's plain look: records ``label | data | grad`` without fill,
    op names in plain ellipses, no legend, hyphen-minus numbers.
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw_dot expects a Value as root, got {type(root).__name__}")
    if format in RANKDIRS:
        format, rankdir = "svg", format
    if not isinstance(format, str) or format not in graphviz.FORMATS:
        raise ValueError(
            f"format must be a Graphviz output format such as 'svg', 'png' or 'pdf', "
            f"got {format!r:.40}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of 'LR', 'RL', 'TB', 'BT', got {rankdir!r}")
    if style not in STYLES:
        raise ValueError(f"style must be 'chainrule' or 'micrograd', got {style!r:.40}")
    if cluster not in CLUSTER_MODES or not isinstance(cluster, (bool, str)):
        raise ValueError(f"cluster must be False, True or 'collapse', got {cluster!r}")
    if style == "micrograd" and cluster is not False:
        raise ValueError("style='micrograd' draws micrograd's flat graph: it has no cluster "
                         "boxes (use the default style for cluster=True or 'collapse')")
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 1):
        raise ValueError(f"depth must be a positive int or None, got {depth!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"max_nodes must be a positive int, got {max_nodes!r}")
    S.check_precision(precision)

    order = topological_order(root)
    plan = _Plan(order, depth if cluster else None, cluster, names_of(names))
    if plan.box_count > max_nodes:
        raise GraphTooLargeError(
            _too_many_message(plan, max_nodes, cluster, depth), plan.box_count, max_nodes
        )
    if style == "micrograd":
        return _micrograd(plan, format, rankdir, show_data, show_grad, precision)
    drawing = _Drawing(rankdir, show_data, show_grad, precision, order, format)
    drawing.draw(plan, boxes=cluster is True, legend=legend)
    return drawing.graph


def _micrograd(plan: _Plan, format, rankdir, show_data, show_grad, precision) -> Digraph:
    """micrograd's draw_dot look: plain records and plain op ellipses, nothing filled.

    As in the lecture, every record has its label cell (empty when there is
    no label) and numbers are printed ``%.4f``-style with a hyphen-minus.
    """
    graph = Digraph(name="chainrule", format=format, graph_attr={"rankdir": rankdir})
    for i, node in enumerate(plan.order):
        fields = [S.record_text(plan.label[node])]
        fields += [f"{name} {getattr(node, name):.{precision}f}"
                   for shown, name in ((show_data, "data"), (show_grad, "grad")) if shown]
        graph.node(f"n{i}", graphviz.nohtml("{ " + " | ".join(fields) + " }"), shape="record")
        if node._prev:
            graph.node(f"n{i}op", graphviz.nohtml(S.plain_text(node._op)))
            graph.edge(f"n{i}op", f"n{i}")
    index = {node: i for i, node in enumerate(plan.order)}
    for i, node in enumerate(plan.order):
        for child in node._prev:
            graph.edge(f"n{index[child]}", f"n{i}op")
    return graph


class GraphTooLargeError(ValueError):
    """More to draw than ``max_nodes``: ``count`` boxes; the message lists the options."""

    def __init__(self, message: str, count: int, max_nodes: int):
        super().__init__(message)
        self.count, self.max_nodes = count, max_nodes


def _too_many_message(plan: _Plan, max_nodes: int, cluster, depth) -> str:
    what = "module boxes and nodes" if cluster == "collapse" else "value nodes"
    options = [
        f"draw_dot(root, max_nodes={plan.box_count}) to draw them all "
        f"(Graphviz gets slow beyond a few thousand)"
    ]
    if not plan.scoped:
        options.append(
            "cluster='collapse' draws each module as one box, but no node of this graph "
            "was created inside a module call (nn modules or autograd.scope(...) tag them)"
        )
    elif cluster != "collapse":
        options.append("cluster=True to box nodes by module (still draws every node)")
        options.append("cluster='collapse' to draw each module as one box (depth=1: per layer)")
    elif depth != 1:
        options.append("a smaller depth, such as depth=1 (one box per layer)")
    return (
        f"the graph has {plan.box_count} {what} to draw, more than max_nodes={max_nodes}. "
        f"Options: {'; '.join(options)}."
    )


def _cut(scope: str | None, depth: int | None) -> str | None:
    if scope is None or depth is None:
        return scope
    return "/".join(scope.split("/")[:depth])


class _Group:
    """A box standing for several nodes (a module, a stretch of ops or a set of leaves)."""

    __slots__ = ("kind", "title", "members", "name")

    def __init__(self, kind: str, title: str):
        self.kind, self.title, self.members, self.name = kind, title, [], ""


class _Plan:
    """Which node goes where: ``owner[node]`` is a _Group (collapsed) or None (drawn itself).

    Also ``scope[node]`` (the module path a node belongs to, named parameters
    included) and ``label[node]`` (its own label or its name), and
    ``box_count``, the number of boxes that will be drawn.
    """

    def __init__(self, order: list[Value], depth: int | None, cluster, names: dict):
        self.order = order
        collapse = cluster == "collapse"
        self.scope, self.label = scopes_and_labels(order, names, cluster is not False, depth)
        self.scoped = any(scope is not None for scope in self.scope.values())
        self.owner: dict[Value, _Group | None] = dict.fromkeys(order)
        self.groups: list[_Group] = []
        if collapse and self.scoped:
            self._collapse(order, depth)
        self.depth = depth
        self.box_count = len(self.groups) + sum(1 for g in self.owner.values() if g is None)

    def _collapse(self, order: list[Value], depth: int | None) -> None:
        root = order[-1]
        modules: dict[str, _Group] = {}
        # Modules: every node made inside a module call, cut at depth.
        for node in order:
            path = _cut(self.scope[node], depth)
            if path is not None:  # the root too: the last neuron's "+ b" stays in its box
                if path not in modules:
                    modules[path] = _Group("module", path)
                self.owner[node] = modules[path]
        # Stretches of unscoped operations: connected pieces, found with union-find.
        parent: dict[Value, Value] = {}

        def find(node):
            while parent[node] is not node:
                parent[node] = parent[parent[node]]
                node = parent[node]
            return node

        loose = [n for n in order if n._prev and n is not root and self.owner[n] is None]
        for node in loose:
            parent[node] = node
        for node in loose:
            for child in node._prev:
                if child in parent:
                    parent[find(child)] = find(node)
        stretches: dict[Value, _Group] = {}
        for node in loose:
            top = find(node)
            if top not in stretches:
                stretches[top] = _Group("ops", "operations")
            self.owner[node] = stretches[top]
        # Leaves outside modules: one box per set of boxes consuming them.
        consumers: dict[Value, list] = {}
        for node in order:
            for child in node._prev:
                if not child._prev and self.scope[child] is None:
                    target = self.owner[node] or node
                    seen = consumers.setdefault(child, [])
                    if not any(t is target for t in seen):
                        seen.append(target)
        leaf_groups: dict[tuple, _Group] = {}
        for leaf, targets in consumers.items():
            if all(not isinstance(t, _Group) for t in targets):
                continue
            key = tuple(id(t) for t in targets)
            if key not in leaf_groups:
                leaf_groups[key] = _Group("leaves", "leaves")
            self.owner[leaf] = leaf_groups[key]
        # Groups in order of first appearance; a group of one is drawn as its node.
        for node in order:
            group = self.owner[node]
            if group is not None:
                group.members.append(node)
        for node in order:
            group = self.owner[node]
            if group is None or group.name:
                continue
            if len(group.members) == 1 and group.kind != "module":
                self.owner[node] = None
                continue
            group.name = f"g{len(self.groups)}"
            self.groups.append(group)


class _Drawing:
    """Builds the Digraph for a plan."""

    def __init__(self, rankdir, show_data, show_grad, precision, order, format="svg"):
        self.show_data, self.show_grad, self.precision = show_data, show_grad, precision
        self.horizontal_records = rankdir in ("LR", "RL")
        self.index = {node: i for i, node in enumerate(order)}
        self.colour = False
        self.scale = S.Scale(None)
        self.graph = Digraph(
            name="chainrule",
            format=format,
            graph_attr={
                "rankdir": rankdir,
                "fontname": S.FONT,
                "nodesep": "0.25",
                "ranksep": "0.4",
                "bgcolor": "white",
            },
            node_attr={
                "shape": "Mrecord",
                "style": "filled",
                "fontname": S.FONT,
                "fontsize": "11",
                "penwidth": "0.8",
                "color": "#444444",
                "fillcolor": S.NEUTRAL_FILL,
                "fontcolor": S.DARK_TEXT,
            },
            edge_attr={"color": S.EDGE_COLOR, "arrowsize": "0.6", "penwidth": "0.9"},
        )

    # -- pieces --------------------------------------------------------------

    def _record(self, fields: list[str], across: bool = True) -> str:
        """A record label: fields side by side (across) or stacked, whatever rankdir is."""
        body = " | ".join(fields)
        return f"{{ {body} }}" if across == self.horizontal_records else body

    def _fill(self, grad: float) -> dict:
        fill = self.scale.shade(grad) if self.colour else S.NEUTRAL_FILL
        return {"fillcolor": fill, "fontcolor": S.text_color(fill)}

    def _numbers(self, values: list[Value]) -> list[str]:
        """The data and grad fields for one value, or their ranges for several."""
        fields = []
        for shown, name in ((self.show_data, "data"), (self.show_grad, "grad")):
            if shown:
                numbers = [getattr(v, name) for v in values]
                fields.append(f"{name} {_span(numbers, self.precision)}")
        return fields

    def value_node(self, target: graphviz.Digraph, node: Value, label: str) -> None:
        i = self.index[node]
        # Every box shows its name (one name per node): an unnamed one its index, n{i}.
        fields = [S.record_text(label or f"n{i}")]
        fields += self._numbers([node])
        target.node(f"n{i}", graphviz.nohtml(self._record(fields)), **self._fill(node.grad))
        if node._prev:
            name = op_name(node._op)
            target.node(
                f"n{i}op",
                graphviz.nohtml(S.plain_text(name)),
                shape="circle",
                fillcolor=S.OP_FILL,
                fontcolor=S.DARK_TEXT,
                fontsize="12" if len(name) <= 2 else "10",
                width="0.36",
                margin="0.02",
            )

    def group_node(self, target: graphviz.Digraph, group: _Group, outputs: list[Value]) -> None:
        """A box for a group: its title in bold, then size, outputs, data and grad, one per line.

        Not a record: Graphviz (2.43) can lose an edge between records in
        neighbouring clusters, so group boxes use HTML-like labels.
        """
        members = group.members
        if group.kind == "leaves":
            lines = [f"{len(members)} leaves"]
            outputs = members
        elif group.kind == "ops":
            lines = [f"{len(members)} operations", _op_mix(members)]
        else:
            # Inside its enclosing module's box, a module shows the last part of its path.
            lines = [group.title.rsplit("/", 1)[-1], f"{len(members)} nodes"]
        if len(outputs) > 1 and group.kind != "leaves":
            lines.append(f"{len(outputs)} outputs")
        lines += self._numbers(outputs)
        # Coloured like the nodes it stands for: by its strongest output gradient.
        style = self._fill(_strongest(outputs)) if outputs else {
            "fillcolor": S.GROUP_FILL, "fontcolor": S.DARK_TEXT}
        title, *rest = (S.html_text(line) for line in lines)
        target.node(
            group.name,
            f"<<B>{title}</B><BR/>{'<BR/>'.join(rest)}>",
            shape="box",
            style="rounded,filled,bold" if group.kind == "module" else "rounded,filled,dashed",
            margin="0.15,0.08",
            **style,
        )

    # -- the whole graph -------------------------------------------------------

    def draw(self, plan: _Plan, boxes: bool, legend: bool) -> None:
        owner = plan.owner
        if boxes or plan.groups:
            # Graphviz's last crossing-minimisation pass over clusters would undo the
            # natural order of the modules (neurons.1 ... neurons.15, then neurons.0).
            self.graph.graph_attr["remincross"] = "false"
        outputs = self._group_outputs(plan)
        # Colours: what is drawn (values, and each group by its strongest output); the
        # scale from the gradients that matter, not the root's 1 nor constants'.
        coloured = [n.grad for n in plan.order if owner[n] is None]
        coloured += [_strongest(outs) for outs in outputs.values() if outs]
        self.colour = self.show_grad and any(g != 0.0 for g in coloured)
        self.scale = colour_scale(plan.order, plan.label, owner, outputs)

        # Nodes: drawn nodes inside their scope boxes (cluster=True) or at top level.
        parents = {g.title.rpartition("/")[0] for g in plan.groups if g.kind == "module"}
        inputs = _module_inputs(plan) if boxes else {}
        tree = _ScopeTree()
        for node in plan.order:
            group = owner[node]
            if group is None:
                path = inputs.get(node) or (_cut(plan.scope[node], plan.depth) if boxes else None)
                tree.add(path, ("node", node))
            elif group.members[0] is node:
                # A module box sits inside the boxes of its enclosing modules; the
                # nodes a module makes outside its children (nn's input conversion)
                # sit inside its own box, beside its children.
                enclosing = ""
                if group.kind == "module":
                    path = group.title
                    enclosing = path if path in parents else path.rpartition("/")[0]
                tree.add(enclosing or None, ("group", group))
        self._feeds = _feeds(plan)
        self._emit(self.graph, tree.top, outputs, plan.label, [0])
        self._edges(plan)
        if legend and self.colour:
            root = plan.order[-1]
            self._legend(coloured, owner[root].name if owner[root] else f"n{len(plan.order) - 1}")

    def _group_outputs(self, plan: _Plan) -> dict[_Group, list[Value]]:
        """For each group, its members used outside it (or the root), in graph order."""
        owner = plan.owner
        outputs: dict[_Group, list[Value]] = {g: [] for g in plan.groups}
        used_outside = set()
        for node in plan.order:
            for child in node._prev:
                group = owner[child]
                if group is not None and owner[node] is not group:
                    used_outside.add(child)
        for node in plan.order:
            group = owner[node]
            if group is not None and (node in used_outside or node is plan.order[-1]):
                outputs[group].append(node)
        return outputs

    def _emit(self, target, branch: _Branch, outputs, labels, counter: list[int]) -> None:
        """The items of one box, then its sub-boxes, modules in natural order (neurons.2
        before neurons.10); modules fed by the same boxes (the neurons of a layer) are
        kept in that order side by side."""
        groups = iter(sorted((item for kind, item in branch.items if kind == "group"),
                             key=lambda g: _natural(g.title)))
        for kind, item in branch.items:
            if kind == "node":
                self.value_node(target, item, labels[item])
            else:
                group = next(groups)
                self.group_node(target, group, outputs[group])
        siblings: dict[frozenset, list[_Group]] = {}
        for kind, item in branch.items:
            if kind == "group" and item.kind == "module" and self._feeds.get(item):
                siblings.setdefault(self._feeds[item], []).append(item)
        for row in siblings.values():
            if len(row) > 1:
                with target.subgraph() as same:
                    same.attr(rank="same")
                    # A flat edge a -> b puts b right of a, or above it when rankdir is
                    # LR or RL: chain them so that the first stands first (left, top).
                    row.sort(key=lambda g: _natural(g.title), reverse=self.horizontal_records)
                    for a, b in zip(row, row[1:], strict=False):
                        same.edge(a.name, b.name, style="invis")
        for path, sub in sorted(branch.children.items(), key=lambda item: _natural(item[0])):
            with target.subgraph(name=f"cluster_{counter[0]}") as box:
                counter[0] += 1
                box.attr(
                    label=graphviz.nohtml(S.plain_text(path.rsplit("/", 1)[-1])),
                    style="rounded,filled",
                    fillcolor=S.BOX_FILLS[path.count("/") % 2],
                    color="#9aa5b1",
                    fontname=S.FONT,
                    fontsize="11",
                    fontcolor="#52606d",
                    # Room above the nodes for the title, which stands at the right, clear of
                    # the edges coming in from the left: no box or edge hides it.
                    labeljust="r",
                    margin="8,20",
                )
                self._emit(box, sub, outputs, labels, counter)

    def _edges(self, plan: _Plan) -> None:
        """child -> op circle -> value; edges into and out of group boxes merged, width by count."""
        owner = plan.owner
        merged: dict[tuple[str, str], int] = {}
        for node in plan.order:
            group = owner[node]
            if group is None:
                i = self.index[node]
                head = f"n{i}op"
            else:
                head = group.name
            for child in node._prev:
                child_group = owner[child]
                if child_group is not None and child_group is group:
                    continue
                tail = child_group.name if child_group is not None else f"n{self.index[child]}"
                if group is None and child_group is None:
                    self.graph.edge(tail, head)
                else:
                    merged[tail, head] = merged.get((tail, head), 0) + 1
            if group is None and node._prev:
                self.graph.edge(head, f"n{i}")
        for (tail, head), count in merged.items():
            width = 0.9 + min(3.0, math.log10(count))
            self.graph.edge(tail, head, penwidth=f"{width:.2f}")

    def _legend(self, grads: list[float], root: str) -> None:
        nonfinite = any(not math.isfinite(g) for g in grads)
        rows = "".join(
            f'<TR><TD BGCOLOR="{fill}" WIDTH="18" HEIGHT="12"></TD>'
            f'<TD ALIGN="LEFT">{S.html_text(text)}</TD></TR>'
            for fill, text in self.scale.legend_rows(grads, nonfinite)
        )
        table = (
            '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="2">'
            '<TR><TD COLSPAN="2" ALIGN="LEFT"><B>grad</B></TD></TR>'
            f"{rows}</TABLE>>"
        )
        # rank=sink and an invisible edge from the root: the legend stands just after the
        # root (at the right for rankdir LR), never between clusters.
        with self.graph.subgraph(name="legend_rank", graph_attr={"rank": "sink"}) as sink:
            sink.node(
                "legend", table, shape="box", style="rounded", color="#bbbbbb",
                fillcolor="white", fontsize="10",
            )
        self.graph.edge(root, "legend", style="invis")


def _natural(text: str) -> list:
    """A sort key that orders numbers by value: neurons.2 before neurons.10."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.split(r"(\d+)", text)]


def _feeds(plan: _Plan) -> dict[_Group, frozenset]:
    """For each module box, the drawn things that feed it (group or node names)."""
    owner, index = plan.owner, {node: i for i, node in enumerate(plan.order)}
    feeds: dict[_Group, set] = {}
    for node in plan.order:
        group = owner[node]
        if group is None or group.kind != "module":
            continue
        for child in node._prev:
            source = owner[child]
            if source is not group:
                feeds.setdefault(group, set()).add(
                    source.name if source is not None else f"n{index[child]}")
    return {group: frozenset(names) for group, names in feeds.items()}


def _module_inputs(plan: _Plan) -> dict[Value, str]:
    """Unnamed leaves outside any module that several modules inside one top-level module
    consume (the numbers fed to a layer's neurons): drawn in an ``inputs`` box inside that
    module's box. A leaf only one module consumes (an unnamed weight) stays where it was."""
    consumers: dict[Value, set] = {}
    for node in plan.order:
        for child in node._prev:
            if not child._prev and plan.scope[child] is None and not plan.label[child]:
                consumers.setdefault(child, set()).add(plan.scope[node])
    placed = {}
    for leaf, scopes in consumers.items():
        tops = {None if scope is None else scope.split("/")[0] for scope in scopes}
        if len(scopes) > 1 and len(tops) == 1 and None not in tops:
            placed[leaf] = f"{tops.pop()}/inputs"
    return placed


def _strongest(values: list[Value]) -> float:
    """The gradient of largest magnitude among values (nan or inf first: they must show)."""
    return max((v.grad for v in values),
               key=lambda g: math.inf if not math.isfinite(g) else abs(g))


def is_constant(node: Value, label: str) -> bool:
    """A leaf with neither label nor name: a number lifted into the graph (``2 * x``, ``1/n``)."""
    return not node._prev and not label


def colour_scale(order: list[Value], labels: dict, owner=None, outputs=None) -> S.Scale:
    """The gradient scale of a picture: from every drawn value and group output except the
    root (whose gradient is 1 by definition) and constants; from all of them if that leaves
    none. The stepper uses it too, so its colours are the drawing's."""
    root = order[-1]
    drawn = [n for n in order if owner is None or owner[n] is None]
    if outputs:
        drawn += [v for outs in outputs.values() for v in outs]
    matter = [n.grad for n in drawn if n is not root and not is_constant(n, labels[n])]
    if not any(g != 0.0 and math.isfinite(g) for g in matter):
        matter = [n.grad for n in drawn]
    return S.Scale.of(matter)


def _op_mix(members: list[Value]) -> str:
    """The three commonest ops of a stretch, such as ``× 338 · + 337 · relu 100``."""
    counts: dict[str, int] = {}
    for node in members:
        counts[node._op] = counts.get(node._op, 0) + 1
    common = sorted(counts.items(), key=lambda item: -item[1])[:3]
    return " · ".join(f"{op_name(op)} {count}" for op, count in common)


def _span(numbers: list[float], precision: int) -> str:
    """One number, or the range ``low … high`` of several (``, nan`` added when some are nan)."""
    real = [x for x in numbers if not math.isnan(x)]
    if not real:
        return "nan"
    low, high = S.fmt(min(real), precision), S.fmt(max(real), precision)
    span = low if low == high else f"{low} … {high}"
    return span if len(real) == len(numbers) else f"{span}, nan"


class _Branch:
    __slots__ = ("items", "children")

    def __init__(self):
        self.items: list = []
        self.children: dict[str, _Branch] = {}


class _ScopeTree:
    """Drawn items filed under their scope path, nested by ``/``, in order of first appearance."""

    def __init__(self):
        self.top = _Branch()

    def add(self, path: str | None, item) -> None:
        branch = self.top
        if path is not None:
            parts = path.split("/")
            for k in range(1, len(parts) + 1):
                branch = branch.children.setdefault("/".join(parts[:k]), _Branch())
        branch.items.append(item)
