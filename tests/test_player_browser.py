"""The training player in a real browser: headless Chromium driven by Playwright.

The pages are written by ``TrainingPlayer.save`` and worked as a user would
(slider, arrow keys, Play, clicks on a sample's point and on a neuron); what
they show is read back from the DOM and the canvas and compared with the
model loaded with that epoch's snapshot: the boundary's pixels with the
scalar engine's outputs, the network's edges with ``draw_network``'s own
picture, a sample's printed records with ``backward()``. Screenshots are
written under /tmp for a person to look at.
"""

import re

import numpy as np
import pytest
from test_player import backward_grads, grid_outputs, loss_named, trained  # tests/ on sys.path
from test_stepper_browser import (  # noqa: F401  (pytest fixtures, used by name)
    CHROMIUM_ARGS,
    blank_page,
    browser,
    insert_as_notebook_output,
    open_page,
)

import nn
import viz
from nn import data
from viz import player as P
from viz.graph import render_svg

pytestmark = [pytest.mark.browser, pytest.mark.graphviz]

RESOLUTION = 16


@pytest.fixture(scope="module")
def run():
    return trained(epochs=8, hidden=(5, 4), n=50, validation=0.2)


@pytest.fixture(scope="module")
def player(run):
    history, model, X, y = run
    return viz.training_player(history, model, X, y, samples=3, resolution=RESOLUTION)


@pytest.fixture
def page(player, open_page, tmp_path):  # noqa: F811
    return open_page(player.save(tmp_path / "training.html"))


def counter(page, container=".crp"):
    return page.locator(f"{container} .crp-count").text_content()


def go_to(page, frame, container=".crp"):
    page.locator(f"{container} .crp-slider").evaluate(
        "(s, k) => { s.value = k; s.dispatchEvent(new Event('input')); }", frame
    )


def canvas_rgb(page):
    """The boundary's canvas as rows of RGB, top row first."""
    pixels = page.evaluate(
        """() => {
            const c = document.querySelector(".crp canvas.crp-grid");
            return Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data);
        }"""
    )
    return np.array(pixels).reshape(RESOLUTION, RESOLUTION, 4)[:, :, :3]


def expected_rgb(player, model, state):
    """The canvas the snapshot's outputs (scalar engine) make, through the player's palette."""
    model.load_state_dict(state)
    codes = player._task._grid_bytes(grid_outputs(model, P._grid(player._X, RESOLUTION)["points"]))
    palette = np.array(player._data["plot"]["palette"])
    return palette[codes].reshape(RESOLUTION, RESOLUTION, 3)[::-1]  # grid rows go up


def edge_styles(page):
    return page.evaluate(
        """() => {
            const styles = {};
            document.querySelectorAll(".crp .crp-net g.edge").forEach((g) => {
                const path = g.querySelector("path");
                styles[g.querySelector("title").textContent] = ["stroke", "stroke-opacity",
                    "stroke-width"].map((a) => path.getAttribute(a));
            });
            return styles;
        }"""
    )


def drawn_edge_styles(model, state):
    """The edges of draw_network's own picture of the model with state's parameters."""
    model.load_state_dict(state)
    styles = P._styles_of(render_svg(viz.draw_network(model)))
    edges = {}
    for (group, number, attribute), value in styles.items():
        if "->" in group and number == 0 and attribute.startswith("stroke"):
            edges.setdefault(group, [None, None, None])
            edges[group][["stroke", "stroke-opacity", "stroke-width"].index(attribute)] = value
    return edges


def neuron_styles(page):
    """Each neuron's fill and bias text, and the legend's texts, as the page shows them."""
    return page.evaluate(
        """() => {
            const shown = {};
            document.querySelectorAll(".crp .crp-net g.node").forEach((g) => {
                const name = g.querySelector("title").textContent;
                const shape = g.querySelector("ellipse");
                shown[name] = [shape ? shape.getAttribute("fill") : null,
                               Array.from(g.querySelectorAll("text"), (t) => t.textContent)];
            });
            return shown;
        }"""
    )


def drawn_neuron_styles(model, state):
    model.load_state_dict(state)
    svg = render_svg(viz.draw_network(model))
    root = P.ET.fromstring(re.sub(r"<!DOCTYPE[^>]*>", "", svg.split("?>", 1)[1]))
    ns = "{http://www.w3.org/2000/svg}"
    shown = {}
    for g in root.iter(f"{ns}g"):
        if g.get("class") == "node":
            shape = g.find(f".//{ns}ellipse")
            shown[g.find(f"{ns}title").text] = [
                None if shape is None else shape.get("fill"),
                [t.text or "" for t in g.iter(f"{ns}text")],
            ]
    return shown


def test_opens_at_the_last_epoch_with_its_pictures(run, page):
    history, model, X, y = run
    assert counter(page) == f"epoch {history.epochs} / {history.epochs}"
    assert page.locator(".crp-nojs").count() == 0 and page.locator(".crp img").count() == 0
    assert page.locator(".crp .crp-net svg").count() == 1
    page.screenshot(path="/tmp/chainrule_player_last_epoch.png", full_page=True)


