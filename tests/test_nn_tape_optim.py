"""The optimizers' array step (fit's tape engine) gives the scalar step's numbers exactly."""

import math
import random

import numpy as np
import pytest

import nn
from autograd import Value

OPTIMIZERS = {
    "sgd": lambda p: nn.SGD(p, lr=0.1),
    "sgd decay": lambda p: nn.SGD(p, lr=0.1, weight_decay=0.01),
    "momentum": lambda p: nn.SGD(p, lr=0.1, momentum=0.9),
    "dampened": lambda p: nn.SGD(p, lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.1),
    "nesterov": lambda p: nn.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "adam": lambda p: nn.Adam(p, lr=0.01),
    "adam decay": lambda p: nn.Adam(p, lr=0.01, weight_decay=0.1, betas=(0.3, 0.99)),
    "adamw": lambda p: nn.AdamW(p, lr=0.01),
    "scheduled": lambda p: nn.SGD(p, lr=0.1, schedule=nn.optim.cosine_decay(0.1, 3)),
}


def _gradients(rng, n):
    return [rng.uniform(-2, 2) for _ in range(n)]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_the_array_step_gives_the_scalar_steps_numbers_exactly(name):
    rng = random.Random(0)
    start = [rng.uniform(-1, 1) for _ in range(7)]
    params = [Value(x) for x in start]
    scalar = OPTIMIZERS[name](params)
    arrays = OPTIMIZERS[name]([Value(x) for x in start])
    data = np.array(start)
    for _ in range(5):
        grads = _gradients(rng, 7)
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        scalar.step()
        arrays.step_arrays(data, np.array(grads))
        assert data.tolist() == [p.data for p in params]
    assert arrays.steps == scalar.steps and arrays.lr == scalar.lr
    arrays.state_as_lists()
    for state in type(scalar)._state:
        assert getattr(arrays, state) == getattr(scalar, state)


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_array_and_scalar_steps_alternate_on_one_optimizer(name):
    rng = random.Random(1)
    start = [rng.uniform(-1, 1) for _ in range(4)]
    reference, params = [Value(x) for x in start], [Value(x) for x in start]
    scalar, mixed = OPTIMIZERS[name](reference), OPTIMIZERS[name](params)
    for k in range(6):
        grads = _gradients(rng, 4)
        for p, q, g in zip(reference, params, grads, strict=True):
            p.grad = q.grad = g
        scalar.step()
        if k % 2:
            mixed.step()
        else:
            data = np.array([p.data for p in params])
            mixed.step_arrays(data, np.array(grads))
            for p, x in zip(params, data.tolist(), strict=True):
                p.data = x
    assert [p.data for p in params] == [p.data for p in reference]


def test_nan_and_inf_gradients_propagate_on_the_array_step_as_on_scalars():
    start = [0.5, -0.5, 1.0]
    params = [Value(x) for x in start]
    scalar, arrays = nn.Adam(params, lr=0.1), nn.Adam([Value(x) for x in start], lr=0.1)
    grads = [math.nan, math.inf, 1.0]
    for p, g in zip(params, grads, strict=True):
        p.grad = g
    scalar.step()
    data = np.array(start)
    arrays.step_arrays(data, np.array(grads))
    np.testing.assert_array_equal(data, [p.data for p in params])


def test_a_subclass_that_changes_the_scalar_step_only_has_no_array_step():
    class Halved(nn.SGD):
        def _updated(self, lr, t):
            return super()._updated(lr / 2, t)

    assert nn.SGD.has_array_step() and nn.AdamW.has_array_step()
    assert not Halved.has_array_step()
    with pytest.raises(TypeError, match="Halved has no array step"):
        Halved([Value(1.0)], lr=0.1).step_arrays(np.array([1.0]), np.array([1.0]))
