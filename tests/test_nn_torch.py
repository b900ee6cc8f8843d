"""nn against PyTorch float64: optimizer trajectories and losses agree to 1e-9 relative.

Each optimizer test builds the same MLP in chainrule and in torch (copying the
initial weights), trains both for 30 steps on the same batch and compares
the loss at every step and every parameter after every step.
"""

import math
import random

import numpy as np
import pytest

import nn
from autograd import Value

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

STEPS = 30
RTOL, ATOL = 1e-9, 1e-12


def f64(numbers):
    return torch.tensor(numbers, dtype=torch.float64)


def torch_twin(model):
    """torch Linear layers holding the model's weights (float64), and the forward function."""
    layers = []
    for layer in model.layers:
        linear = torch.nn.Linear(layer.nin, layer.nout, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(f64([[w.data for w in n.w] for n in layer.neurons]))
            linear.bias.copy_(f64([n.b.data for n in layer.neurons]))
        layers.append(linear)
    activations = {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda t: t}

    def forward(X):
        h = X
        for layer, ours in zip(layers, model.layers, strict=True):
            h = activations[ours.activation](layer(h))
        return h

    return layers, forward


def torch_parameters(layers):
    """Flattened in chainrule's parameters() order: per neuron its weights then its bias."""
    flat = []
    for linear in layers:
        for j in range(linear.out_features):
            flat.extend(linear.weight[j].tolist())
            flat.append(linear.bias[j].item())
    return flat


OPTIMIZERS = {
    "sgd": (lambda p: nn.SGD(p, lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "sgd_momentum": (
        lambda p: nn.SGD(p, lr=0.05, momentum=0.9, dampening=0.1),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.1),
    ),
    "sgd_nesterov_weight_decay": (
        lambda p: nn.SGD(p, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01),
    ),
    "adam": (lambda p: nn.Adam(p, lr=0.02), lambda p: torch.optim.Adam(p, lr=0.02)),
    "adam_l2": (
        lambda p: nn.Adam(p, lr=0.02, betas=(0.8, 0.99), weight_decay=0.1),
        lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.8, 0.99), weight_decay=0.1),
    ),
    "adamw": (
        lambda p: nn.AdamW(p, lr=0.02, weight_decay=0.1),
        lambda p: torch.optim.AdamW(p, lr=0.02, weight_decay=0.1),
    ),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_trajectory_matches_torch(name):
    ours_factory, torch_factory = OPTIMIZERS[name]
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    model = nn.MLP(3, [5, 4, 2], activation="tanh", seed=11)
    layers, forward = torch_twin(model)
    ours = ours_factory(model.parameters())
    theirs = torch_factory([p for linear in layers for p in linear.parameters()])
    X_t, y_t = f64(X), f64(y)
    for _ in range(STEPS):
        loss = nn.mse_loss([model(list(row)) for row in X], y)
        ours.zero_grad()
        loss.backward()
        ours.step()
        theirs.zero_grad()
        their_loss = torch.nn.functional.mse_loss(forward(X_t), y_t)
        their_loss.backward()
        theirs.step()
        np.testing.assert_allclose(loss.data, their_loss.item(), rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(
            [p.data for p in model.parameters()], torch_parameters(layers), rtol=RTOL, atol=ATOL
        )


def test_step_decay_schedule_matches_torch_steplr():
    model = nn.MLP(2, [3, 1], activation="tanh", seed=2)
    layers, forward = torch_twin(model)
    ours = nn.SGD(model.parameters(), lr=0.3, schedule=nn.step_decay(0.3, step_size=5, gamma=0.5))
    theirs = torch.optim.SGD([p for lin in layers for p in lin.parameters()], lr=0.3)
    scheduler = torch.optim.lr_scheduler.StepLR(theirs, step_size=5, gamma=0.5)
    X, y = [[0.5, -1.0], [1.5, 0.25]], [1.0, -0.5]
    for _ in range(STEPS):
        loss = nn.mse_loss([model(row) for row in X], y)
        ours.zero_grad()
        loss.backward()
        ours.step()
        theirs.zero_grad()
        torch.nn.functional.mse_loss(forward(f64(X)).squeeze(1), f64(y)).backward()
        assert math.isclose(ours.lr, theirs.param_groups[0]["lr"], rel_tol=1e-12)
        theirs.step()
        scheduler.step()
    np.testing.assert_allclose(
        [p.data for p in model.parameters()], torch_parameters(layers), rtol=RTOL, atol=ATOL
    )


def _grads_match(our_inputs, our_out, their_inputs, their_out):
    our_out.backward()
    their_out.backward()
    np.testing.assert_allclose(our_out.data, their_out.item(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(
        [v.grad for v in our_inputs], their_inputs.grad.tolist(), rtol=RTOL, atol=ATOL
    )


def _pair(numbers):
    return [Value(x) for x in numbers], f64(numbers).requires_grad_()


@pytest.mark.parametrize("logits", [[0.5, -1.2, 3.0], [1000.0, -1000.0, 0.0], [2.0, 2.0]])
def test_cross_entropy_matches_torch(logits):
    ours, theirs = _pair(logits)
    out = nn.cross_entropy(ours, 1)
    assert math.isfinite(out.data)
    their_out = torch.nn.functional.cross_entropy(theirs.unsqueeze(0), torch.tensor([1]))
    _grads_match(ours, out, theirs, their_out)


def test_log_softmax_and_softmax_match_torch():
    logits = [0.3, -2.0, 1.7, 0.0]
    ours, theirs = _pair(logits)
    weights = [1.0, -2.0, 0.5, 3.0]  # a weighted sum exercises every output's gradient
    out = sum(w * v for w, v in zip(weights, nn.log_softmax(ours), strict=True))
    their_out = (f64(weights) * torch.log_softmax(theirs, 0)).sum()
    _grads_match(ours, out, theirs, their_out)
    ours, theirs = _pair(logits)
    out = sum(w * v for w, v in zip(weights, nn.softmax(ours), strict=True))
    their_out = (f64(weights) * torch.softmax(theirs, 0)).sum()
    _grads_match(ours, out, theirs, their_out)


def test_binary_losses_and_mse_match_torch():
    targets = [1.0, 0.0, 1.0, 0.0]
    t = f64(targets)
    logits = [0.0, -3.5, 2.25, 40.0]
    ours, theirs = _pair(logits)
    out = nn.bce_with_logits(ours, targets)
    _grads_match(ours, out, theirs, torch.nn.functional.binary_cross_entropy_with_logits(theirs, t))
    probabilities = [0.2, 0.7, 0.999, 0.5]
    ours, theirs = _pair(probabilities)
    out = nn.binary_cross_entropy(ours, targets)
    _grads_match(ours, out, theirs, torch.nn.functional.binary_cross_entropy(theirs, t))
    ours, theirs = _pair(logits)
    out = nn.mse_loss(ours, targets)
    _grads_match(ours, out, theirs, torch.nn.functional.mse_loss(theirs, t))


def test_l1_and_l2_penalties_match_torch():
    params = [random.Random(4).uniform(-1, 1) for _ in range(6)]
    ours, theirs = _pair(params)
    _grads_match(ours, nn.l2_penalty(ours, 1e-2), theirs, 1e-2 * (theirs * theirs).sum())
    ours, theirs = _pair([0.5, -0.25, 2.0])
    _grads_match(ours, nn.l1_penalty(ours, 0.3), theirs, 0.3 * theirs.abs().sum())
