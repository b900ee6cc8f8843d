"""Network diagrams: ``draw_network(mlp)`` draws an MLP's architecture and its weights.

Inputs, hidden layers and outputs are columns of circles; every weight is an
edge from a neuron (or input) of one column to a neuron of the next, blue when
positive and red when negative, wider and more opaque the larger its
magnitude. A neuron's fill shows its bias on the same diverging palette as
``draw_dot``. ``show='grad'`` draws the gradients of the weights and biases
instead of their values, which shows where the last backward pass pushes.

The columns are placed by hand (Graphviz's ``neato`` with pinned positions),
so the picture is the classic left-to-right diagram whatever the weights are,
and the same model always gives byte-identical DOT source.

The function reads only the attributes nn promises (contract 3): ``.layers``
of the MLP, ``.neurons`` of each layer, ``.w`` (list of Values), ``.b`` and
``.activation`` of each neuron.
"""

from __future__ import annotations

import math

import graphviz

from . import _style as S
from .graph import Digraph

SHOW = ("data", "grad")
COLUMN_GAP = 2.4  # inches between layers
ROW_GAP = 0.55  # inches between neurons of a layer (less for wide layers, see _row_gap)
TALLEST = 10.0  # inches: wider layers squeeze their neurons to stay about this tall
LABEL_LIMIT = 12  # numbers inside the circles when no layer is wider than this
EDGE_BUDGET = 64  # edges drawn between two layers when the inputs are more than LABEL_LIMIT


