"""Notebook 03: Training (its cells, read by notebooks/build.py)."""

from build import code, md

CELLS = [
    md("""
# 3. Training

From a network that cannot learn XOR to one that can, then two-moons (and
its whole training run replayed epoch by epoch), optimizers, regularisation,
early stopping and a regression. Each run is kept
small so the notebook runs in seconds.

## A network without a hidden layer cannot learn XOR

This is the numpy listing of the seed article *BackPropagation: The Heart of
Deep Learning*: two inputs, one sigmoid output, no hidden layer (and no bias),
squared error, learning rate 0.1, 10,000 epochs.
"""),
    code("""
import numpy as np

def sigmoid(x):
    return 1 / (1 + np.exp(-x))

def sigmoid_derivative(x):   # of the output: s (1 - s)
    return x * (1 - x)

np.random.seed(42)
inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
y_true = np.array([[0], [1], [1], [0]])
weights = np.random.rand(2, 1)
for epoch in range(10000):
    predictions = sigmoid(np.dot(inputs, weights))
    loss = np.mean((y_true - predictions) ** 2)
    gradient = (y_true - predictions) * sigmoid_derivative(predictions)
    weights += 0.1 * np.dot(inputs.T, gradient)
print("final loss", round(float(loss), 4), "weights", weights.ravel().round(3))
print("predictions", sigmoid(inputs @ weights).ravel().round(3), "targets", y_true.ravel())
"""),
    md("""
The weights shrink to zero and every prediction is 0.5, with loss 0.25:
gradient descent settles on not guessing at all. Why: the output is
`sigmoid(w1 x1 + w2 x2)`, an increasing function of one weighted sum, so
the points it calls "1" are those on one side of the line
`w1 x1 + w2 x2 = 0`. XOR puts (0, 1) and (1, 0) on one side and (0, 0) and
(1, 1) on the other, and no straight line separates them. Adding a bias moves
the line but does not bend it. The same happens with chainrule's single
neuron, bias included, trained with Adam:
"""),
    code("""
import nn
from nn import MLP, Neuron, data, fit

X, y = data.xor()
neuron = Neuron(2, activation="sigmoid", seed=0)
history = fit(neuron, X, y, loss="bce", optimizer="adam", lr=0.1, epochs=300, progress=False)
print(f"one neuron: loss {history.loss[-1]:.3f}, accuracy {history.metric[-1]:.2f}")
print("outputs", [round(neuron(list(map(float, row))).data, 3) for row in X])
"""),
    md("""
## A hidden layer can

Two hidden neurons are enough in principle (one computes OR, the other AND,
the output "OR and not AND"); four train reliably.
"""),
    code("""
model = MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=1)
history = fit(model, X, y, loss="bce", optimizer="adam", lr=0.1, epochs=300, progress=False)
print(f"2-4-1: loss {history.loss[-1]:.4f}, accuracy {history.metric[-1]:.2f}")
print("outputs", [round(model(list(map(float, row))).data, 3) for row in X])
"""),
    md("""
## Two moons and the decision boundary

`nn.data.moons` draws two interleaving half circles. An MLP 2-8-8-1 with ReLU
hidden layers and a linear output trained on `bce_with_logits` separates them;
`plot_decision_boundary` shades what the model predicts over the plane.
"""),
    code("""
%matplotlib inline
from viz import draw_network, plot_decision_boundary, plot_history

X, y = data.moons(100, noise=0.1, seed=0)
model = MLP(2, [8, 8, 1], seed=0)
history = fit(model, X, y, loss="bce_with_logits", optimizer="adam", lr=0.05, epochs=40,
              batch_size=20, validation=0.2, seed=0, progress=False, snapshots=True)
print(history)
plot_decision_boundary(model, X, y)
"""),
    md("The trained network, weights as edges (colour: sign, width: size):"),
    code("draw_network(model)"),
    md("""
## Watching it train

`snapshots=True` kept the parameters after every epoch, so the training
player can replay the run: move the slider (or press Play, or the arrow
keys) and watch the boundary bend, the weights grow and the loss fall. The
two numbered points are followed through their backward pass at the chosen
epoch; click one, then a neuron of the network, to read its chain-rule
records. Opened without running (GitHub, an untrusted notebook) it shows
pictures of the last epoch instead.
"""),
    code("""
import viz

viz.training_player(history, model, X, y, samples=2, progress=False)
"""),
    md("""
## SGD, momentum and Adam

The same network and data, three optimizers with their usual learning rates.
Momentum accumulates a velocity along directions that keep the same sign;
Adam also scales each parameter's step by a running estimate of its gradient's
size.
"""),
    code("""
import matplotlib.pyplot as plt  # viz's plots are Figures too; pyplot draws the comparison

X, y = data.moons(80, noise=0.15, seed=1)
runs = {
    "SGD, lr 0.1": lambda params: nn.SGD(params, lr=0.1),
    "SGD + momentum 0.9, lr 0.1": lambda params: nn.SGD(params, lr=0.1, momentum=0.9),
    "Adam, lr 0.05": lambda params: nn.Adam(params, lr=0.05),
}
fig, ax = plt.subplots(figsize=(6, 3.5))
for label, make_optimizer in runs.items():
    model = MLP(2, [8, 1], seed=2)
    optimizer = make_optimizer(model.parameters())
    history = fit(model, X, y, loss="bce_with_logits", optimizer=optimizer, epochs=30,
                  batch_size=16, seed=0, progress=False)
    ax.plot(range(1, 31), history.loss, label=f"{label}: {history.loss[-1]:.3f}")
ax.set_xlabel("epoch"); ax.set_ylabel("training loss"); ax.set_title("two moons, MLP 2-8-1")
ax.legend();
"""),
    md("""
## L2 and dropout

With few noisy points, a larger network fits the noise: its training accuracy
is well above its accuracy on fresh points from the same distribution. An L2
penalty (`l2=`, added to the loss) pulls
weights towards zero; dropout (`MLP(..., dropout=p)`) zeroes each hidden output
with probability p during training, so no neuron can rely on another. Here
both trade a little training accuracy for better validation accuracy and loss
(on a problem this small the effect depends on the seed; try others).
"""),
    code("""
X, y = data.moons(50, noise=0.35, seed=3)
X_val, y_val = data.moons(100, noise=0.35, seed=4)
print(f"{'':<12} {'train acc':>9} {'val acc':>8} {'val loss':>8}")
for label, dropout, l2 in (("plain", 0.0, 0.0), ("L2 1e-3", 0.0, 1e-3), ("dropout 0.1", 0.1, 0.0)):
    model = MLP(2, [16, 16, 1], dropout=dropout, seed=5)
    history = fit(model, X, y, loss="bce_with_logits", optimizer="adam", lr=0.03, epochs=60,
                  batch_size=20, l2=l2, validation=(X_val, y_val), seed=0, progress=False)
    print(f"{label:<12} {history.metric[-1]:9.2f} {history.val_metric[-1]:8.2f} "
          f"{history.val_loss[-1]:8.3f}")
"""),
    md("""
## Early stopping

Hold out part of the data, watch its loss, and stop when it has not improved
for `early_stopping` epochs; `fit` then restores the parameters of the best
epoch.
"""),
    code("""
model = MLP(2, [16, 16, 1], seed=5)
history = fit(model, X, y, loss="bce_with_logits", optimizer="adam", lr=0.03, epochs=200,
              batch_size=20, validation=(X_val, y_val), early_stopping=5, seed=0, progress=False)
print(f"stopped after {history.epochs} of 200 epochs; best epoch {history.best_epoch}, "
      f"validation loss {min(history.val_loss):.3f}")
plot_history(history)
"""),
    md("""
## A regression: house prices

`data.house_prices` gives size (m²) and bedrooms → price (thousands). The
features have very different scales, so standardise them first; the loss is
mean squared error and the metric R².
"""),
    code("""
X, y = data.house_prices(120, seed=0)
X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25, seed=0)
X_train_s, mean, std = data.standardize(X_train)
X_test_s, _, _ = data.standardize(X_test, mean, std)
y_mean, y_std = y_train.mean(), y_train.std()

model = MLP(2, [8, 1], seed=0)
history = fit(model, X_train_s, (y_train - y_mean) / y_std, loss="mse", optimizer="adam",
              lr=0.03, epochs=40, batch_size=15, seed=0, progress=False)
predicted = np.array([model(list(row)).data for row in X_test_s]) * y_std + y_mean
r2 = 1 - ((y_test - predicted) ** 2).sum() / ((y_test - y_test.mean()) ** 2).sum()
print(f"training R² {history.metric[-1]:.3f}, test R² {r2:.3f}")
fig, ax = plt.subplots(figsize=(4, 4))
ax.scatter(y_test, predicted, s=12)
ax.plot([y.min(), y.max()], [y.min(), y.max()], color="grey", lw=1)
ax.set_xlabel("actual price (thousands)"); ax.set_ylabel("predicted");
"""),
    md("""
The command line does all of this for a CSV file, standardising inputs for
you: `chainrule train --dataset houses.csv --target price`.
"""),
]
