"""Model files: round trips, and refusal of empty, broken, mismatched and hostile files."""

import json
import pickle

import pytest

import nn
from nn import MLP, Layer, Module, Neuron
from nn.serialize import FORMAT


@pytest.mark.parametrize(
    "model",
    [
        MLP(3, [4, 2], activation="tanh", output_activation="sigmoid", dropout=0.1, seed=1),
        Layer(2, 3, activation="leaky_relu", seed=2),
        Neuron(4, activation="linear", seed=3),
    ],
    ids=["mlp", "layer", "neuron"],
)
def test_save_and_load_round_trip_exactly(tmp_path, model):
    path = tmp_path / "model.json"
    model.save(path)
    loaded = Module.load(path)
    assert type(loaded) is type(model) and repr(loaded) == repr(model)
    assert loaded.state_dict() == model.state_dict()  # floats survive JSON exactly
    assert loaded.architecture() == model.architecture()
    x = [0.5, -1.0, 2.0, 0.25][: model.nin]
    out, expected = loaded.eval()(x), model.eval()(x)
    outs = out if isinstance(out, list) else [out]
    expected = expected if isinstance(expected, list) else [expected]
    assert [v.data for v in outs] == [v.data for v in expected]


def test_model_file_is_readable_json_with_the_documented_fields(tmp_path):
    path = tmp_path / "m.json"
    nn.save(MLP(2, [1], seed=0), path)
    content = json.loads(path.read_text())
    assert list(content) == ["format", "version", "architecture", "parameters"]
    assert content["format"] == FORMAT and content["version"] == 2
    assert content["architecture"]["nouts"] == [1]
    assert list(content["parameters"]) == [
        "layers.0.neurons.0.w.0",
        "layers.0.neurons.0.w.1",
        "layers.0.neurons.0.b",
    ]


def test_load_as_the_wrong_class_is_refused(tmp_path):
    path = tmp_path / "m.json"
    Neuron(2, seed=0).save(path)
    with pytest.raises(ValueError, match="holds a Neuron, not a MLP"):
        MLP.load(path)


def valid_content():
    return json.loads(json.dumps(nn.serialize.to_dict(MLP(2, [2, 1], seed=0))))


def edited(change):
    content = valid_content()
    change(content)
    return json.dumps(content)


BAD_FILES = {
    "empty": ("", "empty"),
    "whitespace": ("  \n", "empty"),
    "truncated": (json.dumps(valid_content())[:-40], "truncated JSON"),
    "malformed": ('{"format": chainrule}', "malformed JSON"),
    "not an object": ("[1, 2]", "expected a JSON object"),
    "wrong format": (edited(lambda c: c.update(format="keras")), "format is 'keras'"),
    "future version": (edited(lambda c: c.update(version=4)), "unsupported model file version 4"),
    "extra field": (edited(lambda c: c.update(code="import os")), "unexpected fields \\['code'\\]"),
    "wrong layer size": (
        edited(lambda c: c["architecture"].update(nouts=[3, 1])),
        "missing parameters 'layers.0.neurons.2.w.0'",
    ),
    "missing parameter": (
        edited(lambda c: c["parameters"].pop("layers.1.neurons.0.b")),
        "missing parameters 'layers.1.neurons.0.b'",
    ),
    "extra parameter": (
        edited(lambda c: c["parameters"].update({"layers.9.w": 1.0})),
        "unexpected parameters 'layers.9.w'",
    ),
    "string parameter": (
        edited(lambda c: c["parameters"].update({"layers.0.neurons.0.b": "0.5"})),
        "'layers.0.neurons.0.b' must be a finite number",
    ),
    "bool parameter": (
        edited(lambda c: c["parameters"].update({"layers.0.neurons.0.b": True})),
        "must be a finite number",
    ),
    "nan parameter": (
        edited(lambda c: c["parameters"].update({"layers.0.neurons.0.b": 1.0})).replace(
            "1.0", "NaN", 1
        ),
        "NaN is not a valid number",
    ),
    "huge layer": (edited(lambda c: c["architecture"].update(nouts=[10**9, 1])), "int from 1 to"),
    "negative size": (edited(lambda c: c["architecture"].update(nin=-2)), "nin must be an int"),
    "unknown activation": (
        edited(lambda c: c["architecture"].update(activation="__import__('os')")),
        "unknown activation",
    ),
    "unknown type": (
        edited(lambda c: c["architecture"].update(type="Transformer")),
        "unknown architecture type",
    ),
    "duplicate key": ('{"format": 1, "format": 2}', "repeated key 'format'"),
    "deep nesting": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_model_files_raise_value_error_with_the_reason(tmp_path, name):
    text, reason = BAD_FILES[name]
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=reason):
        nn.load(path)