def draw_network(
    mlp,
    show: str = "data",
    input_names=None,
    precision: int = 2,
    labels: bool | None = None,
    legend: bool = True,
    thin: bool | None = None,
) -> Digraph:
    """The architecture of mlp as a Digraph: weights as edges coloured by sign, sized by size.

    show: 'data' draws weights and biases, 'grad' their gradients.
    input_names: names for the input column (default x₀, x₁, …: numbered from 0,
    like Python, the ``layers.0`` of the captions and draw_dot's names).
    labels: numbers inside the neuron circles; None shows them when no layer is
    wider than 12 neurons.
    thin: between wide layers (more than 12 inputs), draw only the strongest
    weights into each neuron, about 64 edges a layer (the legend says how
    many); None thins when a layer is that wide, False draws every weight.
    """
    if show not in SHOW:
        raise ValueError(f"show must be 'data' or 'grad', got {show!r}")
    S.check_precision(precision)
    layers = _layers_of(mlp)
    nin = len(layers[0][0].w)
    if input_names is None:
        input_names = [f"x{_subscript(i)}" for i in range(nin)]
    input_names = [str(name) for name in input_names]
    if len(input_names) != nin:
        raise ValueError(f"input_names has {len(input_names)} names, the model takes {nin} inputs")
    widths = [nin] + [len(neurons) for neurons in layers]
    if labels is None:
        labels = max(widths) <= LABEL_LIMIT
    kept = [_kept_per_neuron(len(neurons[0].w), len(neurons), thin) for neurons in layers]

    # Each column is centred on y = 0; wide layers squeeze their rows, and
    # dense layers get thinner, fainter edges so the picture stays legible.
    gaps = [min(ROW_GAP, max(0.12, TALLEST / width)) for width in widths]
    half = max((width - 1) / 2 * gap for width, gap in zip(widths, gaps, strict=True))
    density = min(1.0, 16 / max(widths))
    weights = [getattr(w, show) for neurons in layers for n in neurons for w in n.w]
    biases = [getattr(n.b, show) for neurons in layers for n in neurons]
    weight_scale, bias_scale = S.scale_of(weights), S.scale_of(biases)

    graph = Digraph(
        name="network",
        engine="neato",
        graph_attr={
            "splines": "false",
            "outputorder": "edgesfirst",
            "bgcolor": "white",
            "fontname": S.FONT,
            "pad": "0.3",
        },
        node_attr={
            "shape": "circle",
            "style": "filled",
            "fixedsize": "true",
            "width": "0.42",
            "fontname": S.FONT,
            "fontsize": "9",
            "penwidth": "0.8",
            "color": "#444444",
        },
        edge_attr={"arrowhead": "none"},
    )

    def place(column: int, row: int) -> dict:
        gap = gaps[column]
        y = ((widths[column] - 1) / 2 - row) * gap
        size = min(0.42, 0.8 * gap)
        return {"pos": f"{column * COLUMN_GAP:.3f},{y:.3f}!", "width": f"{size:.3f}"}

    for row, name in enumerate(input_names):
        graph.node(
            f"x{row}", graphviz.nohtml(S.plain_text(name)), **place(0, row),
            fillcolor="#ffffff", fontsize="10", tooltip=S.plain_text(f"input {name}"),
        )
    previous = [f"x{row}" for row in range(nin)]
    for column, neurons in enumerate(layers, start=1):
        names = []
        for row, neuron in enumerate(neurons):
            name = f"L{column - 1}N{row}"
            bias = getattr(neuron.b, show)
            fill = S.shade(bias, bias_scale)
            graph.node(
                name,
                S.fmt(bias, precision) if labels else "",
                **place(column, row),
                fillcolor=fill,
                fontcolor=S.text_color(fill),
                tooltip=S.plain_text(
                    f"layers.{column - 1}.neurons.{row}: {neuron.activation}, "
                    f"b {show} {S.fmt(bias, 4)}"
                ),
            )
            values = [getattr(w, show) for w in neuron.w]
            strongest = sorted(range(len(values)), key=lambda k: -_magnitude(values[k]))
            for k in sorted(strongest[: kept[column - 1]]):
                graph.edge(previous[k], name, **_weight_style(values[k], weight_scale, density))
            names.append(name)
        previous = names

    for column in range(len(widths)):
        graph.node(
            f"caption{column}",
            graphviz.nohtml(S.plain_text(_caption(column, layers))),
            shape="plaintext",
            style="",
            fixedsize="false",
            fontsize="11",
            fontcolor="#52606d",
            pos=f"{column * COLUMN_GAP:.3f},{-half - 0.6:.3f}!",
        )
    if legend:
        graph.node(
            "legend",
            _legend_table(show, weight_scale, bias_scale, precision, _thinning(layers, kept)),
            shape="plaintext",
            style="",
            fixedsize="false",
            fontsize="10",
            pos=f"{len(widths) * COLUMN_GAP - COLUMN_GAP * 0.2:.3f},"
            f"{half:.3f}!",
        )
    return graph


