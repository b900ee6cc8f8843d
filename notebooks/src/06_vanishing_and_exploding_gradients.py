"""Notebook 06: Vanishing and exploding gradients (its cells, read by notebooks/build.py)."""

from build import code, md

CELLS = [
    md("""
# 6. Vanishing and exploding gradients

Backpropagation multiplies local derivatives layer by layer. When each factor
is small the product fades towards the input (the first layers stop
learning); when each is large it grows until a step throws the weights out of
range. This notebook makes both visible with `fit(..., diagnostics=True)`,
`nn.diagnose` and the gradient-flow plot, and measures the usual cures on the
same data and the same seed: ReLU with He initialisation, batch
normalisation, and gradient clipping.

Everything runs on the scalar engine, so the networks and data are small.
"""),
    code("""
%matplotlib inline
import nn
from nn import MLP, data, diagnose, fit
from viz import plot_gradient_flow, plot_layer_stats

X, y = data.moons(64, noise=0.1, seed=0)
X, _, _ = data.standardize(X)

def train(model, **options):
    \"\"\"The same training for every run: SGD, lr 0.1, 16 epochs of mini-batches of 16.\"\"\"
    settings = dict(loss="bce_with_logits", optimizer="sgd", lr=0.1, epochs=16, batch_size=16,
                    seed=0, progress=False, diagnostics=True)
    return fit(model, X, y, **{**settings, **options})

DEPTH = [10] * 5 + [1]   # five hidden layers of 10, one output
"""),
    md("""
## A deep sigmoid network whose first layers stop learning

Five sigmoid layers with Xavier's initialisation (the one Glorot and Bengio
designed for sigmoid and tanh networks). `diagnostics=True` records, for
every layer and epoch, the gradient norm at the epoch's last step, the
update ratio (how far that step moved the weights, relative to their size),
the activations' mean and spread, and the fractions of dead or saturated
units.
"""),
    code("""
sigmoid = MLP(2, DEPTH, activation="sigmoid", init="xavier", seed=0)
runs = {"sigmoid": train(sigmoid)}
print(runs["sigmoid"])
plot_gradient_flow(runs["sigmoid"])
"""),
    md("""
The loss stays at ln 2 ≈ 0.693: the network answers 0.5 for every point.
Each line is one layer, light for the first and dark for the last: in most
epochs the gradient reaching `layers.0` is hundreds of times smaller than
the output layer's, and it never gets going. The reason is the chain rule:
the derivative of the sigmoid is at most 1/4, so each sigmoid layer passes on
at most a quarter of the gradient it receives (times its weights), and five
of them shrink it by orders of magnitude.

`diagnose` runs one forward and backward pass and reads it layer by layer,
so it can look before any training is spent. On a fresh network of the same
seed:
"""),
    code("""
diagnose(MLP(2, DEPTH, activation="sigmoid", init="xavier", seed=0), X, y,
         loss="bce_with_logits")
"""),
    md("""
(`diagnose` compares the layers of one pass with each other. On the trained
network, stuck on its plateau, every layer's gradient is small and the
contrast is weaker; the flat loss and the plot above tell that part.)
"""),
    md("""
## Cure 1: ReLU and He initialisation

ReLU's derivative is 1 wherever the unit is active, so an active path passes
the gradient on unchanged; He's initialisation (weights of variance 2/fan-in)
keeps the signal's size the same from layer to layer. Same depth, data,
seed and training:
"""),
    code("""
runs["relu + He"] = train(MLP(2, DEPTH, activation="relu", init="he", seed=0))
print(runs["relu + He"])
"""),
    md("""
## Cure 2: batch normalisation

`norm="batch"` puts a `BatchNorm` between each hidden layer's weighted sums
and its sigmoid: each unit is standardised over the batch, then scaled and
shifted by two learned numbers. The sigmoids work near their steep middle,
and the division by the batch's (small) standard deviation scales the
gradient back up on its way down. The sigmoid network is otherwise unchanged:
"""),
    code("""
runs["sigmoid + batch norm"] = train(
    MLP(2, DEPTH, activation="sigmoid", init="xavier", norm="batch", seed=0))
print(runs["sigmoid + batch norm"])
"""),
    md("""
Batch normalisation is the one layer that couples the samples of a batch:
every output depends on every sample through its feature's batch mean and
variance. In the graph of a tiny batch-normalised layer (three samples, two
units) the per-sample chains meet in the nodes labelled `batch_mean.j` and
`batch_var.j`; nowhere else do two samples' graphs touch before the loss.
"""),
    code("""
from autograd import Value
from viz import draw_dot

layer = nn.Layer(1, 2, norm="batch", activation="linear", seed=0)
samples = [[Value(x, label=f"x{i}")] for i, x in enumerate([-1.0, 0.5, 2.0])]
loss = nn.mse_loss(layer.forward_batch(samples), [[0.0, 1.0]] * 3)
loss.backward()
draw_dot(loss, rankdir="TB", names=layer)  # top to bottom: closer to the page's shape
"""),
    md("""
## The three runs side by side

Same seed, same data, same optimizer; only the activation, the
initialisation or the normalisation differ. One shared log scale:
"""),
    code("""
plot_gradient_flow(runs)
"""),
    code("""
print(f"{'':<22} {'layers.0 grad':>13} {'update ratio':>12} {'loss':>7} {'accuracy':>9}")
for name, history in runs.items():
    first = history.diagnostics[-1]["layers.0"]
    print(f"{name:<22} {first['grad_norm']:13.2e} {first['update_ratio']:12.1e} "
          f"{history.loss[-1]:7.3f} {history.metric[-1]:9.2f}")
"""),
    md("""
The update ratio tells the same story in terms of learning: the last step
of the sigmoid network moved its first layer's weights by a few
hundred-thousandths of their size, the cured networks' by a few thousandths,
over a hundred times more. Per layer and epoch:
"""),
    code("plot_layer_stats(runs, \"update_ratio\")"),
    md("""
## Exploding: micrograd's initialisation on a wider network

The opposite failure. micrograd draws weights uniformly from (-1, 1), whose
variance is 1/3; with 32 inputs per unit, each ReLU layer multiplies the
signal's size by about √(32 · 1/3 · 1/2) ≈ 2.3, so five layers make logits of
±50 and gradients to match. With the same SGD at lr 0.1 the steps grow until
the weights reach 1e200 and the loss becomes nan; fit stops and says where.
A callback keeps the history up to that point.
"""),
    code("""
WIDE = [32] * 5 + [1]
seen = {}
try:
    train(MLP(2, WIDE, seed=0), epochs=8, callbacks=[lambda epoch, h: seen.update(history=h)])
except FloatingPointError as error:
    print(error)
unclipped = seen["history"]
print(unclipped)
"""),
    md("""
`clip_grad=1.0` rescales each step's gradients so that their total norm is at
most 1 (the numbers of `torch.nn.utils.clip_grad_norm_`); the direction is
kept, only the length of the step is bounded. The diagnostics record the
gradient before clipping, so the plot still shows how large it was:
"""),
    code("""
clipped = train(MLP(2, WIDE, seed=0), epochs=6, clip_grad=1.0)
print(clipped)
plot_gradient_flow({"no clipping": unclipped, "clip_grad=1.0": clipped})
"""),
    md("""
Without clipping the gradient norm grows by a hundred orders of magnitude
within five epochs (on this log scale the clipped run's norms, between 0.1
and 100, look flat); with clipping the same network, seed and learning rate
train well. Clipping treats the symptom; a smaller initialisation
(`init="he"`) or learning rate treats the cause.

What to try next: `diagnose` on your own network before training it;
`plot_layer_stats(history, "dead")` for ReLU networks with a large learning
rate; `chainrule train --diagnostics --norm batch`, which writes
`gradient_flow.svg` and prints the diagnosis.
"""),
]
