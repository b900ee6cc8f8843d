"""The layers beyond the MLP against PyTorch float64: outputs, input and parameter gradients.

Two routes: directly against ``torch.nn.functional`` (conv2d, max_pool2d,
the RNN recurrence through torch.nn.RNN) with our module's weights, and
through ``nn.to_torch`` / ``nn.from_torch`` for whole models. Every number
agrees within 1e-9 relative.
"""

import random
import sys

import numpy as np
import pytest

import autograd
import nn
from autograd import Value
from nn import (
    MLP,
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

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch
F = torch.nn.functional
RTOL, ATOL = 1e-9, 1e-12


def close(ours, theirs):
    np.testing.assert_allclose(np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float),
                               rtol=RTOL, atol=ATOL)


def data(nested):
    return nested.data if isinstance(nested, Value) else [data(item) for item in nested]


def grads(nested):
    return nested.grad if isinstance(nested, Value) else [grads(item) for item in nested]


def values(nested):
    return Value(nested) if not isinstance(nested, list) else [values(item) for item in nested]


def random_image(channels, height, width, seed):
    rng = random.Random(seed)
    return [[[rng.uniform(-2, 2) for _ in range(width)] for _ in range(height)]
            for _ in range(channels)]


def weighted_sum(outputs, seed):
    """sum(c_k * out_k) with fixed random c: every output gets its own upstream gradient."""
    flat = [v for v in nn._shapes.flat(outputs)]
    rng = random.Random(seed)
    coefficients = [rng.uniform(-1, 1) for _ in flat]
    return autograd.dot(coefficients, flat), coefficients


CONVS = [
    # in, out, kernel, stride, padding, height, width
    (1, 1, 3, 1, 0, 5, 5),
    (2, 3, 3, 1, 1, 6, 4),
    (3, 2, (2, 3), (2, 1), (1, 0), 7, 5),
    (1, 4, 3, 2, 1, 8, 8),
    (2, 2, 1, 3, 0, 7, 9),
    (1, 2, (3, 1), 2, (0, 2), 5, 3),
]


@pytest.mark.parametrize("case", CONVS, ids=[str(c) for c in CONVS])
def test_conv2d_matches_torch_functional_conv2d(case):
    c_in, c_out, kernel, stride, padding, height, width = case
    conv = Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, seed=1)
    pixels = values(random_image(c_in, height, width, seed=2))
    out = conv(pixels)
    loss, coefficients = weighted_sum(out, seed=3)
    loss.backward()

    x = torch.tensor(data(pixels), dtype=torch.float64, requires_grad=True)
    w = torch.tensor(data(conv.weight), dtype=torch.float64, requires_grad=True)
    b = torch.tensor(data(conv.bias), dtype=torch.float64, requires_grad=True)
    expected = F.conv2d(x[None], w, b, stride=stride, padding=padding)[0]
    (expected.reshape(-1) @ torch.tensor(coefficients, dtype=torch.float64)).backward()
    close(data(out), expected.detach())
    close(grads(pixels), x.grad)
    close(grads(conv.weight), w.grad)
    close(grads(conv.bias), b.grad)


POOLS = [(2, None, 0, 4, 4), (2, None, 0, 5, 7), (3, 2, 1, 6, 5), ((2, 3), (1, 2), (1, 1), 4, 7),
         (3, 1, 0, 3, 3)]


@pytest.mark.parametrize("case", POOLS, ids=[str(c) for c in POOLS])
def test_max_pool2d_matches_torch_functional_max_pool2d(case):
    kernel, stride, padding, height, width = case
    pool = MaxPool2d(kernel, stride=stride, padding=padding)
    pixels = values(random_image(2, height, width, seed=4))
    out = pool(pixels)
    loss, coefficients = weighted_sum(out, seed=5)
    loss.backward()
    x = torch.tensor(data(pixels), dtype=torch.float64, requires_grad=True)
    expected = F.max_pool2d(x, kernel, stride=stride, padding=padding)
    (expected.reshape(-1) @ torch.tensor(coefficients, dtype=torch.float64)).backward()
    close(data(out), expected.detach())
    close(grads(pixels), x.grad)


def test_max_pool2d_ties_send_the_gradient_where_torch_does():
    plain = [[[1.0, 1.0, 0.0, 2.0], [1.0, 1.0, 2.0, 2.0], [3.0, 0.0, 3.0, 3.0],
              [0.0, 3.0, 3.0, 3.0]]]
    pixels = values(plain)
    out = MaxPool2d(2, stride=1)(pixels)
    weighted_sum(out, seed=6)[0].backward()
    x = torch.tensor(plain, dtype=torch.float64, requires_grad=True)
    expected = F.max_pool2d(x, 2, stride=1)
    coefficients = weighted_sum(out, seed=6)[1]
    (expected.reshape(-1) @ torch.tensor(coefficients, dtype=torch.float64)).backward()
    close(grads(pixels), x.grad)


