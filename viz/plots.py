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
# Class k's colour, the same in every plot: the first two are the binary plot's red (the lower
# label, negative scores) and blue (the higher label), so 2-class and 3-class plots agree.
CLASS_COLOURS = ("#b2182b", "#2166ac", "#1b9e77", "#d95f02", "#7570b3", "#e7298a",
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
        ax.set_title(_history_title(name, train, best), fontsize=10, loc="left")
        ax.xaxis.get_major_locator().set_params(integer=True)
        if validation or best:
            ax.legend(frameon=False)
    finite = [x for x in loss + val_loss if math.isfinite(x)]
    if finite and min(finite) > 0 and max(finite) / min(finite) > 100:
        axes[0].set_yscale("log")
    return figure


def _history_title(name: str, values: list, best) -> str:
    """``accuracy: 100.0% after 60 epochs``; after early stopping, the restored epoch's value:
    ``loss: 0.12 at epoch 14 (restored; 24 epochs run)``. Accuracy reads as a percentage, as
    the decision boundary's title gives it."""
    def shown(value: float) -> str:
        return f"{value:.1%}" if name == "accuracy" else f"{value:.4g}"

    if best and 1 <= best <= len(values):
        return f"{name}: {shown(values[best - 1])} at epoch {best} (restored; {len(values)} " \
               "epochs run)"
    return f"{name}: {shown(values[-1])} after {len(values)} epochs"


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
    from matplotlib.colors import LinearSegmentedColormap

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
        colours = {negative: CLASS_COLOURS[0], positive: CLASS_COLOURS[1]}
    else:
        # Output k is label k (labels 0 .. count - 1), else the k-th label in sorted order
        # (as the scikit-learn wrapper maps labels): regions, points and legend share
        # CLASS_COLOURS[k]. Each region is filled and outlined where its
        # margin over the best other output crosses 0, interpolated between grid points,
        # so boundaries are smooth lines, not the grid's staircase.
        count = grid_out.shape[1]
        for k in range(count):
            others = np.delete(grid_out, k, axis=1).max(axis=1) if count > 1 else 0.0
            margin = (grid_out[:, k] - others).reshape(grid_x.shape)
            if np.nanmax(margin) <= 0:
                continue
            colour = CLASS_COLOURS[k % len(CLASS_COLOURS)]
            ax.contourf(grid_x, grid_y, margin, levels=[0.0, np.inf], colors=[colour],
                        alpha=0.28, antialiased=True)
            if np.nanmin(margin) < 0:
                ax.contour(grid_x, grid_y, margin, levels=[0.0], colors="#222222",
                           linewidths=1.0)
        output_of = _class_outputs(classes, count)
        label_of = {k: c for c, k in output_of.items()}
        predicted = np.array([label_of.get(k, np.nan) for k in np.argmax(data_out, axis=1)])
        colours = {c: CLASS_COLOURS[k % len(CLASS_COLOURS)] for c, k in output_of.items()}
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
    ax.set_xlabel("x₀")  # numbered from 0, as draw_network's inputs and Python's indices
    ax.set_ylabel("x₁")
    ax.legend(frameon=True, framealpha=0.85, loc="best", fontsize=8)
    return figure


def _class_outputs(classes, count: int) -> dict:
    """label -> the output that scores it: the label itself for labels 0 .. count - 1, else
    its place among the sorted labels."""
    if all(float(c).is_integer() and 0 <= c < count for c in classes):
        return {c: int(c) for c in classes}
    return {c: k for k, c in enumerate(classes)}


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
