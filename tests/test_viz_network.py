"""viz.network.draw_network: one node per input and neuron, one edge per weight,
coloured by sign and sized by magnitude, from the attributes contract 3 promises."""

import re
from types import SimpleNamespace

import pytest

import nn
from autograd import Value
from viz import _style as S
from viz.graph import render_svg
from viz.network import draw_network


def edge_attrs(source):
    """(tail, head) -> attribute text of each edge statement."""
    return {(t, h): a for t, h, a in re.findall(r"^\s*(\w+) -> (\w+) \[(.*)\]$", source, re.M)}


def node_attrs(source):
    found = dict(re.findall(r"^\s*(\w+) \[(.*)\]$", source, flags=re.M))
    return {name: attrs for name, attrs in found.items() if name not in ("graph", "node", "edge")}


def neuron(weights, bias, activation="relu"):
    return SimpleNamespace(w=[Value(w) for w in weights], b=Value(bias), activation=activation)


def standin_mlp():
    """Plain objects with only contract 3's attributes: 2 inputs -> 2 relu -> 1 linear."""
    hidden = SimpleNamespace(neurons=[neuron([2.0, -1.0], 0.5), neuron([0.25, 0.0], -0.5)])
    output = SimpleNamespace(neurons=[neuron([-2.0, 1.0], 0.0, "linear")])
    return SimpleNamespace(layers=[hidden, output])


def test_one_node_per_input_and_neuron_and_one_edge_per_weight():
    model = nn.MLP(3, [4, 2], seed=0)
    source = draw_network(model).source
    nodes = node_attrs(source)
    assert {f"x{i}" for i in range(3)} <= set(nodes)
    assert {f"L0N{j}" for j in range(4)} | {"L1N0", "L1N1"} <= set(nodes)
    edges = edge_attrs(source)
    assert len(edges) == 3 * 4 + 4 * 2
    assert ("x2", "L0N3") in edges and ("L0N3", "L1N1") in edges


def test_edges_coloured_by_sign_and_sized_by_magnitude():
    edges = edge_attrs(draw_network(standin_mlp()).source)

    def style(tail, head):
        attrs = edges[tail, head]
        colour = re.search(r'color="(#\w+)"', attrs).group(1)
        return colour, float(re.search(r"penwidth=([\d.]+)", attrs).group(1))

    strong_positive, strong_negative = style("x0", "L0N0"), style("L0N0", "L1N0")
    weak_positive, zero = style("x0", "L0N1"), style("x1", "L0N1")
    assert strong_positive[0].startswith(S.POSITIVE[0]) and strong_negative[0].startswith(
        S.NEGATIVE[0])
    assert strong_positive[1] == strong_negative[1] > weak_positive[1] > zero[1]
    # Opacity follows magnitude too: the alpha byte of the largest weight is ff.
    assert strong_positive[0].endswith("ff") and int(weak_positive[0][-2:], 16) < 0xFF


def test_neuron_fill_shows_the_bias():
    nodes = node_attrs(draw_network(standin_mlp()).source)
    assert f'fillcolor="{S.POSITIVE[0]}"' in nodes["L0N0"]
    assert f'fillcolor="{S.NEGATIVE[0]}"' in nodes["L0N1"]
    assert f'fillcolor="{S.NEUTRAL_FILL}"' in nodes["L1N0"]
    assert "label=0.50 " in nodes["L0N0"]  # small networks show the numbers


def test_show_grad_draws_gradients_instead_of_values():
    model = standin_mlp()
    out = model.layers[1].neurons[0].w[0]
    out.grad = -3.0
    model.layers[0].neurons[1].b.grad = 1.0
    source = draw_network(model, show="grad").source
    edges = edge_attrs(source)
    assert re.search(rf'color="{S.NEGATIVE[0]}ff"', edges["L0N0", "L1N0"])
    assert "label=1.00 " in node_attrs(source)["L0N1"]
    assert "gradients" in source and "grad w" in source


