"""Modules: micrograd compatibility, names, state dicts, modes, dropout, init and scopes."""

import math
import random
import statistics
import subprocess
import sys

import numpy as np
import pytest

import autograd
from autograd import Value
from nn import MLP, Layer, Module, Neuron


def test_reprs_read_like_micrograd():
    random.seed(0)
    assert repr(Neuron(2)) == "ReLUNeuron(2)"
    assert repr(Neuron(3, nonlin=False)) == "LinearNeuron(3)"
    assert repr(Neuron(1, activation="tanh")) == "TanhNeuron(1)"
    assert repr(Layer(2, 2)) == "Layer of [ReLUNeuron(2), ReLUNeuron(2)]"
    assert repr(MLP(2, [2, 1])) == (
        "MLP of [Layer of [ReLUNeuron(2), ReLUNeuron(2)], Layer of [LinearNeuron(2)]]"
    )


def test_global_seed_reproduces_micrograd_weight_draws():
    random.seed(1337)
    model = MLP(2, [3, 1])
    random.seed(1337)
    expected = []
    for nin, nout in ((2, 3), (3, 1)):  # micrograd: per neuron, nin uniform draws, bias 0
        for _ in range(nout):
            expected += [random.uniform(-1, 1) for _ in range(nin)] + [0.0]
    assert [p.data for p in model.parameters()] == expected


def test_int_seed_and_random_instance_give_the_same_model():
    a = MLP(3, [4, 2], seed=5)
    b = MLP(3, [4, 2], seed=random.Random(5))
    assert a.state_dict() == b.state_dict()
    assert MLP(3, [4, 2], seed=6).state_dict() != a.state_dict()


def test_named_parameters_are_dotted_and_follow_parameters_order():
    model = MLP(2, [3, 1], seed=0)
    names = [name for name, _ in model.named_parameters()]
    assert names[:4] == [
        "layers.0.neurons.0.w.0",
        "layers.0.neurons.0.w.1",
        "layers.0.neurons.0.b",
        "layers.0.neurons.1.w.0",
    ]
    assert names[-1] == "layers.1.neurons.0.b"
    assert [p for _, p in model.named_parameters()] == model.parameters()
    assert len(model.parameters()) == model.num_parameters() == 3 * 3 + 4


def test_calls_return_a_value_for_one_output_and_a_list_otherwise():
    model = MLP(2, [3, 2], seed=0)
    assert isinstance(model([1.0, 2.0]), list) and len(model([1.0, 2.0])) == 2
    assert isinstance(MLP(2, [3, 1], seed=0)([1.0, 2.0]), Value)
    assert isinstance(Layer(2, 1, seed=0)([1.0, 2.0]), Value)


def test_neuron_computes_activation_of_weighted_sum():
    neuron = Neuron(2, activation="tanh", seed=0)
    neuron.w[0].data, neuron.w[1].data, neuron.b.data = 0.5, -1.0, 0.25
    out = neuron([2.0, 3.0])
    assert out.data == pytest.approx(math.tanh(0.5 * 2 - 3 + 0.25))
    out.backward()
    slope = 1 - out.data**2
    assert neuron.w[0].grad == pytest.approx(2.0 * slope)
    assert neuron.w[1].grad == pytest.approx(3.0 * slope)
    assert neuron.b.grad == pytest.approx(slope)


@pytest.mark.parametrize("make", [lambda: Neuron(3), lambda: Layer(3, 2), lambda: MLP(3, [2, 1])])
def test_wrong_input_length_raises_naming_both_lengths(make):
    random.seed(0)
    module = make()
    with pytest.raises(ValueError, match="expects 3 inputs, got 2"):
        module([1.0, 2.0])


