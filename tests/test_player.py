"""The training player without a browser: its frames, its checks and its size.

Each frame is checked against the model loaded with that epoch's snapshot:
the grid against the scalar engine, the network's styles against
``draw_network``'s own picture of the snapshot, the samples' records against
``backward()``. The browser tests (test_player_browser.py) check that the
page shows them.
"""

import base64
import json
import re

import numpy as np
import pytest

import nn
import viz
from nn import data
from viz import _style
from viz import player as P
from viz.graph import render_svg

pytestmark = pytest.mark.graphviz


def trained(epochs=6, hidden=(4,), n=40, loss="bce_with_logits", seed=0, **fit_options):
    X, y = data.moons(n, noise=0.1, seed=seed)
    model = nn.MLP(2, [*hidden, 1], seed=seed)
    history = nn.fit(model, X, y, loss=loss, optimizer="adam", lr=0.05, epochs=epochs,
                     snapshots=True, progress=False, seed=0, **fit_options)
    return history, model, X, y


@pytest.fixture(scope="module")
def run():
    return trained(validation=0.25)


@pytest.fixture(scope="module")
def player(run):
    history, model, X, y = run
    return viz.training_player(history, model, X, y, samples=2, resolution=12)


def grid_outputs(model, points):
    """The model's outputs on points through the scalar engine, one call per point."""
    return np.array([[model(list(p)).data] for p in points])


@pytest.mark.parametrize("activation", nn.ACTIVATIONS)
def test_numpy_outputs_equal_the_scalar_engine(activation):
    model = nn.MLP(3, [5, 4, 3], activation=activation, output_activation="sigmoid", seed=1)
    rows = np.random.default_rng(0).normal(size=(50, 3)) * 3
    forward = P._Forward(model)
    assert forward.layers is not None
    fast = forward._numpy(rows)
    engine = np.array([[v.data for v in model(list(r))] for r in rows])
    np.testing.assert_allclose(fast, engine, rtol=1e-12, atol=1e-14)
    assert forward(rows) is not None and forward.layers is not None


def test_outputs_fall_back_to_the_engine_where_numpy_would_differ():
    class Doubled(nn.MLP):  # not the function numpy computes from the weights
        def __call__(self, x):
            return super().__call__(x) * 2.0

        def forward_batch(self, xs):
            return [self(x) for x in xs]

    model = Doubled(2, [3, 1], seed=0)
    rows = np.array([[0.5, -1.0], [1.0, 2.0], [0.0, 0.3]])
    forward = P._Forward(model)
    outputs = forward(rows)
    assert forward.layers is None  # the engine from now on
    np.testing.assert_allclose(outputs[:, 0], [model(list(r)).data for r in rows])


def test_one_frame_per_snapshot_and_the_model_is_left_as_it_was(run):
    history, model, X, y = run
    before = model.state_dict()
    grads = [p.grad for p in model.parameters()]
    model.train()
    shown = viz.training_player(history, model, X, y, samples=1, resolution=8)
    assert shown.epochs == list(range(history.epochs + 1))
    assert len(shown) == history.epochs + 1
    assert model.state_dict() == before and [p.grad for p in model.parameters()] == grads
    assert model.training
    assert "7 of 7 epochs, boundary, 1 samples" in repr(shown)


def test_each_frames_grid_is_the_snapshots_function(run, player):
    history, model, X, y = run
    grid = P._grid(X, 12)
    for frame, epoch in zip(player._data["frames"], player.epochs, strict=True):
        model.load_state_dict(history.snapshots[epoch])
        expected = player._task._grid_bytes(grid_outputs(model, grid["points"]))
        shown = np.frombuffer(base64.b64decode(frame["plot"]["grid"]), dtype=np.uint8)
        assert np.array_equal(shown, expected)
    model.load_state_dict(history.snapshots[-1])
    assert player.epochs[0] == 0 and player.epochs[-1] == history.epochs


def test_the_grid_codes_keep_the_sign_of_the_score():
    task = P._Task("boundary", nn.MLP(2, [1], seed=0), np.array([0.0, 1.0]), 1)
    codes = task._grid_bytes(np.array([[-1e-12], [0.0], [1e-12], [5.0], [-5.0], [np.nan]]))
    assert list(codes) == [127, 128, 129, 255, 1, 0]


