"""The backward stepper: watch backpropagation one chain-rule step at a time.

``step_through(root)`` runs ``autograd.backward_steps`` once and keeps one
record per step, lays the graph out once with Graphviz (``draw_dot``, rendered
to a single SVG) and packs both into a small self-contained HTML viewer:
previous/next buttons, a slider, the left/right arrow keys (Home/End too) and
play/pause. At each step the node being processed and its edges to its
children are highlighted (a key says what each highlight colour means),
gradients fill in (a node not reached yet shows ``grad ·``) and recolour by
sign and magnitude, and a panel spells out the chain rule of the step, the
total derivative written ``dL/da``, the local one ``∂c/∂a``::

    dL/da += dL/dc * ∂c/∂a = 1.0000 * -3.0000 = -3.0000   (total -3.0000)

Position 0 is the seed (dL/dL = 1); each later position is one backward step
that passes gradient on. A leaf's own step passes nothing on, so it costs no
click: the leaf's last contribution says its gradient is final. A node used
twice (``a + a``) receives two contributions in one step, each with its
running total.

Names. Every box shows its name and the panel uses exactly those names (one
name per node, ``viz._trace.display_names``): the node's label, its ``names=``
parameter name, else ``n{i}``, its index in ``topological_order(root)`` (also
its name in the SVG), which ``draw_dot`` shows in each unnamed box. Colours
follow the drawing's scale (``viz.graph.colour_scale``). In a derivative, a name of
more than one character is written in parentheses: ``dL/d(n5)``,
``∂(n5)/∂(w.1)``.

Where it works. The HTML needs no kernel and no network (``viz._page``): the
SVG, the records (JSON), the CSS and the JavaScript are all inline, fonts are
the system's, and everything is scoped to its container, so several steppers
on one page, or one output shown in two JupyterLab views, do not interfere.
In JupyterLab, Notebook 7, VS Code and HTML exported by nbconvert, the viewer
runs in the output of a cell you execute. Jupyter does not run JavaScript from
outputs of an *untrusted* notebook (one opened from elsewhere and not run
again) and strips ``<svg>``; such an output shows a note saying how to get
the viewer (run the cell again, ``jupyter trust notebook.ipynb``, or open a
file written by ``.save``) above a static picture of the finished pass (every
gradient filled in), an ``<img>`` of the SVG that the sanitizer keeps.
``.save(path)`` writes the viewer as a standalone HTML page that any browser
opens offline. Its display bundle also holds a PNG of the finished pass, for
viewers that show no pictures inside HTML (GitHub's preview).

Decisions. ``step_through`` leaves every ``.grad`` as it found it: it shows a
fresh backward pass (as ``backward()`` from zero gradients), whatever the
gradients held before. The graph is laid out with the final gradients written
in, so every grad field is wide enough for the number it ends with. Fitted
to the width (the default), a wide graph is never shrunk below 75 % of its
size, so its text stays at least 11 px high; it scrolls instead. Without the Graphviz
``dot`` program, ``step_through`` raises ``GraphvizNotFoundError`` (saying how
to install it) instead of returning a viewer that cannot draw.
"""

from __future__ import annotations

import base64
from contextlib import contextmanager

import autograd

from . import _page, _style
from ._trace import display_names, formulas, names_of, scopes_and_labels, term, trace
from .graph import _png_dpi, colour_scale, draw_dot, render_png, render_svg


def step_through(root, grad: float = 1.0, **draw_options) -> Stepper:
    """A viewer of root's backward pass, one chain-rule step per position (see module doc).

    ``grad`` seeds the pass as in ``backward(grad)``; ``draw_options`` go to
    ``draw_dot`` (e.g. ``rankdir='TB'``, ``precision=6``, ``max_nodes``).
    """
    return Stepper(root, grad, **draw_options)


