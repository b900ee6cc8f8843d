"""viz.graph: draw_dot's DOT source (names, records, escaping, colours, clusters, collapse),
rendering by suffix, and the behaviour without Graphviz's `dot` program."""

import base64
import random
import re
import string
import xml.etree.ElementTree as ET

import graphviz
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value
from viz import _style as S
from viz.graph import (
    GraphvizNotFoundError,
    colour_scale,
    draw_dot,
    op_name,
    render,
    render_svg,
    to_svg,
)

SVG = "{http://www.w3.org/2000/svg}"


def worked_example():
    """Notebook 01's 2-2-1 sigmoid network on one example, squared error, after backward."""
    x1, x2 = Value(0.5, label="x1"), Value(0.1, label="x2")
    start = dict(w11=0.4, w12=0.3, w21=0.6, w22=0.9, w31=0.5, w32=0.7, b1=0.1, b2=0.2, b3=0.3)
    p = {name: Value(v, label=name) for name, v in start.items()}
    h1 = (p["w11"] * x1 + p["w12"] * x2 + p["b1"]).sigmoid()
    h2 = (p["w21"] * x1 + p["w22"] * x2 + p["b2"]).sigmoid()
    y = (p["w31"] * h1 + p["w32"] * h2 + p["b3"]).sigmoid()
    loss = (y - 0.6) ** 2
    loss.backward()
    return p, loss


