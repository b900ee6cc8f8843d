"""Beyond the MLP: Sequential, activation modules, Flatten, Dropout, Conv2d, MaxPool2d, RNN.

Behaviour without an oracle: the convolution's shared weights, shapes and
their errors, scopes, names, reprs, batches, and graphs that depend only on
the input's shape. (tests/test_nn_layers_torch.py compares the numbers
with PyTorch.)
"""

import random

import numpy as np
import pytest

import autograd
import nn
from autograd import Value
from nn import (
    RNN,
    Conv2d,
    Dropout,
    Flatten,
    LastStep,
    Layer,
    LeakyReLU,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)


def numbers(nested):
    if isinstance(nested, Value):
        return nested.data
    return [numbers(item) for item in nested]


def small_conv_net(seed=0):
    return Sequential(
        Conv2d(1, 2, 3, padding=1, seed=seed),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Layer(2 * 2 * 2, 3, activation="linear", seed=seed),
    )


def image(height=4, width=4, channels=1, seed=0):
    rng = random.Random(seed)
    return [[[rng.uniform(-1, 1) for _ in range(width)] for _ in range(height)]
            for _ in range(channels)]


# -- the convolution ------------------------------------------------------------------------


def test_shared_weight_collects_the_sum_of_its_inputs_over_every_position():
    conv = Conv2d(1, 1, 2, seed=0)
    pixels = [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]]
    out = conv(pixels)
    autograd.sum([v for row in out[0] for v in row]).backward()
    # d(sum of outputs)/d weight[i][j] = the sum of the pixels it met at the 2x2 positions
    for i in range(2):
        for j in range(2):
            met = sum(pixels[0][i + r][j + c] for r in range(2) for c in range(2))
            assert conv.weight[0][0][i][j].grad == pytest.approx(met, rel=1e-15)
    assert conv.bias[0].grad == 4.0


def test_each_output_pixel_is_one_dot_over_its_patch_plus_the_bias():
    conv = Conv2d(2, 3, (2, 3), seed=1)
    out = conv(image(4, 5, channels=2))
    assert (len(out), len(out[0]), len(out[0][0])) == (3, 3, 3)
    pixel = out[1][2][0]
    assert pixel._op == "+"
    dot, bias = pixel._prev
    assert dot._op == "dot" and bias is conv.bias[1]
    assert len(dot._prev) == 2 * (2 * 2 * 3)  # the filter's 12 weights, then 12 pixels
    assert list(dot._prev[:12]) == [w for c in conv.weight[1] for row in c for w in row]


def test_a_weight_is_one_leaf_shared_by_every_position_of_its_filter():
    conv = Conv2d(1, 1, 3, seed=0)
    out = conv(image(6, 6))
    weight = conv.weight[0][0][1][1]
    consumers = [v for row in out[0] for v in row if weight in v._prev[0]._prev]
    assert len(consumers) == 16


def test_padding_adds_no_nodes_a_tap_on_the_padding_is_left_out():
    conv = Conv2d(1, 1, 3, padding=1, seed=0)
    out = conv(image(3, 3))
    corner, centre = out[0][0][0]._prev[0], out[0][1][1]._prev[0]
    assert len(corner._prev) == 2 * 4 and len(centre._prev) == 2 * 9
    taps = [w for w in corner._prev[:4]]
    assert taps == [conv.weight[0][0][i][j] for i in (1, 2) for j in (1, 2)]


@pytest.mark.parametrize(
    "kernel, stride, padding, size, expected",
    [(3, 1, 0, (5, 7), (3, 5)), (3, 2, 1, (5, 7), (3, 4)), ((2, 3), (2, 1), (0, 1), (5, 4), (2, 4)),
     (1, 3, 0, (7, 8), (3, 3))],
)
def test_output_size_is_floor_of_padded_size_minus_kernel_over_stride_plus_one(
    kernel, stride, padding, size, expected
):
    conv = Conv2d(1, 2, kernel, stride=stride, padding=padding, seed=0)
    out = conv(image(*size))
    assert (len(out[0]), len(out[0][0])) == expected == conv.output_shape(*size)[1:]


def test_images_may_be_numpy_arrays_of_shape_chw_or_hw():
    conv = Conv2d(1, 2, 2, seed=0)
    pixels = np.arange(12.0).reshape(3, 4)
    expected = numbers(conv(pixels.tolist() and [pixels.tolist()]))
    assert numbers(conv(pixels)) == expected
    assert numbers(conv(pixels[None])) == expected
    values = [[[Value(x) for x in row] for row in pixels.tolist()]]
    assert numbers(conv(values)) == expected


