"""The backward stepper: watch backpropagation one chain-rule step at a time.

``step_through(root)`` runs ``autograd.backward_steps`` once and keeps one
record per step, lays the graph out once with Graphviz (``draw_dot``, rendered
to a single SVG) and packs both into a small self-contained HTML viewer:
previous/next buttons, a slider, the left/right arrow keys (Home/End too) and
play/pause. At each step the node being processed and its edges to its
children are highlighted, gradients fill in (a node not reached yet shows
``grad ·``) and recolour by sign and magnitude, and a panel spells out the
chain rule of the step::

    dL/da += dL/dc * dc/da = 1.0000 * -3.0000 = -3.0000   (total -3.0000)

Position 0 is the seed (dL/dL = 1); position k is backward step k - 1, so a
graph of n nodes has positions 0..n. A node used twice (``a + a``) receives
two contributions in one step, each with its running total.

Where it works. The HTML needs no kernel and no network: the SVG, the records
(JSON), the CSS and the JavaScript are all inline, fonts are the system's, and
everything is scoped to its container (found from the running script, with a
fresh unique id as fallback), so several steppers on one page, or one output
shown in two JupyterLab views, do not interfere; the SVG's own ids
(``graph0``, ``node1``, ...) are prefixed with the container id. In
JupyterLab, Notebook 7, VS Code and HTML exported by nbconvert, the viewer
runs in the output of a cell you execute. Jupyter does not run JavaScript from
outputs of an *untrusted* notebook (one opened from elsewhere and not run
again), and its sanitizer strips ``<svg>`` and ``<style>``; so the SVG travels
inside the script, and such an output shows only a note saying how to get the
viewer (run the cell again, ``jupyter trust notebook.ipynb``, or open a file
written by ``.save``). ``.save(path)`` writes the viewer as a standalone HTML
page that any browser opens offline.

Decisions. ``step_through`` leaves every ``.grad`` as it found it: it shows a
fresh backward pass (as ``backward()`` from zero gradients), whatever the
gradients held before. The graph is laid out with the final gradients written
in, so every grad field is wide enough for the number it ends with. Node names
in the panel are the labels, or ``n{i}`` (the node's index in
``topological_order(root)``, its name in the SVG) for an unlabelled node.
Without the Graphviz ``dot`` program, ``step_through`` raises
``GraphvizNotFoundError`` (saying how to install it) instead of returning a
viewer that cannot draw.
"""

from __future__ import annotations

import json
import re
import secrets
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import autograd

from . import _style
from ._trace import display_names, formulas, trace
from .graph import draw_dot, render_svg


def step_through(root, grad: float = 1.0, **draw_options) -> Stepper:
    """A viewer of root's backward pass, one chain-rule step per position (see module doc).

    ``grad`` seeds the pass as in ``backward(grad)``; ``draw_options`` go to
    ``draw_dot`` (e.g. ``rankdir='TB'``, ``precision=6``, ``max_nodes``).
    """
    return Stepper(root, grad, **draw_options)


