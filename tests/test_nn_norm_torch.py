"""BatchNorm, LayerNorm, MLP(norm=...) and clip_grad_norm against PyTorch float64, within 1e-9.

Each test builds the same thing in chainrule and in torch (copying weights),
runs it on the same numbers and compares outputs, input and parameter
gradients and, for batch norm, the running statistics, in training and in
eval mode.
"""

import math

import numpy as np
import pytest
from test_nn_torch import torch_twin

import nn
from autograd import Value
from nn import BatchNorm, LayerNorm

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

RTOL, ATOL = 1e-9, 1e-12


def close(ours, theirs):
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


def f64(numbers):
    return torch.tensor(numbers, dtype=torch.float64)


def values(matrix):
    return [[Value(float(x)) for x in row] for row in matrix]


def copy_affine(ours, theirs, rng):
    """Random weight and bias (so the affine part is exercised), the same on both sides."""
    weight, bias = rng.normal(1.0, 0.5, ours.num_features), rng.normal(0.0, 0.5, ours.num_features)
    for w, b, wv, bv in zip(ours.weight, ours.bias, weight, bias, strict=True):
        w.data, b.data = float(wv), float(bv)
    with torch.no_grad():
        theirs.weight.copy_(f64(weight))
        theirs.bias.copy_(f64(bias))


def run_both(ours, theirs, batch, coefficients):
    """Forward both on the batch, back-propagate sum(coefficients * outputs) in both."""
    inputs = values(batch)
    outputs = ours.forward_batch(inputs)
    loss = Value(0.0)
    for row, coefficient_row in zip(outputs, coefficients, strict=True):
        for out, c in zip(row, coefficient_row, strict=True):
            loss = loss + out * float(c)
    loss.backward()
    their_inputs = f64(batch).requires_grad_()
    their_outputs = theirs(their_inputs)
    (their_outputs * f64(coefficients)).sum().backward()
    close([[v.data for v in row] for row in outputs], their_outputs.tolist())
    close([[v.grad for v in row] for row in inputs], their_inputs.grad.tolist())
    close([w.grad for w in ours.weight], theirs.weight.grad.tolist())
    close([b.grad for b in ours.bias], theirs.bias.grad.tolist())


def zero_grads(ours, theirs):
    ours.zero_grad()
    theirs.zero_grad()


@pytest.mark.parametrize(
    ("features", "batch", "momentum", "eps"),
    [(3, 5, 0.1, 1e-5), (1, 2, 0.1, 1e-5), (4, 7, 0.3, 1e-3), (2, 4, None, 1e-5)],
    ids=["3x5", "one feature, batch of 2", "momentum and eps", "cumulative average"],
)
def test_batch_norm_matches_torch_in_training_and_eval(features, batch, momentum, eps):
    rng = np.random.default_rng(features * 10 + batch)
    ours = BatchNorm(features, eps=eps, momentum=momentum)
    theirs = torch.nn.BatchNorm1d(features, eps=eps, momentum=momentum, dtype=torch.float64)
    copy_affine(ours, theirs, rng)
    for step in range(4):  # the running statistics accumulate over the batches
        data = rng.normal(step, 2.0, (batch, features))
        zero_grads(ours, theirs)
        run_both(ours, theirs, data, rng.normal(size=(batch, features)))
        close(ours.running_mean, theirs.running_mean.tolist())
        close(ours.running_var, theirs.running_var.tolist())
        assert ours.num_batches_tracked == theirs.num_batches_tracked.item() == step + 1
    ours.eval()
    theirs.eval()
    zero_grads(ours, theirs)
    run_both(ours, theirs, rng.normal(size=(3, features)), rng.normal(size=(3, features)))
    close(ours.running_mean, theirs.running_mean.tolist())  # eval does not move them


