"""Training plots with matplotlib: ``plot_history`` and ``plot_decision_boundary``.

Both return a ``matplotlib.figure.Figure`` built without pyplot's global state
(no window opens, nothing leaks between calls), so they work the same in a
script, a test under the Agg backend and Jupyter, which displays them inline
as PNG (even in a kernel where no matplotlib backend was activated). Save one
with ``fig.savefig('loss.svg')``.

Decisions where the spec is silent:

- plot_history draws the loss and, when there is one, the metric side by
  side, train and validation per epoch; the loss axis turns logarithmic when
  the loss spans more than two decades (all positive), so the late epochs stay
  visible. ``history`` is an ``nn.History`` or any object or mapping with
  ``loss``, ``metric``, ``val_loss``, ``val_metric`` lists and
  ``metric_name``.
- plot_decision_boundary evaluates the model on a grid (on a compiled tape
  when the model traces, else point by point under ``autograd.no_grad()``)
  and in eval mode (dropout off; the mode is restored
  afterwards), on a ``resolution`` x ``resolution`` grid (at most 1000 per
  side, a million forward passes). A model with one output is a binary classifier: the boundary is
  where the output crosses ``threshold`` (0.5 when the last layer is a sigmoid,
  else 0, the sign of a score or logit); the background shades the output on
  the diverging palette. A model with several outputs predicts the argmax and
  the background shows the predicted class. The title gives the accuracy on
  (X, y).
"""

from __future__ import annotations

import io
import math
from functools import cache

import numpy as np

from . import _style as S

MAX_RESOLUTION = 1000  # a 1000 x 1000 grid is a million forward passes already
CLASS_COLOURS = ("#2166ac", "#b2182b", "#1b9e77", "#d95f02", "#7570b3", "#e7298a",
                 "#66a61e", "#e6ab02", "#a6761d", "#666666")


@cache
def _inline_figure_class():
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("viz's plots need matplotlib: pip install matplotlib") from error

    class InlineFigure(Figure):
        """A Figure that shows itself in Jupyter without pyplot or ``%matplotlib inline``."""

        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png")
            return buffer.getvalue()

    return InlineFigure


def _figure(width: float, height: float, columns: int = 1):
    figure = _inline_figure_class()(figsize=(width, height), dpi=110, layout="constrained")
    axes = [figure.add_subplot(1, columns, i + 1) for i in range(columns)]
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(True, color="#e6e6e6", linewidth=0.8)
        ax.set_axisbelow(True)
    return figure, axes


def _field(history, name: str, default=None):
    if isinstance(history, dict):
        return history.get(name, default)
    return getattr(history, name, default)


def plot_history(history):
    """A Figure of loss (and metric) per epoch, train and validation."""
    loss = [float(x) for x in _field(history, "loss", None) or []]
    if not loss:
        raise ValueError("plot_history: the history has no epochs (its loss list is empty)")
    metric = [float(x) for x in _field(history, "metric", None) or []]
    val_loss = [float(x) for x in _field(history, "val_loss", None) or []]
    val_metric = [float(x) for x in _field(history, "val_metric", None) or []]
    metric_name = _field(history, "metric_name", None) or "metric"
    best = _field(history, "best_epoch", None)

    figure, axes = _figure(9.0 if metric else 5.2, 3.4, 2 if metric else 1)
    panels = [(axes[0], "loss", loss, val_loss)]
    if metric:
        panels.append((axes[1], metric_name, metric, val_metric))
    for ax, name, train, validation in panels:
        epochs = np.arange(1, len(train) + 1)
        marker = "o" if len(train) <= 30 else None
        ax.plot(epochs, train, color=S.POSITIVE[0], marker=marker, markersize=3,
                linewidth=1.8, label="train")
        if validation:
            ax.plot(np.arange(1, len(validation) + 1), validation, color=S.NEGATIVE[0],
                    marker=marker, markersize=3, linewidth=1.8, linestyle="--",
                    label="validation")
        if best:
            ax.axvline(best, color="#888888", linewidth=1, linestyle=":", label="best epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(f"{name}: {train[-1]:.4g} after {len(train)} epochs", fontsize=10,
                     loc="left")
        ax.xaxis.get_major_locator().set_params(integer=True)
        if validation or best:
            ax.legend(frameon=False)
    finite = [x for x in loss + val_loss if math.isfinite(x)]
    if finite and min(finite) > 0 and max(finite) / min(finite) > 100:
        axes[0].set_yscale("log")
    return figure


