"""Pictures of convolutional and recurrent models: images, filters, feature maps, BPTT.

* ``plot_images(X, y=None)``: a grid of images (digits and the like), with
  their labels;
* ``plot_filters(conv)``: the weights of a ``Conv2d`` (or of the first one
  in a model), one small picture per (output channel, input channel) kernel,
  blue positive and red negative on one symmetric scale; ``show="grad"``
  draws their gradients instead;
* ``plot_feature_maps(model, image)``: the image and what each layer of a
  Sequential makes of it, one row per layer whose output is an image (the
  convolutions, activations and poolings), one column per channel;
* ``plot_bptt(loss, hidden_states)``: backpropagation through time as one
  number per step, the norm of dL/dh_t, on a log scale when it spans more
  than two decades: with tanh it shrinks step by step going back in time,
  the vanishing gradient.

Each returns a ``matplotlib.figure.Figure`` made without pyplot's global
state, as the other plots (see ``viz.plots``). Models run under
``autograd.no_grad()`` in eval mode (restored afterwards);
``plot_bptt`` uses ``autograd.grad`` and leaves every ``.grad`` alone.
"""

from __future__ import annotations

import math

import numpy as np

import autograd
from autograd import Value

from . import _style as S
from .plots import _figure

MAX_IMAGES = 100  # plot_images shows at most this many
MAX_CHANNELS = 16  # plot_feature_maps shows at most this many channels per layer


def _grid(count: int, columns: int, cell: float = 1.0, title_room: float = 0.3,
          least_width: float = 0.0):
    """A Figure with ``count`` image axes in rows of ``columns``, ticks and spines off."""
    rows = max(1, math.ceil(count / columns))
    width = max(least_width, cell * columns + 0.4)
    figure, _ = _figure(width, (cell + title_room) * rows + 0.5, 0)
    axes = [figure.add_subplot(rows, columns, i + 1) for i in range(count)]
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    return figure, axes


def _diverging():
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list(
        "chainrule_diverging",
        [S.NEGATIVE[0], S.NEGATIVE[2], S.NEUTRAL_FILL, S.POSITIVE[2], S.POSITIVE[0]],
    )


def _as_images(X) -> np.ndarray:
    """X as an array (n, H, W) or (n, H, W, 3): one channel, three (RGB), or square flat rows."""
    X = np.asarray(X, dtype=float)
    if X.ndim == 2:  # flat rows: square images of one channel, such as digits (n, 64)
        side = math.isqrt(X.shape[1])
        if side * side != X.shape[1]:
            raise ValueError(
                f"plot_images needs images of shape (n, C, H, W), (n, H, W) or flat square "
                f"rows (n, side * side); got shape {X.shape}"
            )
        return X.reshape(len(X), side, side)
    if X.ndim == 3:
        return X
    if X.ndim == 4 and X.shape[1] == 1:
        return X[:, 0]
    if X.ndim == 4 and X.shape[1] == 3:
        low, high = np.nanmin(X), np.nanmax(X)
        return np.moveaxis((X - low) / ((high - low) or 1.0), 1, -1)
    raise ValueError(
        f"plot_images needs images of shape (n, C, H, W) with 1 or 3 channels, (n, H, W) or "
        f"flat square rows; got shape {X.shape}"
    )


