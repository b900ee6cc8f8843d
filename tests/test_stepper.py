"""The backward stepper without a browser: its records, its HTML and its size.

The records are checked against ``autograd.backward_steps`` and ``backward()``
on identical graphs built twice; the HTML is checked for what makes it work
offline and side by side with other steppers (no remote resource, ids
prefixed per display, a script that a label cannot close).
"""

import base64
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
import viz
from autograd import Value

pytestmark = pytest.mark.graphviz


def lecture_graph(reuse_a: bool = False):
    """The micrograd lecture's example L = (a*b + c) * f; with reuse_a, g = that, L = g + a."""
    a, b, c, f = (
        Value(2.0, label="a"),
        Value(-3.0, label="b"),
        Value(10.0, label="c"),
        Value(-2.0, label="f"),
    )
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    L = d * f
    if reuse_a:
        L.label = "g"
        L = L + a
    L.label = "L"
    return L


def neuron_graph(n: int):
    """tanh(sum_i w_i * x_i + b) built from binary ops: 4n + 2 nodes, nothing labelled."""
    total = Value(0.1)
    for i in range(n):
        total = total + Value(0.3 - 0.01 * i) * Value(-0.5 + 0.02 * i)
    return total.tanh()


def shared_graph():
    x = Value(3.0, label="x")
    y = x + x
    y.label = "y"
    return y * x


OPS = {
    "+": lambda a, b: a + b,
    "*": lambda a, b: a * b,
    "-": lambda a, b: a - b,
    "tanh": lambda a, b: a.tanh(),
    "sq": lambda a, b: a**2,
    "exp": lambda a, b: (a * 0.1).exp(),
}


def random_graph(draw_ops, seed_values):
    """A graph from a list of (op, i, j) over a growing pool that starts with the leaves."""
    pool = [Value(v, label=f"x{k}") for k, v in enumerate(seed_values)]
    for op, i, j in draw_ops:
        pool.append(OPS[op](pool[i % len(pool)], pool[j % len(pool)]))
    return pool[-1]


def backward_grads(build):
    root = build()
    root.backward()
    return [node.grad for node in autograd.topological_order(root)]


def final_grads(stepper):
    """Each node's gradient as the stepper records it when the node's turn comes."""
    grads = [None] * len(stepper.names)
    for record in stepper.records[1:]:
        grads[record["node"]] = record["upstream"]
    return grads


def test_records_follow_backward_steps():
    stepper = viz.step_through(lecture_graph())
    root = lecture_graph()
    index = {node: i for i, node in enumerate(autograd.topological_order(root))}
    steps = list(autograd.backward_steps(root))
    assert len(stepper.records) == len(steps) + 1
    for record, step in zip(stepper.records[1:], steps, strict=True):
        assert record["node"] == index[step.node]
        assert record["op"] == step.node._op
        assert record["upstream"] == pytest.approx(step.upstream, rel=1e-12)
        assert [c["child"] for c in record["contributions"]] == [
            index[child] for child, _, _ in step.contributions
        ]
        for c, (_, local, added) in zip(record["contributions"], step.contributions, strict=True):
            assert (c["local"], c["added"]) == pytest.approx((local, added), rel=1e-12)


def test_position_zero_is_the_seed_of_the_root():
    stepper = viz.step_through(lecture_graph(), grad=2.0)
    seed = stepper.records[0]
    assert seed["node"] == len(stepper.names) - 1
    assert seed["name"] == "L"
    assert seed["upstream"] == 2.0
    assert seed["contributions"] == []


@pytest.mark.parametrize("build", [lecture_graph, shared_graph, lambda: neuron_graph(5)])
def test_final_gradients_equal_backward(build):
    assert final_grads(viz.step_through(build())) == pytest.approx(backward_grads(build), rel=1e-12)


@settings(max_examples=25)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(sorted(OPS)),
            st.integers(0, 50),
            st.integers(0, 50),
        ),
        min_size=1,
        max_size=12,
    ),
    leaves=st.lists(st.floats(-2, 2), min_size=1, max_size=4),
)
def test_running_totals_end_at_backward_gradients_on_random_graphs(ops, leaves):
    stepper = viz.step_through(random_graph(ops, leaves))
    expected = backward_grads(lambda: random_graph(ops, leaves))
    assert final_grads(stepper) == pytest.approx(expected, rel=1e-12, nan_ok=True)
    # The last total written into each node is its final gradient.
    last_total = {stepper.records[0]["node"]: stepper.records[0]["upstream"]}
    for record in stepper.records[1:]:
        for c in record["contributions"]:
            last_total[c["child"]] = c["total"]
    last = [last_total[i] for i in range(len(expected))]
    assert last == pytest.approx(expected, rel=1e-12, nan_ok=True)


