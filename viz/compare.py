"""``compare(histories)``: several training runs overlaid on one Figure.

    >>> import nn, viz
    >>> X, y = nn.data.moons(200, noise=0.2, seed=0)
    >>> runs = {name: nn.fit(nn.MLP(2, [16, 16, 1], seed=0), X, y, loss="bce_with_logits",
    ...                      optimizer=name, epochs=60, validation=0.2, seed=0, progress=False)
    ...         for name in ("sgd", "adam", "adamw")}
    >>> viz.compare(runs)

One colour per run; training solid, validation dashed. The loss panel comes
first, then the metric (when every run has one, under the same name). The
loss axis turns logarithmic when the losses span more than two decades, as
in ``plot_history``. Each run's final validation (else training) loss is in
the legend, so the winner reads off at once.
"""

from __future__ import annotations

import math

import numpy as np

from .plots import CLASS_COLOURS, _field, _figure


def compare(histories, title: str | None = None):
    """A Figure of the runs in ``histories`` (a dict name -> nn.History), loss and metric."""
    if not hasattr(histories, "items") or not histories:
        raise ValueError("compare needs a non-empty dict of name -> History, e.g. "
                         "{'sgd': history_sgd, 'adam': history_adam}")
    runs = []
    for name, history in histories.items():
        loss = [float(x) for x in _field(history, "loss", None) or []]
        if not loss:
            raise ValueError(f"compare: the run {name!r} has no epochs (its loss list is empty)")
        runs.append((str(name), history, loss))
    metric_names = {_field(h, "metric_name", None) for _, h, _ in runs}
    with_metric = all(_field(h, "metric", None) for _, h, _ in runs) and len(metric_names) == 1
    figure, axes = _figure(9.6 if with_metric else 5.6, 3.6, 2 if with_metric else 1)
    panels = [(axes[0], "loss", "loss", "val_loss")]
    if with_metric:
        panels.append((axes[1], metric_names.pop() or "metric", "metric", "val_metric"))
    everything = []
    for ax, label, train_field, val_field in panels:
        for index, (name, history, _) in enumerate(runs):
            colour = CLASS_COLOURS[index % len(CLASS_COLOURS)]
            train = [float(x) for x in _field(history, train_field, None) or []]
            validation = [float(x) for x in _field(history, val_field, None) or []]
            final = validation[-1] if validation else train[-1]
            ax.plot(np.arange(1, len(train) + 1), train, color=colour, linewidth=1.6,
                    label=f"{name} ({final:.3g})")
            if validation:
                ax.plot(np.arange(1, len(validation) + 1), validation, color=colour,
                        linewidth=1.6, linestyle="--")
            if train_field == "loss":
                everything += train + validation
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(frameon=False, fontsize=8, title="final (val) " + label, title_fontsize=8)
    dashed = any(_field(h, "val_loss", None) for _, h, _ in runs)
    axes[0].set_title(title or ("training solid, validation dashed" if dashed else "training"),
                      fontsize=10, loc="left")
    finite = [x for x in everything if math.isfinite(x)]
    if finite and min(finite) > 0 and max(finite) / min(finite) > 100:
        axes[0].set_yscale("log")
    return figure