class Stepper:
    """One backward pass as records plus one SVG; displays itself in Jupyter.

    ``records``: one dict per position with keys ``step``, ``node`` (index),
    ``name``, ``op``, ``upstream`` and ``contributions``. Position 0 is the
    seed (the root, ``op`` '', ``upstream`` the seed, no contributions);
    position k >= 1 is backward step k - 1, whose contributions are dicts
    ``{"child", "name", "local", "added", "total"}`` in operand order, where
    ``total`` is the child's gradient after this contribution. ``names[i]`` is
    node i's display name (node i of ``topological_order(root)``, ``n{i}`` in
    the SVG).
    """

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
        self.names = display_names(order, draw_options.get("names"))
        with _grads_kept(order):  # backward_steps and the drawing write .grad
            self.records, totals = trace(root, order, self.names, grad)
            # Laid out with the final gradients, every grad field fits its last number.
            for node, total in zip(order, totals, strict=True):
                node.grad = total
            self.svg = render_svg(draw_dot(root, **{**draw_options, "show_grad": True}))
        self._scale = _style.scale_of(totals)

    def __len__(self) -> int:
        """The number of positions: the seed plus one per backward step."""
        return len(self.records)

    def __repr__(self) -> str:
        return (
            f"<Stepper: {len(self.records) - 1} backward steps over {len(self.names)} nodes; "
            "display it in Jupyter or .save('steps.html')>"
        )

    def to_html(self, full_document: bool = False) -> str:
        """The viewer as an HTML fragment (or a whole page), with a fresh container id."""
        container = f"crs-{secrets.token_hex(6)}"
        fragment = _TEMPLATE.format(
            id=container,
            css=_asset("stepper.css"),
            js=_asset("stepper.js"),
            data=_script_json({**self._payload(), "svg": _prefix_ids(self.svg, container)}),
        )
        if not full_document:
            return fragment
        title = f"Backward pass of {_style.html_text(self.names[-1])}"
        return _PAGE.format(title=title, body=fragment)

    def _repr_html_(self) -> str:
        return self.to_html()

    def save(self, path) -> Path:
        """Writes the viewer as a standalone HTML page; returns the path."""
        path = Path(path)
        path.write_text(self.to_html(full_document=True), encoding="utf-8")
        return path

    def _payload(self) -> dict:
        """The records as the viewer reads them: indices, formatted numbers and colours."""
        number = lambda x: _style.fmt(x, self.precision)
        fill = lambda x: _style.shade(x, self._scale)
        steps = []
        for record in self.records:
            contributions = [
                [
                    c["child"],
                    number(c["local"]),
                    number(c["added"]),
                    number(c["total"]),
                    fill(c["total"]),
                ]
                for c in record["contributions"]
            ]
            upstream = record["upstream"]
            steps.append([record["node"], number(upstream), fill(upstream), contributions])
        fills = {_style.NEUTRAL_FILL} | {s[2] for s in steps}
        fills |= {c[4] for s in steps for c in s[3]}
        return {
            "names": self.names,
            "formulas": formulas(self.records, self.names),
            "rootName": self.names[-1],
            "blank": "grad \u00b7",
            "prefix": "grad ",
            "unreached": _style.NEUTRAL_FILL,
            "textOn": {f: _style.text_color(f) for f in sorted(fills)},
            "steps": steps,
        }


@contextmanager
def _grads_kept(order):
    """Puts every node's ``.grad`` back as it was on leaving, whatever happened inside."""
    kept = [node.grad for node in order]
    try:
        yield
    finally:
        for node, g in zip(order, kept, strict=True):
            node.grad = g


def _asset(name: str) -> str:
    """A file shipped inside the viz package (the viewer's CSS and JavaScript)."""
    return resources.files("viz").joinpath(name).read_text(encoding="utf-8")


_XML_PROLOG = re.compile(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->", re.DOTALL)
_ID_ATTRIBUTE = re.compile(r'\bid="([^"]*)"')
_ID_REFERENCE = re.compile(r'(url\(#|href="#)([^")]*)')


def _prefix_ids(svg: str, prefix: str) -> str:
    """The SVG inlineable in HTML: no XML prolog or comments, every id (and use of one) prefixed."""
    svg = _XML_PROLOG.sub("", svg).strip()
    svg = _ID_ATTRIBUTE.sub(lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    return _ID_REFERENCE.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", svg)


def _script_json(payload) -> str:
    """payload as a JavaScript literal that cannot end or comment out the <script> around it."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # A lone surrogate in a label cannot be written as UTF-8: its JSON escape (\ud800)
    # gives JavaScript the very same string.
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.replace("</", "<\\/").replace("<!--", "<\\u0021--")


# The script builds the viewer, and the SVG travels inside it: where the script
# does not run (an untrusted notebook, whose sanitizer also strips <svg> and
# would leave its texts as loose words), only the note about trusting shows.
_TEMPLATE = """\
<div class="crs" id="{id}" tabindex="0" data-lm-suppress-shortcuts="true">
<style>{css}</style>
<div class="crs-nojs">The backward stepper needs JavaScript, which Jupyter runs only in trusted
notebooks: run the cell again (or <code>jupyter trust</code> the notebook), or open the file
written by <code>.save()</code> in a browser.</div>
<script>(function () {{
{js}
// The script's own container first: JupyterLab may show one output in several views.
var script = document.currentScript, root = script && script.parentNode;
if (!root || root.id !== "{id}") root = document.getElementById("{id}");
chainruleStepper(root, {data});
}})();</script>
</div>
"""

_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
</head>
<body>
{body}
</body>
</html>
"""
