"""Property tests over random MLPs drawn by ``nn.strategies.mlps()``.

For random small MLPs (every activation) and inputs, backward's gradients
with respect to every weight, bias and input agree with central finite
differences (``autograd.gradcheck``).
"""

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import autograd
from nn import MLP
from nn.strategies import MLPCase, mlps

KINKS = {"relu", "abs"}


def as_function(model: MLP, coefficients):
    """f(*weights_and_inputs) = sum_k c_k * output_k, with the model's parameters as arguments."""
    slots = [(n, i) for layer in model.layers for n in layer.neurons for i in range(n.nin + 1)]

    def f(*values):
        for (neuron, i), value in zip(slots, values, strict=False):
            if i < neuron.nin:
                neuron.w[i] = value
            else:
                neuron.b = value
        out = model(list(values[len(slots) :]))
        outs = out if isinstance(out, list) else [out]
        return autograd.sum([c * o for c, o in zip(coefficients, outs, strict=True)])

    return f


def kinked_inputs_near_kink(root, margin=1e-3) -> bool:
    for node in autograd.topological_order(root):
        if (node._op in KINKS or node._op.startswith("leaky_relu")) and abs(
            node._prev[0].data
        ) < margin:
            return True
    return False


@settings(max_examples=100, deadline=None)
@given(case=mlps(), data=st.data())
def test_gradcheck_agrees_with_backward_for_random_mlps(case, data):
    model, x = case
    nout = model.nouts[-1]
    coefficients = data.draw(st.lists(st.floats(-2, 2), min_size=nout, max_size=nout))
    weights = [p.data for p in model.parameters()]
    f = as_function(model, coefficients)
    assume(not kinked_inputs_near_kink(f(*[autograd.Value(v) for v in weights + x])))
    assert autograd.gradcheck(f, weights + x)


@given(mlps(max_inputs=2, max_layers=2, max_width=3))
@settings(max_examples=30, deadline=None)
def test_drawn_cases_fit_their_model(case):
    assert isinstance(case, MLPCase)
    assert len(case.inputs) == case.model.nin
    assert 1 <= len(case.model.layers) <= 2 and all(1 <= n <= 3 for n in case.model.nouts)
    out = case.model(case.inputs)
    outs = out if isinstance(out, list) else [out]
    assert len(outs) == case.model.nouts[-1] and all(math.isfinite(o.data) for o in outs)


def test_gradcheck_helper_catches_a_wrong_gradient():
    # The oracle is live: a model whose forward pass is silently changed fails.
    case = MLPCase(MLP(2, [2, 1], activation="tanh", seed=0), [0.3, -0.7])
    weights = [p.data for p in case.model.parameters()]
    f = as_function(case.model, [1.0])

    def wrong(*values):  # the last input enters as a fresh leaf: no gradient reaches it
        return f(*values[:-1], autograd.Value(values[-1].data))

    with pytest.raises(AssertionError):
        autograd.gradcheck(wrong, weights + case.inputs)
