"""Notebook 08: Recurrence and backpropagation through time (its cells, read by notebooks/build.py)."""

from build import code, md

CELLS = [
    md("""
# 8. Recurrence and backpropagation through time

A recurrent network reads a sequence one step at a time and carries a
hidden state from step to step:

    h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)

The same weights are used at every step. Unrolled over T steps it is an
ordinary (deep) graph, and backpropagation through time (BPTT) is just
backward on that graph: the gradient reaching h_t has come back through
every later step, multiplied at each one by `W_hh` and the slope of tanh.
That product is why the gradient fades with distance.

`nn.RNN(input_size, hidden_size, nonlinearity="tanh")` follows
`torch.nn.RNN`; called on a sequence it returns the T hidden states. Each
step's nodes carry the scope `t.0`, `t.1`, ..., so the unrolled graph can
be drawn one box per time step.

## One small RNN, unrolled
"""),
    code("""
import autograd
import nn
import viz

rnn = nn.RNN(1, 2, seed=0)
states = rnn([1.0, 0.0, 1.0])            # a sequence of three numbers (input_size 1)
for t, h in enumerate(states):
    print(f"h_{t} =", [round(v.data, 4) for v in h])
loss = autograd.sum(states[-1])
loss.label = "loss"
loss.backward()
print(rnn)
print([name for name, _ in rnn.named_parameters()][:4], "...")
"""),
    md("""
Each unit of each step is one `dot` over `[x_t, h_(t-1)]` against its row
of `[W_ih, W_hh]`, one `sum` adding the two biases, and the tanh. The
weights are shared by the three steps, so each has an edge into every step:
"""),
    code("""
viz.draw_dot(loss, names=rnn, cluster=True)
"""),
    md("""
Collapsed, the same graph is the unrolled picture from the textbooks, one
box per time step:
"""),
    code("""
viz.draw_dot(loss, cluster="collapse", names=rnn)
"""),
    md("""
## The gradient per time step, with tanh

`viz.plot_bptt(loss, hidden_states)` computes ‖dL/dh_t‖, the size of the
gradient that reaches each hidden state, with `autograd.grad` (no `.grad` is
touched). Here a fresh RNN reads a sequence of 30 random bits and the loss
looks at the last state only:
"""),
    code("""
X, y = nn.data.parity(1, length=30, seed=1)
rnn = nn.RNN(1, 16, seed=2)
head = nn.Layer(16, 2, activation="linear", seed=2)
states = rnn(X[0])
loss = nn.cross_entropy(head(states[-1]), int(y[0]))
norms = viz.bptt_norms(loss, states)
print("last step:", norms[-1], " 10 steps back:", norms[-11], " 29 steps back:", norms[0])
viz.plot_bptt(loss, states)
"""),
    md("""
Each step back multiplies the gradient by `W_hhᵀ diag(1 − h²)`. With weights
of PyTorch's default size (±1/√16 here) and tanh's slope at most 1, that
factor shrinks vectors, so the gradient decays roughly geometrically: a
straight line on the log scale. Bits read early barely move the loss, which
is why long-range dependencies are hard for a plain RNN. Larger recurrent
weights push the other way, towards exploding gradients:
"""),
    code("""
big = nn.RNN(1, 16, seed=2)
for row in big.weight_hh_l0:
    for w in row:
        w.data *= 6.0
states = big(X[0])
loss = nn.cross_entropy(head(states[-1]), int(y[0]))
viz.plot_bptt(loss, states, title="recurrent weights 6x larger: saturated tanh units")
"""),
    md("""
Six times larger weights do not explode here: they saturate the tanh units
(h close to ±1, slope close to 0), which blocks the gradient instead. With
relu, or with weights large enough to stay out of saturation, the product
can grow without bound. Either way the cure is the same family of tricks:
careful initialisation, gradient clipping, gated cells (LSTM, GRU).

## Parity: every bit matters

`nn.data.parity(n, length, seed)` gives random bit strings and whether
their count of ones is odd. A classifier reads the last hidden state with a
linear layer: `Sequential(RNN(...), LastStep(), Layer(...))`. Parity is a
hard case for gradient descent: until the network happens to carry the
parity along, no single bit tells anything about the label, so the loss sits
on a plateau at chance. Two things shorten the plateau a lot: bits written
as -1/+1 instead of 0/1 (centred inputs, so a 0 bit also pushes the state)
and large enough steps. With strings of 4 bits the notebook trains in
seconds; the README's length-8 result comes from `benchmarks/layers.py`.
"""),
    code("""
import itertools
import numpy as np

X, y = nn.data.parity(400, length=4, seed=0)
X = 2 * X - 1                                  # bits as -1/+1
model = nn.Sequential(nn.RNN(1, 8, seed=0), nn.LastStep(),
                      nn.Layer(8, 2, activation="linear", init="xavier", seed=0))
history = nn.fit(model, X, y, loss="cross_entropy", optimizer="adam", lr=0.1, epochs=12,
                 batch_size=16, progress=False, seed=0)
print(history)
every = np.array(list(itertools.product([-1.0, 1.0], repeat=4)))
print("accuracy on all 16 strings:",
      nn.evaluate(model, every, (every > 0).sum(axis=1) % 2, loss="cross_entropy")["accuracy"])
"""),
    code("""
viz.plot_history(history)
"""),
    md("""
## Sine waves: predict the next value

`nn.data.sine_waves(n, length, seed)` gives stretches of sine waves of
random frequency and phase; the target is the next sample. The same design
with one output and the squared error:
"""),
    code("""
X, y = nn.data.sine_waves(150, length=12, seed=0)
model = nn.Sequential(nn.RNN(1, 8, seed=1), nn.LastStep(),
                      nn.Layer(8, 1, activation="linear", init="xavier", seed=1))
history = nn.fit(model, X[:120], y[:120], loss="mse", optimizer="adam", lr=0.02, epochs=15,
                 batch_size=16, validation=(X[120:], y[120:]), progress=False, seed=0)
print(history)
"""),
    code("""
from matplotlib.figure import Figure

with autograd.no_grad():
    predicted = [model(x).data for x in X[120:]]
figure = Figure(figsize=(9, 2.6), layout="constrained")
for k, ax in enumerate(figure.subplots(1, 4)):
    ax.plot(range(12), X[120 + k], "o-", color="#67a9cf", label="sequence")
    ax.plot([12], [y[120 + k]], "o", color="#2166ac", label="next")
    ax.plot([12], [predicted[k]], "x", color="#b2182b", markersize=9, label="predicted")
    ax.set_xticks([0, 6, 12])
figure.axes[0].legend(frameon=False, fontsize=7)
figure
"""),
]