def plot_images(X, y=None, predictions=None, columns: int = 10, limit: int = 40):
    """A Figure of the first ``limit`` images of X in a grid, titled by label (and prediction)."""
    images = _as_images(X)
    if len(images) == 0:
        raise ValueError("plot_images: X holds no images")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_IMAGES:
        raise ValueError(f"limit must be an int from 1 to {MAX_IMAGES}, got {limit!r}")
    if not isinstance(columns, int) or isinstance(columns, bool) or columns < 1:
        raise ValueError(f"columns must be a positive int, got {columns!r}")
    labels = None if y is None else np.asarray(y).reshape(-1)
    guesses = None if predictions is None else np.asarray(predictions).reshape(-1)
    for name, values in (("y", labels), ("predictions", guesses)):
        if values is not None and len(values) != len(images):
            raise ValueError(f"X has {len(images)} images but {name} has {len(values)} labels")
    shown = images[:limit]
    figure, axes = _grid(len(shown), min(columns, len(shown)))
    for k, (ax, picture) in enumerate(zip(axes, shown, strict=True)):
        ax.imshow(picture, cmap="gray_r", interpolation="nearest")
        title, colour = "", S.DARK_TEXT
        if labels is not None:
            title = _label(labels[k])
        if guesses is not None:
            title = f"{title} → {_label(guesses[k])}" if title else _label(guesses[k])
            if labels is not None and guesses[k] != labels[k]:
                colour = S.NEGATIVE[0]  # a wrong prediction is red
        if title:
            ax.set_title(title, fontsize=8, color=colour, pad=2)
    if len(shown) < len(images):
        figure.suptitle(f"the first {len(shown)} of {len(images)} images", fontsize=9)
    return figure


def _label(value) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


def _first_conv(model):
    from nn import Conv2d

    if isinstance(model, Conv2d):
        return model
    for _, module in model.named_modules() if hasattr(model, "named_modules") else ():
        if isinstance(module, Conv2d):
            return module
    raise TypeError(f"plot_filters needs an nn.Conv2d or a model holding one, got "
                    f"{type(model).__name__}")


def plot_filters(conv, show: str = "data"):
    """A Figure of a Conv2d's kernels: one row per output channel, one column per input channel."""
    if show not in ("data", "grad"):
        raise ValueError(f"show must be 'data' or 'grad', got {show!r}")
    conv = _first_conv(conv)
    kernels = np.array([[[[getattr(w, show) for w in row] for row in channel]
                         for channel in out] for out in conv.weight])
    finite = np.abs(kernels[np.isfinite(kernels)])
    reach = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    outs, ins = kernels.shape[:2]
    # one row per output channel when there are several input channels, else rows of 8
    columns = ins if ins > 1 else min(outs, 8)
    figure, axes = _grid(outs * ins, columns, cell=0.9, title_room=0.25, least_width=4.0)
    cmap = _diverging()
    for o in range(outs):
        for c in range(ins):
            ax = axes[o * ins + c]
            shown = ax.imshow(kernels[o, c], cmap=cmap, vmin=-reach, vmax=reach,
                              interpolation="nearest")
            ax.set_title(f"filter {o}" + (f", in {c}" if ins > 1 else ""), fontsize=7, pad=2)
    what = "weights" if show == "data" else "gradients"
    kh, kw = conv.kernel_size
    figure.suptitle(f"the {outs} filters ({kh}x{kw}) of Conv2d({conv.in_channels}, {outs}): "
                    f"{what}, blue > 0 > red", fontsize=9)
    figure.colorbar(shown, ax=axes, shrink=0.8, label=what)
    return figure


def _stages(model) -> list:
    """(name, module) of each module a Sequential calls in turn, nested Sequentials opened."""
    from nn import Sequential

    if not isinstance(model, Sequential):
        return [("", model)]
    stages = []
    for i, child in enumerate(model.layers):
        for name, module in _stages(child):
            stages.append((f"layers.{i}" + (f".{name}" if name else ""), module))
    return stages


def _is_image(x) -> bool:
    return (isinstance(x, list) and x and isinstance(x[0], list) and x[0]
            and isinstance(x[0][0], list))


def _numbers(x) -> np.ndarray:
    if isinstance(x, Value):
        return np.array(x.data)
    return np.array([_numbers(item) for item in x], dtype=float)


