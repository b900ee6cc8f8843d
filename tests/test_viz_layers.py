"""viz.layers: images, filters, feature maps and BPTT as Figures; conv and RNN graphs collapse."""

import math
import re

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import autograd  # noqa: E402
import nn  # noqa: E402
import viz  # noqa: E402
from nn import RNN, Conv2d, Flatten, LastStep, Layer, MaxPool2d, ReLU, Sequential  # noqa: E402


def conv_net():
    return Sequential(Conv2d(1, 2, 3, padding=1, seed=0), ReLU(), MaxPool2d(2), Flatten(),
                      Layer(2 * 4 * 4, 10, activation="linear", seed=0))


def images_in(figure):
    return [ax for ax in figure.axes if ax.get_images() and ax.get_visible()]


def test_plot_images_shows_each_image_with_its_label():
    X, y = nn.data.digits(images=True)
    figure = viz.plot_images(X[:12], y[:12], columns=6)
    shown = images_in(figure)
    assert len(shown) == 12
    assert [ax.get_title() for ax in shown] == [str(label) for label in y[:12]]
    np.testing.assert_array_equal(shown[3].get_images()[0].get_array(), X[3, 0])


def test_plot_images_takes_flat_square_rows_and_marks_wrong_predictions():
    X, y = nn.data.digits()
    predictions = y[:5].copy()
    predictions[2] = (predictions[2] + 1) % 10
    figure = viz.plot_images(X[:5], y[:5], predictions=predictions)
    shown = images_in(figure)
    assert shown[2].get_title() == f"{y[2]} → {predictions[2]}"
    assert shown[2].title.get_color() != shown[1].title.get_color()
    assert len(images_in(viz.plot_images(X, limit=7))) == 7


@pytest.mark.parametrize(
    "X, message",
    [(np.zeros((3, 5)), "flat square rows"), (np.zeros((2, 2, 4, 4)), "1 or 3 channels"),
     (np.zeros((0, 8, 8)), "no images")],
)
def test_plot_images_refuses_what_is_not_images(X, message):
    with pytest.raises(ValueError, match=message):
        viz.plot_images(X)


def test_plot_images_labels_must_match():
    with pytest.raises(ValueError, match="3 images but y has 2"):
        viz.plot_images(np.zeros((3, 4, 4)), [1, 2])


def test_plot_filters_draws_every_kernel_on_one_symmetric_scale():
    conv = Conv2d(2, 3, (2, 3), seed=1)
    figure = viz.plot_filters(conv)
    shown = images_in(figure)
    assert len(shown) == 6
    np.testing.assert_array_equal(
        shown[1 * 2 + 0].get_images()[0].get_array(),
        [[w.data for w in row] for row in conv.weight[1][0]],
    )
    reach = max(abs(w.data) for w in nn._shapes.flat(conv.weight))
    assert shown[0].get_images()[0].get_clim() == (-reach, reach)


def test_plot_filters_finds_the_first_conv_of_a_model_and_shows_gradients():
    model = conv_net()
    out = model([[[1.0] * 8] * 8])
    nn.cross_entropy(out, 3).backward()
    figure = viz.plot_filters(model, show="grad")
    kernel = images_in(figure)[1].get_images()[0].get_array()
    np.testing.assert_array_equal(kernel, [[w.grad for w in row] for row in model[0].weight[1][0]])
    with pytest.raises(TypeError, match="Conv2d or a model holding one"):
        viz.plot_filters(nn.MLP(2, [1]))


def test_plot_feature_maps_has_a_row_per_image_layer_and_a_column_per_channel():
    X, _ = nn.data.digits(images=True)
    model = conv_net().train()
    figure = viz.plot_feature_maps(model, X[0] / 16)
    shown = images_in(figure)
    assert len(shown) == 1 + 3 * 2  # the input, then conv, relu and pool with 2 channels each
    pooled = shown[-1].get_images()[0].get_array()
    with autograd.no_grad():
        expected = model[:3](X[0] / 16)[1]
    np.testing.assert_allclose(pooled, [[v.data for v in row] for row in expected])
    assert model.training  # the mode is restored
    with pytest.raises(ValueError, match="no layer of this model outputs an image"):
        viz.plot_feature_maps(Sequential(Flatten()), X[0])