def test_shared_operand_gets_two_contributions_with_running_totals():
    stepper = viz.step_through(shared_graph())
    y_step = next(r for r in stepper.records[1:] if r["name"] == "y")
    assert [c["name"] for c in y_step["contributions"]] == ["x", "x"]
    first, second = y_step["contributions"]
    x_data = 3.0  # root = y * x, so dL/dy = x
    assert first["added"] == pytest.approx(x_data) and second["added"] == pytest.approx(x_data)
    assert second["total"] == pytest.approx(first["total"] + x_data)


def test_step_through_leaves_gradients_as_it_found_them():
    root = lecture_graph()
    order = autograd.topological_order(root)
    for k, node in enumerate(order):
        node.grad = 0.5 * k
    viz.step_through(root)
    assert [node.grad for node in order] == [0.5 * k for k in range(len(order))]


def test_earlier_gradients_do_not_leak_into_the_steps():
    root = lecture_graph()
    root.backward()
    assert final_grads(viz.step_through(root)) == pytest.approx(backward_grads(lecture_graph))


def test_unlabelled_nodes_are_named_by_their_index():
    stepper = viz.step_through(neuron_graph(2))
    assert stepper.names == [f"n{i}" for i in range(len(stepper.names))]
    assert stepper.records[1]["name"] == f"n{len(stepper.names) - 1}"


def test_panel_formulas_read_like_the_code():
    payload = viz.step_through(lecture_graph())._payload()
    assert "L = d * f" in payload["formulas"]
    assert "e = a * b" in payload["formulas"]
    x = Value(0.5, label="x")
    y = (-x).tanh() ** 2
    y.label = "y"
    formulas = viz.step_through(y)._payload()["formulas"]
    assert "n1 = -x" in formulas and "n2 = tanh(n1)" in formulas and "y = n2**2" in formulas


def test_payload_numbers_are_formatted_like_draw_dot():
    payload = viz.step_through(lecture_graph(), precision=2)._payload()
    seed_node, seed_upstream, seed_fill, _ = payload["steps"][0]
    assert payload["names"][seed_node] == "L" and seed_upstream == "1.00"
    e_step = next(s for s in payload["steps"][1:] if payload["names"][s[0]] == "e")
    # e = a * b, dL/de = -2: a gets -2 * b = 6, b gets -2 * a = -4
    assert [c[1:4] for c in e_step[3]] == [["−3.00", "6.00", "6.00"], ["2.00", "−4.00", "−4.00"]]


def pictures_of(html: str) -> list[str]:
    """The SVG texts of the fallback pictures (<img src="data:image/svg+xml;base64,...">)."""
    uris = re.findall(r'<img class="crs-picture" src="data:image/svg\+xml;base64,([^"]+)"', html)
    return [base64.b64decode(uri).decode("utf-8") for uri in uris]


def test_html_is_self_contained():
    html = viz.step_through(lecture_graph()).to_html(full_document=True)
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert not re.search(r"<link\b|@import|url\(\s*['\"]?(https?:)?//", html, re.IGNORECASE)
    assert "<script>" in html and "chainruleStepper(" in html and "<svg" not in html
    # The graph travels once, as the fallback picture the script reads back.
    (svg,) = pictures_of(html)
    assert svg.startswith("<svg") and "<?xml" not in svg and "<!DOCTYPE svg" not in svg


ID = r'\bid="([^"]+)'


def test_each_display_gets_its_own_ids():
    stepper = viz.step_through(lecture_graph())
    first, second = stepper.to_html(), stepper._repr_html_()
    container = re.search(r'<div class="crs" id="([^"]+)"', first).group(1)
    other = re.search(r'<div class="crs" id="([^"]+)"', second).group(1)
    assert container != other
    ids = re.findall(ID, pictures_of(first)[0])
    assert len(ids) > 5 and len(set(ids)) == len(ids)
    assert all(i.startswith(container + "-") for i in ids)
    assert not set(ids) & set(re.findall(ID, pictures_of(second)[0]))