def test_captions_and_legend_name_layers_and_scale():
    source = draw_network(nn.MLP(2, [16, 16, 1], seed=1)).source
    for caption in ("input · 2", "layers.0 · 16 relu", "layers.1 · 16 relu",
                    "layers.2 · 1 linear (output)"):
        assert caption in source  # numbered from 0, as the model's names are
    assert "widest" in source and "legend" in source
    assert "legend" not in draw_network(nn.MLP(2, [3, 1], seed=1), legend=False).source
    assert 'label=""' in source  # 16 neurons per layer: no numbers in the circles


def test_input_names_label_the_input_column():
    source = draw_network(nn.MLP(2, [2, 1], seed=0), input_names=["size", "<rooms>"]).source
    assert 'label=size' in source and 'label="<rooms>"' in source
    with pytest.raises(ValueError, match="3 names, the model takes 2 inputs"):
        draw_network(nn.MLP(2, [2, 1], seed=0), input_names=["a", "b", "c"])


def test_same_model_gives_identical_source():
    assert draw_network(nn.MLP(2, [4, 1], seed=3)).source == draw_network(
        nn.MLP(2, [4, 1], seed=3)).source


def test_bad_arguments_raise_with_what_was_expected():
    with pytest.raises(ValueError, match="'data' or 'grad'"):
        draw_network(standin_mlp(), show="weights")
    with pytest.raises(TypeError, match="expects an MLP with .layers"):
        draw_network(nn.Neuron(2))
    with pytest.raises(TypeError, match=r"layers\[0\] has no .neurons"):
        draw_network(SimpleNamespace(layers=[SimpleNamespace(neurons=[])]))


@pytest.mark.graphviz
def test_network_renders_to_svg_with_a_node_per_neuron():
    svg = render_svg(draw_network(nn.MLP(2, [16, 16, 1], seed=0), show="grad"))
    titles = re.findall(r'<g id="node\d+" class="node">\s*<title>(\w+)</title>', svg)
    assert sum(1 for t in titles if re.fullmatch(r"L\dN\d+", t)) == 33


def test_wide_layers_squeeze_their_rows_to_stay_on_a_page():
    source = draw_network(nn.MLP(2, [64, 1], seed=0)).source
    heights = [float(y) for y in re.findall(r'pos="[\d.]+,(-?[\d.]+)!"', source)]
    assert max(heights) - min(heights) < 13  # inches, captions included
    sizes = {re.search(r" width=([\d.]+)", a).group(1) for n, a in node_attrs(source).items()
             if n.startswith("L0N")}
    assert sizes == {"0.125"}  # 10 inches / 64 rows, 80% of the gap


def test_inputs_are_numbered_from_zero_like_the_layers():
    nodes = node_attrs(draw_network(nn.MLP(3, [2, 1], seed=0)).source)
    assert "label=\"x₀\"" in nodes["x0"] or "label=x₀" in nodes["x0"]
    assert "x₂" in nodes["x2"]


@pytest.mark.parametrize("width, kept", [(16, 4), (64, 1)])
def test_wide_layers_show_only_the_strongest_weights_into_each_neuron(width, kept):
    model = nn.MLP(2, [width, width, 1], seed=0)
    source = draw_network(model).source
    edges = edge_attrs(source)
    into = [t for t, h in edges if h == "L1N3"]
    assert len(into) == kept
    weights = [abs(w.data) for w in model.layers[1].neurons[3].w]
    strongest = sorted(range(width), key=lambda k: -weights[k])[:kept]
    assert sorted(int(t[3:]) for t in into) == sorted(strongest)
    assert f"the strongest {kept} of {width} weights into each neuron" in source
    assert len([t for t, h in edges if h == "L2N0"]) == width  # one neuron: every weight
    assert len([t for t, h in edges if h == "L0N0"]) == 2  # two inputs: not thinned
    everything = edge_attrs(draw_network(model, thin=False).source)
    assert len(everything) == 2 * width + width * width + width


def test_bias_legend_at_initialisation_says_all_zero_not_plus_minus_zero():
    source = draw_network(nn.MLP(2, [16, 16, 1], seed=0)).source
    assert "±0.00" not in source and "all 0" in source
    small = standin_mlp()
    small.layers[0].neurons[0].b.data = 0.001
    small.layers[0].neurons[1].b.data = 0.0
    assert "darkest at ±1.00e-03" in draw_network(small).source  # not rounded to 0
