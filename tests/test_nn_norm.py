"""Batch and layer normalisation: behaviour, errors, buffers, model files, the meeting point."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
import nn
from autograd import Value
from nn import MLP, BatchNorm, Layer, LayerNorm
from nn.norm import BatchTooSmallError


def batch_of(rows):
    return [[Value(float(x)) for x in row] for row in rows]


def test_batch_norm_in_training_normalises_each_feature_over_the_batch():
    norm = BatchNorm(2)
    norm.weight[1].data, norm.bias[1].data = 3.0, -1.0
    out = np.array([[v.data for v in row] for row in norm.forward_batch(
        [[1.0, 10.0], [2.0, 20.0], [6.0, 60.0]])])
    np.testing.assert_allclose(out.mean(axis=0), [0.0, -1.0], atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), [1.0, 3.0], rtol=1e-4)  # eps keeps it under


def test_batch_norm_refuses_a_single_sample_in_training_and_says_what_to_do():
    norm = BatchNorm(3)
    with pytest.raises(BatchTooSmallError, match=r"batch of 1 sample.*at least 2.*\.eval\(\)"):
        norm([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="batch of 1 sample"):
        MLP(2, [4, 1], norm="batch", seed=0)([0.5, 0.5])
    with pytest.raises(ValueError, match="batch of 0 samples"):
        norm.forward_batch([])
    assert norm.num_batches_tracked == 0  # nothing was recorded


def test_fit_with_a_last_batch_of_one_row_names_the_problem():
    X, y = nn.data.moons(9, seed=0)
    model = MLP(2, [4, 1], norm="batch", seed=0)
    with pytest.raises(BatchTooSmallError, match="batch_size"):
        nn.fit(model, X, y, loss="bce_with_logits", batch_size=4, epochs=1, progress=False)


def test_layer_norm_is_per_sample_so_one_sample_and_a_batch_agree():
    norm = LayerNorm(3)
    rows = [[1.0, 2.0, 4.0], [-1.0, 0.0, 5.0]]
    alone = [[v.data for v in norm(row)] for row in rows]
    together = [[v.data for v in out] for out in norm.forward_batch(rows)]
    assert alone == together
    np.testing.assert_allclose(np.mean(alone, axis=1), 0.0, atol=1e-12)


def test_one_feature_norms_take_and_give_bare_values():
    norm = LayerNorm(1)
    assert isinstance(norm(Value(2.0)), Value)
    batch = BatchNorm(1).forward_batch([1.0, 3.0])
    assert all(isinstance(v, Value) for v in batch)
    assert [v.data for v in batch] == pytest.approx([-1.0, 1.0], rel=1e-4)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: BatchNorm(0), "num_features must be a positive int"),
        (lambda: LayerNorm(2.5), "num_features must be a positive int"),
        (lambda: BatchNorm(2, eps=0), "eps must be a positive number"),
        (lambda: LayerNorm(2, eps=float("nan")), "eps must be a positive number"),
        (lambda: BatchNorm(2, momentum=1.5), r"momentum must be a number in \[0, 1\] or None"),
        (lambda: BatchNorm(2, momentum=True), "momentum must be"),
        (lambda: MLP(2, [3, 1], norm="group"), "unknown norm 'group'"),
        (lambda: Layer(2, 3, norm="instance"), "unknown norm 'instance'"),
    ],
)
def test_bad_norm_arguments_are_refused_with_the_reason(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_wrong_feature_count_names_expected_and_received():
    with pytest.raises(ValueError, match=r"BatchNorm\(3\) expects 3 inputs, got 2"):
        BatchNorm(3).forward_batch([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match=r"LayerNorm\(2\) expects 2 inputs, got 3"):
        LayerNorm(2)([1.0, 2.0, 3.0])


def test_normalised_mlp_names_its_parameters_and_buffers_sensibly():
    model = MLP(2, [3, 1], norm="batch", seed=0)
    names = [name for name, _ in model.named_parameters()]
    assert names[:3] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1",
                         "layers.0.neurons.0.b"]
    assert "layers.0.norm.weight.2" in names and "layers.0.norm.bias.0" in names
    assert not any("layers.1.norm" in name for name in names)  # the output layer is not normed
    buffers = [name for name, _ in model.named_buffers()]
    assert buffers == ["layers.0.norm.running_mean.0", "layers.0.norm.running_mean.1",
                       "layers.0.norm.running_mean.2", "layers.0.norm.running_var.0",
                       "layers.0.norm.running_var.1", "layers.0.norm.running_var.2",
                       "layers.0.norm.num_batches_tracked"]
    assert list(model.state_dict()) == names + buffers
    assert model.num_parameters() == len(names) == 3 * 3 + 2 * 3 + 4
    assert [name for name, _ in model.named_modules()][:6] == [
        "", "layers.0", "layers.0.neurons.0", "layers.0.neurons.1", "layers.0.neurons.2",
        "layers.0.norm"]


@pytest.mark.parametrize("model", [MLP(2, [3, 1], norm="batch", seed=0), Layer(2, 3, seed=0),
                                   Layer(2, 3, norm="layer", seed=0), MLP(2, [1], seed=0)])
def test_children_and_named_children_list_the_same_modules(model):
    assert [child for _, child in model.named_children()] == model.children()
    model.children().clear()  # a copy: the module keeps its children
    assert model.children()


def test_hidden_layer_with_a_norm_is_linear_then_norm_then_activation():
    model = MLP(2, [3, 1], activation="tanh", norm="layer", seed=1)
    hidden = model.layers[0]
    assert hidden.activation == "tanh" and hidden.norm_kind == "layer"
    assert all(neuron.activation == "linear" for neuron in hidden.neurons)
    x = [0.3, -0.7]
    by_hand = [v.tanh().data for v in hidden.norm([neuron(x) for neuron in hidden.neurons])]
    assert [v.data for v in hidden(x)] == by_hand
    assert "LayerNorm(3)" in repr(model) and "layer norm, tanh" in model.summary()


def test_optimizers_train_parameters_but_never_the_running_statistics():
    model = MLP(2, [3, 1], norm="batch", seed=0)
    assert len(model.parameters()) == len({id(p) for p in model.parameters()})
    nn.fit(model, *nn.data.moons(20, seed=1), loss="bce_with_logits", epochs=3, progress=False)
    norm = model.layers[0].norm
    assert norm.num_batches_tracked == 3  # one full batch per epoch
    assert norm.running_var != [1.0, 1.0, 1.0]


def test_train_and_eval_modes_reach_the_norm():
    model = MLP(2, [3, 1], norm="batch", seed=0)
    model.eval()
    assert model.layers[0].norm.training is False
    assert isinstance(model([0.1, 0.2]), Value)  # eval takes single samples
    model.train()
    assert model.layers[0].norm.training is True


def test_state_dict_round_trip_restores_running_statistics():
    model = MLP(2, [3, 1], norm="batch", seed=0)
    model.forward_batch([[1.0, 2.0], [0.0, -1.0], [3.0, 3.0]])
    state = model.state_dict()
    fresh = MLP(2, [3, 1], norm="batch", seed=5)
    fresh.load_state_dict(state)
    assert fresh.state_dict() == state
    assert fresh.layers[0].norm.num_batches_tracked == 1


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("layers.0.norm.running_var.1", -0.5, "variance and must be >= 0"),
        ("layers.0.norm.num_batches_tracked", 2.5, "must be a count"),
        ("layers.0.norm.num_batches_tracked", -1, "must be a count"),
        ("layers.0.norm.running_mean.0", "zero", "must be a finite number"),
        ("layers.0.norm.running_mean.0", float("inf"), "must be a finite number"),
    ],
)
def test_bad_buffers_are_refused_by_name_and_change_nothing(name, value, match):
    model = MLP(2, [3, 1], norm="batch", seed=0)
    before = model.state_dict()
    state = dict(before, **{name: value})
    state["layers.0.neurons.0.w.0"] = 99.0
    with pytest.raises(ValueError, match=rf"buffer '{name}' .*{match}"):
        model.load_state_dict(state)
    assert model.state_dict() == before


def test_a_state_without_the_buffers_is_refused_as_missing_them():
    model = MLP(2, [3, 1], norm="batch", seed=0)
    state = {name: p.data for name, p in model.named_parameters()}
    with pytest.raises(ValueError, match="missing .*running_mean"):
        model.load_state_dict(state)


@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_a_trained_normalised_model_saves_and_loads_with_the_same_predictions(tmp_path, norm):
    X, y = nn.data.moons(40, noise=0.1, seed=2)
    model = MLP(2, [6, 6, 1], norm=norm, seed=3)
    nn.fit(model, X, y, loss="bce_with_logits", batch_size=10, epochs=3, progress=False, seed=0)
    model.save(tmp_path / "m.json")
    loaded = MLP.load(tmp_path / "m.json")
    assert loaded.architecture()["norm"] == norm
    assert loaded.state_dict() == model.state_dict()
    model.eval()
    loaded.eval()
    assert [loaded(row).data for row in X.tolist()] == [model(row).data for row in X.tolist()]
    content = json.loads((tmp_path / "m.json").read_text())
    if norm == "batch":
        assert content["parameters"]["layers.0.norm.num_batches_tracked"] == 12


def test_model_files_written_before_norms_existed_still_load():
    old = {
        "format": "chainrule-model", "version": 1,
        "architecture": {"type": "MLP", "nin": 2, "nouts": [2, 1], "activation": "relu",
                         "output_activation": "linear", "dropout": 0.0},
        "parameters": {name: 0.5 for name, _ in MLP(2, [2, 1], seed=0).named_parameters()},
    }
    model = nn.serialize.from_dict(old)
    assert model.norm is None and model([1.0, 1.0]).data == pytest.approx(2.0)
    layer = {"format": "chainrule-model", "version": 1,
             "architecture": {"type": "Layer", "nin": 1, "nout": 1, "activation": "relu"},
             "parameters": {"neurons.0.w.0": 2.0, "neurons.0.b": 0.0}}
    assert nn.serialize.from_dict(layer).norm is None


@pytest.mark.parametrize(
    ("architecture", "match"),
    [
        ({"type": "MLP", "nin": 2, "nouts": [2, 1], "activation": "relu",
          "output_activation": "linear", "dropout": 0.0, "norm": "group"}, "unknown norm 'group'"),
        ({"type": "BatchNorm", "num_features": 2, "eps": -1.0, "momentum": 0.1},
         "architecture: eps must be a positive number"),
        ({"type": "BatchNorm", "num_features": 2, "eps": 1e-5, "momentum": 7},
         "architecture: momentum must be"),
        ({"type": "LayerNorm", "num_features": 0, "eps": 1e-5}, "num_features must be an int"),
        ({"type": "BatchNorm", "num_features": 2, "eps": 1e-5}, r"missing fields \['momentum'\]"),
    ],
)
def test_bad_norm_architectures_in_model_files_are_refused(architecture, match):
    content = {"format": "chainrule-model", "version": 1, "architecture": architecture,
               "parameters": {}}
    with pytest.raises(ValueError, match=match):
        nn.serialize.from_dict(content)


def test_a_model_file_with_a_negative_running_variance_is_refused(tmp_path):
    model = MLP(2, [2, 1], norm="batch", seed=0)
    content = nn.serialize.to_dict(model)
    content["parameters"]["layers.0.norm.running_var.0"] = -2.0
    with pytest.raises(ValueError, match="running_var.0' is a variance"):
        nn.serialize.from_dict(content)


# -- where the samples meet ---------------------------------------------------------------


def _sample_of_each_node(root, inputs):
    """{node: set of sample indices whose inputs reach it}, over the graph of root."""
    origin = {id(v): {i} for i, row in enumerate(inputs) for v in row}
    reach = {}
    for node in autograd.topological_order(root):  # children before parents
        samples = set(origin.get(id(node), set()))
        for child in node._prev:
            samples |= reach.get(id(child), set())
        reach[id(node)] = samples
    return reach


def test_batch_norm_is_the_one_place_where_samples_meet():
    rows = batch_of([[0.5, -1.0], [2.0, 0.3], [-0.7, 1.1], [0.0, 2.0]])
    layer = Layer(2, 3, norm="batch", seed=0)
    loss = autograd.sum([v for out in layer.forward_batch(rows) for v in out])
    reach = _sample_of_each_node(loss, rows)
    meeting = [
        node for node in autograd.topological_order(loss)
        if len(reach[id(node)]) > 1 and all(len(reach[id(c)]) <= 1 for c in node._prev)
    ]
    # each feature's batch sum, consumed by its batch mean (which every output then reads)
    assert len(meeting) == 3
    consumers = {
        node.label for node in autograd.topological_order(loss)
        for child in node._prev if any(child is m for m in meeting)
    }
    assert consumers == {"batch_mean.0", "batch_mean.1", "batch_mean.2"}
    # without the norm, samples meet only in the loss's own sum
    plain = Layer(2, 3, seed=0)
    loss = autograd.sum([v for out in plain.forward_batch(rows) for v in out])
    reach = _sample_of_each_node(loss, rows)
    assert [n for n in autograd.topological_order(loss) if len(reach[id(n)]) > 1] == [loss]


def test_draw_dot_of_a_batch_normalised_loss_labels_the_batch_statistics():
    pytest.importorskip("graphviz")
    from viz import draw_dot

    model = MLP(2, [2, 1], norm="batch", seed=0)
    X, y = nn.data.moons(4, seed=0)
    loss = nn.mse_loss(model.forward_batch(X.tolist()), y)
    loss.backward()
    source = draw_dot(loss, names=model).source
    for label in ("batch_mean.0", "batch_var.0", "batch_mean.1", "batch_var.1"):
        assert label in source


@settings(max_examples=25)
@given(st.lists(st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=3), min_size=2, max_size=5),
       st.lists(st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=3), min_size=2, max_size=5))
def test_batch_norm_graph_structure_never_depends_on_the_numbers(first, second):
    # So that a tracer could record it once: the same ops in the same order for any data
    # of the same shape (only the running statistics read .data, after the graph is built).
    second = (second * 3)[: len(first)]

    def structure(rows):
        norm = BatchNorm(3)
        out = norm.forward_batch(batch_of(rows))
        root = autograd.sum([v for row in out for v in row])
        order = autograd.topological_order(root)
        index = {id(node): k for k, node in enumerate(order)}
        return [(node._op, tuple(index[id(c)] for c in node._prev)) for node in order]

    assert structure(first) == structure(second)