@pytest.mark.parametrize(
    "bad, message",
    [
        (image(4, 4, channels=2),
         r"expects an image of shape \(1, height, width\), got shape \(2, 4, 4\)"),
        ([1.0, 2.0, 3.0], r"got shape \(3,\)"),
        ([[[1.0, 2.0], [3.0]]], "ragged"),
        ([[[]]], r"got shape \(1, 1, 0\)"),
        (image(2, 5), r"at least 3x3 pixels \(padding included\), got 2x5"),
    ],
)
def test_wrong_image_shapes_raise_value_error_naming_expected_and_received(bad, message):
    with pytest.raises(ValueError, match=message):
        Conv2d(1, 1, 3, seed=0)(bad)


def test_non_numbers_in_an_image_raise_type_error():
    with pytest.raises(TypeError, match="str"):
        Conv2d(1, 1, 1, seed=0)([[["a"]]])


@pytest.mark.parametrize(
    "arguments, message",
    [((0, 1, 3), "in_channels must be a positive int"),
     ((1, 1, 0), "kernel_size must be at least 1"),
     ((1, 1, 3, 0), "stride must be at least 1"), ((1, 1, 3, 1, -1), "padding must be at least 0"),
     ((1, 1, (3, 3, 3)), "kernel_size must be an int or a pair of ints"),
     ((1, 1, 2.5), "kernel_size must be an int or a pair")],
)
def test_bad_conv_arguments_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        Conv2d(*arguments)


def test_conv_initialisation_is_pytorchs_default_range_and_seeded():
    conv = Conv2d(3, 4, 5, seed=7)
    bound = 1 / (3 * 5 * 5) ** 0.5
    assert all(abs(p.data) <= bound for p in conv.parameters())
    assert max(abs(p.data) for p in conv.parameters()) > bound * 0.9
    assert Conv2d(3, 4, 5, seed=7).state_dict() == conv.state_dict()
    assert Conv2d(3, 4, 5, seed=8).state_dict() != conv.state_dict()


def test_conv_names_follow_pytorchs_weight_indices():
    conv = Conv2d(2, 3, (2, 1), seed=0)
    names = [name for name, _ in conv.named_parameters()]
    assert names[:3] == ["weight.0.0.0.0", "weight.0.0.1.0", "weight.0.1.0.0"]
    assert names[-3:] == ["bias.0", "bias.1", "bias.2"]
    assert [p for _, p in conv.named_parameters()] == conv.parameters()
    assert dict(conv.named_parameters())["weight.2.1.1.0"] is conv.weight[2][1][1][0]


def test_each_filter_is_a_scope_inside_the_layers_scope():
    model = small_conv_net()
    out = model(image())
    conv_nodes = [n for n in autograd.topological_order(autograd.sum(out)) if n._op == "dot"]
    scopes = {n.scope for n in conv_nodes}
    assert scopes == {"layers.0/filters.0", "layers.0/filters.1", "layers.4/neurons.0",
                      "layers.4/neurons.1", "layers.4/neurons.2"}


# -- max pooling ----------------------------------------------------------------------------


def test_max_pool_takes_the_largest_pixel_of_each_window_per_channel():
    pool = MaxPool2d(2)
    pixels = [[[1.0, 5.0, 2.0], [3.0, 4.0, 9.0], [0.0, 8.0, 7.0]],
              [[-1.0, -2.0, 0.0], [-3.0, -4.0, 0.0], [6.0, 6.0, 6.0]]]
    out = pool(pixels)
    assert numbers(out) == [[[5.0]], [[-1.0]]]  # 3x3 with a 2x2 window, stride 2: one position
    assert out[0][0][0]._op == "max"
    assert numbers(MaxPool2d(2, stride=1)(pixels)) == [[[5.0, 9.0], [8.0, 9.0]],
                                                        [[-1.0, 0.0], [6.0, 6.0]]]


def test_max_pool_sends_the_gradient_to_the_first_maximum_as_pytorch():
    pixels = [[[Value(2.0), Value(2.0)], [Value(1.0), Value(2.0)]]]
    MaxPool2d(2)(pixels)[0][0][0].backward()
    assert [v.grad for row in pixels[0] for v in row] == [1.0, 0.0, 0.0, 0.0]


