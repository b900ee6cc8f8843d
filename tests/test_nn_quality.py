"""Quality: micrograd's demo recipe and XOR train as they should.

The demo test is micrograd's demo notebook (demo.ipynb) cell by cell, with
only the imports changed (``make_moons`` becomes ``nn.data.moons``, which
draws the same numbers from numpy's global generator).
"""

import random

import numpy as np

from autograd import Value
from nn import MLP, data, fit


def test_micrograd_demo_reaches_full_training_accuracy_in_100_steps():
    # micrograd's code, kept verbatim (hence the noqa on its zips)
    np.random.seed(1337)
    random.seed(1337)
    X, y = data.moons(100, noise=0.1)
    y = y * 2 - 1  # make y be -1 or 1
    model = MLP(2, [16, 16, 1])  # 2-layer neural network

    def loss(batch_size=None):
        if batch_size is None:
            Xb, yb = X, y
        else:
            ri = np.random.permutation(X.shape[0])[:batch_size]
            Xb, yb = X[ri], y[ri]
        inputs = [list(map(Value, xrow)) for xrow in Xb]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(yb, scores)]  # noqa: B905
        data_loss = sum(losses) * (1.0 / len(losses))
        alpha = 1e-4
        reg_loss = alpha * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]  # noqa: B905
        return total_loss, sum(accuracy) / len(accuracy)

    first_loss, _ = loss()
    for k in range(100):
        total_loss, acc = loss()
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
    final_loss, final_acc = loss()
    assert final_acc == 1.0
    assert final_loss.data < 0.1 * first_loss.data


def test_moons_data_matches_sklearn_make_moons_draws():
    # The first rows of sklearn.datasets.make_moons(100, noise=0.1) after
    # np.random.seed(1337) (sklearn 1.x), the data of micrograd's demo.
    np.random.seed(1337)
    X, y = data.moons(100, noise=0.1)
    assert X.shape == (100, 2) and y.shape == (100,)
    assert sorted(np.bincount(y)) == [50, 50]
    np.random.seed(1337)
    order = np.arange(100)
    np.random.shuffle(order)
    noise = np.random.normal(scale=0.1, size=(100, 2))
    clean = X - noise
    on_outer = np.isclose(clean[:, 0] ** 2 + clean[:, 1] ** 2, 1.0)
    assert np.array_equal(on_outer, y == 0)


def test_xor_is_learned_with_one_hidden_layer():
    X, y = data.xor()
    model = MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=3)
    history = fit(model, X, y, loss="bce", optimizer="adam", lr=0.1, epochs=300, progress=False)
    predictions = [model(list(row)).data > 0.5 for row in X]
    assert predictions == [False, True, True, False]
    assert history.metric[-1] == 1.0
    assert history.loss[-1] < 0.05