def test_batch_norm_in_eval_mode_takes_one_sample_like_a_batch():
    norm = BatchNorm(2)
    norm.forward_batch([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    norm.eval()
    alone = norm([0.25, -2.0])
    in_batch = norm.forward_batch([[0.25, -2.0], [9.0, 9.0]])[0]
    assert [v.data for v in alone] == [v.data for v in in_batch]


@pytest.mark.parametrize("features", [1, 2, 5])
def test_layer_norm_matches_torch(features):
    rng = np.random.default_rng(features)
    ours = LayerNorm(features)
    theirs = torch.nn.LayerNorm(features, dtype=torch.float64)
    copy_affine(ours, theirs, rng)
    run_both(ours, theirs, rng.normal(1.0, 3.0, (4, features)), rng.normal(size=(4, features)))


def torch_mlp(model):
    """A torch Sequential computing the same function as an nn.MLP (with its norm), float64."""
    modules = []
    activations = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}
    linears, _ = torch_twin(model)  # the Linear layers, holding the model's weights
    for layer, linear in zip(model.layers, linears, strict=True):
        modules.append(linear)
        if layer.norm_kind == "batch":
            modules.append(torch.nn.BatchNorm1d(layer.nout, dtype=torch.float64))
        elif layer.norm_kind == "layer":
            modules.append(torch.nn.LayerNorm(layer.nout, dtype=torch.float64))
        if layer.activation != "linear":
            modules.append(activations[layer.activation]())
    return torch.nn.Sequential(*modules)


def torch_parameters(sequential):
    """In chainrule's parameters() order: per neuron its weights then its bias; then the norm."""
    flat = []
    for module in sequential:
        if isinstance(module, torch.nn.Linear):
            for j in range(module.out_features):
                flat.extend(module.weight[j].tolist())
                flat.append(module.bias[j].item())
        elif isinstance(module, (torch.nn.BatchNorm1d, torch.nn.LayerNorm)):
            flat.extend(module.weight.tolist())
            flat.extend(module.bias.tolist())
    return flat


@pytest.mark.parametrize("norm", ["batch", "layer"])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_normalised_mlp_trains_like_torch_and_evaluates_like_it(norm, activation):
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    model = nn.MLP(3, [5, 4, 2], activation=activation, norm=norm, seed=4)
    theirs = torch_mlp(model)
    ours_opt = nn.SGD(model.parameters(), lr=0.1, momentum=0.5)
    their_opt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.5)
    for _ in range(8):
        loss = nn.mse_loss(model.forward_batch(X.tolist()), y)
        ours_opt.zero_grad()
        loss.backward()
        ours_opt.step()
        their_opt.zero_grad()
        their_loss = torch.nn.functional.mse_loss(theirs(f64(X)), f64(y))
        their_loss.backward()
        their_opt.step()
        close(loss.data, their_loss.item())
        close([p.data for p in model.parameters()], torch_parameters(theirs))
    if norm == "batch":
        norms = [m for m in theirs if isinstance(m, torch.nn.BatchNorm1d)]
        for layer, their_norm in zip(model.layers, norms, strict=False):
            close(layer.norm.running_mean, their_norm.running_mean.tolist())
            close(layer.norm.running_var, their_norm.running_var.tolist())
    model.eval()
    theirs.eval()
    X_test = rng.normal(size=(3, 3))
    with torch.no_grad():
        close([[v.data for v in model(row)] for row in X_test.tolist()],
              theirs(f64(X_test)).tolist())


def test_fit_with_batch_norm_matches_a_torch_training_loop():
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(8, 2)), rng.normal(size=8)
    model = nn.MLP(2, [4, 1], norm="batch", seed=6)
    theirs = torch_mlp(model)
    nn.fit(model, X, y, loss="mse", optimizer=nn.SGD(model.parameters(), lr=0.05), epochs=5,
           progress=False)
    optimizer = torch.optim.SGD(theirs.parameters(), lr=0.05)
    for _ in range(5):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(theirs(f64(X)).squeeze(1), f64(y)).backward()
        optimizer.step()
    close([p.data for p in model.parameters()], torch_parameters(theirs))
    close(model.layers[0].norm.running_var, theirs[1].running_var.tolist())


# -- clip_grad_norm ---------------------------------------------------------------------------


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    rng = np.random.default_rng(int(max_norm))
    grads = rng.normal(0.0, 2.0, 9)
    ours = [Value(0.0) for _ in grads]
    for p, g in zip(ours, grads, strict=True):
        p.grad = float(g)
    theirs = [torch.zeros(3, dtype=torch.float64, requires_grad=True) for _ in range(3)]
    for k, t in enumerate(theirs):
        t.grad = f64(grads[3 * k : 3 * k + 3])
    total = nn.clip_grad_norm(ours, max_norm, norm_type=norm_type)
    their_total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    close(total, their_total.item())
    close([p.grad for p in ours], torch.cat([t.grad for t in theirs]).tolist())


def test_fit_with_clip_grad_matches_torch_clipping_each_step():
    rng = np.random.default_rng(8)
    X, y = rng.normal(0.0, 3.0, size=(10, 2)), rng.normal(0.0, 5.0, size=10)
    model = nn.MLP(2, [6, 1], activation="tanh", seed=9)
    theirs = torch_mlp(model)
    nn.fit(model, X, y, loss="mse", optimizer=nn.SGD(model.parameters(), lr=0.1), epochs=6,
           batch_size=5, progress=False, clip_grad=0.25, seed=1)
    order_rng = np.random.default_rng(1)  # fit's shuffling: the same generator, the same draws
    optimizer = torch.optim.SGD(theirs.parameters(), lr=0.1)
    clipped = 0
    for _ in range(6):
        order = order_rng.permutation(10)
        for start in (0, 5):
            rows = order[start : start + 5]
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(theirs(f64(X[rows])).squeeze(1), f64(y[rows])).backward()
            clipped += torch.nn.utils.clip_grad_norm_(theirs.parameters(), 0.25).item() > 0.25
            optimizer.step()
    assert clipped > 5  # the clipping did bite
    close([p.data for p in model.parameters()], torch_parameters(theirs))
