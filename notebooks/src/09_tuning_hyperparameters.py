"""Notebook 09: Tuning hyperparameters (its cells, read by notebooks/build.py)."""

from build import code, md

CELLS = [
    md("""
# 9. Tuning hyperparameters

The learning rate, the layers, the activation: backpropagation computes the
gradients, but these choices decide whether they lead anywhere. The seed
articles name three ways to search them: **grid search**, **random search**
and **Bayesian optimisation**. `nn.tune` runs all three on
[Optuna](https://optuna.org) (its `GridSampler`, `RandomSampler` and
`TPESampler`), trains one MLP per trial with `nn.fit`, and judges each trial
by its loss on held-out validation rows.

Every search below gets the **same budget, 16 trials**, on the same two-moons
problem with the same validation rows.
"""),
    code("""
%matplotlib inline
import time
import numpy as np
import nn
from nn import space

X, y = nn.data.moons(100, noise=0.2, seed=0)     # 80 rows to train on, 20 to validate
budget = dict(trials=16, epochs=20, seed=0, progress=False)
"""),
    md("""
## Grid search

A grid tries every combination of a few values, each exactly once: here
4 learning rates × 2 architectures × 2 activations = 16. Its weakness is
that it spends most of the budget on the parameters that matter least: only
4 distinct learning rates are ever tried.
"""),
    code("""
grid = {"lr": [0.003, 0.01, 0.03, 0.1], "hidden": [[8], [8, 8]], "activation": ["relu", "tanh"]}
started = time.perf_counter()
by_grid = nn.tune(X, y, grid, strategy="grid", **budget)
print(f"{time.perf_counter() - started:.1f} s")
by_grid
"""),
    md("""
## Random search

Random search draws each trial's parameters independently: the learning rate
from a log-uniform range (1e-3..1e-2 is as likely as 1e-2..1e-1), so 16
trials try 16 different rates. Bergstra and Bengio (2012) showed that when
only a few parameters matter, this finds good values with fewer trials than a
grid.
"""),
    code("""
ranges = {"lr": space.loguniform(1e-3, 0.3), "hidden": [[8], [8, 8]],
          "activation": ["relu", "tanh"]}
by_random = nn.tune(X, y, ranges, strategy="random", **budget)
by_random
"""),
    md("""
## Bayesian optimisation (TPE)

Optuna's Tree-structured Parzen Estimator models where the good trials are:
it splits the finished trials into the best ones and the rest, fits a density
to each, and draws the next trial where the ratio good/rest is highest.
Before it has anything to model it must explore: **its first 10 trials are
plain random draws** (`n_startup_trials=10`), and only trials 10 to 15 are
guided. With a budget of 10 or fewer, TPE *is* random search. (Trial k's
draws are seeded by the study's seed and k, so with the same seed TPE's
first 10 trials are exactly random search's above.)
"""),
    code("""
by_tpe = nn.tune(X, y, ranges, strategy="bayes", **budget)
by_tpe.plot()
"""),
    md("""
Where did each search put its learning rates? The grid's four columns, random
search's even spread, and TPE's first 10 random trials followed by guided
ones that gather where the validation loss was low:
"""),
    code("""
from matplotlib.figure import Figure
from IPython.display import display

figure = Figure(figsize=(10, 3.2), layout="constrained")
for ax, (name, result) in zip(figure.subplots(1, 3, sharey=True),
                              [("grid", by_grid), ("random", by_random), ("TPE", by_tpe)]):
    done = [t for t in result.trials if t.value is not None]
    colours = ["#999999" if name == "TPE" and t.number < 10 else "#2166ac" for t in done]
    ax.scatter([t.params["lr"] for t in done], [t.value for t in done], c=colours, s=20)
    ax.set_xscale("log"); ax.set_xlabel("learning rate"); ax.set_title(name, loc="left")
figure.axes[0].set_ylabel("validation loss")
figure.axes[2].text(0.02, 0.95, "grey: the 10 random startup trials", fontsize=8,
                    transform=figure.axes[2].transAxes, va="top")
display(figure)
for name, result in [("grid", by_grid), ("random", by_random), ("TPE", by_tpe)]:
    print(f"{name:>6}: best validation loss {result.best_value:.4f} with {result.best_params}")
"""),
    md("""
On a problem this small the three end close together; the pictures show the
difference in *how* they spend the budget. Each trial is reproducible from
its record: `result.train(number)` trains it again from its seed, and
`best_model` is the best trial trained again.
"""),
    code("""
print("same first 10 trials as random search:",
      [t.params for t in by_tpe.trials[:10]] == [t.params for t in by_random.trials[:10]])
best = by_tpe.best_trial
model, history = by_tpe.train(best.number)
print(f"trial {best.number}: recorded {best.value:.6f}, trained again {history.val_loss[-1]:.6f}")
measured = nn.evaluate(by_tpe.best_model, X, y, loss="bce_with_logits")
print(f"best model on all 100 points: accuracy {measured['accuracy']:.1%}")
"""),
    md("""
## Pruning

Many trials are hopeless after a few epochs. With `prune=True` (the default)
Optuna's `MedianPruner` looks at every trial's validation loss after each
epoch: once 5 trials have finished, a trial whose loss at epoch 5 or later is
worse than the median of the earlier trials at that epoch is stopped there.
The pruned trials are the grey lines that end early in the middle panel
above. Each record says when and why:
"""),
    code("""
for name, result in [("grid", by_grid), ("random", by_random), ("TPE", by_tpe)]:
    trained = sum(t.epochs for t in result.trials)
    pruned = [t for t in result.trials if t.state == "pruned"]
    print(f"{name:>6}: {len(pruned):2d} of 16 pruned, {trained} of {16 * 20} epochs trained")
print(pruned[0].reason)
"""),
    md("""
A pruned trial never becomes the best one, so pruning can only lose a trial
that was slow at first and good at the end; the median rule, which waits for
5 finished trials and 5 epochs, rarely does. `prune=False` trains every epoch
of every trial.

## A study that persists and resumes

A study kept in memory ends with the Python process. Give `storage` an
SQLAlchemy URL (`sqlite:///tune.db`, or `postgresql://user@host/db` for many
machines) or a journal file (`tune.journal`, for several processes on one
machine) and the study outlives it: calling `nn.tune` again with the same
`study` name adds trials to it. `trials` counts the trials *this* call runs,
so two calls of 4 leave 8. The study remembers its settings (space, data,
validation rows, seed) and refuses a call whose trials would not compare.
"""),
    code("""
import os, tempfile

folder = tempfile.mkdtemp()
storage = "sqlite:///" + os.path.join(folder, "tune.db")
small = dict(epochs=20, progress=False)
first = nn.tune(X, y, ranges, strategy="bayes", trials=4, storage=storage, study="moons",
                seed=1, **small)
again = nn.tune(X, y, ranges, strategy="bayes", trials=4, storage=storage, study="moons",
                **small)
print(repr(first))
print(repr(again))
try:
    nn.tune(X, y, {"lr": [0.1]}, strategy="bayes", storage=storage, study="moons", **small)
except ValueError as error:
    print("refused:", str(error).replace(folder, "<folder>")[:110], "...")
"""),
    md("""
The same study can be shared by several machines at once: each runs
`chainrule tune` (or `nn.tune`) with the same `--storage` and `--study`, and
Optuna's storage hands out the trials (see the README's two-machine recipe).
`workers=2` does the same with local processes.

## SGD, momentum, Adam and AdamW on one seed

Tuning compares settings; `viz.compare` shows a few runs side by side. The
same network, the same initial weights (seed 0), the same data and the same
learning rate, four optimizers:
"""),
    code("""
from viz import compare

optimizers = {
    "SGD": lambda p: nn.SGD(p, lr=0.05),
    "momentum 0.9": lambda p: nn.SGD(p, lr=0.05, momentum=0.9),
    "Adam": lambda p: nn.Adam(p, lr=0.05),
    "AdamW (decay 0.01)": lambda p: nn.AdamW(p, lr=0.05, weight_decay=0.01),
}
runs = {}
for name, make in optimizers.items():
    model = nn.MLP(2, [8, 8, 1], seed=0)
    runs[name] = nn.fit(model, X, y, loss="bce_with_logits", optimizer=make(model.parameters()),
                        epochs=30, validation=0.2, seed=0, progress=False)
compare(runs)
"""),
    md("""
Plain SGD at this rate is slow; momentum gathers speed along directions
whose gradient keeps its sign; Adam scales each weight's step by its own
gradient history and is fastest here. AdamW differs from Adam only by
shrinking every weight a little each step (decoupled weight decay), which in
30 epochs barely shows: a regulariser, not an accelerator.
"""),
]