def test_slider_shows_each_snapshots_boundary_and_network(run, player, page):
    history, model, X, y = run
    seen = []
    for frame in (0, 3, len(player) - 1):
        go_to(page, frame)
        epoch = player.epochs[frame]
        assert counter(page) == f"epoch {epoch} / {history.epochs}"
        state = history.snapshots[epoch]
        shown = canvas_rgb(page)
        assert np.array_equal(shown, expected_rgb(player, model, state))
        assert edge_styles(page) == drawn_edge_styles(model, state)
        assert neuron_styles(page) == drawn_neuron_styles(model, state)
        seen.append((shown.tobytes(), str(edge_styles(page))))
        if frame == 3:
            page.screenshot(path="/tmp/chainrule_player_epoch3.png", full_page=True)
    model.load_state_dict(history.snapshots[-1])
    # Training changed both pictures.
    assert len({s[0] for s in seen}) == 3 and len({s[1] for s in seen}) == 3


def test_curves_cursor_follows_the_epoch(run, page):
    history, _, _, _ = run
    go_to(page, 2)
    title = page.locator(".crp-curves-title").text_content()
    assert title.startswith("epoch 2: loss ") and "validation loss" in title
    x_at_2 = page.locator(".crp-cursor").first.get_attribute("x1")
    go_to(page, 5)
    assert float(page.locator(".crp-cursor").first.get_attribute("x1")) > float(x_at_2)
    go_to(page, 0)
    assert page.locator(".crp-curves-title").text_content() == "epoch 0: before training"


def test_play_reaches_the_last_epoch_and_stops(run, page):
    history, _, _, _ = run
    page.locator(".crp .crp-plot").click()
    page.keyboard.press("Home")
    assert counter(page) == f"epoch 0 / {history.epochs}"
    page.click(".crp-play")
    assert page.locator(".crp-play").text_content() == "Pause"
    page.wait_for_function(
        "(last) => document.querySelector('.crp-slider').value === String(last)",
        arg=history.epochs, timeout=30_000,
    )
    page.wait_for_function("() => document.querySelector('.crp-play').textContent === 'Play'")
    assert counter(page) == f"epoch {history.epochs} / {history.epochs}"


def shown_records(page):
    """{parameter's dotted name: printed total} from the open sample's records."""
    blocks = page.evaluate(
        """() => Array.from(document.querySelectorAll(".crp details.crp-neuron-records")).map(
            (d) => [d.getAttribute("data-neuron"), Array.from(d.querySelector(".crp-rule").children,
                    (line) => line.textContent).join("\\n")])"""
    )
    found = {}
    for neuron, rule in blocks:
        for name, total in re.findall(r"dL/d\(?(w\.\d+|b)\)? \+= .*?\(total (\S+)\)", rule):
            found[f"{neuron}.{name}"] = total
    return found


def test_a_samples_records_at_each_epoch_equal_backward_with_that_snapshot(run, player, page):
    history, model, X, y = run
    for s in (2, 0):
        page.locator(f'.crp g.crp-sample[data-sample="{s}"]').dispatch_event("click")
        assert "crp-chosen" in page.locator(".crp-tab").nth(s).get_attribute("class")
        row = player.samples[s]
        for frame in (0, 4, len(player) - 1):
            go_to(page, frame)
            state = history.snapshots[player.epochs[frame]]
            expected = backward_grads(model, state, X[row], y[row])
            assert shown_records(page) == expected
            head = page.locator(".crp-sample-head").text_content()
            model.load_state_dict(state)
            loss = nn.bce_with_logits([model(list(X[row]))], [y[row]]).data
            assert head.startswith(f"row {row}: ") and head.endswith(f"= {viz._style.fmt(loss)}")
    model.load_state_dict(history.snapshots[-1])
    rule = page.locator(".crp .crp-rule").first.text_content()
    assert "dL/d(w\u00b7x) += dL/dz * \u2202z/\u2202(w\u00b7x) = " in rule
    assert re.search(r"dL/d\(w\.0\) \+= dL/d\(w·x\) \* ∂\(w·x\)/∂\(w\.0\) = \S+ \* \S+ = \S+", rule)


def test_clicking_a_neuron_opens_its_records(page):
    assert page.locator(".crp details[open]").count() == 0
    page.locator(".crp g.crp-neuron").nth(2).dispatch_event("click")
    (opened,) = page.locator(".crp details[open]").all()
    assert opened.get_attribute("data-neuron") == "layers.0.neurons.2"
    page.keyboard.press("ArrowLeft")  # it stays open from epoch to epoch
    assert page.locator(".crp details[open]").count() == 1
    page.screenshot(path="/tmp/chainrule_player_neuron.png", full_page=True)


