"""Published worked examples of backpropagation, reproduced by the engine.

* Matt Mazur, "A Step by Step Backpropagation Example" (2015): a 2-2-2 sigmoid
  network, error 1/2 sum of squares, one gradient step at learning rate 0.5.
  The article prints the total error and the eight weights after the step;
  the biases (one per layer, shared by its neurons) are not updated there.
* The 2-2-1 sigmoid network of ``python -m autograd`` (x = (0.5, 0.1), target
  0.6, squared error, learning rate 0.1), checked against the chain rule
  written out by hand.
"""

import math

import pytest

from autograd import Value


def _neuron(weights, inputs, bias):
    return (sum((w * x for w, x in zip(weights, inputs, strict=True)), bias)).sigmoid()


def test_mazur_2_2_2_total_error_and_weights_after_one_step():
    i1, i2 = 0.05, 0.10
    w = {f"w{k}": Value(v, label=f"w{k}") for k, v in
         enumerate((0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55), start=1)}
    b1, b2 = Value(0.35, label="b1"), Value(0.60, label="b2")

    h1 = _neuron([w["w1"], w["w2"]], [i1, i2], b1)
    h2 = _neuron([w["w3"], w["w4"]], [i1, i2], b1)
    o1 = _neuron([w["w5"], w["w6"]], [h1, h2], b2)
    o2 = _neuron([w["w7"], w["w8"]], [h1, h2], b2)
    total_error = 0.5 * (0.01 - o1) ** 2 + 0.5 * (0.99 - o2) ** 2
    total_error.backward()

    # The article's intermediate numbers, then its results.
    assert h1.data == pytest.approx(0.593269992, abs=1e-9)
    assert o1.data == pytest.approx(0.75136507, abs=1e-8)
    assert o2.data == pytest.approx(0.772928465, abs=1e-9)
    assert total_error.data == pytest.approx(0.298371109, abs=1e-8)
    assert w["w5"].grad == pytest.approx(0.082167041, abs=1e-8)
    assert w["w1"].grad == pytest.approx(0.000438568, abs=1e-8)

    learning_rate = 0.5
    published = {
        "w1": 0.149780716, "w2": 0.19956143, "w3": 0.24975114, "w4": 0.29950229,
        "w5": 0.35891648, "w6": 0.408666186, "w7": 0.511301270, "w8": 0.561370121,
    }
    for name, expected in published.items():
        updated = w[name].data - learning_rate * w[name].grad
        assert updated == pytest.approx(expected, abs=1e-8), name


def test_2_2_1_network_gradients_match_the_chain_rule_by_hand():
    x1, x2, target, learning_rate = 0.5, 0.1, 0.6, 0.1
    start = dict(w11=0.4, w12=0.3, w21=0.6, w22=0.9, w31=0.5, w32=0.7, b1=0.1, b2=0.2, b3=0.3)
    p = {name: Value(v, label=name) for name, v in start.items()}

    h1 = (p["w11"] * x1 + p["w12"] * x2 + p["b1"]).sigmoid()
    h2 = (p["w21"] * x1 + p["w22"] * x2 + p["b2"]).sigmoid()
    y = (p["w31"] * h1 + p["w32"] * h2 + p["b3"]).sigmoid()
    loss = (y - target) ** 2
    loss.backward()

    # Forward by hand, from the numbers alone.
    def sigmoid(z):
        return 1.0 / (1.0 + math.exp(-z))

    s = start
    a1 = sigmoid(s["w11"] * x1 + s["w12"] * x2 + s["b1"])
    a2 = sigmoid(s["w21"] * x1 + s["w22"] * x2 + s["b2"])
    out = sigmoid(s["w31"] * a1 + s["w32"] * a2 + s["b3"])
    assert loss.data == pytest.approx((out - target) ** 2, abs=1e-12)

    # dL/dz3 = dL/dy * dy/dz3 = 2 (y - t) * y (1 - y); then back through each layer.
    delta_out = 2 * (out - target) * out * (1 - out)
    delta_h1 = delta_out * s["w31"] * a1 * (1 - a1)
    delta_h2 = delta_out * s["w32"] * a2 * (1 - a2)
    by_hand = {
        "w31": delta_out * a1, "w32": delta_out * a2, "b3": delta_out,
        "w11": delta_h1 * x1, "w12": delta_h1 * x2, "b1": delta_h1,
        "w21": delta_h2 * x1, "w22": delta_h2 * x2, "b2": delta_h2,
    }
    for name, expected in by_hand.items():
        assert p[name].grad == pytest.approx(expected, abs=1e-12), name
        updated = p[name].data - learning_rate * p[name].grad
        assert updated == pytest.approx(start[name] - learning_rate * expected, abs=1e-8), name
    # The step lowers the loss, as one step of gradient descent at a small rate must.
    for name in p:
        p[name].data -= learning_rate * p[name].grad
    h1 = (p["w11"] * x1 + p["w12"] * x2 + p["b1"]).sigmoid()
    h2 = (p["w21"] * x1 + p["w22"] * x2 + p["b2"]).sigmoid()
    y = (p["w31"] * h1 + p["w32"] * h2 + p["b3"]).sigmoid()
    assert ((y - target) ** 2).data < loss.data