def test_network_styles_of_each_frame_are_draw_networks_of_the_snapshot(run, player):
    history, model, X, y = run
    network = player._data["network"]
    strings = network["strings"]
    for frame, epoch in zip(player._data["frames"], player.epochs, strict=True):
        model.load_state_dict(history.snapshots[epoch])
        drawn = P._styles_of(render_svg(viz.draw_network(model)))
        for (group, number, attribute), code in zip(network["slots"], frame["net"], strict=True):
            assert drawn.get((group, number, attribute)) == (None if code < 0 else strings[code])
    model.load_state_dict(history.snapshots[-1])
    # The edges' colours and widths vary over training: they are in the frames.
    assert any(attribute == "stroke-width" for _, _, attribute in network["slots"])


def sample_grads(player, frame, s):
    """{parameter name: printed gradient} of sample s in a frame, read from its flat record."""
    values = frame["samples"][s]
    at, shown = 1, {}
    for layer in player._data["structure"]:
        for neuron in layer["neurons"]:
            grads = values[at + 5 : at + 5 + len(neuron["params"])]
            at += 5 + len(neuron["params"])
            for name, grad in zip(neuron["params"], grads, strict=True):
                shown[f"{neuron['name']}.{name}"] = grad
    assert at == len(values)
    return shown


def backward_grads(model, state, x, target, loss="bce_with_logits"):
    model.load_state_dict(state)
    model.zero_grad()
    nn.losses.LOSSES[loss]([model(list(x))], [target]).backward()
    return {name: _style.fmt(p.grad, 4) for name, p in model.named_parameters()}


def test_samples_records_equal_backward_with_each_snapshot(run, player):
    history, model, X, y = run
    assert len(player.samples) == 2
    for frame, epoch in zip(player._data["frames"], player.epochs, strict=True):
        for s, row in enumerate(player.samples):
            expected = backward_grads(model, history.snapshots[epoch], X[row], y[row])
            assert sample_grads(player, frame, s) == expected
    model.load_state_dict(history.snapshots[-1])


def test_default_samples_run_from_the_worst_to_the_most_confident():
    margins = np.array([0.5, -2.0, 3.0, 0.1, 1.0])
    assert P._choose_samples(3, margins, 5) == [1, 0, 2]  # worst, median, best
    assert P._choose_samples(1, margins, 5) == [1]
    assert P._choose_samples(0, margins, 5) == []
    assert P._choose_samples(9, margins, 5) == [1, 3, 0, 4, 2]
    assert P._choose_samples([4, 0], margins, 5) == [4, 0]


def test_frames_are_thinned_evenly_beyond_the_limit():
    history, model, X, y = trained(epochs=20)
    shown = viz.training_player(history, model, X, y, samples=0, resolution=8, max_frames=5)
    assert shown.epochs == [0, 5, 10, 15, 20]
    html = shown.to_html()
    assert '"totalEpochs":20' in html


def test_a_size_budget_thins_frames_and_keeps_the_page_under_it():
    history, model, X, y = trained(epochs=30, hidden=(8, 8))
    full = viz.training_player(history, model, X, y, samples=2, resolution=30)
    size = len(full.to_html(full_document=True).encode())
    budget = 0.25 + (size / 1e6 - 0.25) / 2  # room for about half the frames
    thinned = viz.training_player(history, model, X, y, samples=2, resolution=30,
                                  max_megabytes=budget)
    assert thinned.epochs[0] == 0 and thinned.epochs[-1] == 30
    assert 2 <= len(thinned) < len(full)
    assert len(thinned.to_html(full_document=True).encode()) <= budget * 1e6


@pytest.mark.slow
def test_the_moons_demo_page_stays_under_five_megabytes(tmp_path):
    X, y = data.moons(200, noise=0.1, seed=0)
    model = nn.MLP(2, [16, 16, 1], seed=0)
    history = nn.fit(model, X, y, loss="bce_with_logits", optimizer="adam", lr=0.01, epochs=60,
                     snapshots=True, progress=False)
    shown = viz.training_player(history, model, X, y, samples=3)
    assert len(shown) == 61  # every epoch: no thinning needed
    path = shown.save(tmp_path / "training.html")
    assert path.stat().st_size <= 5_000_000


