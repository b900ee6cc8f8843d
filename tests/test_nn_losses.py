"""Losses: values, batch averaging, stability at extreme inputs, and argument errors."""

import math

import numpy as np
import pytest

import nn
from autograd import Value


def test_mse_averages_over_batch_and_outputs():
    out = nn.mse_loss(
        [[Value(1.0), Value(2.0)], [Value(0.0), Value(0.0)]], [[0.0, 0.0], [1.0, 3.0]]
    )
    assert out.data == pytest.approx((1 + 4 + 1 + 9) / 4)
    assert nn.mse_loss(Value(3.0), 1.0).data == 4.0
    assert nn.mse_loss([Value(3.0), Value(1.0)], np.array([1.0, 1.0])).data == 2.0


def test_cross_entropy_of_extreme_logits_stays_finite_with_correct_gradient():
    logits = [Value(1000.0), Value(-1000.0)]
    loss = nn.cross_entropy(logits, 1)
    assert loss.data == pytest.approx(2000.0)
    loss.backward()
    assert logits[0].grad == pytest.approx(1.0) and logits[1].grad == pytest.approx(-1.0)
    assert nn.cross_entropy([Value(1000.0), Value(-1000.0)], 0).data == 0.0


def test_softmax_sums_to_one_for_huge_logits():
    probabilities = nn.softmax([Value(800.0), Value(799.0), Value(-5000.0)])
    assert sum(p.data for p in probabilities) == pytest.approx(1.0)
    assert probabilities[0].data == pytest.approx(1 / (1 + math.exp(-1)))


def test_cross_entropy_batch_averages_per_sample_losses():
    batch = [[Value(0.0), Value(1.0)], [Value(2.0), Value(0.0)]]
    expected = (nn.cross_entropy(batch[0], 1).data + nn.cross_entropy(batch[1], 1).data) / 2
    assert nn.cross_entropy(batch, np.array([1, 1])).data == pytest.approx(expected)


def test_bce_with_logits_is_finite_and_right_at_extremes_and_zero():
    for z, t in [(1000.0, 0.0), (-1000.0, 1.0)]:
        assert nn.bce_with_logits(Value(z), t).data == pytest.approx(1000.0)
    z = Value(0.0)
    loss = nn.bce_with_logits(z, 1.0)
    loss.backward()
    assert loss.data == pytest.approx(math.log(2))
    assert z.grad == pytest.approx(-0.5)  # sigmoid(0) - 1


def test_binary_cross_entropy_clamps_log_like_torch():
    assert nn.binary_cross_entropy(Value(0.0), 1.0).data == 100.0
    assert nn.binary_cross_entropy(Value(1.0), 1.0).data == 0.0


def test_hinge_loss_is_micrograds_max_margin():
    scores = [Value(2.0), Value(0.5), Value(-0.25)]
    loss = nn.hinge_loss(scores, [1, 1, 1])
    assert loss.data == pytest.approx((0 + 0.5 + 1.25) / 3)
    with pytest.raises(ValueError, match="-1 or \\+1"):
        nn.hinge_loss(scores, [1, 0, -1])
    with pytest.raises(ValueError, match="-1 or \\+1"):
        nn.hinge_loss(scores, [1, 2, 1])


def test_hinge_loss_reads_0_1_labels_as_fit_maps_them():
    scores = [Value(2.0), Value(0.5), Value(-0.25)]
    assert nn.hinge_loss(scores, [1, 0, 1]).data == nn.hinge_loss(scores, [1, -1, 1]).data


def test_penalties_accept_a_module_or_a_list():
    model = nn.MLP(2, [2, 1], seed=0)
    params = model.parameters()
    assert nn.l2_penalty(model, 0.5).data == pytest.approx(0.5 * sum(p.data**2 for p in params))
    assert nn.l1_penalty(params).data == pytest.approx(sum(abs(p.data) for p in params))


def test_loss_argument_errors_name_the_problem():
    with pytest.raises(ValueError, match="2 outputs but 3 targets"):
        nn.mse_loss([Value(1.0), Value(2.0)], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="outside the 2 classes"):
        nn.cross_entropy([Value(1.0), Value(2.0)], 2)
    with pytest.raises(ValueError, match="class index"):
        nn.cross_entropy([Value(1.0), Value(2.0)], 0.5)
    with pytest.raises(ValueError, match="list of logits"):
        nn.cross_entropy(Value(1.0), 0)
    with pytest.raises(ValueError, match="targets must lie in"):
        nn.binary_cross_entropy(Value(0.5), 2.0)