def test_a_label_cannot_break_out_of_the_page():
    x = Value(1.0, label="</script><img src=x onerror=alert(1)>")
    html = viz.step_through(x * 2.0).to_html()
    script = html[html.index("<script>") :]
    assert script.count("</script>") == 1 and script.rstrip().endswith("</script>\n</div>")
    assert "<!--" not in script
    assert r'"<\/script><img src=x onerror=alert(1)>"' in script


def test_three_hundred_node_graph_stays_under_a_megabyte():
    root = neuron_graph(75)
    stepper = viz.step_through(root)
    assert len(stepper.names) >= 300
    assert len(stepper.records) == len(stepper.names) + 1
    html = stepper.to_html(full_document=True)
    assert len(pictures_of(html)) == 1
    assert len(html.encode("utf-8")) < 1_000_000


def test_save_writes_a_standalone_page(tmp_path):
    stepper = viz.step_through(lecture_graph())
    path = stepper.save(tmp_path / "steps.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert '<meta charset="utf-8">' in text and "chainruleStepper(" in text


def test_repr_says_how_to_show_it():
    stepper = viz.step_through(lecture_graph())
    assert len(stepper) == 4  # the seed and the three steps of d, e and L; leaves skipped
    assert "7 backward steps over 7 nodes (4 positions)" in repr(stepper)


def test_missing_graphviz_raises_with_install_hint(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(viz.GraphvizNotFoundError, match="apt-get install graphviz"):
        viz.step_through(lecture_graph())


def test_hidden_grad_field_is_refused():
    with pytest.raises(ValueError, match="show_grad=True"):
        viz.step_through(lecture_graph(), show_grad=False)


def test_collapsed_modules_are_refused():
    with pytest.raises(ValueError, match="cannot collapse"):
        viz.step_through(lecture_graph(), cluster="collapse")


def test_nonfinite_gradients_are_shown_not_crashed():
    x = Value(0.0, label="x")
    y = x.sqrt()  # d sqrt / dx at 0 is inf
    y.label = "y"
    stepper = viz.step_through(y)
    assert math.isinf(stepper.records[-1]["upstream"])
    payload = stepper._payload()
    # x is a leaf: its inf arrives with y's step, which marks it final
    assert payload["steps"][-1][3] == [[0, "inf", "inf", "inf", viz._style.NONFINITE_FILL, 1]]


def test_ipython_displays_it_as_html():
    formatters = pytest.importorskip("IPython.core.formatters")
    shown, _ = formatters.DisplayFormatter().format(viz.step_through(lecture_graph()))
    assert "chainruleStepper(" in shown["text/html"]
    assert "Stepper" in shown["text/plain"]


def test_a_lone_leaf_is_seeded_then_final():
    stepper = viz.step_through(Value(3.0, label="w"))
    assert [(r["name"], r["upstream"], r["contributions"]) for r in stepper.records] == [
        ("w", 1.0, []),
        ("w", 1.0, []),
    ]
    assert stepper._payload()["formulas"] == [""]


def test_root_must_be_a_value():
    with pytest.raises(TypeError, match="expected a Value, got float"):
        viz.step_through(3.0)


def test_panel_names_parameters_as_the_drawing_does():
    import nn

    model = nn.MLP(2, [2, 1], seed=0)
    stepper = viz.step_through(model([0.5, -1.0]), names=model, cluster=True)
    assert {"w.0", "w.1", "b"} <= set(stepper.names)
    assert any(c["name"] == "w.0" for r in stepper.records for c in r["contributions"])


def test_display_bundle_carries_a_png_of_the_finished_pass_beside_the_viewer():
    import base64

    stepper = viz.step_through(lecture_graph())
    bundle = stepper._repr_mimebundle_()
    assert "crs" in bundle["text/html"] and "Stepper" in bundle["text/plain"]
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")


def test_panel_names_are_the_boxes_names_with_and_without_clusters():
    import re

    import nn

    model = nn.MLP(2, [3, 1], seed=0)
    out = model([0.5, -1.0])
    for options in ({}, {"cluster": True}):
        stepper = viz.step_through(out, names=model, **options)
        shown = set(re.findall(r">([^<>]+)</text>", stepper.svg))
        assert set(stepper.names) <= {text.replace("\u00a0", " ") for text in shown}
    flat = viz.step_through(out, names=model).names
    assert "layers.0.neurons.2.w.0" in flat and len(set(flat)) == len(flat)
    assert "w.0" in viz.step_through(out, names=model, cluster=True).names