def plot_decision_boundary(model, X, y, resolution: int = 100, threshold: float | None = None,
                           padding: float = 0.5):
    """A Figure of model's decision regions over the plane of X's two features, with (X, y)."""
    from nn._checks import numeric_array

    X = numeric_array(X, "X").astype(float, copy=False)  # nan or text: named, not a blank plot
    y = numeric_array(y, "y").reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary needs X of shape (n, 2), got {X.shape}")
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or not (
        2 <= resolution <= MAX_RESOLUTION
    ):
        raise ValueError(
            f"resolution must be an int from 2 to {MAX_RESOLUTION} (grid points per side), "
            f"got {resolution!r:.40}"
        )

    low, high = X.min(axis=0) - padding, X.max(axis=0) + padding
    xs, ys = np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    points = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    grid_out = _outputs(model, points)
    data_out = _outputs(model, X)
    classes = np.unique(y)

    figure, (ax,) = _figure(5.2, 4.6)
    from matplotlib.colors import LinearSegmentedColormap, ListedColormap

    ax.grid(False)  # the picture is the background

    extent = (low[0], high[0], low[1], high[1])
    if grid_out.shape[1] == 1:
        if threshold is None:
            threshold = 0.5 if _last_activation(model) == "sigmoid" else 0.0
        score = grid_out[:, 0].reshape(grid_x.shape) - threshold
        reach = float(np.nanpercentile(np.abs(score), 95)) or 1.0
        shades = LinearSegmentedColormap.from_list(
            "chainrule",
            [S.NEGATIVE[1], S.NEGATIVE[2], S.NEUTRAL_FILL, S.POSITIVE[2], S.POSITIVE[1]],
        )
        ax.imshow(score, extent=extent, origin="lower", cmap=shades, vmin=-reach, vmax=reach,
                  alpha=0.6, interpolation="bilinear", aspect="auto")
        ax.contour(grid_x, grid_y, score, levels=[0.0], colors="#222222", linewidths=1.6)
        negative, positive = classes.min(), classes.max()
        predicted = np.where(data_out[:, 0] > threshold, positive, negative)
        colours = {negative: S.NEGATIVE[0], positive: S.POSITIVE[0]}
    else:
        count = grid_out.shape[1]
        regions = np.argmax(grid_out, axis=1).reshape(grid_x.shape)
        palette = ListedColormap([CLASS_COLOURS[i % len(CLASS_COLOURS)] for i in range(count)])
        ax.imshow(regions, extent=extent, origin="lower", cmap=palette, vmin=-0.5,
                  vmax=count - 0.5, alpha=0.28, interpolation="nearest", aspect="auto")
        for k in np.unique(regions):  # each border once per side: drawn over itself
            ax.contour(grid_x, grid_y, (regions == k).astype(float), levels=[0.5],
                       colors="#222222", linewidths=1.0)
        predicted = np.argmax(data_out, axis=1)
        colours = {c: CLASS_COLOURS[int(c) % len(CLASS_COLOURS)] for c in classes}
    for label in classes:
        chosen = y == label
        name = f"{label:g}" if isinstance(label, (float, np.floating)) else str(label)
        ax.scatter(X[chosen, 0], X[chosen, 1], s=28, color=colours.get(label, "#444444"),
                   edgecolors="white", linewidths=0.8, label=f"class {name}", zorder=3)
    accuracy = float(np.mean(predicted == y))
    ax.set_title(f"decision boundary · accuracy {accuracy:.1%} on these points", fontsize=10,
                 loc="left")
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.legend(frameon=True, framealpha=0.85, loc="best", fontsize=8)
    return figure


def _outputs(model, points: np.ndarray) -> np.ndarray:
    """The model's outputs (one row per point) in eval mode: on a compiled tape when the model
    traces (``nn.tape_engine.outputs``: a grid of points in one replay), else point by point."""
    from nn.tape_engine import outputs

    return outputs(model, points)


def _last_activation(model) -> str | None:
    layers = getattr(model, "layers", None)
    if not layers:
        return None
    neurons = getattr(layers[-1], "neurons", None) or [None]
    return getattr(neurons[0], "activation", None)