def test_max_pool_padding_is_minus_infinity_and_at_most_half_the_kernel():
    out = MaxPool2d(2, stride=2, padding=1)([[[-5.0, -6.0], [-7.0, -8.0]]])
    assert numbers(out) == [[[-5.0, -6.0], [-7.0, -8.0]]]
    with pytest.raises(ValueError, match="at most half the kernel size"):
        MaxPool2d(2, padding=2)


def test_max_pool_on_too_small_an_image_names_the_sizes():
    with pytest.raises(ValueError, match="at least 3x3 pixels"):
        MaxPool2d(3)([[[1.0, 2.0], [3.0, 4.0]]])


# -- the small modules ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "module, function",
    [(ReLU(), lambda x: max(0.0, x)), (Tanh(), np.tanh),
     (Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
     (LeakyReLU(0.2), lambda x: x if x > 0 else 0.2 * x)],
)
def test_activation_modules_apply_to_every_number_of_any_nesting(module, function):
    pixels = image(3, 2, channels=2, seed=4)
    out = module(pixels)
    expected = [[[function(x) for x in row] for row in channel] for channel in pixels]
    np.testing.assert_allclose(numbers(out), expected, rtol=1e-15)
    assert module(Value(0.5)).data == pytest.approx(function(0.5), rel=1e-15)
    assert module.parameters() == []


def test_flatten_lists_every_number_row_major():
    pixels = image(2, 3, channels=2)
    flat = Flatten()(pixels)
    assert numbers(flat) == [x for channel in pixels for row in channel for x in row]
    assert all(isinstance(v, Value) for v in flat)
    values = [[Value(1.0), Value(2.0)]]
    assert Flatten()(values) == [values[0][0], values[0][1]]  # no new nodes


def test_last_step_picks_the_last_hidden_state_and_refuses_empty_sequences():
    states = RNN(1, 2, seed=0)([1.0, 0.0, 1.0])
    assert LastStep()(states) is states[-1]
    with pytest.raises(ValueError, match="non-empty sequence"):
        LastStep()([])


def test_dropout_zeroes_about_p_of_the_numbers_scales_the_rest_and_is_off_in_eval():
    drop = Dropout(0.25, seed=3)
    xs = [Value(1.0) for _ in range(4000)]
    out = drop(xs)
    kept = [v.data for v in out if v.data != 0.0]
    assert 0.2 < 1 - len(kept) / len(xs) < 0.3
    assert kept == pytest.approx([1 / 0.75] * len(kept), rel=1e-15)
    assert numbers(Dropout(0.25, seed=3)(xs)) == numbers(out)  # seeded
    drop.eval()
    assert drop(xs) is xs


def test_dropout_graph_does_not_depend_on_the_draws():
    xs = [Value(1.0) for _ in range(50)]
    out = Dropout(0.5, seed=0)(xs)
    assert all(v._op == "*" and v._prev[0] is x for v, x in zip(out, xs, strict=True))


@pytest.mark.parametrize("p", [-0.1, 1.0, "0.5", True])
def test_dropout_probability_must_lie_in_zero_one(p):
    with pytest.raises(ValueError, match="probability in"):
        Dropout(p)


# -- Sequential -----------------------------------------------------------------------------


def test_sequential_names_parameters_by_position_as_pytorch():
    model = small_conv_net()
    names = [name for name, _ in model.named_parameters()]
    assert names[0] == "layers.0.weight.0.0.0.0" and "layers.0.bias.1" in names
    assert names[-1] == "layers.4.neurons.2.b"
    assert len(names) == model.num_parameters() == 2 * 9 + 2 + 3 * 9
    modules = [name for name, _ in model.named_modules()]
    assert modules[:6] == ["", *[f"layers.{i}" for i in range(5)]]
    assert modules[6:] == [f"layers.4.neurons.{j}" for j in range(3)]