def test_wrong_input_length_error_names_the_module_called():
    with pytest.raises(ValueError, match=r"^MLP\(3, \[2, 1\]\) expects 3 inputs, got 4$"):
        MLP(3, [2, 1], seed=0)([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match=r"^Layer\(3, 2\) expects 3 inputs, got 1$"):
        Layer(3, 2, seed=0)([1.0])


def test_inputs_may_be_numbers_values_or_numpy_rows():
    model = MLP(2, [3, 1], seed=0)
    expected = model([0.5, -1.0]).data
    assert model([Value(0.5), Value(-1.0)]).data == expected
    assert model(np.array([0.5, -1.0])).data == expected
    assert model((0.5, -1)).data == expected
    assert MLP(1, [2, 1], seed=0)(0.5).data == MLP(1, [2, 1], seed=0)([0.5]).data


def test_non_numeric_input_raises_type_error():
    with pytest.raises(TypeError, match="str"):
        MLP(2, [1], seed=0)(["a", "b"])


def test_gradients_reach_value_inputs():
    x = [Value(0.5), Value(-1.0)]
    MLP(2, [3, 1], activation="tanh", seed=0)(x).backward()
    assert any(xi.grad != 0.0 for xi in x)


def test_zero_grad_clears_every_parameter_gradient():
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    model([1.0, 2.0]).backward()
    assert any(p.grad for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_state_dict_round_trip_restores_outputs():
    model = MLP(2, [4, 1], seed=1)
    saved = model.state_dict()
    before = model([0.3, 0.7]).data
    for p in model.parameters():
        p.data += 1.0
    assert model([0.3, 0.7]).data != before
    model.load_state_dict(saved)
    assert model([0.3, 0.7]).data == before


def test_load_state_dict_names_missing_extra_and_bad_entries_and_changes_nothing():
    model = MLP(2, [1], seed=1)
    state = model.state_dict()
    with pytest.raises(ValueError, match=r"missing parameters 'layers.0.neurons.0.b'"):
        model.load_state_dict({k: v for k, v in state.items() if not k.endswith(".b")})
    with pytest.raises(ValueError, match="unexpected parameters 'extra'"):
        model.load_state_dict({**state, "extra": 1.0})
    bad = {**state, "layers.0.neurons.0.w.1": "x"}
    bad["layers.0.neurons.0.w.0"] = 99.0
    with pytest.raises(ValueError, match=r"'layers.0.neurons.0.w.1' must be a number"):
        model.load_state_dict(bad)
    assert model.state_dict() == state


def test_train_and_eval_switch_every_submodule():
    model = MLP(2, [3, 1], seed=0)
    assert model.training
    assert model.eval() is model
    assert not model.training and not model.layers[0].neurons[2].training
    model.train()
    assert model.layers[1].neurons[0].training


def test_dropout_acts_only_in_training_mode_and_keeps_the_mean():
    model = MLP(1, [200, 1], dropout=0.5, seed=0)
    hidden = model.layers[1].neurons[0]
    for w in hidden.w:
        w.data = 1.0
    for n in model.layers[0].neurons:
        n.w[0].data, n.b.data = 0.0, 1.0  # every hidden output is relu(1) = 1
    model.eval()
    assert model([0.0]).data == 200.0
    model.train()
    samples = [model([0.0]).data for _ in range(200)]
    assert len(set(samples)) > 1  # different units are dropped each call
    assert all(s % 2.0 == 0.0 for s in samples)  # kept units count double
    assert statistics.mean(samples) == pytest.approx(200.0, rel=0.05)


def test_dropout_probability_is_checked():
    with pytest.raises(ValueError, match="dropout"):
        MLP(2, [2, 1], dropout=1.0)


@pytest.mark.parametrize(
    ("init", "expected_std"),
    [
        ("uniform", 1 / math.sqrt(3)),
        ("xavier", math.sqrt(2 / (400 + 300))),
        ("he", math.sqrt(2 / 400)),
    ],
)
def test_initialisations_have_the_documented_spread(init, expected_std):
    layer = Layer(400, 300, init=init, seed=0)
    weights = [w.data for n in layer.neurons for w in n.w]
    assert statistics.pstdev(weights) == pytest.approx(expected_std, rel=0.02)
    assert all(n.b.data == 0.0 for n in layer.neurons)


def test_output_activation_and_hidden_activation_are_applied():
    model = MLP(2, [3, 2], activation="tanh", output_activation="sigmoid", seed=0)
    assert [layer.activation for layer in model.layers] == ["tanh", "sigmoid"]
    assert all(0.0 < v.data < 1.0 for v in model([5.0, -5.0]))


def test_bad_constructor_arguments_raise():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        MLP(2, [1], activation="swish")
    with pytest.raises(ValueError, match="unknown init"):
        Neuron(2, init="zeros")
    with pytest.raises(ValueError, match="positive int"):
        MLP(0, [1])
    with pytest.raises(TypeError, match="list of layer sizes"):
        MLP(2, 1)
    with pytest.raises(TypeError, match="seed"):
        MLP(2, [1], seed="x")


def test_module_calls_open_scopes_named_by_attribute_path():
    model = MLP(2, [3, 1], seed=0)
    out = model([1.0, 2.0])
    scopes = {node.scope for node in autograd.topological_order(out) if node._op}
    assert scopes == {f"layers.0/neurons.{j}" for j in range(3)} | {"layers.1/neurons.0"}
    assert all(p.scope is None for p in model.parameters())
    assert autograd.current_scope() is None
    with autograd.scope("outer"):
        assert model([1.0, 2.0]).scope == "outer/layers.1/neurons.0"
    with autograd.no_grad():
        assert model([1.0, 2.0]).scope == "layers.1/neurons.0"
    assert model([1.0, 2.0])._prev  # recording again after no_grad


def test_scopes_under_anomaly_mode_are_the_same():
    model = MLP(2, [2, 1], seed=0)
    with autograd.detect_anomaly():
        out = model([1.0, 2.0])
        out.backward()
    assert out.scope == "layers.1/neurons.0"
    assert autograd.current_scope() is None


def test_importing_nn_imports_neither_hypothesis_nor_torch():
    code = "import sys, nn; print(sorted({'hypothesis', 'torch'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_scope_is_closed_when_a_call_fails():
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(TypeError):
        model([1.0, None])
    assert autograd.current_scope() is None


def test_micrograd_style_subclass_gets_names_and_state():
    class Affine(Module):
        def __init__(self):
            self.a, self.b = Value(2.0), Value(1.0)

        def __call__(self, x):
            return self.a * x + self.b

        def parameters(self):
            return [self.a, self.b]

    model = Affine()
    assert model.state_dict() == {"0": 2.0, "1": 1.0}
    model(3.0).backward()
    model.zero_grad()
    assert model.a.grad == 0.0


def test_summary_counts_parameters_per_layer():
    text = MLP(2, [16, 16, 1], seed=0).summary()
    assert "337 parameters" in text and "layers.1: 16 -> 16, relu, 272 parameters" in text