def _kept_per_neuron(inputs: int, neurons: int, thin: bool | None) -> int:
    """How many incoming weights each neuron of a layer shows (all, unless thinned)."""
    if thin is False or (thin is None and inputs <= LABEL_LIMIT):
        return inputs
    return min(inputs, max(1, EDGE_BUDGET // neurons))


def _magnitude(x: float) -> float:
    return math.inf if not math.isfinite(x) else abs(x)  # nan and inf always show


def _thinning(layers: list[list], kept: list[int]) -> str:
    """The legend's line on thinned layers: ``strongest 4 of 16 weights into each neuron``."""
    thinned = sorted({(k, len(neurons[0].w)) for neurons, k in zip(layers, kept, strict=True)
                      if k < len(neurons[0].w)})
    if not thinned:
        return ""
    parts = ", ".join(f"{k} of {n}" for k, n in thinned)
    return f"shown: the strongest {parts} weights into each neuron"


def _layers_of(mlp) -> list[list]:
    """The neurons of each layer, checking the attributes contract 3 promises."""
    layers = getattr(mlp, "layers", None)
    if not layers:
        raise TypeError(
            f"draw_network expects an MLP with .layers (each with .neurons), "
            f"got {type(mlp).__name__}"
        )
    result = []
    for i, layer in enumerate(layers):
        neurons = list(getattr(layer, "neurons", ()))
        if not neurons or not all(hasattr(n, "w") and hasattr(n, "b") for n in neurons):
            raise TypeError(f"layers[{i}] has no .neurons with .w and .b")
        result.append(neurons)
    return result


def _weight_style(value: float, scale: float, density: float = 1.0) -> dict:
    """An edge's colour (sign, opacity by magnitude) and width (magnitude, less when dense)."""
    if not math.isfinite(value):
        return {"color": S.NONFINITE_FILL, "penwidth": "2.0"}
    fraction = abs(value) / scale if scale else 0.0
    base = S.POSITIVE[0] if value >= 0 else S.NEGATIVE[0]
    alpha = int(round(255 * (0.1 + 0.1 * density + 0.8 * fraction)))
    width = 0.3 + 3.7 * max(0.25, density) * fraction
    return {"color": f"{base}{alpha:02x}", "penwidth": f"{width:.2f}"}


def _caption(column: int, layers: list[list]) -> str:
    """What a column is: ``input · 2``, ``layers.0 · 16 relu``, ``layers.1 · 1 linear (output)``,
    numbered from 0 as the model's own names (``layers.0.neurons.3``) are."""
    if column == 0:
        return f"input · {len(layers[0][0].w)}"
    neurons = layers[column - 1]
    activation = getattr(neurons[0], "activation", "")
    caption = f"layers.{column - 1} · {len(neurons)} {activation}".rstrip()
    return f"{caption} (output)" if column == len(layers) else caption


def _legend_table(show: str, weight_scale: float, bias_scale: float, precision: int,
                  thinning: str = "") -> str:
    quantity = "w" if show == "data" else "grad w"
    cells = [
        f'<TR><TD BGCOLOR="{colour}" WIDTH="24" HEIGHT="6"></TD>'
        f'<TD ALIGN="LEFT">{text}</TD></TR>'
        for colour, text in ((S.POSITIVE[0], "positive"), (S.NEGATIVE[0], "negative"))
    ]
    cells.append(
        '<TR><TD COLSPAN="2" ALIGN="LEFT">'
        f"{S.html_text(f'width ∝ |{quantity}|, widest {_significant(weight_scale, precision)}')}"
        "</TD></TR>"
    )
    if thinning:
        cells.append(f'<TR><TD COLSPAN="2" ALIGN="LEFT">{S.html_text(thinning)}</TD></TR>')
    fills = (S.NEGATIVE[0], S.NEUTRAL_FILL, S.POSITIVE[0])
    swatches = "".join(f'<TD BGCOLOR="{f}" WIDTH="8" HEIGHT="12"></TD>' for f in fills)
    bias = "bias" if show == "data" else "grad of bias"
    if bias_scale == 0.0:  # at initialisation every bias is 0: say so, not "±0.00"
        reach = f"neuron: {bias}, all 0 (white)"
    else:
        reach = f"neuron: {bias}, darkest at ±{_significant(bias_scale, precision)}"
    cells.append(
        f'<TR><TD><TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0"><TR>{swatches}</TR></TABLE>'
        f'</TD><TD ALIGN="LEFT">{S.html_text(reach)}</TD></TR>'
    )
    title = "weights" if show == "data" else "gradients"
    return (
        '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="3" CELLPADDING="1">'
        f'<TR><TD COLSPAN="2" ALIGN="LEFT"><B>{title}</B></TD></TR>{"".join(cells)}</TABLE>>'
    )


def _significant(x: float, precision: int) -> str:
    """x with ``precision`` decimals, or two significant digits where those would show 0."""
    text = S.fmt(x, precision)
    return f"{x:.2g}" if float(text.replace(S.MINUS, "-")) == 0.0 else text


_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _subscript(number: int) -> str:
    return str(number).translate(_SUBSCRIPT)