def test_sequential_repr_lists_children_like_pytorch():
    model = Sequential(Conv2d(1, 4, 3), ReLU(), Sequential(Flatten(), Dropout(0.1)))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1))\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Flatten()\n"
        "    (1): Dropout(p=0.1)\n"
        "  )\n"
        ")"
    )
    assert repr(RNN(3, 5, nonlinearity="relu")) == "RNN(3, 5, nonlinearity='relu')"
    assert repr(MaxPool2d(2)) == "MaxPool2d(kernel_size=(2, 2), stride=(2, 2))"
    assert repr(LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"


def test_sequential_refuses_what_is_not_a_module():
    with pytest.raises(TypeError, match="item 1 is a function"):
        Sequential(ReLU(), lambda x: x)
    with pytest.raises(ValueError, match="at least one module"):
        Sequential()


def test_sequential_batch_equals_per_sample_calls_and_is_watched_after_each_child():
    model = small_conv_net()
    images = [image(seed=k) for k in range(3)]
    seen = []
    with nn.module.watching(lambda child, outputs: seen.append((child, len(outputs)))):
        batch = model.forward_batch(images)
    assert [numbers(o) for o in batch] == [numbers(model(x)) for x in images]
    assert seen == [(layer, 3) for layer in model.layers]


def test_train_and_eval_reach_every_child():
    model = Sequential(Dropout(0.5), Sequential(Dropout(0.5)))
    model.eval()
    assert not model.layers[0].training and not model.layers[1].layers[0].training
    model.train()
    assert model.layers[1].layers[0].training


def test_sequential_indexing_gives_children_and_sub_sequentials():
    model = small_conv_net()
    assert model[0] is model.layers[0] and len(model) == 5
    assert isinstance(model[:2], Sequential) and model[:2].layers == model.layers[:2]


# -- the RNN ----------------------------------------------------------------------------------


def manual_rnn(rnn, sequence, h0=None):
    W_ih = np.array(numbers(rnn.weight_ih_l0))
    W_hh = np.array(numbers(rnn.weight_hh_l0))
    b = np.array(numbers(rnn.bias_ih_l0)) + np.array(numbers(rnn.bias_hh_l0))
    h = np.zeros(rnn.hidden_size) if h0 is None else np.asarray(h0, dtype=float)
    act = np.tanh if rnn.nonlinearity == "tanh" else lambda z: np.maximum(z, 0.0)
    states = []
    for x in sequence:
        h = act(W_ih @ np.atleast_1d(x) + W_hh @ h + b)
        states.append(h)
    return np.array(states)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_computes_the_elman_recurrence(nonlinearity):
    rnn = RNN(2, 3, nonlinearity=nonlinearity, seed=5)
    sequence = [[0.5, -1.0], [1.0, 0.25], [-0.5, 0.5], [0.0, 1.0]]
    np.testing.assert_allclose(numbers(rnn(sequence)), manual_rnn(rnn, sequence), rtol=1e-12)
    h0 = [0.1, -0.2, 0.3]
    np.testing.assert_allclose(numbers(rnn(sequence, h0)), manual_rnn(rnn, sequence, h0),
                               rtol=1e-12)


def test_rnn_with_one_input_takes_numbers_lists_or_numpy():
    rnn = RNN(1, 2, seed=0)
    expected = numbers(rnn([[1.0], [0.0], [1.0]]))
    assert numbers(rnn([1.0, 0.0, 1.0])) == expected
    assert numbers(rnn(np.array([1.0, 0.0, 1.0]))) == expected
    assert numbers(rnn(np.array([[1.0], [0.0], [1.0]]))) == expected


def test_each_time_step_is_a_scope():
    rnn = RNN(1, 2, seed=0)
    states = rnn([1.0, 0.0, 1.0])
    for t, state in enumerate(states):
        assert {v.scope for v in state} == {f"t.{t}"}
    order = autograd.topological_order(autograd.sum(states[-1]))
    assert {n.scope for n in order if n._prev} >= {"t.0", "t.1", "t.2"}


def test_gradient_reaches_every_step_back_through_time():
    rnn = RNN(1, 3, seed=1)
    xs = [Value(0.5) for _ in range(6)]
    autograd.sum(rnn(xs)[-1]).backward()
    assert all(x.grad != 0.0 for x in xs)


@pytest.mark.parametrize(
    "sequence, message",
    [([], r"at least one step, got shape \(0,\)"), ([[1.0, 2.0]], r"shape \(steps, 3\)"),
     ([[1.0, 2.0, 3.0], [1.0]], "ragged"), (5.0, r"got shape \(\)")],
)
def test_wrong_sequence_shapes_raise_value_error(sequence, message):
    with pytest.raises(ValueError, match=message):
        RNN(3, 2, seed=0)(sequence)


def test_wrong_h0_shape_names_the_hidden_size():
    with pytest.raises(ValueError, match=r"h0 of shape \(2,\), got \(3,\)"):
        RNN(1, 2, seed=0)([1.0], h0=[0.0, 0.0, 0.0])


def test_rnn_arguments_are_checked_and_names_follow_pytorch():
    with pytest.raises(ValueError, match="unknown nonlinearity 'gelu'"):
        RNN(1, 2, nonlinearity="gelu")
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        RNN(1, 0)
    names = [name for name, _ in RNN(2, 3, seed=0).named_parameters()]
    assert names[:3] == ["weight_ih_l0.0.0", "weight_ih_l0.0.1", "weight_ih_l0.1.0"]
    assert "weight_hh_l0.2.2" in names and names[-1] == "bias_hh_l0.2"
    assert len(names) == 3 * 2 + 3 * 3 + 3 + 3


# -- graphs that a tape can trace ----------------------------------------------------------


def shape_of_graph(root):
    """The graph's structure without its numbers: each node's op and its children's positions."""
    order = autograd.topological_order(root)
    index = {node: i for i, node in enumerate(order)}
    return [(node._op, tuple(index[c] for c in node._prev)) for node in order]


@pytest.mark.parametrize("kind", ["conv", "rnn"])
def test_graph_structure_depends_on_the_input_shape_not_its_numbers(kind):
    if kind == "conv":
        model = small_conv_net()
        first, second = image(seed=1), [[[-x for x in row] for row in image(seed=2)[0]]]
    else:
        model = Sequential(RNN(1, 3, seed=0), LastStep(), Layer(3, 2, activation="linear", seed=0))
        first, second = [1.0, 0.0, 1.0, 1.0], [-3.0, 2.0, 0.0, 5.0]
    graphs = [shape_of_graph(nn.cross_entropy(model(x), 1)) for x in (first, second)]
    assert graphs[0] == graphs[1]


# -- training ---------------------------------------------------------------------------------


def test_fit_trains_a_conv_net_on_images_of_shape_n_c_h_w():
    X, y = nn.data.digits(images=True)
    X, y = X[:120] / 16.0, y[:120]
    model = Sequential(Conv2d(1, 2, 3, stride=2, seed=0), ReLU(), Flatten(),
                       Layer(2 * 3 * 3, 10, activation="linear", init="xavier", seed=0))
    history = nn.fit(model, X, y, loss="cross_entropy", optimizer="adam", lr=0.03, epochs=5,
                     batch_size=20, progress=False, seed=0)
    assert history.loss[-1] < history.loss[0] * 0.7
    assert nn.evaluate(model, X, y, loss="cross_entropy")["accuracy"] > 0.5


def test_fit_trains_an_rnn_on_sequences_of_shape_n_steps():
    X, y = nn.data.parity(64, length=2, seed=0)  # XOR as a sequence
    model = Sequential(RNN(1, 4, seed=1), LastStep(), Layer(4, 2, activation="linear", seed=1))
    history = nn.fit(model, X, y, loss="cross_entropy", optimizer="adam", lr=0.05, epochs=40,
                     batch_size=16, progress=False, seed=0)
    assert history.metric[-1] == 1.0


def test_diagnostics_read_the_nested_outputs_of_conv_and_rnn_layers():
    X, y = nn.data.digits(images=True)
    model = Sequential(Conv2d(1, 2, 3, seed=0), ReLU(), MaxPool2d(2), Flatten(),
                       Layer(2 * 3 * 3, 10, activation="linear", seed=0))
    history = nn.fit(model, X[:20] / 16, y[:20], loss="cross_entropy", epochs=1,
                     progress=False, diagnostics=True)
    stats = history.diagnostics[0]
    assert list(stats) == [f"layers.{i}" for i in range(5)]
    assert stats["layers.1"]["activation_mean"] >= 0.0  # relu outputs, every pixel counted
    S, p = nn.data.parity(16, length=4, seed=0)
    rnn = Sequential(RNN(1, 3, seed=0), LastStep(), Layer(3, 2, activation="linear", seed=0))
    history = nn.fit(rnn, S, p, loss="cross_entropy", epochs=1, progress=False, diagnostics=True)
    assert list(history.diagnostics[0]) == ["layers.0", "layers.1", "layers.2"]


def test_fit_names_the_shape_when_x_has_no_rows_dimension():
    with pytest.raises(ValueError, match=r"one row per sample.*got shape \(\)"):
        nn.fit(Sequential(Layer(1, 1)), 3.0, [1], epochs=1, progress=False)