def test_html_is_self_contained_with_its_pictures(player):
    html = player.to_html(full_document=True)
    assert html.startswith("<!DOCTYPE html>") and "chainrulePlayer(" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert not re.search(r"<link\b|@import|url\(\s*['\"]?(https?:)?//", html, re.IGNORECASE)
    assert html.count("<script>") == 1 and "<svg" not in html
    pictures = re.findall(r'<img class="crp-picture" src="data:image/([a-z+]+);base64,', html)
    # the boundary, the loss curves and the network (which the script reads back)
    assert pictures == ["png", "png", "svg+xml"]


def test_each_display_gets_its_own_container(player):
    first, second = player.to_html(), player._repr_html_()
    ids = [re.search(r'<div class="crp" id="([^"]+)"', h).group(1) for h in (first, second)]
    assert ids[0] != ids[1]
    network = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', first).group(1)
    svg = base64.b64decode(network).decode()
    assert all(i.startswith(ids[0] + "-") for i in re.findall(r'\bid="([^"]+)"', svg))


def loss_named(name):
    """bce_with_logits under another name (a user's own loss, as the page names it)."""

    def loss(outputs, targets):
        return nn.bce_with_logits(outputs, targets)

    loss.__name__ = name
    return loss


def test_hostile_names_cannot_break_out_of_the_script(run):
    history, model, X, y = run
    hostile = "</script><img src=x onerror=alert(1)><!--"
    html = viz.training_player(history, model, X, y, samples=1, resolution=6,
                               loss=loss_named(hostile), input_names=[hostile, "b"]).to_html()
    script = html[html.index("<script>"):]
    assert script.count("</script>") == 1 and "<!--" not in script
    assert json.dumps(hostile)[1:-1].replace("</", "<\\/").replace("<!--", "<\\u0021--") in script


def test_regression_shows_predicted_against_true_values():
    X, y = data.house_prices(40, seed=0)
    Xs = data.standardize(X)[0]
    ys = (y - y.mean()) / y.std()
    model = nn.MLP(2, [4, 1], seed=0)
    history = nn.fit(model, Xs, ys, loss="mse", optimizer="adam", lr=0.05, epochs=4,
                     snapshots=True, progress=False)
    shown = viz.training_player(history, model, Xs, ys, samples=1)
    assert shown.kind_of_plot == "regression"
    frame = shown._data["frames"][-1]["plot"]
    model.load_state_dict(history.snapshots[-1])
    expected = [float(f"{model(list(r)).data:.5g}") for r in Xs]
    assert frame["predicted"] == pytest.approx(expected, rel=1e-4)
    assert float(frame["r2"]) == pytest.approx(history.metric[-1], abs=0.2)


def test_classifier_with_more_inputs_shows_a_confusion_matrix():
    X, y = data.blobs(45, centers=3, seed=2)
    X3 = np.column_stack([X, X[:, 0] - X[:, 1]])
    model = nn.MLP(3, [6, 3], seed=0)
    history = nn.fit(model, X3, y, loss="cross_entropy", optimizer="adam", lr=0.05, epochs=3,
                     snapshots=True, progress=False)
    shown = viz.training_player(history, model, X3, y, samples=1)
    assert shown.kind_of_plot == "confusion"
    model.load_state_dict(history.snapshots[-1])
    predicted = [int(np.argmax([v.data for v in model(list(r))])) for r in X3]
    counts = np.zeros((3, 3), dtype=int)
    for truth, guess in zip(y.astype(int), predicted, strict=True):
        counts[truth, guess] += 1
    assert shown._data["frames"][-1]["plot"]["confusion"] == counts.tolist()


