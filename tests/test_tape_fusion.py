"""Fused steps (a layer's dots as one matrix product, dot + bias + activation as one step)
compute what the scalar engine computes, whatever shape the graph around them takes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_tape import assert_close, scalar_reference

import autograd
import nn
from autograd import Value, trace
from nn import MLP


def check(fn, n_inputs, parameters=(), rows=None, seed=0):
    """fn traced and replayed over a random batch equals the scalar engine per sample."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(11, n_inputs)) if rows is None else rows
    tape = trace(fn, *rows[0])
    parameters = list(parameters)
    expected, expected_grads, expected_param_grads = scalar_reference(fn, rows, parameters)
    outputs, param_grads, input_grads = tape.backward_arrays(list(rows.T))
    assert_close(outputs, expected)
    assert_close(np.array(input_grads), expected_grads)
    by_parameter = dict(zip(tape.parameters, param_grads, strict=True))
    assert_close([by_parameter.get(p, 0.0) for p in parameters], expected_param_grads)
    # training asks for the parameters' gradients only: the same numbers, no input grads
    outputs_only, param_grads_only, none = tape.backward_arrays(list(rows.T), input_grads=False)
    assert none is None
    assert_close(outputs_only, outputs)
    assert_close(param_grads_only, param_grads)
    return tape


def weights(shape, seed=1):
    return np.vectorize(Value)(np.random.default_rng(seed).uniform(-1, 1, shape)).tolist()


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu", "linear"])
def test_an_mlp_of_each_activation_equals_the_scalar_engine(activation):
    model = MLP(3, [6, 5, 2], activation=activation, seed=5)
    tape = check(lambda *x: model(list(x)), 3, model.parameters())
    assert "fused rows" in repr(tape)


def test_a_layer_fuses_into_one_step_per_layer():
    model = MLP(2, [16, 16, 1], seed=0)
    tape = trace(lambda a, b: model([a, b]), 0.0, 0.0)
    assert "in 3 fused rows" in repr(tape)  # dot + b + relu, twice, and dot + b


def test_bias_first_and_products_read_twice_are_not_fused_wrongly():
    W, b = weights((3, 2)), weights(3, seed=2)
    params = [p for row in W for p in row] + b

    def fn(x0, x1):
        dots = [autograd.dot(w, [x0, x1]) for w in W]
        sums = [bi + d for bi, d in zip(b, dots, strict=True)]  # bias first
        acts = [s.tanh() for s in sums]
        return [acts[0], dots[1], sums[2] * acts[2]]  # a product and a sum read again

    check(fn, 2, params)


def test_dots_over_different_inputs_and_repeated_inputs_equal_the_scalar_engine():
    W = weights((3, 2))
    params = [p for row in W for p in row]

    def fn(x0, x1, x2):
        xs = [[x0, x1], [x1, x2], [x2, x2]]  # no shared inputs; x2 twice in one dot
        return [autograd.dot(w, x).relu() for w, x in zip(W, xs, strict=True)]

    check(fn, 3, params)


def test_dots_with_samples_as_weights_and_mixed_operands_equal_the_scalar_engine():
    w = weights(2)

    def fn(x0, x1):
        swapped = autograd.dot([x0, x1], w)  # the samples first
        both = autograd.dot([x0, w[0]], [x1, x0])  # samples and parameters in each half
        mixed = autograd.sum([x0, w[1], 2.0, x1 * x1])
        top = autograd.max([x0, w[0], x1])
        return [swapped, both, mixed, top, autograd.logsumexp([x0, w[1], 3.0])]

    check(fn, 2, w)


def test_nodes_of_parameters_and_constants_only_are_computed_once_and_differentiated():
    w = weights(2)

    def fn(x):
        penalty = autograd.sum([p * p for p in w]) * 0.5  # no sample in it
        folded = Value(2.0) * 3.0 + 1.0  # constants only
        return x * folded + penalty

    check(fn, 1, w)


def test_a_layer_reused_on_two_inputs_equals_the_scalar_engine():
    model = MLP(1, [4, 1], seed=3)
    check(lambda a, b: model([a]) * model([b]), 2, model.parameters())


def test_a_convolution_with_max_pooling_equals_the_scalar_engine():
    conv, pool = nn.Conv2d(1, 2, 2, seed=7), nn.MaxPool2d(2)

    def fn(*pixels):
        image = [[list(pixels[0:3]), list(pixels[3:6]), list(pixels[6:9])]]
        pooled = pool(conv(image))  # channels x 1 x 1 after 2x2 pooling of 2x2 maps
        return [channel[0][0].relu() for channel in pooled]

    check(fn, 9, conv.parameters())


def test_a_recurrent_layer_equals_the_scalar_engine():
    rnn = nn.RNN(2, 3, seed=8)

    def fn(a0, a1, b0, b1, c0, c1):
        states = rnn([[a0, a1], [b0, b1], [c0, c1]])
        return states[-1]

    check(fn, 6, rnn.parameters())


def test_layer_norm_equals_the_scalar_engine():
    norm = nn.LayerNorm(3)
    check(lambda *x: norm(list(x)), 3, norm.parameters())


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.lists(st.integers(1, 5), min_size=1, max_size=3),
       st.sampled_from(["relu", "tanh", "sigmoid", "leaky_relu", "linear"]),
       st.integers(1, 9), st.integers(0, 2**16))
def test_random_mlps_over_random_batches_equal_the_scalar_engine(nin, sizes, activation,
                                                                  batch, seed):
    model = MLP(nin, sizes, activation=activation, seed=seed)
    rows = np.random.default_rng(seed).normal(size=(batch, nin))
    check(lambda *x: model(list(x)), nin, model.parameters(), rows=rows)