def plot_feature_maps(model, image, limit: int = 8):
    """A Figure of the image and each image-shaped layer output of model on it (per channel).

    ``limit`` bounds the channels shown per layer (at most 16).
    """
    import nn

    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_CHANNELS:
        raise ValueError(f"limit must be an int from 1 to {MAX_CHANNELS}, got {limit!r}")
    stages = _stages(model)
    first = stages[0][1]
    channels = getattr(first, "in_channels", None)
    x = nn._shapes.image(image, channels, "plot_feature_maps")
    rows = [("input", _numbers(x))]
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        with autograd.no_grad():
            for name, module in stages:
                x = module(x)
                if _is_image(x):
                    rows.append((f"{name} {type(module).__name__}", _numbers(x)))
    finally:
        model.train(was_training)
    if len(rows) == 1:
        raise ValueError("plot_feature_maps: no layer of this model outputs an image "
                         "(expected Conv2d, MaxPool2d or activations on images)")
    columns = min(limit, max(len(maps) for _, maps in rows))
    figure, axes = _grid(len(rows) * columns, columns, cell=1.0, title_room=0.3)
    cmap = _diverging()
    for r, (name, maps) in enumerate(rows):
        finite = np.abs(maps[np.isfinite(maps)])
        reach = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
        for c in range(columns):
            ax = axes[r * columns + c]
            if c >= len(maps):
                ax.set_visible(False)
                continue
            if r == 0:
                ax.imshow(maps[c], cmap="gray_r", interpolation="nearest")
            else:
                ax.imshow(maps[c], cmap=cmap, vmin=-reach, vmax=reach, interpolation="nearest")
            label = f"{name}" if c == 0 else ""
            ax.set_title(f"{label}\nchannel {c}" if label else f"channel {c}", fontsize=7,
                         pad=2, loc="left" if c == 0 else "center")
    figure.suptitle("feature maps: what each layer makes of the image (blue > 0 > red)",
                    fontsize=9)
    return figure


def bptt_norms(loss: Value, hidden_states) -> np.ndarray:
    """The norm of dL/dh_t for each time step t (the mean over samples for a batch).

    ``hidden_states`` is an RNN's output on one sequence (T lists of Values)
    or on a batch (one such list per sample), all in ``loss``'s graph.
    """
    if not isinstance(loss, Value):
        raise TypeError(f"plot_bptt expects the loss as a Value, got {type(loss).__name__}")
    batch = hidden_states
    if not isinstance(batch, list) or not batch:
        raise ValueError("plot_bptt needs the hidden states: a non-empty list, one per step")
    if not (isinstance(batch[0], list) and batch[0] and isinstance(batch[0][0], list)):
        batch = [batch]  # one sequence
    steps = len(batch[0])
    for sample in batch:
        if len(sample) != steps or not all(isinstance(h, list) and h for h in sample):
            raise ValueError("plot_bptt: every sequence needs the same number of hidden states, "
                             "each a list of Values")
        for state in sample:
            for v in state:
                if not isinstance(v, Value):
                    raise TypeError(f"hidden states must hold Values, got {type(v).__name__}")
    flat = [v for sample in batch for state in sample for v in state]
    gradients = iter(g.data for g in autograd.grad(loss, flat))
    norms = np.zeros((len(batch), steps))
    for b, sample in enumerate(batch):
        for t, state in enumerate(sample):
            norms[b, t] = math.sqrt(math.fsum(next(gradients) ** 2 for _ in state))
    return norms.mean(axis=0)


def plot_bptt(loss: Value, hidden_states, title: str | None = None):
    """A Figure of ||dL/dh_t|| against the time step t: how much gradient reaches each step."""
    norms = bptt_norms(loss, hidden_states)
    figure, (ax,) = _figure(5.6, 3.4)
    steps = np.arange(len(norms))
    ax.plot(steps, norms, color=S.POSITIVE[0], marker="o", markersize=4, linewidth=1.8)
    ax.set_xlabel("time step t")
    ax.set_ylabel("‖dL/dh_t‖")
    ax.xaxis.get_major_locator().set_params(integer=True)
    positive = norms[norms > 0]
    if len(positive) == len(norms) and positive.max() / positive.min() > 100:
        ax.set_yscale("log")
    last = norms[-1]
    ratio = f", {norms[0] / last:.2g}x the last step's at t = 0" if last > 0 else ""
    ax.set_title(title or f"gradient reaching each hidden state{ratio}", fontsize=10, loc="left")
    return figure