def torch_rnn_of(rnn):
    twin = nn.to_torch(rnn)
    assert isinstance(twin, torch.nn.RNN) and twin.batch_first
    return twin


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("with_h0", [False, True])
def test_rnn_matches_torch_rnn_outputs_and_gradients(nonlinearity, with_h0):
    rnn = RNN(3, 4, nonlinearity=nonlinearity, seed=7)
    rng = random.Random(8)
    sequence = values([[rng.uniform(-1, 1) for _ in range(3)] for _ in range(6)])
    h0 = values([rng.uniform(-0.5, 0.5) for _ in range(4)]) if with_h0 else None
    states = rnn(sequence, h0)
    loss, coefficients = weighted_sum(states, seed=9)
    loss.backward()

    twin = torch_rnn_of(rnn)
    x = torch.tensor([data(sequence)], dtype=torch.float64, requires_grad=True)
    args = (x,)
    if with_h0:
        h = torch.tensor([[data(h0)]], dtype=torch.float64, requires_grad=True)
        args = (x, h)
    output, _ = twin(*args)
    (output.reshape(-1) @ torch.tensor(coefficients, dtype=torch.float64)).backward()
    close(data(states), output[0].detach())
    close(grads(sequence), x.grad[0])
    if with_h0:
        close(grads(h0), args[1].grad[0, 0])
    ours = dict(rnn.named_parameters())
    for name, parameter in twin.named_parameters():
        mine = [[ours[f"{name}.{i}.{j}"].grad for j in range(parameter.shape[1])]
                for i in range(parameter.shape[0])] if parameter.dim() == 2 else \
            [ours[f"{name}.{i}"].grad for i in range(parameter.shape[0])]
        close(mine, parameter.grad)


def check_same_function(model, twin, samples, loss_of, torch_loss_of, torch_input):
    """Our model and its torch twin: same outputs, input gradients and parameter gradients.

    Parameters correspond in order: ours per parameters(), torch's flattened
    per named_parameters(), after the reordering ``torch_flat`` does.
    """
    inputs = [values(s) for s in samples]
    outputs = model.forward_batch(inputs)
    loss_of(outputs).backward()
    x = torch_input(samples).requires_grad_(True)
    out = twin(x)
    torch_loss_of(out).backward()
    close([nn._shapes.flat(data(o)) for o in outputs], out.detach().reshape(len(samples), -1))
    close([nn._shapes.flat(grads(i)) for i in inputs], x.grad.reshape(len(samples), -1))
    close([p.grad for p in model.parameters()], torch_flat_grads(twin))


def torch_flat_grads(twin):
    """Torch's parameter gradients in chainrule's parameters() order.

    A Linear's weight and bias interleave per output unit (each neuron's w,
    then its b); every other module flattens weight then bias, as ours.
    """
    flat = []
    for module in twin.modules():
        if isinstance(module, torch.nn.Linear):
            for j in range(module.out_features):
                flat.extend(module.weight.grad[j].tolist())
                flat.append(module.bias.grad[j].item())
        elif isinstance(module, (torch.nn.Conv2d, torch.nn.RNN)):
            for parameter in module.parameters(recurse=False):
                flat.extend(parameter.grad.reshape(-1).tolist())
    return flat


def f64(nested):
    return torch.tensor(nested, dtype=torch.float64)


def cross_entropy_ours(targets):
    return lambda outputs: nn.cross_entropy(outputs, targets)


def cross_entropy_torch(targets):
    return lambda out: F.cross_entropy(out, torch.tensor(targets))


def conv_net(seed):
    return Sequential(
        Conv2d(1, 3, 3, padding=1, seed=seed), LeakyReLU(0.1), MaxPool2d(2),
        Conv2d(3, 2, 2, stride=1, seed=seed + 1), Tanh(), Flatten(),
        Layer(2 * 2 * 2, 4, activation="relu", seed=seed), Dropout(0.3),
        Layer(4, 3, activation="linear", seed=seed), Sigmoid(),
    )


def test_conv_net_through_to_torch_matches_outputs_and_every_gradient():
    model = conv_net(seed=11).eval()  # dropout off on both sides
    samples = [random_image(1, 6, 7, seed=k) for k in range(4)]
    targets = [0, 2, 1, 2]
    twin = nn.to_torch(model)
    assert not twin.training
    check_same_function(model, twin, samples, cross_entropy_ours(targets),
                        cross_entropy_torch(targets), f64)


def test_sequence_classifier_through_to_torch_matches():
    model = Sequential(RNN(1, 5, seed=12), LastStep(), Layer(5, 2, activation="linear", seed=12))
    rng = random.Random(13)
    samples = [[float(rng.randint(0, 1)) for _ in range(7)] for _ in range(5)]
    targets = [0, 1, 1, 0, 1]
    twin = nn.to_torch(model)
    check_same_function(model, twin, samples, cross_entropy_ours(targets),
                        cross_entropy_torch(targets), f64)