def test_pickle_payload_is_refused_without_unpickling(tmp_path):
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    path = tmp_path / "evil.json"
    path.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ValueError, match="pickle"):
        nn.load(path)
    path.write_bytes(pickle.dumps({"format": FORMAT}, protocol=0))  # a text-like pickle
    with pytest.raises(ValueError, match="pickle"):
        nn.load(path)


def test_binary_garbage_is_refused(tmp_path):
    path = tmp_path / "noise.json"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(ValueError, match="not a model file"):
        nn.load(path)


def test_saving_a_diverged_model_is_refused(tmp_path):
    model = MLP(2, [1], seed=0)
    model.parameters()[0].data = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        model.save(tmp_path / "m.json")


KIND_EXAMPLES = {
    "mlp": MLP(3, [4, 2], dropout=0.1, seed=1),
    "layer": Layer(2, 3, seed=2),
    "neuron": Neuron(4, seed=3),
    "mlp batch norm": MLP(3, [4, 5, 2], norm="batch", seed=1),
    "mlp layer norm": MLP(3, [4, 2], norm="layer", seed=1),
    "layer batch norm": Layer(2, 3, norm="batch", seed=2),
    "batch norm": nn.BatchNorm(3, momentum=None),
    "layer norm": nn.LayerNorm(4, eps=1e-3),
    "sequential of norms": nn.Sequential(nn.Layer(2, 3, activation="linear", seed=12),
                                         nn.BatchNorm(3), nn.ReLU(), nn.LayerNorm(3)),
    "conv2d": nn.Conv2d(2, 3, (2, 3), stride=(2, 1), padding=(0, 1), seed=4),
    "maxpool2d": nn.MaxPool2d(3, stride=2, padding=1),
    "rnn": nn.RNN(2, 3, nonlinearity="relu", seed=5),
    "small modules": nn.Sequential(nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.LeakyReLU(0.2),
                                   nn.Flatten(), nn.Dropout(0.3), nn.LastStep()),
    "sequential": nn.Sequential(
        nn.Conv2d(1, 2, 3, seed=6), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Sequential(nn.Layer(8, 4, seed=7), nn.Neuron(4, seed=8)), nn.MLP(1, [2, 2], seed=9),
    ),
    "rnn classifier": nn.Sequential(nn.RNN(1, 4, seed=10), nn.LastStep(),
                                    nn.Layer(4, 2, activation="linear", seed=11)),
}


@pytest.mark.parametrize("model", list(KIND_EXAMPLES.values()), ids=list(KIND_EXAMPLES))
def test_each_kind_names_the_parameters_its_module_has(model):
    # The names of the whole state: parameters, then buffers (batch norm's running statistics).
    kind = nn.serialize.kind_of(model.architecture())
    assert list(kind.names(model.architecture())) == list(model.state_dict())
    assert kind.count(model.architecture()) == model.num_parameters()
    assert nn.serialize.loads(nn.serialize.dumps(model)).state_dict() == model.state_dict()


@pytest.mark.parametrize(
    "architecture",
    [
        {"type": "Layer", "nin": 10**6, "nout": 10**6, "activation": "relu"},
        {"type": "Layer", "nin": 1000, "nout": 10**6, "activation": "relu"},
        {"type": "MLP", "nin": 1, "nouts": [10**6], "activation": "relu",
         "output_activation": "linear", "dropout": 0.0},
    ],
    ids=["layer 1e6 x 1e6", "layer 1e3 x 1e6", "mlp 1 x 1e6"],
)
def test_a_small_file_claiming_a_huge_model_is_refused_before_building(tmp_path, architecture):
    path = tmp_path / "huge.json"
    path.write_text(json.dumps({"format": FORMAT, "version": 1, "architecture": architecture,
                                "parameters": {}}))
    with pytest.raises(ValueError, match="more than 1000000"):
        nn.load(path)