def test_bad_arguments_name_the_problem(run):
    history, model, X, y = run
    play = lambda **kw: viz.training_player(
        kw.pop("history", history), kw.pop("model", model), kw.pop("X", X), kw.pop("y", y), **kw)
    with pytest.raises(ValueError, match=r"snapshots=True"):
        play(history=nn.fit(nn.MLP(2, [1], seed=0), X, y, epochs=1, progress=False))
    with pytest.raises(TypeError, match="needs an nn.History"):
        play(history={"loss": [1.0]})
    with pytest.raises(ValueError, match=r"snapshots\[\d+\] does not fit this model"):
        play(model=nn.MLP(2, [3, 1], seed=0))
    with pytest.raises(ValueError, match="one target per row"):
        play(y=y[:-1])
    with pytest.raises(ValueError, match="nan or inf"):
        play(X=np.where(X > 1, np.nan, X))
    with pytest.raises(ValueError, match="row indices of X in 0..39"):
        play(samples=[3, 40])
    with pytest.raises(ValueError, match="lists a row twice"):
        play(samples=[3, 3])
    with pytest.raises(TypeError, match="not a bool"):
        play(samples=True)
    with pytest.raises(ValueError, match="samples must be >= 0"):
        play(samples=-1)
    with pytest.raises(ValueError, match="resolution must be an int >= 2"):
        play(resolution=1)
    with pytest.raises(ValueError, match="max_frames must be an int >= 2"):
        play(max_frames=1)
    with pytest.raises(ValueError, match="max_megabytes must be a positive"):
        play(max_megabytes=0)
    with pytest.raises(ValueError, match="unknown loss 'nope'"):
        play(loss="nope")
    with pytest.raises(ValueError, match="input_names has 1 names"):
        play(input_names=["a"])
    with pytest.raises(TypeError, match="needs an nn.Module"):
        play(model=lambda x: x)
    custom = nn.fit(nn.MLP(2, [1], seed=0), X, y, epochs=1, progress=False, snapshots=True,
                    loss=lambda outputs, targets: nn.bce_with_logits(outputs, targets))
    with pytest.raises(ValueError, match="needs the loss fit used"):
        play(history=custom, model=nn.MLP(2, [1], seed=0))


def test_ipython_displays_it_as_html(player):
    formatters = pytest.importorskip("IPython.core.formatters")
    shown, _ = formatters.DisplayFormatter().format(player)
    assert "chainrulePlayer(" in shown["text/html"]
    assert "TrainingPlayer" in shown["text/plain"]


def test_save_writes_a_standalone_page(player, tmp_path):
    text = player.save(tmp_path / "training.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "<title>Training over 6 epochs</title>" in text


def test_a_model_whose_graph_is_not_an_mlps_shows_no_sample_records():
    class Unscoped(nn.MLP):  # layers of neurons, but called without the modules' scopes
        def __call__(self, x):
            for layer in self.layers:
                x = [neuron(x) for neuron in layer.neurons]
            return x[0] if len(x) == 1 else x

        def forward_batch(self, xs):
            return [self(x) for x in xs]

    X, y = data.moons(20, seed=3)
    model = Unscoped(2, [3, 1], seed=0)
    history = nn.fit(model, X, y, loss="bce_with_logits", epochs=2, snapshots=True,
                     progress=False)
    shown = viz.training_player(history, model, X, y, samples=2, resolution=6)
    assert shown.samples == [] and "need an nn.MLP" in shown._data["sampleNote"]
    assert "samples" not in shown._data["frames"][0]
    assert shown._network_svg is not None  # the network is still drawn


def test_a_run_stopped_before_its_first_epoch_has_one_frame():
    X, y = data.moons(20, seed=4)
    model = nn.MLP(2, [3, 1], seed=0)

    def interrupted(outputs, targets):
        raise KeyboardInterrupt

    history = nn.fit(model, X, y, loss=interrupted, epochs=5, snapshots=True, progress=False)
    assert history.interrupted and history.epochs == 0 and len(history.snapshots) == 1
    shown = viz.training_player(history, model, X, y, samples=1, resolution=6,
                                loss="bce_with_logits")
    assert shown.epochs == [0] and shown._data["curves"]["loss"] == []
    assert "1 of 1 epochs" in repr(shown)


def test_labels_one_two_three_are_predicted_and_coloured_as_themselves():
    from viz.plots import CLASS_COLOURS

    model = nn.MLP(2, [3], seed=0)
    task = P._Task("boundary", model, np.array([1.0, 2.0, 3.0]), 3)
    outputs = np.array([[5.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 5.0]])
    assert list(task.predicted(outputs)) == [1.0, 2.0, 3.0]
    assert all(task.margins(outputs) > 0)
    assert task.colours() == list(CLASS_COLOURS[:3])