def bptt_case(steps=12, hidden=6):
    rnn = RNN(1, hidden, seed=3)
    head = Layer(hidden, 2, activation="linear", seed=3)
    states = rnn([float(t % 2) for t in range(steps)])
    return rnn, states, nn.cross_entropy(head(states[-1]), 1)


def test_bptt_norms_are_the_norms_of_the_gradients_reaching_each_hidden_state():
    rnn, states, loss = bptt_case()
    norms = viz.bptt_norms(loss, states)
    loss.backward()
    expected = [math.sqrt(sum(v.grad ** 2 for v in state)) for state in states]
    np.testing.assert_allclose(norms, expected, rtol=1e-12)
    assert norms[0] < norms[-1] / 10  # tanh: the gradient fades going back in time


def test_plot_bptt_draws_one_point_per_step_and_leaves_grads_alone():
    rnn, states, loss = bptt_case()
    figure = viz.plot_bptt(loss, states)
    (line,) = figure.axes[0].get_lines()
    assert list(line.get_xdata()) == list(range(12))
    assert all(p.grad == 0.0 for p in rnn.parameters())
    assert "dL/dh_t" in figure.axes[0].get_ylabel()


def test_plot_bptt_of_a_batch_averages_the_samples():
    rnn = RNN(1, 3, seed=0)
    batch = [rnn([1.0, 0.0, 1.0]), rnn([0.0, 0.0, 1.0])]
    loss = autograd.sum([autograd.sum(states[-1]) for states in batch])
    norms = viz.bptt_norms(loss, batch)
    each = [viz.bptt_norms(loss, states) for states in batch]
    np.testing.assert_allclose(norms, (each[0] + each[1]) / 2, rtol=1e-12)


def test_plot_bptt_refuses_what_is_not_hidden_states():
    rnn, states, loss = bptt_case()
    with pytest.raises(TypeError, match="loss as a Value"):
        viz.plot_bptt(1.0, states)
    with pytest.raises(ValueError, match="non-empty list"):
        viz.plot_bptt(loss, [])
    with pytest.raises(TypeError, match="must hold Values"):
        viz.plot_bptt(loss, [[1.0, 2.0]])


# -- graphs of conv nets and RNNs collapse by layer, filter and time step ------------------


def box_titles(source):
    return set(re.findall(r"<B>([^<]*)</B>", source))


def test_a_conv_nets_graph_collapses_into_one_box_per_layer_and_per_filter():
    model = conv_net()
    loss = nn.cross_entropy(model([[[0.5] * 8] * 8]), 2)
    loss.backward()
    assert len(autograd.topological_order(loss)) > 800
    layers = box_titles(viz.draw_dot(loss, cluster="collapse", depth=1).source)
    assert len(layers) < 10
    # Flatten reshapes without computing: it makes no nodes, so it has no box
    assert {"layers.0", "layers.1", "layers.2", "layers.4"} <= layers
    assert not any(title.startswith("layers.3") for title in layers)
    nested = viz.draw_dot(loss, cluster="collapse", depth=2).source
    # one level down, the filters are boxes of their own inside the convolution's
    assert {"filters.0", "filters.1"} <= box_titles(nested) and 'label="layers.0"' in nested


def test_an_rnns_graph_collapses_by_time_step():
    model = Sequential(RNN(1, 4, seed=0), LastStep(), Layer(4, 2, activation="linear", seed=0))
    loss = nn.cross_entropy(model([1.0, 0.0, 1.0, 1.0, 0.0]), 1)
    nested = viz.draw_dot(loss, cluster="collapse", depth=2).source
    assert {f"t.{t}" for t in range(5)} <= box_titles(nested) and 'label="layers.0"' in nested
    _, states, loss = bptt_case(steps=4)
    assert {f"t.{t}" for t in range(4)} <= box_titles(viz.draw_dot(loss, cluster="collapse").source)