def test_two_players_on_one_page_are_independent(run, player, tmp_path, open_page):  # noqa: F811
    history, model, X, y = run
    other = viz.training_player(*trained(epochs=3), samples=1, resolution=8)
    html = ("<!DOCTYPE html><meta charset='utf-8'><body>"
            f"{player.to_html()}{player._repr_html_()}{other.to_html()}</body>")
    path = tmp_path / "three.html"
    path.write_text(html, encoding="utf-8")
    page = open_page(path)
    ids = page.eval_on_selector_all(".crp", "(all) => all.map((c) => '#' + c.id)")
    assert len(set(ids)) == 3
    page.locator(f"{ids[1]} .crp-plot").click()
    page.keyboard.press("ArrowLeft")
    page.click(f"{ids[2]} .crp-prev")
    page.click(f"{ids[2]} .crp-prev")
    last = history.epochs
    assert [counter(page, i) for i in ids] == [
        f"epoch {last} / {last}", f"epoch {last - 1} / {last}", "epoch 1 / 3"]


@pytest.mark.parametrize("scripts", ["in place", "in head"])
def test_runs_when_inserted_like_a_trusted_notebook_output(player, blank_page, scripts):  # noqa: F811
    for _ in range(2):
        insert_as_notebook_output(blank_page, player._repr_html_(), scripts)
    first, second = blank_page.locator(".crp").nth(0), blank_page.locator(".crp").nth(1)
    second.locator(".crp-prev").click()
    assert first.locator(".crp-count").text_content() == "epoch 8 / 8"
    assert second.locator(".crp-count").text_content() == "epoch 7 / 8"


def test_untrusted_output_shows_the_note_and_pictures_of_the_last_epoch(player, blank_page):  # noqa: F811
    page = blank_page
    insert_as_notebook_output(page, player._repr_html_(), "none")
    page.evaluate(
        "document.querySelectorAll('.crp style, .crp script, .crp svg').forEach((e) => e.remove())"
    )
    shown = page.locator(".crp").inner_text()
    assert "jupyter trust" in shown and ".save()" in shown and "Play" not in shown
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.crp img')).every((i) => i.complete)")
    sizes = page.eval_on_selector_all(".crp img", "(all) => all.map((i) => i.naturalWidth)")
    assert len(sizes) == 3 and min(sizes) > 100
    page.screenshot(path="/tmp/chainrule_player_untrusted.png", full_page=True)


def test_hostile_labels_and_names_are_shown_as_text(run, tmp_path, open_page):  # noqa: F811
    history, model, X, y = run
    hostile = '<img src=x onerror="document.title=1">&amp; </script>'
    shown = viz.training_player(history, model, X, y, samples=1, resolution=8,
                                loss=loss_named(hostile), input_names=[hostile, "x2"])
    page = open_page(shown.save(tmp_path / "hostile.html"))
    assert page.locator(".crp img").count() == 0 and page.title() != "1"
    assert hostile in page.locator(".crp-sample-head").text_content()
    labels = page.locator(".crp .crp-label").all_text_contents()
    assert hostile in labels


def test_regression_and_confusion_pages_play(tmp_path, open_page):  # noqa: F811
    X, y = data.house_prices(30, seed=0)
    Xs, ys = data.standardize(X)[0], (y - y.mean()) / y.std()
    model = nn.MLP(2, [3, 1], seed=0)
    history = nn.fit(model, Xs, ys, loss="mse", optimizer="adam", lr=0.05, epochs=3,
                     snapshots=True, progress=False)
    page = open_page(viz.training_player(history, model, Xs, ys).save(tmp_path / "r.html"))
    assert page.locator(".crp .crp-points circle").count() == 30
    title = page.locator(".crp-plot-title").text_content()
    assert title.startswith("predicted against true values")
    before = page.locator(".crp .crp-points circle").first.get_attribute("cy")
    page.click(".crp-prev")
    assert page.locator(".crp .crp-points circle").first.get_attribute("cy") != before
    page.screenshot(path="/tmp/chainrule_player_regression.png", full_page=True)

    X, y = data.blobs(30, centers=3, seed=1)
    X3 = np.column_stack([X, X.sum(axis=1)])
    model = nn.MLP(3, [4, 3], seed=0)
    history = nn.fit(model, X3, y, loss="cross_entropy", epochs=3, snapshots=True,
                     progress=False)
    page = open_page(viz.training_player(history, model, X3, y).save(tmp_path / "c.html"))
    counts = page.evaluate(
        """() => Array.from(document.querySelectorAll(".crp-confusion tr")).slice(1).map(
            (tr) => Array.from(tr.cells).slice(1).map((td) => Number(td.textContent)))"""
    )
    assert np.array(counts).shape == (3, 3) and np.array(counts).sum() == 30


def test_a_page_of_one_epoch_opens_without_errors(tmp_path, open_page):  # noqa: F811
    X, y = data.moons(20, seed=4)
    model = nn.MLP(2, [3, 1], seed=0)

    def interrupted(outputs, targets):
        raise KeyboardInterrupt

    history = nn.fit(model, X, y, loss=interrupted, epochs=5, snapshots=True, progress=False)
    shown = viz.training_player(history, model, X, y, samples=1, resolution=6,
                                loss="bce_with_logits")
    page = open_page(shown.save(tmp_path / "one.html"))
    assert counter(page) == "epoch 0 / 0"
    assert page.locator(".crp-curves-title").text_content() == "epoch 0: before training"
    page.keyboard.press("ArrowRight")
    assert counter(page) == "epoch 0 / 0"