def neuron_graph():
    """micrograd's lecture neuron: o = tanh(x1*w1 + x2*w2 + b), after backward."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o


def scoped_mlp_loss(n_points, sizes, seed=0):
    """An MLP forward pass over a batch with nn's scopes (contract 2) and an svm loss."""
    rng = random.Random(seed)
    layers = [
        [([Value(rng.uniform(-1, 1)) for _ in range(nin)], Value(0.0)) for _ in range(nout)]
        for nin, nout in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    losses = []
    for _ in range(n_points):
        x = [rng.uniform(-2, 2) for _ in range(sizes[0])]
        for i, layer in enumerate(layers):
            with autograd.scope(f"layers.{i}"):
                outputs = []
                for j, (w, b) in enumerate(layer):
                    with autograd.scope(f"neurons.{j}"):
                        act = autograd.dot(w, x) + b
                        outputs.append(act.relu() if i < len(layers) - 1 else act)
                x = outputs
        label = rng.choice((-1.0, 1.0))
        losses.append((1 + -label * x[0]).relu())
    loss = sum(losses) * (1.0 / n_points)
    loss.label = "loss"
    loss.backward()
    return loss


def mlp_output(sizes, x):
    """An nn.MLP (seed 0) of these sizes, its output on x after backward, and its order."""
    import nn

    model = nn.MLP(sizes[0], sizes[1:], seed=0)
    out = model(x)
    out.backward()
    return model, out, autograd.topological_order(out)


def node_lines(source):
    """name -> attribute text of each node statement in DOT source."""
    found = dict(re.findall(r"^\s*(\w+) \[(.*)\]$", source, flags=re.M))
    return {name: attrs for name, attrs in found.items() if name not in ("graph", "node", "edge")}


def edges(source):
    return re.findall(r"^\s*(\w+) -> (\w+)", source, flags=re.M)


def cluster_paths(source):
    """node name -> list of the labels of the cluster boxes around it, outermost first."""
    stack, paths = [], {}
    for line in source.splitlines():
        line = line.strip()
        if line.startswith("subgraph cluster"):
            stack.append(None)
        elif stack and stack[-1] is None and (
            label := re.search(r'label=(?:"([^"]*)"|([\w.]+))', line)
        ):
            stack[-1] = label.group(1) or label.group(2)
        elif line == "}" and stack:
            stack.pop()
        elif (match := re.match(r"^(\w+) \[", line)) and stack:
            paths[match.group(1)] = list(stack)
    return paths


def svg_texts(svg, name):
    """The <text> strings of the node group titled name in Graphviz's SVG."""
    root = ET.fromstring(svg)
    for group in root.iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        if group.get("class") == "node" and title is not None and title.text == name:
            return [t.text or "" for t in group.iter(f"{SVG}text")]
    raise AssertionError(f"no node {name!r} in the SVG")


# -- structure and names (contract 4) ------------------------------------------------


def test_value_nodes_are_named_by_topological_index_with_op_circles():
    o = neuron_graph()
    order = autograd.topological_order(o)
    source = draw_dot(o).source
    nodes = node_lines(source)
    for i, node in enumerate(order):
        assert f"n{i}" in nodes
        assert (f"n{i}op" in nodes) == bool(node._prev)
    found = set(edges(source))
    for i, node in enumerate(order):
        for child in node._prev:
            assert (f"n{order.index(child)}", f"n{i}op") in found
        if node._prev:
            assert (f"n{i}op", f"n{i}") in found


def test_record_fields_are_label_data_grad_in_order():
    o = neuron_graph()
    label = node_lines(draw_dot(o).source)[f"n{len(autograd.topological_order(o)) - 1}"]
    assert 'label="{ o | data 0.7071 | grad 1.0000 }"' in label


def test_unlabelled_node_shows_its_index_name():
    c = Value(2.0) * Value(3.0)
    assert 'label="{ n2 | data 6.0000 | grad 0.0000 }"' in node_lines(draw_dot(c).source)["n2"]


def test_same_graph_gives_byte_identical_dot():
    assert draw_dot(neuron_graph()).source == draw_dot(neuron_graph()).source
    loss = scoped_mlp_loss(3, [2, 3, 1])
    assert draw_dot(loss, cluster=True).source == draw_dot(loss, cluster=True).source
    assert draw_dot(loss, cluster="collapse").source == draw_dot(loss, cluster="collapse").source


def test_shared_subexpression_draws_one_edge_per_operand():
    a = Value(3.0, label="a")
    b = a + a
    assert edges(draw_dot(b).source).count(("n0", "n1op")) == 2


def test_precision_sets_decimals():
    v = Value(1 / 3, label="third")
    assert "data 0.33 " in draw_dot(v, precision=2).source
    assert "data 0.333333 " in draw_dot(v, precision=6).source


def test_rankdir_sets_layout_and_keeps_fields_side_by_side():
    v = Value(1.5, label="v")
    lr, tb = draw_dot(v).source, draw_dot(v, rankdir="TB").source
    assert "rankdir=LR" in lr and 'label="{ v | data' in lr
    # Records flip with rankdir; without braces TB lays the fields out side by side too.
    assert "rankdir=TB" in tb and 'label="v | data 1.5000 | grad 0.0000"' in tb


def test_show_data_and_show_grad_hide_their_fields():
    o = neuron_graph()
    no_data = draw_dot(o, show_data=False).source
    no_grad = draw_dot(o, show_grad=False).source
    assert "data " not in no_data and "grad 1.0000" in no_data
    assert "grad " not in no_grad and "data 0.7071" in no_grad


@pytest.mark.parametrize(
    "op, shown",
    [("+", "+"), ("-", "−"), ("*", "×"), ("/", "÷"), ("neg", "−x"), ("**2", "x²"),
     ("**-1", "x⁻¹"), ("**0.5", "x^0.5"), ("**", "xʸ"), ("tanh", "tanh"), ("sum", "Σ")],
)
def test_op_circles_show_readable_names(op, shown):
    assert op_name(op) == shown


def test_op_circle_label_in_dot():
    x = Value(3.0, label="x")
    assert 'label="x²"' in draw_dot(x**2).source


def test_invalid_options_raise_with_the_expected_values():
    v = Value(1.0)
    with pytest.raises(TypeError, match="expects a Value"):
        draw_dot(1.0)
    with pytest.raises(ValueError, match="rankdir"):
        draw_dot(v, rankdir="diagonal")
    with pytest.raises(ValueError, match="'collapse'"):
        draw_dot(v, cluster="boxes")
    with pytest.raises(ValueError, match="depth"):
        draw_dot(v, depth=0)


# -- escaping -------------------------------------------------------------------------

NASTY_LABELS = [
    'a<b>&{c}|"q"',
    "<b>bold</b>",
    "<<html>>",
    "back\\slash",
    "ends with \\",
    'quote " and \\"',
    "{ | }",
    "\\n \\l \\N",
    "port <p0>",
    "&amp; &lt;",
]


def test_labels_are_escaped_for_record_syntax():
    v = Value(1.0, label='a<b>{c}|"q"\\')
    line = node_lines(draw_dot(v).source)["n0"]
    assert r'a\<b\>\{c\}\|\"q\"\\ |' in line.replace("\u00a0", " ")


def test_control_characters_in_labels_become_spaces():
    v = Value(1.0, label="two\nlines\ttab")
    assert "two\u00a0lines\u00a0tab" in draw_dot(v).source


@pytest.mark.graphviz
@pytest.mark.parametrize("label", NASTY_LABELS)
def test_nasty_labels_render_as_their_text(label):
    v = Value(-2.0, label=label)
    w = v * v
    w.label = label
    w.backward()
    svg = to_svg(w)
    texts = [text.replace("\u00a0", " ") for text in svg_texts(svg, "n1")]
    assert svg_texts(svg, "n0")[0].replace("\u00a0", " ") == label
    assert texts == [label, "data 4.0000", "grad 1.0000"]


@pytest.mark.graphviz
def test_grad_text_is_last_text_of_each_node_group():
    o = neuron_graph()
    svg = to_svg(o)
    for i, node in enumerate(autograd.topological_order(o)):
        assert svg_texts(svg, f"n{i}")[-1] == f"grad {S.fmt(node.grad, 4)}"


# -- colours and legend ----------------------------------------------------------------


def fill_of(nodes, name):
    return re.search(r'fillcolor="(#\w+)"', nodes[name]).group(1)


def test_fill_follows_gradient_sign_and_magnitude():
    o = neuron_graph()  # grads: x1 -1.5, w1 1.0, x2 0.5, w2 0.0, b 0.5, n 0.5, o 1.0
    nodes = node_lines(draw_dot(o).source)
    names = {n.label: f"n{i}" for i, n in enumerate(autograd.topological_order(o))}

    def fill(label):
        return fill_of(nodes, names[label])

    # the largest gradient that matters (the root o left out) is 1.5: top step 1
    assert fill("x1") == S.GRAD_NEGATIVE[-1]  # -1.5: beyond the top step, darkest red
    assert fill("w1") == S.GRAD_POSITIVE[-1]  # 1.0: darkest blue
    assert fill("x2") == S.GRAD_POSITIVE[-2]  # 0.5: one step down (0.3 ... 1)
    assert fill("w2") == S.NEUTRAL_FILL
    assert 'fontcolor="#ffffff"' in nodes[names["x1"]]  # white text on the dark fill


def test_scale_ladder_has_five_shades_a_sign_from_the_upper_quartile():
    scale = S.Scale.of([0.0536, 0.04, 0.03, 0.001])  # largest 0.0536: top step 0.03
    assert scale.bounds == (0.001, 0.003, 0.01, 0.03)
    assert scale.shade(-0.0005) == S.GRAD_NEGATIVE[0]
    assert scale.shade(0.002) == S.GRAD_POSITIVE[1]
    assert scale.shade(0.01) == S.GRAD_POSITIVE[3]
    assert scale.shade(5.0) == S.GRAD_POSITIVE[4]
    assert scale.shade(float("nan")) == S.NONFINITE_FILL
    assert scale.shade(0.0) == S.NEUTRAL_FILL
    assert not S.Scale.of([0.0, float("inf")])  # nothing to scale by: every fill neutral
    assert S.Scale.of([0.0, float("inf")]).shade(3.0) == S.NEUTRAL_FILL
    assert S.scale_of([1.0, -3.0, float("inf")]) == 3.0


def test_one_outlier_does_not_set_the_scale():
    values = [0.01 * (k + 1) for k in range(12)] + [1000.0]
    assert S.Scale.of(values).bounds[-1] == 0.1  # set by 0.12, not by 1000


def test_worked_example_parameters_get_visibly_different_shades():
    """Notebook 01's 2-2-1 network: the nine parameter gradients (0.0007 to 0.054)."""
    params, loss = worked_example()
    nodes = node_lines(draw_dot(loss).source)
    order = autograd.topological_order(loss)
    fills = {name: fill_of(nodes, f"n{order.index(v)}") for name, v in params.items()}
    assert len(set(fills.values())) >= 3
    # larger gradients never get a paler shade
    ranked = sorted(params, key=lambda name: abs(params[name].grad))
    levels = [S.GRAD_POSITIVE.index(fills[name]) for name in ranked]
    assert levels == sorted(levels)
    assert fills["w12"] != fills["b3"]


def test_root_and_constants_do_not_set_the_scale():
    x = Value(500.0, label="x")
    loss = x * 0.002  # x's gradient 0.002; the constant's 500; the root's 1
    loss.backward()
    order = autograd.topological_order(loss)
    assert colour_scale(order, {n: n.label for n in order}).bounds[-1] == 0.001
    nodes = node_lines(draw_dot(loss).source)
    assert fill_of(nodes, "n0") == S.GRAD_POSITIVE[-1]  # x is the darkest, not washed out


def test_legend_explains_the_colours_after_backward():
    source = draw_dot(neuron_graph()).source
    assert re.search(r"^\s*legend \[", source, flags=re.M)
    assert "≤ −1" in source and "≥ 1" in source and "0.1 … 0.3" in source
    assert "−0.03 … 0" in source


def test_legend_lists_only_the_signs_in_the_picture():
    x = Value(2.0, label="x")
    y = x * x
    y.backward()
    source = draw_dot(y).source
    assert "≥ " in source and "≤ −" not in source


def test_boxes_print_negative_numbers_with_the_minus_sign():
    o = neuron_graph()
    assert "grad −1.5000" in draw_dot(o).source and "-1.5" not in draw_dot(o).source
    assert "grad -1.5000" in draw_dot(o, style="micrograd").source  # micrograd's %.4f


def test_no_colours_and_no_legend_before_backward():
    x = Value(2.0, label="x")
    source = draw_dot((x * x).tanh()).source
    assert "legend" not in source
    assert S.POSITIVE[0] not in source and S.NEGATIVE[0] not in source
    assert "legend" not in draw_dot(neuron_graph(), legend=False).source


def test_numbers_format_nonfinite_tiny_and_huge():
    assert S.fmt(float("nan")) == "nan"
    assert S.fmt(float("-inf")) == "−inf"
    assert S.fmt(-0.68838) == "−0.6884"
    assert S.fmt(-0.0) == "0.0000"
    assert S.fmt(1.5e-9) == "1.5000e-09"
    assert S.fmt(2.5e7, 2) == "2.50e+07"


# -- big graphs: max_nodes, clusters, collapse --------------------------------------------


def test_too_many_nodes_raises_with_the_count_and_the_options():
    loss = scoped_mlp_loss(4, [2, 4, 1])
    count = len(autograd.topological_order(loss))
    with pytest.raises(ValueError) as error:
        draw_dot(loss, max_nodes=20)
    message = str(error.value)
    assert str(count) in message and "max_nodes=20" in message
    assert "cluster=True" in message and "cluster='collapse'" in message
    assert len(node_lines(draw_dot(loss, max_nodes=count).source)) > count


def test_unscoped_graph_error_says_collapse_needs_module_scopes():
    x = Value(1.0)
    for _ in range(30):
        x = x * 1.01
    with pytest.raises(ValueError, match="no node of this graph was created inside a module"):
        draw_dot(x, max_nodes=10)


def test_cluster_nests_neuron_boxes_inside_layer_boxes():
    loss = scoped_mlp_loss(1, [2, 3, 1])
    order = autograd.topological_order(loss)
    paths = cluster_paths(draw_dot(loss, cluster=True).source)
    for i, node in enumerate(order):
        expected = node.scope.split("/") if node.scope else []
        assert paths.get(f"n{i}", []) == expected
    assert ["layers.0", "neurons.2"] in paths.values()


def test_cluster_depth_stops_the_nesting():
    loss = scoped_mlp_loss(1, [2, 3, 1])
    paths = cluster_paths(draw_dot(loss, cluster=True, depth=1).source)
    assert sorted(set(map(tuple, paths.values()))) == [("layers.0",), ("layers.1",)]


def test_cluster_draws_a_layers_inputs_in_an_inputs_box_inside_it():
    model, out, order = mlp_output([2, 3, 1], [0.5, -1.0])
    source = draw_dot(out, cluster=True, names=model).source
    paths = cluster_paths(source)
    inputs = [f"n{i}" for i, n in enumerate(order) if not n._prev and n.data in (0.5, -1.0)
              and not n.label and n.scope is None]
    assert inputs and all(paths[name] == ["layers.0", "inputs"] for name in inputs)


def test_cluster_titles_have_room_and_the_legend_follows_the_root():
    source = draw_dot(scoped_mlp_loss(1, [2, 3, 1]), cluster=True).source
    assert 'margin="8,20"' in source and "remincross=false" in source
    root = f"n{len(autograd.topological_order(scoped_mlp_loss(1, [2, 3, 1]))) - 1}"
    assert (root, "legend") in edges(source)


def module_boxes(source):
    """title -> (node name, attributes) of the module boxes of a collapsed drawing."""
    return {
        re.search(r"<B>([^<]*)</B>", attrs).group(1): (name, attrs)
        for name, attrs in node_lines(source).items()
        if "rounded,filled,bold" in attrs
    }


def test_collapse_draws_each_module_as_one_box():
    loss = scoped_mlp_loss(5, [2, 4, 4, 1])
    source = draw_dot(loss, cluster="collapse", depth=1).source
    modules = module_boxes(source)
    assert sorted(modules) == ["layers.0", "layers.1", "layers.2"]
    # Every scoped node is inside exactly one of them: node counts add up.
    order = autograd.topological_order(loss)
    counted = sum(int(re.search(r"(\d+) nodes", a).group(1)) for _, a in modules.values())
    assert counted == sum(1 for n in order if n.scope is not None)
    found = set(edges(source))
    assert (modules["layers.0"][0], modules["layers.1"][0]) in found
    assert (modules["layers.1"][0], modules["layers.2"][0]) in found


def test_collapse_keeps_the_root_as_a_record():
    loss = scoped_mlp_loss(3, [2, 3, 1])
    root = f"n{len(autograd.topological_order(loss)) - 1}"
    nodes = node_lines(draw_dot(loss, cluster="collapse").source)
    assert "loss | data" in nodes[root] and f"{root}op" in nodes


def test_collapse_of_neurons_nests_them_in_layer_boxes():
    loss = scoped_mlp_loss(2, [2, 3, 1])
    paths = cluster_paths(draw_dot(loss, cluster="collapse").source)
    nested = [p for p in paths.values() if p]
    assert nested.count(["layers.0"]) == 3 and nested.count(["layers.1"]) == 1


def test_max_nodes_counts_what_collapse_draws():
    loss = scoped_mlp_loss(20, [2, 8, 8, 1])
    assert len(autograd.topological_order(loss)) > 1000
    drawn = node_lines(draw_dot(loss, cluster="collapse", depth=1, legend=False).source)
    boxes = [n for n in drawn if not n.endswith("op")]
    assert len(boxes) < 15
    with pytest.raises(ValueError, match=f"has {len(boxes)} module boxes"):
        draw_dot(loss, cluster="collapse", depth=1, max_nodes=len(boxes) - 1)
    with pytest.raises(ValueError, match=r"a smaller depth, such as depth=1"):
        draw_dot(loss, cluster="collapse", max_nodes=len(boxes))


@pytest.mark.graphviz
def test_moons_sized_mlp_collapses_into_a_readable_picture(tmp_path):
    loss = scoped_mlp_loss(100, [2, 16, 16, 1])
    assert len(autograd.topological_order(loss)) > 10_000
    svg = to_svg(loss, cluster="collapse", depth=1)
    names = [t.text for t in ET.fromstring(svg).iter(f"{SVG}title")]
    assert sum(1 for n in names if n and "->" not in n) < 15


# -- rendering and the missing `dot` program ---------------------------------------------


@pytest.mark.graphviz
@pytest.mark.parametrize(
    "suffix, magic", [(".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF"),
                      (".dot", b"digraph chainrule")]
)
def test_render_writes_the_format_of_the_suffix(tmp_path, suffix, magic):
    path = render(neuron_graph(), tmp_path / f"graph{suffix}")
    assert path.read_bytes().startswith(magic)


def test_render_unknown_suffix_names_the_allowed_ones(tmp_path):
    with pytest.raises(ValueError, match=r"\.gif.*\.svg, \.png, \.pdf, \.dot"):
        render(Value(1.0), tmp_path / "graph.gif")


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """A PATH without Graphviz's `dot` program."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_without_dot_rendering_raises_with_install_instructions(no_dot, tmp_path):
    o = neuron_graph()
    assert "digraph chainrule" in draw_dot(o).source  # building still works
    with pytest.raises(GraphvizNotFoundError) as error:
        to_svg(o)
    message = str(error.value)
    for how in ("apt-get install graphviz", "dnf install graphviz", "brew install graphviz",
                "winget install graphviz", "choco install graphviz", "conda install"):
        assert how in message
    assert isinstance(error.value, RuntimeError)
    with pytest.raises(GraphvizNotFoundError):
        render_svg(graphviz.Digraph())
    with pytest.raises(GraphvizNotFoundError):
        render(o, tmp_path / "g.png")
    assert render(o, tmp_path / "g.dot").read_text().startswith("digraph")


def test_without_dot_jupyter_shows_source_and_hint(no_dot):
    graph = draw_dot(neuron_graph())
    bundle = graph._repr_mimebundle_()
    assert set(bundle) == {"text/plain"}
    assert "brew install graphviz" in bundle["text/plain"]
    assert graph.source in bundle["text/plain"]


@pytest.mark.graphviz
@pytest.mark.graphviz
def test_jupyter_displays_svg_inline_with_a_png_beside_it():
    bundle = draw_dot(neuron_graph())._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml")
    # an untrusted notebook (or GitHub's preview) refuses the SVG and shows the PNG
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")
    assert "Digraph at 0x" not in bundle["text/plain"]


@pytest.mark.graphviz
def test_wide_graphs_fit_the_notebook_width():
    svg = draw_dot(neuron_graph())._repr_mimebundle_()["image/svg+xml"]
    root = ET.fromstring(svg)
    assert "max-width:100%" in root.get("style") and "height:auto" in root.get("style")


# -- micrograd's signature and look ------------------------------------------------------


@pytest.mark.graphviz
def test_micrograd_signature_renders_svg_by_default(tmp_path):
    graph = draw_dot(neuron_graph(), format="svg", rankdir="LR")
    written = graph.render(str(tmp_path / "gout"))
    assert written.endswith("gout.svg")
    assert (tmp_path / "gout.svg").read_text().lstrip().startswith("<?xml")
    draw_dot(neuron_graph()).render(str(tmp_path / "plain"))
    assert (tmp_path / "plain.svg").exists() and not (tmp_path / "plain.pdf").exists()
    draw_dot(neuron_graph(), format="png").render(str(tmp_path / "pic"))
    assert (tmp_path / "pic.png").read_bytes().startswith(b"\x89PNG")


def test_format_checks_its_value_and_takes_a_rankdir_as_older_calls_meant():
    with pytest.raises(ValueError, match="format must be a Graphviz output format"):
        draw_dot(neuron_graph(), format="gif89")
    assert "rankdir=TB" in draw_dot(neuron_graph(), "TB").source


def test_micrograd_style_is_micrograds_plain_look():
    o = neuron_graph()
    source = draw_dot(o, style="micrograd").source
    nodes = node_lines(source)
    assert "fillcolor" not in source and "legend" not in source
    assert 'label="{ o | data 0.7071 | grad 1.0000 }" shape=record' in nodes["n9"]
    assert 'label="{  | data -6.0000 | grad 0.5000 }"' in nodes["n2"]  # an empty label cell
    assert nodes["n9op"] == "label=tanh"  # the op's own name in a plain ellipse
    assert ("n9op", "n9") in edges(source)
    with pytest.raises(ValueError, match="style must be"):
        draw_dot(o, style="lecture")
    with pytest.raises(ValueError, match="no cluster"):
        draw_dot(o, style="micrograd", cluster=True)


def test_render_without_dot_says_how_to_install(no_dot, tmp_path):
    with pytest.raises(GraphvizNotFoundError, match="Install Graphviz"):
        draw_dot(neuron_graph()).render(str(tmp_path / "gout"))


# -- names for unlabelled nodes (parameters) ----------------------------------------------


def test_names_label_parameters_and_place_them_in_their_module_box():
    model, out, order = mlp_output([2, 2, 1], [1.0, -1.0])
    source = draw_dot(out, cluster=True, names=model).source
    paths, nodes = cluster_paths(source), node_lines(source)
    weight = order.index(model.layers[0].neurons[1].w[0])
    assert 'label="{ w.0 | data' in nodes[f"n{weight}"]
    assert paths[f"n{weight}"] == ["layers.0", "neurons.1"]
    assert f'label="{{ n{weight} | data' in node_lines(draw_dot(out).source)[f"n{weight}"]


def test_names_without_clusters_are_full_dotted_names_unique_per_box():
    model, out, order = mlp_output([2, 3, 1], [1.0, -1.0])
    nodes = node_lines(draw_dot(out, names=model).source)
    shown = {name: re.search(r'label="\{ ([^ |]+) \|', nodes[f"n{i}"]).group(1)
             for i, name in enumerate(f"n{i}" for i in range(len(order)))}
    assert shown[f"n{order.index(model.layers[0].neurons[2].w[0])}"] == "layers.0.neurons.2.w.0"
    assert len(set(shown.values())) == len(shown)  # not three boxes all reading w.0


def test_names_with_depth_keep_the_part_below_the_box():
    model, out, order = mlp_output([2, 2, 1], [1.0, -1.0])
    nodes = node_lines(draw_dot(out, names=model, cluster=True, depth=1).source)
    weight = order.index(model.layers[0].neurons[1].w[0])
    assert 'label="{ neurons.1.w.0 | data' in nodes[f"n{weight}"]


def test_names_accept_a_mapping_and_keep_own_labels():
    a, b = Value(1.0, label="mine"), Value(2.0)
    c = a * b
    nodes = node_lines(draw_dot(c, names={"alpha": a, "beta": b}).source)
    assert "{ mine |" in nodes["n0"] and "{ beta |" in nodes["n1"]
    with pytest.raises(TypeError, match="names must map names to Values"):
        draw_dot(c, names={"x": 1.0})


def test_collapse_with_names_folds_parameters_into_their_modules():
    import nn

    model = nn.MLP(2, [3, 1], seed=0)
    loss = sum((model([x, -x]) - 1) ** 2 for x in (0.5, 1.0, 1.5))
    loss.backward()
    order = autograd.topological_order(loss)
    scoped = sum(1 for n in order if n.scope is not None)
    source = draw_dot(loss, cluster="collapse", names=model).source
    in_modules = sum(int(n) for n in re.findall(r"</B><BR/>(\d+) nodes", source))
    assert in_modules == scoped + len(model.parameters())
    source = draw_dot(loss, cluster="collapse").source
    assert sum(int(n) for n in re.findall(r"</B><BR/>(\d+) nodes", source)) == scoped


def test_nonfinite_gradients_get_their_own_colour_and_legend_row():
    x = Value(0.0, label="x")
    y = x.sqrt()  # d/dx sqrt(x) at 0 is inf
    y.label = "y"
    y.backward()
    source = draw_dot(y).source
    assert "grad inf" in source and "data 0.0000" in source
    assert f'fillcolor="{S.NONFINITE_FILL}"' in node_lines(source)["n0"]
    assert "nan / inf" in source


@pytest.mark.graphviz
def test_jupyter_shows_graphviz_errors_as_text_not_a_traceback():
    graph = draw_dot(neuron_graph())
    graph.body.append("\tthis is { not DOT\n")
    bundle = graph._repr_mimebundle_()
    assert list(bundle) == ["text/plain"]
    assert "could not lay out" in bundle["text/plain"] and "syntax error" in bundle["text/plain"]


PRINTABLE = [c for c in string.printable if c not in "\t\n\r\x0b\x0c"] + list("äλ→€…−×ß中")


@pytest.mark.graphviz
@settings(max_examples=40)
@given(label=st.text(alphabet=st.sampled_from(PRINTABLE), min_size=1, max_size=24))
def test_any_printable_label_renders_as_itself(label):
    v = Value(1.0, label=label)
    texts = svg_texts(to_svg(v), "n0")
    # Graphviz writes the spaces it must keep as no-break spaces.
    assert [text.replace("\u00a0", " ") for text in texts] == [label, "data 1.0000", "grad 0.0000"]


@pytest.mark.graphviz
@pytest.mark.parametrize("label", ["0  0", "α b", "  two leading", "trailing  ", " ", "中 文  字"])
def test_labels_keep_every_space(label):
    # Found by the property test above: Graphviz's record fields join words with
    # one space, and with none after text outside ASCII.
    texts = svg_texts(to_svg(Value(1.0, label=label)), "n0")
    assert texts[0].replace("\u00a0", " ") == label


def test_nn_moons_mlp_collapses_into_a_handful_of_boxes():
    import nn

    X, y = nn.data.moons(100, noise=0.1, seed=1)
    model = nn.MLP(2, [16, 16, 1], seed=0)
    loss = nn.hinge_loss([model(list(row)) for row in X], 2.0 * y - 1.0)
    loss = loss + nn.l2_penalty(model, 1e-4)
    loss.backward()
    assert len(autograd.topological_order(loss)) > 10_000
    source = draw_dot(loss, cluster="collapse", depth=1, names=model).source
    boxes = [n for n in node_lines(source) if not n.endswith("op") and n != "legend"]
    # three layers, the 200 input numbers, the hinge loss and the L2 penalty (each
    # loss opens a scope named by what it is), the root: the inputs are lifted to
    # leaves before layer 0's scope
    assert len(boxes) == 7
    assert "<B>200 leaves</B>" in source
    assert sorted(module_boxes(source)) == ["hinge", "l2_penalty", "layers.0", "layers.1",
                                            "layers.2"]


def test_ipython_display_without_dot_shows_text_not_a_traceback(no_dot):
    from IPython.core.formatters import DisplayFormatter  # what Jupyter calls to show a value

    data, _ = DisplayFormatter().format(draw_dot(neuron_graph()))
    assert "image/svg+xml" not in data
    shown = data["text/plain"]
    assert "brew install graphviz" in shown and "digraph chainrule" in shown


def test_too_large_a_graph_raises_graph_too_large_error_with_the_count():
    from viz.graph import GraphTooLargeError

    x = Value(1.0)
    y = x
    for _ in range(20):
        y = y * 2.0
    with pytest.raises(GraphTooLargeError) as caught:
        draw_dot(y, max_nodes=10)
    assert caught.value.count == len([n for n in autograd.topological_order(y)])
    assert caught.value.max_nodes == 10 and isinstance(caught.value, ValueError)


def test_explain_names_each_node_as_the_graph_shows_it():
    from autograd.expression import parse
    from viz.cli.expressions import explain_rows

    expr = parse("a * b + a")
    out = expr.evaluate({"a": Value(2.0, label="a"), "b": Value(-3.0, label="b")})
    rows = explain_rows(out)
    shown = set(re.findall(r'label="\{ ([^ |]+) \|', draw_dot(out).source))
    named = {row[3] for row in rows} | {row[1].split(" = ")[0] for row in rows}
    assert "n2" in named and named <= shown


def box_positions(graph):
    """title -> (x, y) of each module box in Graphviz's layout (y grows upwards)."""
    titles = {name: re.search(r"<B>([^<]*)</B>", attrs).group(1)
              for name, attrs in node_lines(graph.source).items() if "<B>" in attrs}
    plain = graph.pipe(format="plain").decode()
    found = {}
    for line in plain.splitlines():
        parts = line.split()
        if parts[0] == "node" and parts[1] in titles:
            found.setdefault(titles[parts[1]], []).append((float(parts[2]), float(parts[3])))
    return found


@pytest.mark.graphviz
def test_collapsed_neurons_stand_in_natural_order():
    loss = scoped_mlp_loss(3, [2, 16, 16, 1])
    positions = box_positions(draw_dot(loss, cluster="collapse"))
    for layer in range(2):
        # two boxes titled neurons.k (one per layer): take this layer's column by x
        columns = sorted({round(x, 1) for k in range(16) for x, _ in positions[f"neurons.{k}"]})
        column = columns[layer]
        tops = [next(y for x, y in positions[f"neurons.{k}"] if round(x, 1) == column)
                for k in range(16)]
        assert tops == sorted(tops, reverse=True)  # neurons.0 on top ... neurons.15 last


def test_collapsed_module_boxes_are_coloured_by_their_strongest_output():
    loss = scoped_mlp_loss(5, [2, 4, 4, 1])
    boxes = module_boxes(draw_dot(loss, cluster="collapse", depth=1).source)
    for title in ("layers.0", "layers.1"):
        assert S.GROUP_FILL not in boxes[title][1]
        fill = re.search(r'fillcolor="(#\w+)"', boxes[title][1]).group(1)
        assert fill in S.GRAD_POSITIVE + S.GRAD_NEGATIVE


def test_collapse_draws_a_root_made_in_a_module_inside_its_box():
    model, out, order = mlp_output([2, 2, 1], [1.0, 2.0])  # the root is the last neuron's "+ b"
    source = draw_dot(out, cluster="collapse", names=model).source
    assert f"n{len(order) - 1} [" not in source  # not a record outside the box
    assert "grad 1.0000" in module_boxes(source)["neurons.0"][1]


@pytest.mark.graphviz
def test_the_png_of_a_wide_graph_is_at_most_png_widest_pixels():
    import struct

    from viz.graph import PNG_WIDEST

    x = Value(1.0, label="x")
    for _ in range(60):
        x = x * 1.01
    png = base64.b64decode(draw_dot(x)._repr_mimebundle_()["image/png"])
    width = struct.unpack(">I", png[16:20])[0]
    assert 1000 < width <= PNG_WIDEST


@pytest.mark.parametrize("magnitude", [1e-320, 1e-9, 1.0, 3.0, 1e12, 1e300])
def test_scale_ladder_holds_at_extreme_magnitudes(magnitude):
    scale = S.Scale.of([magnitude, -magnitude / 2, float("nan"), float("-inf"), 0.0])
    assert len(scale.bounds) == S.LEVELS - 1 and scale.bounds[-1] <= magnitude
    assert scale.shade(magnitude) == S.GRAD_POSITIVE[-1]
    assert scale.shade(-magnitude) == S.GRAD_NEGATIVE[-1]
    rows = scale.legend_rows([magnitude, -magnitude, 0.0, float("nan")], nonfinite=True)
    assert len(rows) == 2 * S.LEVELS + 2 and rows[-1] == (S.NONFINITE_FILL, "nan / inf")


def test_micrograd_style_escapes_labels_and_bad_format_types_are_refused():
    a = Value(1.0, label="{x|<y>}")
    b = a * 2
    assert r"\{x\|\<y\>\}" in draw_dot(b, style="micrograd").source
    for bad in (None, 3, ["svg"]):
        with pytest.raises(ValueError, match="format must be"):
            draw_dot(b, format=bad)