def test_mlp_and_layer_through_to_torch_match():
    mlp = MLP(3, [5, 4, 2], activation="tanh", output_activation="sigmoid", dropout=0.2,
              seed=14).eval()
    samples = [[0.5, -1.0, 2.0], [0.1, 0.2, -0.3]]
    mse = lambda outputs: nn.mse_loss(outputs, [[1.0, 0.0], [0.0, 1.0]])  # noqa: E731
    check_same_function(mlp, nn.to_torch(mlp), samples, mse,
                        lambda out: F.mse_loss(out, f64([[1.0, 0.0], [0.0, 1.0]])), f64)
    layer = Layer(3, 2, activation="leaky_relu", seed=15)
    check_same_function(layer, nn.to_torch(layer), samples, mse,
                        lambda out: F.mse_loss(out, f64([[1.0, 0.0], [0.0, 1.0]])), f64)


def test_from_torch_converts_torch_models_with_their_own_weights():
    torch.manual_seed(0)
    twin = torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, (3, 2), stride=(1, 2), padding=1, dtype=torch.float64),
        torch.nn.ReLU(), torch.nn.MaxPool2d(2, stride=1), torch.nn.Flatten(),
        torch.nn.Linear(3 * 5 * 2, 4, dtype=torch.float64), torch.nn.Tanh(),
        torch.nn.Linear(4, 3, dtype=torch.float64),
    )
    model = nn.from_torch(twin)
    assert isinstance(model, Sequential) and isinstance(model.layers[0], Conv2d)
    samples = [random_image(2, 6, 5, seed=k) for k in range(3)]
    targets = [2, 0, 1]
    check_same_function(model, twin, samples, cross_entropy_ours(targets),
                        cross_entropy_torch(targets), f64)


def test_from_torch_rnn_and_round_trips():
    torch.manual_seed(1)
    twin = torch.nn.RNN(2, 3, nonlinearity="relu", batch_first=True, dtype=torch.float64)
    rnn = nn.from_torch(twin)
    assert isinstance(rnn, RNN) and rnn.nonlinearity == "relu"
    sequence = [[0.5, -0.5], [1.0, 0.0], [-1.0, 2.0]]
    close(data(rnn(sequence)), twin(f64([sequence]))[0][0].detach())
    back = nn.to_torch(nn.from_torch(nn.to_torch(rnn)))
    for (name, a), (_, b) in zip(twin.named_parameters(), back.named_parameters(), strict=True):
        assert torch.equal(a, b), name
    # Modules with a torch twin of their own come back as they were ...
    model = Sequential(Conv2d(1, 2, 2, seed=16), ReLU(), Flatten(),
                       Layer(2 * 3 * 3, 2, activation="linear", seed=16), Sigmoid())
    again = nn.from_torch(nn.to_torch(model))
    assert repr(again) == repr(model)
    assert again.state_dict() == model.state_dict()
    # ... a Layer with an activation comes back as Sequential(linear Layer, activation).
    model = conv_net(seed=16).eval()
    again = nn.from_torch(nn.to_torch(model))
    assert repr(again.layers[6]) == (
        "Sequential(\n  (0): Layer of [" + ", ".join(["LinearNeuron(8)"] * 4) + "]\n"
        "  (1): ReLU()\n)"
    )
    sample = random_image(1, 6, 7, seed=17)
    assert data(again(sample)) == data(model(sample))


def test_from_torch_refuses_what_chainrule_cannot_express():
    double = torch.float64
    cases = [
        (torch.nn.Conv2d(1, 1, 3, dilation=2, dtype=double), "dilation"),
        (torch.nn.Conv2d(2, 2, 3, groups=2, dtype=double), "groups"),
        (torch.nn.Conv2d(1, 1, 3, bias=False, dtype=double), "bias=False"),
        (torch.nn.Conv2d(1, 1, 3, padding="same", dtype=double), "padding='same'"),
        (torch.nn.Linear(2, 2, bias=False, dtype=double), "always has a bias"),
        (torch.nn.RNN(1, 2, num_layers=2, dtype=double), "num_layers=2"),
        (torch.nn.MaxPool2d(2, ceil_mode=True), "ceil_mode"),
        (torch.nn.Flatten(0), "start_dim=1"),
    ]
    for module, message in cases:
        with pytest.raises(ValueError, match=message):
            nn.from_torch(module)
    with pytest.raises(TypeError, match="cannot convert a GELU"):
        nn.from_torch(torch.nn.Sequential(torch.nn.GELU()))
    with pytest.raises(TypeError, match="expects a torch.nn.Module"):
        nn.from_torch("Conv2d")
    with pytest.raises(TypeError, match="cannot convert a Neuron"):
        nn.to_torch(nn.Neuron(2))


def test_to_torch_without_torch_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(ImportError, match=r"pip install torch==2\.13\.0"):
        nn.to_torch(MLP(2, [1], seed=0))
    with pytest.raises(ImportError, match=r"pip install torch==2\.13\.0"):
        nn.from_torch(object())