class Stepper(_page.Page):
    """One backward pass as records plus one SVG; displays itself in Jupyter.

    ``records``: one dict per step of the whole pass with keys ``step``,
    ``node`` (index), ``name``, ``op``, ``upstream`` and ``contributions``.
    Record 0 is the seed (the root, ``op`` '', ``upstream`` the seed, no
    contributions); record k >= 1 is backward step k - 1, whose contributions
    are dicts ``{"child", "name", "local", "added", "total"}`` in operand
    order, where ``total`` is the child's gradient after this contribution.
    ``positions`` are the records the viewer shows: the seed and every step
    that passes gradient on (a leaf's step passes nothing and is skipped).
    ``names[i]`` is node i's display name (node i of
    ``topological_order(root)``, ``n{i}`` in the SVG), as its box shows it.
    """

    kind = "crs"
    css = ("stepper.css",)
    js = ("stepper.js",)
    entry = "chainruleStepper"
    what = "The backward stepper"

    def __init__(self, root, grad: float = 1.0, **draw_options):
        if draw_options.get("show_grad") is False:
            raise ValueError("step_through fills in the grad field: it needs show_grad=True")
        if draw_options.get("cluster") == "collapse":
            raise ValueError(
                "step_through highlights every node, so it cannot collapse modules: "
                "use cluster=True (boxes around modules) or cluster=False"
            )
        order = autograd.topological_order(root)
        self.precision = draw_options.get("precision", 4)
        given = draw_options.get("names")
        cluster, depth = draw_options.get("cluster", False), draw_options.get("depth")
        self.names = display_names(order, given, cluster, depth)
        self._leaves = [not node._prev for node in order]
        with _grads_kept(order):  # backward_steps and the drawing write .grad
            self.records, totals = trace(root, order, self.names, grad)
            # Laid out with the final gradients, every grad field fits its last number.
            for node, total in zip(order, totals, strict=True):
                node.grad = total
            drawn = {**draw_options, "show_grad": True}
            graph = draw_dot(root, **drawn)
            self.svg = render_svg(graph)
            self._png = _png_of(graph, self.svg)
            # The drawing's colour scale (root and constants left out), so colours agree.
            _, labels = scopes_and_labels(order, names_of(given), cluster is not False, depth)
            self._scale = colour_scale(order, labels)
        self.positions = [0] + [
            k for k, record in enumerate(self.records) if k and record["contributions"]
        ]

    def __len__(self) -> int:
        """The number of positions the viewer steps through (the seed included)."""
        return len(self.positions)

    def __repr__(self) -> str:
        return (
            f"<Stepper: {len(self.records) - 1} backward steps over {len(self.names)} nodes "
            f"({len(self.positions)} positions); display it in Jupyter or .save('steps.html')>"
        )

    def _title(self) -> str:
        return f"Backward pass of {self.names[-1]}"

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        """The viewer (HTML) with a PNG of the finished pass beside it, for viewers that show
        no HTML pictures (GitHub's preview of a committed notebook)."""
        return {"text/html": self.to_html(), "image/png": self._png, "text/plain": repr(self)}

    def _content(self, container: str):
        svg = _page.prefix_ids(self.svg, container)
        alt = f"the backward pass of {self.names[-1]}, finished: every gradient filled in"
        return self._payload(), [(_page.svg_data_uri(svg), alt)]

    def _payload(self) -> dict:
        """The shown positions as the viewer reads them: indices, formatted numbers and colours."""
        number = lambda x: _style.fmt(x, self.precision)
        fill = self._scale.shade
        last_contribution = {}  # a leaf's last contribution makes its gradient final
        for k, record in enumerate(self.records):
            for j, c in enumerate(record["contributions"]):
                last_contribution[c["child"]] = (k, j)
        steps = []
        for k in self.positions:
            record = self.records[k]
            contributions = [
                [
                    c["child"],
                    number(c["local"]),
                    number(c["added"]),
                    number(c["total"]),
                    fill(c["total"]),
                    int(self._leaves[c["child"]] and last_contribution[c["child"]] == (k, j)),
                ]
                for j, c in enumerate(record["contributions"])
            ]
            upstream = record["upstream"]
            steps.append([record["node"], number(upstream), fill(upstream), contributions])
        fills = {_style.NEUTRAL_FILL} | {s[2] for s in steps}
        fills |= {c[4] for s in steps for c in s[3]}
        return {
            "names": self.names,
            "terms": [term(name) for name in self.names],
            "formulas": formulas(self.records, self.names),
            "root": len(self.names) - 1,
            "blank": "grad \u00b7",
            "prefix": "grad ",
            "unreached": _style.NEUTRAL_FILL,
            "textOn": {f: _style.text_color(f) for f in sorted(fills)},
            "steps": steps,
        }


def _png_of(graph, svg: str) -> str:
    """The graph as PNG, base64 (what a notebook stores), at most PNG_WIDEST pixels wide."""
    return base64.b64encode(render_png(graph, _png_dpi(svg))).decode("ascii")


@contextmanager
def _grads_kept(order):
    """Puts every node's ``.grad`` back as it was on leaving, whatever happened inside."""
    kept = [node.grad for node in order]
    try:
        yield
    finally:
        for node, g in zip(order, kept, strict=True):
            node.grad = g
