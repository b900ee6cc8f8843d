"""Model files version 2: every new kind round-trips; version-1 files still load; limits hold."""

import json

import pytest
from test_nn_serialize import KIND_EXAMPLES  # the names test keeps one example per kind

import nn
from nn.serialize import FORMAT, KINDS, MAX_DEPTH, MAX_MODULES


@pytest.mark.parametrize("name", list(KIND_EXAMPLES))
def test_every_kind_round_trips_exactly(tmp_path, name):
    model = KIND_EXAMPLES[name]
    path = tmp_path / "model.json"
    model.save(path)
    loaded = nn.load(path)
    assert type(loaded) is type(model) and repr(loaded) == repr(model)
    assert loaded.state_dict() == model.state_dict()
    assert loaded.architecture() == model.architecture()
    assert json.loads(path.read_text())["version"] == 2


def test_every_registered_kind_has_an_example_in_the_names_test():
    covered = set()

    def walk(architecture):
        covered.add(architecture["type"])
        for child in architecture.get("layers", []):
            if isinstance(child, dict):
                walk(child)

    for model in KIND_EXAMPLES.values():
        walk(model.architecture())
    assert covered == set(KINDS)


def test_a_version_1_file_still_loads():
    text = json.dumps({
        "format": FORMAT, "version": 1,
        "architecture": {"type": "MLP", "nin": 2, "nouts": [1], "activation": "relu",
                         "output_activation": "linear", "dropout": 0.0},
        "parameters": {"layers.0.neurons.0.w.0": 0.5, "layers.0.neurons.0.w.1": -0.25,
                       "layers.0.neurons.0.b": 0.125},
    })
    model = nn.serialize.loads(text)
    assert model([2.0, 4.0]).data == 0.5 * 2.0 - 0.25 * 4.0 + 0.125


def content(architecture, parameters=None):
    return json.dumps({"format": FORMAT, "version": 2, "architecture": architecture,
                       "parameters": parameters or {}})


def nested(depth):
    architecture = {"type": "ReLU"}
    for _ in range(depth):
        architecture = {"type": "Sequential", "layers": [architecture]}
    return architecture


def test_sequentials_nested_deeper_than_the_limit_are_refused():
    assert isinstance(nn.serialize.loads(content(nested(MAX_DEPTH))), nn.Sequential)
    with pytest.raises(ValueError, match=f"nested more than {MAX_DEPTH} deep"):
        nn.serialize.loads(content(nested(MAX_DEPTH + 1)))


def test_an_architecture_of_too_many_modules_is_refused_before_building():
    many = {"type": "Sequential", "layers": [{"type": "ReLU"}] * (MAX_MODULES + 1)}
    with pytest.raises(ValueError, match=f"more than {MAX_MODULES} modules"):
        nn.serialize.loads(content(many))


@pytest.mark.parametrize(
    "architecture",
    [
        {"type": "Conv2d", "in_channels": 1000, "out_channels": 1000, "kernel_size": [3, 3],
         "stride": [1, 1], "padding": [0, 0]},
        {"type": "RNN", "input_size": 1, "hidden_size": 1000, "nonlinearity": "tanh"},
        {"type": "Sequential", "layers": [
            {"type": "Conv2d", "in_channels": 1, "out_channels": 100_000, "kernel_size": [3, 3],
             "stride": [1, 1], "padding": [0, 0]},
            {"type": "Conv2d", "in_channels": 1, "out_channels": 100_000, "kernel_size": [3, 3],
             "stride": [1, 1], "padding": [0, 0]},
        ]},
    ],
    ids=["conv", "rnn", "sequential of two convs"],
)
def test_new_kinds_claiming_a_huge_model_are_refused_before_building(architecture):
    with pytest.raises(ValueError, match="more than 1000000"):
        nn.serialize.loads(content(architecture))


CONV = {"type": "Conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": [3, 3],
        "stride": [1, 1], "padding": [0, 0]}

BAD_ARCHITECTURES = {
    "conv kernel a number": ({**CONV, "kernel_size": 3}, "kernel_size must be a list of two ints"),
    "conv kernel zero": ({**CONV, "kernel_size": [0, 3]}, "kernel_size must be a list"),
    "conv negative padding": ({**CONV, "padding": [-1, 0]}, "padding must be a list"),
    "conv float channels": ({**CONV, "in_channels": 1.5}, "in_channels must be an int"),
    "conv missing stride": ({k: v for k, v in CONV.items() if k != "stride"},
                            r"missing fields \['stride'\]"),
    "pool padding too big": ({"type": "MaxPool2d", "kernel_size": [2, 2], "stride": [2, 2],
                              "padding": [2, 0]}, "at most half the kernel size"),
    "rnn nonlinearity": ({"type": "RNN", "input_size": 1, "hidden_size": 2,
                          "nonlinearity": "gelu"}, "unknown nonlinearity 'gelu'"),
    "leaky slope string": ({"type": "LeakyReLU", "negative_slope": "0.1"},
                           "negative_slope' must be a finite number"),
    "dropout one": ({"type": "Dropout", "p": 1.0}, r"'dropout' must be a number in \[0, 1\)"),
    "relu with a field": ({"type": "ReLU", "inplace": True}, r"unexpected fields 'inplace'"),
    "sequential empty": ({"type": "Sequential", "layers": []}, "non-empty list"),
    "sequential of a number": ({"type": "Sequential", "layers": [3]}, "must be an object"),
    "sequential unknown child": ({"type": "Sequential", "layers": [{"type": "LSTM"}]},
                                 "unknown architecture type 'LSTM'"),
}


@pytest.mark.parametrize("name", sorted(BAD_ARCHITECTURES))
def test_bad_architectures_of_the_new_kinds_name_the_reason(name):
    architecture, reason = BAD_ARCHITECTURES[name]
    with pytest.raises(ValueError, match=reason):
        nn.serialize.loads(content(architecture))


def test_parameters_of_a_sequential_are_checked_by_name():
    model = nn.Sequential(nn.Conv2d(1, 1, 2, seed=0), nn.Flatten())
    good = json.loads(nn.serialize.dumps(model))
    good["parameters"]["layers.0.weight.0.0.2.0"] = 1.0
    with pytest.raises(ValueError, match="unexpected parameters 'layers.0.weight.0.0.2.0'"):
        nn.serialize.loads(json.dumps(good))
