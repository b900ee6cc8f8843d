"""The training player: scrub back and forth through a training run, epoch by epoch.

``training_player(history, model, X, y)`` needs ``fit(..., snapshots=True)``:
``history.snapshots`` holds the parameters before training (epoch 0) and
after each epoch. The player loads each snapshot into the model in turn and
writes one frame per epoch into one self-contained page (``viz._page``, the
stepper's machinery): an epoch slider, Prev/Play/Next and the arrow keys,
and at the chosen epoch

- for a classifier with two inputs, the decision boundary over the data (the
  model's output on a ``resolution`` x ``resolution`` grid, shaded as
  ``plot_decision_boundary`` shades it, with the boundary line; points the
  model gets wrong at that epoch are ringed); for a regression, predicted
  against true values; for a classifier with other inputs, the confusion
  matrix;
- the loss (and validation loss, and the metric) per epoch, with a cursor;
- the network as ``draw_network`` draws it with that epoch's weights: the
  page holds ``draw_network``'s own picture of the last epoch and, per
  epoch, the colours, widths and texts of ``draw_network``'s picture of that
  epoch's snapshot, so every edge looks exactly as ``draw_network`` would
  draw it;
- for each chosen sample (click its numbered point, or its tab), its forward
  values (each neuron's ``z = w·x + b`` and activation) and its backward pass
  at that epoch: the loss of that one sample, and per neuron and per
  parameter the chain-rule record as the stepper writes it, ``dL/d(w.1) +=
  dL/d(w·x) * ∂(w·x)/∂(w.1) = ... (total ...)``, with the names
  ``named_parameters()`` gives, as ``draw_network``'s tooltips and
  ``step_through(..., names=model)`` use them.

Decisions where the spec is silent:

- The samples' passes and the pictures use the model in eval mode (no
  dropout) and the loss without ``l1``/``l2`` penalties; ``loss`` defaults to
  the one fit recorded (``history.loss_name``); a callable loss must be
  given again. With ``loss="hinge"`` labels 0/1 are read as -1/+1, as fit does.
- ``samples=k`` picks k points spread over the final margin (how far the
  point is on the right side: the signed score, the true class's logit over
  the best other, or minus the error), from the worst (misclassified if any
  is) to the most confident; a list picks those rows of X.
- The grid of an ``nn.MLP`` is evaluated with numpy from each snapshot's
  weights (one matrix product per layer): the same function as the scalar
  engine up to the rounding of sums (the engine's ``dot`` is an exactly
  rounded ``math.fsum``), checked on rows of every frame against the engine
  before it is used; any other model goes through the scalar engine, point
  by point (slow: use a smaller ``resolution``).
- Size. A frame holds the grid (``resolution``² bytes, base64), the network's
  edge styles (about 12 bytes per weight), and per sample about 10 bytes per
  parameter; the data points are written once (about 20 bytes each) and a
  bit per point per frame. The moons demo (MLP 2-16-16-1, 200 points, 60
  epochs, 3 samples) makes about 2 MB. When the frames would make the page
  larger than ``max_megabytes`` (or there are more than ``max_frames``
  snapshots), the player shows evenly spaced epochs only, always the first
  and the last, and says so; above ``max_points`` points the picture shows
  an evenly spaced subset (the samples always).
"""

from __future__ import annotations

import base64
import io
import json
import math
import numbers
import re
import xml.etree.ElementTree as ET

import numpy as np

import autograd

from . import _page, _style
from ._trace import term, trace

_NO_PASSES = (
    "The samples' backward passes need an nn.MLP (layers of neurons computing "
    "activation(w·x + b)): not shown for this model."
)
_CODE_BYTES = 60_000  # the page's CSS, JavaScript and HTML around the data, generously
_CLASSIFICATION = ("bce", "bce_with_logits", "hinge", "cross_entropy")
_CHECKED_ROWS = 8  # rows of each frame compared between numpy and the scalar engine


def training_player(
    history,
    model,
    X,
    y,
    samples=3,
    *,
    loss=None,
    resolution: int = 60,
    precision: int = 4,
    max_frames: int = 201,
    max_megabytes: float = 5.0,
    max_points: int = 1000,
    input_names=None,
    progress: bool = True,
) -> TrainingPlayer:
    """A player of the training run in ``history`` (see the module docstring).

    history: from ``fit(model, ..., snapshots=True)``; model: the model fit
    trained (its parameters are put back as they were); X, y: the points to
    show (e.g. the training data); samples: how many points to follow
    through their backward pass, or a list of row indices of X; progress: a
    bar over the epochs while the frames are computed (as fit's).
    """
    return TrainingPlayer(
        history, model, X, y, samples, loss=loss, resolution=resolution, precision=precision,
        max_frames=max_frames, max_megabytes=max_megabytes, max_points=max_points,
        input_names=input_names, progress=progress,
    )


class TrainingPlayer(_page.Page):
    """Frames of a training run, one per shown epoch; displays itself in Jupyter.

    ``epochs``: the snapshot indices shown (0 is before training);
    ``samples``: the rows of X followed through their backward pass;
    ``kind``: 'boundary', 'regression' or 'confusion' (the main picture).
    """

    kind = "crp"
    css = ("player.css",)
    js = ("player.js",)
    entry = "chainrulePlayer"
    what = "The training player"

    def __init__(self, history, model, X, y, samples=3, *, loss=None, resolution=60,
                 precision=4, max_frames=201, max_megabytes=5.0, max_points=1000,
                 input_names=None, progress=True):
        snapshots = _snapshots_of(history)
        self.precision = _count(precision, "precision", least=0)
        self.resolution = _count(resolution, "resolution", least=2)
        max_frames = _count(max_frames, "max_frames", least=2)
        max_points = _count(max_points, "max_points", least=1)
        if not isinstance(max_megabytes, numbers.Real) or not max_megabytes > 0:
            raise ValueError(f"max_megabytes must be a positive number, got {max_megabytes!r}")
        if not hasattr(model, "load_state_dict") or not hasattr(model, "named_parameters"):
            raise TypeError(f"training_player needs an nn.Module, got {type(model).__name__}")
        X, y = _data(X, y)
        loss_name, loss_fn = _loss(loss, history)
        self._model, self._loss_fn, self._loss_name = model, loss_fn, loss_name
        self._named = dict(model.named_parameters())
        kept = {name: (p.data, p.grad) for name, p in self._named.items()}
        was_training = getattr(model, "training", False)
        try:
            if hasattr(model, "eval"):
                model.eval()
            self._build(history, snapshots, X, y, samples, max_frames, max_megabytes,
                        max_points, input_names, progress)
        finally:
            for name, (data, grad) in kept.items():
                self._named[name].data, self._named[name].grad = data, grad
            if hasattr(model, "train"):
                model.train(was_training)

    # -- building --------------------------------------------------------------------------

    def _build(self, history, snapshots, X, y, samples, max_frames, max_megabytes, max_points,
               input_names, progress):
        self._load(snapshots[-1], len(snapshots) - 1)
        nin = X.shape[1]
        if input_names is None:
            input_names = [f"x{_subscript(i)}" for i in range(nin)]
        self.input_names = [str(name) for name in input_names]
        if len(self.input_names) != nin:
            raise ValueError(
                f"input_names has {len(self.input_names)} names, X has {nin} columns"
            )
        self._forward = _Forward(self._model)
        final = self._forward(X)
        classify = self._loss_name in _CLASSIFICATION or (
            self._loss_name not in ("mse",) and getattr(history, "metric_name", "") == "accuracy"
        )
        self.kind_of_plot = ("boundary" if nin == 2 else "confusion") if classify else "regression"
        self._targets = _signed(y) if self._loss_name == "hinge" else y
        self._task = _Task(self.kind_of_plot, self._model, y, final.shape[1])
        self.samples = _choose_samples(samples, self._task.margins(final), len(X))
        shown = _shown_points(len(X), max_points, self.samples)
        self._X, self._y, self._shown = X, y, shown
        self._network = _Network.of(self._model, self.input_names)
        self._passes = _Passes.of(self._model) if self.samples else None
        self.sample_note = _NO_PASSES if self._passes is None and self.samples else ""
        if self._passes is None:
            self.samples = []
        if self.kind_of_plot == "boundary":
            self._grid = _grid(X, self.resolution)

        # The last epoch first: its frame and the fixed parts size the page.
        last = len(snapshots) - 1
        try:
            base_frame = self._frame(snapshots[last], last, final)
        except _Unreadable:  # layers of neurons, but not the graph an nn.MLP makes
            self.sample_note = _NO_PASSES
            self.samples = []
            base_frame = self._frame(snapshots[last], last, final)
        self._curves = _curves(history, last)
        static = self._static()
        self._pictures = self._fallback_pictures(history, snapshots[last])
        fixed = len(json.dumps(static, separators=(",", ":"))) + _CODE_BYTES
        fixed += sum(len(uri) for uri, _ in self._pictures)
        per_frame = len(json.dumps(base_frame, separators=(",", ":")))
        if self._network is not None:
            fixed += self._network.picture_bytes(self._model)
            per_frame += self._network.frame_bytes
        budget = int(max_megabytes * 1_000_000) - fixed
        count = min(len(snapshots), max_frames, max(2, budget // max(1, per_frame)))
        self.epochs = _spread(len(snapshots), count)
        frames = []
        bar = _progress_bar(len(self.epochs), progress)
        try:
            for epoch in self.epochs:
                frames.append(base_frame if epoch == last
                              else self._frame(snapshots[epoch], epoch, None))
                if bar is not None:
                    bar.update(1)
            if self._network is not None:
                network_frames, self._network_svg = self._network.frames(
                    self._model, [snapshots[e] for e in self.epochs], self._load_state
                )
                for frame, styles in zip(frames, network_frames, strict=True):
                    frame["net"] = styles
                static["network"] = self._network.static()
            else:
                self._network_svg = None
        finally:
            if bar is not None:
                bar.close()
        self._data = {**static, "frames": frames}

    def _load(self, state, epoch) -> None:
        try:
            self._model.load_state_dict(state)
        except ValueError as error:
            raise ValueError(
                f"history.snapshots[{epoch}] does not fit this model: {error}"
            ) from None

    def _load_state(self, state) -> None:
        self._model.load_state_dict(state)

    def _frame(self, state, epoch, outputs) -> dict:
        """One epoch: the picture's data, and each sample's forward and backward pass."""
        self._load(state, epoch)
        if outputs is None:
            outputs = self._forward(self._X)
        frame = {"plot": self._task.frame(outputs, self._shown, self._forward, self,
                                          self.precision)}
        if self.samples:
            frame["samples"] = [
                self._passes.record(self._model, self._X[i], self._targets[i], self._loss_fn,
                                    self.precision)
                for i in self.samples
            ]
        return frame

    def _static(self) -> dict:
        number = lambda x: _style.fmt(float(x), self.precision)
        X, y = self._X, self._y
        data = {
            "kind": self.kind_of_plot,
            "inputNames": self.input_names,
            "curves": self._curves,
            "plot": self._task.static(X, y, self._shown, self),
            "lossName": self._loss_name,
            "sampleNote": self.sample_note,
            "totalEpochs": self._curves["epochs"],
            "terms": {"loss": "L", "z": "z", "a": "a", "dot": term("w·x")},
            "one": number(1.0),
        }
        if self.samples:
            data["structure"] = self._passes.structure
            data["samples"] = [
                {
                    "index": int(i),
                    "point": self._shown.index(i),
                    "x": [number(v) for v in X[i]],
                    "target": _label_text(self._targets[i]),
                    "label": _label_text(y[i]),
                }
                for i in self.samples
            ]
        return data

    def _fallback_pictures(self, history, last_state) -> list[tuple[str, str]]:
        """The static pictures of the last epoch: main picture, curves, network."""
        from .plots import plot_decision_boundary, plot_history

        self._load_state(last_state)
        pictures = []
        if self.kind_of_plot == "boundary":
            # coarser than the frames: it goes through the scalar engine point by point
            figure = plot_decision_boundary(self._model, self._X, self._y,
                                            resolution=min(self.resolution, 40))
            pictures.append((_page.png_data_uri(_png(figure)),
                             "the decision boundary after the last epoch"))
        if self._curves["loss"]:
            pictures.append((_page.png_data_uri(_png(plot_history(history))),
                             "the loss per epoch"))
        return pictures

    # -- the page ----------------------------------------------------------------------------

    def __len__(self) -> int:
        """The number of frames (shown epochs)."""
        return len(self.epochs)

    def __repr__(self) -> str:
        return (
            f"<TrainingPlayer: {len(self.epochs)} of {self._curves['epochs'] + 1} epochs, "
            f"{self.kind_of_plot}, {len(self.samples)} samples; display it in Jupyter or "
            ".save('training.html')>"
        )

    def _title(self) -> str:
        return f"Training over {self._curves['epochs']} epochs"

    def _content(self, container: str):
        pictures = list(self._pictures)
        data = {**self._data, "epochs": self.epochs}
        data["networkPicture"] = -1
        if self._network_svg is not None:
            svg = _page.prefix_ids(self._network_svg, container)
            # The script reads the network's SVG back from its picture (viz._page).
            data["networkPicture"] = len(pictures)
            pictures.append((_page.svg_data_uri(svg), "the network after the last epoch"))
        return data, pictures


# -- arguments ---------------------------------------------------------------------------------


def _count(value, name: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise ValueError(f"{name} must be an int >= {least}, got {value!r}")
    return int(value)


def _snapshots_of(history) -> list:
    snapshots = getattr(history, "snapshots", None)
    if snapshots is None:
        raise TypeError(f"training_player needs an nn.History, got {type(history).__name__}")
    if not snapshots:
        raise ValueError(
            "history.snapshots is empty: train with fit(..., snapshots=True) to keep the "
            "parameters of every epoch"
        )
    # Ctrl-C between an epoch's record and its snapshot leaves one snapshot fewer.
    return list(snapshots)


def _data(X, y):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"X must have shape (rows, features) with at least one row, got {X.shape}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(
            f"X has {len(X)} rows but y has shape {y.shape}: expected one target per row"
        )
    if not np.all(np.isfinite(X)):
        raise ValueError("X holds nan or inf values")
    try:
        y = y.astype(float)
    except ValueError:
        raise ValueError("y must hold numbers (class indices or values)") from None
    return X, y


def _loss(loss, history):
    from nn.losses import LOSSES

    if loss is None:
        loss = getattr(history, "loss_name", None)
        if loss is None or loss not in LOSSES:
            raise ValueError(
                "training_player needs the loss fit used: pass loss='bce_with_logits' (or the "
                f"callable); history records {loss!r}"
            )
    if callable(loss):
        return getattr(loss, "__name__", "loss"), loss
    if loss not in LOSSES:
        raise ValueError(
            f"unknown loss {loss!r}: expected one of {', '.join(LOSSES)} or a callable"
        )
    return loss, LOSSES[loss]


def _signed(y):
    """Labels 0/1 as -1/+1, as fit reads them for the hinge loss."""
    from nn.train import _signed as signed

    return signed(y)


def _choose_samples(samples, margins, n: int) -> list[int]:
    if isinstance(samples, bool):
        raise TypeError("samples must be a number of samples or a list of row indices, not a bool")
    if isinstance(samples, numbers.Integral):
        k = int(samples)
        if k < 0:
            raise ValueError(f"samples must be >= 0, got {k}")
        k = min(k, n)
        if k == 0:
            return []
        ranked = np.argsort(margins, kind="stable")  # worst first
        picks = [int(ranked[int(round(r))]) for r in np.linspace(0, n - 1, k)]
        return list(dict.fromkeys(picks))
    try:
        chosen = list(samples)
    except TypeError:
        raise TypeError(
            f"samples must be a number or a list of row indices, got {type(samples).__name__}"
        ) from None
    for i in chosen:
        if isinstance(i, bool) or not isinstance(i, numbers.Integral) or not 0 <= i < n:
            raise ValueError(f"samples must be row indices of X in 0..{n - 1}, got {i!r}")
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"samples lists a row twice: {chosen}")
    return [int(i) for i in chosen]


def _shown_points(n: int, limit: int, samples: list[int]) -> list[int]:
    if n <= limit:
        return list(range(n))
    picked = {int(round(r)) for r in np.linspace(0, n - 1, limit)} | set(samples)
    return sorted(picked)


def _spread(total: int, count: int) -> list[int]:
    """count indices evenly spread over 0..total-1, the first and the last included."""
    if count >= total:
        return list(range(total))
    return sorted({int(round(r)) for r in np.linspace(0, total - 1, count)})


def _label_text(value) -> str:
    value = float(value)
    return str(int(value)) if value == int(value) else _style.fmt(value, 4)


def _subscript(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def _finite_or_none(values) -> list:
    return [float(v) if math.isfinite(v) else None for v in values]


def _curves(history, last: int) -> dict:
    """The per-epoch curves up to the last snapshot, and whether the loss axis is logarithmic."""
    loss = [float(v) for v in getattr(history, "loss", [])][:last]
    val_loss = [float(v) for v in getattr(history, "val_loss", [])][:last]
    metric = [float(v) for v in getattr(history, "metric", [])][:last]
    finite = [v for v in loss + val_loss if math.isfinite(v)]
    return {
        "epochs": last,
        "loss": _finite_or_none(loss),
        "valLoss": _finite_or_none(val_loss),
        "metric": _finite_or_none(metric),
        "valMetric": _finite_or_none(getattr(history, "val_metric", [])[:last]),
        # the numbers the title prints, as plot_history's titles print them
        "text": {name: [f"{v:.4g}" for v in values]
                 for name, values in (("loss", loss), ("valLoss", val_loss), ("metric", metric))},
        "metricName": getattr(history, "metric_name", None) or "",
        "bestEpoch": getattr(history, "best_epoch", None),
        # as plot_history: logarithmic when the loss spans more than two decades
        "log": bool(finite and min(finite) > 0 and max(finite) / min(finite) > 100),
    }


def _progress_bar(total: int, enabled: bool):
    from nn.train import _progress_bar as bar  # fit's bar: tqdm, text or Jupyter widget

    return bar(total, enabled, desc="training_player")


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


# -- the model's outputs -----------------------------------------------------------------------


class _Forward:
    """The model's outputs on many rows: numpy for an nn.MLP (checked), else the scalar engine."""

    def __init__(self, model):
        self.model = model
        self.layers = _mlp_layers(model)

    def __call__(self, rows: np.ndarray, check: bool = True) -> np.ndarray:
        """The outputs on rows; check: compare a few rows with the engine first (once a frame)."""
        if self.layers is not None:
            fast = self._numpy(rows)
            if not check:
                return fast
            picked = np.linspace(0, len(rows) - 1, min(_CHECKED_ROWS, len(rows))).astype(int)
            if _close(fast[picked], self.scalar(rows[picked])):
                return fast
            self.layers = None  # not the function numpy computes: the engine from now on
        return self.scalar(rows)

    def scalar(self, rows: np.ndarray) -> np.ndarray:
        with autograd.no_grad():
            outputs = self.model.forward_batch(rows.tolist())
        return np.array([[float(v) for v in out] if isinstance(out, (list, tuple))
                         else [float(out)] for out in outputs], dtype=float)

    def _numpy(self, rows: np.ndarray) -> np.ndarray:
        h = rows
        for neurons, activate in self.layers:
            weights = np.array([[w.data for w in n.w] for n in neurons])
            biases = np.array([n.b.data for n in neurons])
            h = activate(h @ weights.T + biases)
        return h


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    return bool(np.all(same | np.isclose(a, b, rtol=1e-9, atol=1e-12)))


def _sigmoid(z):
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


_NUMPY_ACTIVATIONS = {
    "relu": lambda z: np.where(z > 0.0, z, 0.0),
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "leaky_relu": lambda z: np.where(z > 0.0, z, z * 0.01),
    "linear": lambda z: z,
}


def _mlp_layers(model):
    """[(neurons, numpy activation)] for an nn.MLP, else None (the scalar engine is used)."""
    from nn import MLP

    if not isinstance(model, MLP):
        return None
    layers = []
    for layer in model.layers:
        neurons = getattr(layer, "neurons", None)
        if not neurons:
            return None
        activation = getattr(neurons[0], "activation", None)
        if activation not in _NUMPY_ACTIVATIONS:
            return None
        if any(getattr(n, "activation", None) != activation for n in neurons):
            return None
        layers.append((neurons, _NUMPY_ACTIVATIONS[activation]))
    return layers


def _grid(X: np.ndarray, resolution: int, padding: float = 0.5) -> dict:
    """The plane around X's two columns, as plot_decision_boundary spans it."""
    low, high = X.min(axis=0) - padding, X.max(axis=0) + padding
    xs, ys = np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    return {
        "xs": xs, "ys": ys, "points": np.column_stack([grid_x.ravel(), grid_y.ravel()]),
        "extent": [float(low[0]), float(high[0]), float(low[1]), float(high[1])],
    }


# -- the main picture ----------------------------------------------------------------------------


def _bits(flags) -> str:
    return base64.b64encode(np.packbits(np.asarray(flags, dtype=bool), bitorder="little")
                            .tobytes()).decode("ascii")


def _short(x: float) -> float | None:
    """A coordinate for the picture: 5 significant digits are plenty on screen."""
    return float(f"{x:.5g}") if math.isfinite(x) else None


class _Task:
    """What the main picture shows, and how outputs become predictions."""

    def __init__(self, kind: str, model, y: np.ndarray, outputs: int):
        from .plots import _last_activation

        self.kind, self.outputs = kind, outputs
        from .plots import _class_outputs

        self.classes = np.unique(y)
        self.threshold = 0.5 if _last_activation(model) == "sigmoid" else 0.0
        self.y = y
        # label -> the output scoring it, as plot_decision_boundary maps them (labels 1, 2, 3
        # are scored by outputs 0, 1, 2 and shown as themselves)
        self.output_of = _class_outputs(self.classes, outputs) if kind != "regression" else {}

    def predicted(self, outputs: np.ndarray) -> np.ndarray:
        """The predicted label of each row (classification)."""
        if self.outputs == 1:
            negative, positive = self.classes.min(), self.classes.max()
            return np.where(outputs[:, 0] > self.threshold, positive, negative)
        label_of = {k: c for c, k in self.output_of.items()}
        return np.array([label_of.get(k, np.nan) for k in np.argmax(outputs, axis=1)],
                        dtype=float)

    def margins(self, outputs: np.ndarray) -> np.ndarray:
        """How far each row is on the right side at the end (negative: wrong)."""
        if self.kind == "regression":
            return -np.abs(outputs[:, 0] - self.y) if self.outputs == 1 else -np.abs(
                outputs - self.y[:, None]).sum(axis=1)
        if self.outputs == 1:
            positive = self.y == self.classes.max()
            score = outputs[:, 0] - self.threshold
            return np.where(positive, score, -score)
        index = np.array([self.output_of[c] for c in self.y], dtype=int)
        rows = np.arange(len(outputs))
        right = outputs[rows, index]
        others = outputs.copy()
        others[rows, index] = -np.inf
        return right - others.max(axis=1)

    def colours(self) -> list[str]:
        from .plots import CLASS_COLOURS

        if self.outputs == 1 and len(self.classes) <= 2:
            return [_style.NEGATIVE[0], _style.POSITIVE[0]][: len(self.classes)]
        return [CLASS_COLOURS[self.output_of[c] % len(CLASS_COLOURS)] for c in self.classes]

    def static(self, X, y, shown, player) -> dict:
        if self.kind == "boundary":
            grid = player._grid
            class_of = {c: k for k, c in enumerate(self.classes)}
            return {
                "extent": grid["extent"],
                "resolution": player.resolution,
                "palette": self._palette(),
                "points": [[_short(X[i, 0]), _short(X[i, 1]), class_of[y[i]]] for i in shown],
                "classes": [_label_text(c) for c in self.classes],
                "colours": self.colours(),
            }
        if self.kind == "confusion":
            return {"classes": [_label_text(c) for c in self.classes], "colours": self.colours()}
        truth = [_short(y[i]) for i in shown]
        return {"truth": truth, "outputs": self.outputs}

    def _palette(self) -> list:
        """RGB of each grid byte: 0 non-finite; binary 1..255 the score, multi-class the class."""
        from matplotlib.colors import LinearSegmentedColormap, to_rgb

        white = np.ones(3)
        nonfinite = [int(round(255 * c)) for c in to_rgb(_style.NONFINITE_FILL)]
        if self.outputs == 1:
            # plot_decision_boundary's shades, drawn at alpha 0.6 over white
            shades = LinearSegmentedColormap.from_list(
                "chainrule", [_style.NEGATIVE[1], _style.NEGATIVE[2], _style.NEUTRAL_FILL,
                              _style.POSITIVE[2], _style.POSITIVE[1]],
            )
            rows = [nonfinite]
            for byte in range(1, 256):
                rgb = np.array(shades((byte - 1) / 254)[:3]) * 0.6 + white * 0.4
                rows.append([int(round(255 * c)) for c in rgb])
            return rows
        from .plots import CLASS_COLOURS

        rows = [nonfinite]
        for k in range(self.outputs):  # plot_decision_boundary's regions, alpha 0.28
            rgb = np.array(to_rgb(CLASS_COLOURS[k % len(CLASS_COLOURS)])) * 0.28 + white * 0.72
            rows.append([int(round(255 * c)) for c in rgb])
        return rows

    def frame(self, outputs, shown, forward, player, precision) -> dict:
        if self.kind == "regression":
            predicted = outputs[:, 0] if self.outputs == 1 else outputs.mean(axis=1)
            residual = float(((self.y - predicted) ** 2).sum())
            total = float(((self.y - self.y.mean()) ** 2).sum())
            r2 = 1.0 - residual / total if total > 0 else (1.0 if residual == 0 else 0.0)
            return {"predicted": [_short(predicted[i]) for i in shown],
                    "r2": _style.fmt(r2, 3) if math.isfinite(r2) else "nan"}
        predicted = self.predicted(outputs)
        wrong = predicted != self.y
        accuracy = f"{1.0 - float(np.mean(wrong)):.1%}"
        if self.kind == "confusion":
            index = {c: k for k, c in enumerate(self.classes)}
            counts = [[0] * len(self.classes) for _ in self.classes]
            for truth, guess in zip(self.y, predicted, strict=True):
                if guess in index:
                    counts[index[truth]][index[guess]] += 1
            return {"confusion": counts, "accuracy": accuracy}
        grid = player._grid
        # the frame's outputs on X were checked against the engine; the grid is the same function
        values = forward(grid["points"], check=False)
        return {
            "grid": base64.b64encode(self._grid_bytes(values).tobytes()).decode("ascii"),
            "lines": self._lines(values, grid),
            "wrong": _bits(wrong[shown]),
            "accuracy": accuracy,
        }

    def _grid_bytes(self, values: np.ndarray) -> np.ndarray:
        """One byte per grid point (rows from the lowest y up), see _palette."""
        finite = np.all(np.isfinite(values), axis=1)
        if self.outputs == 1:
            score = values[:, 0] - self.threshold
            # the reach of the shades as plot_decision_boundary takes it, frame by frame
            reach = float(np.percentile(np.abs(score[finite]), 95)) if finite.any() else 1.0
            reach = reach or 1.0
            scaled = np.clip(np.nan_to_num(score / reach), -1.0, 1.0)
            codes = np.rint(128 + 127 * scaled)
            # the sign decides the side: only an exact 0 sits in the middle
            codes = np.where(score > 0, np.maximum(codes, 129), codes)
            codes = np.where(score < 0, np.minimum(codes, 127), codes)
        else:
            codes = 1 + np.argmax(np.nan_to_num(values, nan=-np.inf), axis=1)
        return np.where(finite, codes, 0).astype(np.uint8)

    def _lines(self, values: np.ndarray, grid: dict) -> list:
        """The decision boundary as polylines in data coordinates (x0, y0, x1, y1, ...)."""
        import contourpy

        shape = (len(grid["ys"]), len(grid["xs"]))
        if self.outputs == 1:
            fields = [values[:, 0].reshape(shape) - self.threshold]
            level = 0.0
        else:
            regions = np.argmax(np.nan_to_num(values, nan=-np.inf), axis=1).reshape(shape)
            fields = [(regions == k).astype(float) for k in np.unique(regions)]
            level = 0.5
        # A tenth of the grid's step is finer than the picture can show.
        step = min(grid["xs"][1] - grid["xs"][0], grid["ys"][1] - grid["ys"][0])
        decimals = max(0, int(math.ceil(-math.log10(step / 10)))) if step > 0 else 6
        lines = []
        for field in fields:
            if not np.all(np.isfinite(field)):
                field = np.nan_to_num(field)
            generator = contourpy.contour_generator(grid["xs"], grid["ys"], field)
            for line in generator.lines(level):
                lines.append([round(float(v), decimals) for v in np.asarray(line).ravel()])
        return lines


# -- the samples' passes -------------------------------------------------------------------------


class _Passes:
    """One sample's forward values and backward records in an MLP, at one epoch.

    ``structure``: per layer its name, activation and neurons (name and
    parameter names). ``record(...)`` returns one flat list of formatted
    numbers: the loss, then per neuron ``z``, ``a``, ``dL/da``, ``∂a/∂z`` (''
    when linear), ``dL/dz``, then its parameters' gradients in order (each
    parameter is used once per sample, so its one contribution is its total).
    """

    def __init__(self, model, layers):
        self.layers = layers  # [(layer name, [(neuron name, neuron)])]
        self.structure = [
            {
                "name": name,
                "activation": getattr(neurons[0][1], "activation", ""),
                "neurons": [
                    {"name": neuron_name,
                     "params": [p for p, _ in neuron.named_parameters()],
                     "terms": [term(p) for p, _ in neuron.named_parameters()]}
                    for neuron_name, neuron in neurons
                ],
            }
            for name, neurons in layers
        ]

    @classmethod
    def of(cls, model):
        layers = getattr(model, "layers", None)
        if not layers or not hasattr(model, "named_modules"):
            return None
        named = []
        for i, layer in enumerate(layers):
            neurons = getattr(layer, "neurons", None)
            if not neurons or not all(hasattr(n, "w") and hasattr(n, "b") for n in neurons):
                return None
            named.append((f"layers.{i}", [(f"layers.{i}.neurons.{j}", n)
                                          for j, n in enumerate(neurons)]))
        return cls(model, named)

    def record(self, model, x, target, loss_fn, precision) -> list[str]:
        number = lambda v: _style.fmt(v, precision)
        output = model([float(v) for v in x])
        loss = loss_fn([output], np.asarray([target]))
        order = autograd.topological_order(loss)
        index = {node: i for i, node in enumerate(order)}
        records, totals = trace(loss, order, [""] * len(order))
        contributions = {}  # child index -> [(parent index, local, added, total)]
        for record in records[1:]:
            for c in record["contributions"]:
                contributions.setdefault(c["child"], []).append(
                    (record["node"], c["local"], c["added"], c["total"])
                )
        by_scope: dict[str, list] = {}
        for node in order:
            if node.scope is not None:
                by_scope.setdefault(node.scope, []).append(node)
        out = [number(loss.data)]
        for _, neurons in self.layers:
            for name, neuron in neurons:
                z, a, dot = _neuron_nodes(by_scope.get(name.replace(".neurons.", "/neurons."),
                                                       []), neuron)
                if a is z:
                    out += [number(z.data), number(a.data), number(totals[index[a]]), "",
                            number(totals[index[z]])]
                else:
                    (_, local, _, _), = contributions[index[z]]
                    out += [number(z.data), number(a.data), number(totals[index[a]]),
                            number(local), number(totals[index[z]])]
                for p in [*neuron.w, neuron.b]:
                    used = contributions.get(index.get(p), [])
                    if len(used) != 1:  # an nn.MLP uses each parameter once per sample
                        raise _Unreadable(f"a parameter used {len(used)} times")
                    out.append(number(used[0][3]))
        return out


class _Unreadable(Exception):
    """A sample's graph is not the one an nn.MLP makes (no scoped w·x + b per neuron)."""


def _neuron_nodes(nodes: list, neuron):
    """(z = w·x + b, its activation a (z itself when linear), w·x) among a neuron's nodes."""
    dot = next((n for n in nodes if n._op == "dot"), None)
    z = next((n for n in nodes if n._op == "+" and neuron.b in n._prev), None)
    if dot is None or z is None or dot not in z._prev:
        raise _Unreadable(f"no w·x + b among the {len(nodes)} nodes of a neuron")
    a = next((n for n in nodes if n._prev == (z,)), z)
    return z, a, dot


# -- the network ---------------------------------------------------------------------------------


class _Network:
    """draw_network's picture per frame: one SVG laid out once plus each frame's styles.

    Every frame's ``draw_network`` picture is rendered (one Graphviz run for
    all of them); the page keeps the last one and, per frame, the attributes
    that differ between frames (edge colours, opacities and widths, neuron
    fills, texts and tooltips), as indices into one table of strings.
    """

    _STYLED = ("fill", "stroke", "stroke-opacity", "stroke-width",
               "{http://www.w3.org/1999/xlink}title")

    def __init__(self, model, input_names):
        self.input_names = input_names
        self.edges = sum(len(n.w) for layer in model.layers for n in layer.neurons)
        self.frame_bytes = 12 * self.edges + 40 * sum(len(layer.neurons) for layer in model.layers)
        self._slots = []
        self._strings = []

    @classmethod
    def of(cls, model, input_names):
        from .network import _layers_of

        try:
            _layers_of(model)
        except TypeError:
            return None
        return cls(model, input_names)

    def frames(self, model, states, load) -> tuple[list, str]:
        from .network import draw_network

        graphs = []
        for state in states:
            load(state)
            graphs.append(draw_network(model, input_names=self.input_names))
        svgs = _render_all(graphs)
        parsed = [_styles_of(svg) for svg in svgs]
        base = parsed[-1]
        keys = list(base)
        varying = [key for key in keys if any(p.get(key) != base[key] for p in parsed)]
        table: dict[str, int] = {}
        frames = []
        for styles in parsed:
            row = []
            for key in varying:
                value = styles.get(key)
                if value is None:
                    row.append(-1)
                else:
                    row.append(table.setdefault(value, len(table)))
            frames.append(row)
        self._slots = [list(key) for key in varying]
        self._strings = list(table)
        return frames, svgs[-1]

    def static(self) -> dict:
        return {"slots": self._slots, "strings": self._strings}

    def picture_bytes(self, model) -> int:
        """The size of the network's picture in the page (drawn here once to measure it)."""
        from .network import draw_network

        (svg,) = _render_all([draw_network(model, input_names=self.input_names)])
        return len(svg) * 4 // 3


def _render_all(graphs) -> list[str]:
    """The SVG of each graph, from one Graphviz run (its warnings kept quiet)."""
    import graphviz

    from .graph import GraphvizNotFoundError

    source = "\n".join(graph.source for graph in graphs).encode("utf-8")
    try:
        rendered = graphviz.pipe(graphs[0].engine, "svg", source, quiet=True).decode("utf-8")
    except graphviz.ExecutableNotFound:
        raise GraphvizNotFoundError() from None
    svgs = ["<?xml" + part for part in rendered.split("<?xml")[1:]]
    if len(svgs) != len(graphs):
        raise RuntimeError(f"Graphviz drew {len(svgs)} pictures of {len(graphs)} graphs")
    return svgs


_SVG = "{http://www.w3.org/2000/svg}"
_TITLE_CLASSES = ("node", "edge")


def _styles_of(svg: str) -> dict:
    """{(group title, element number, attribute): value} for the styled parts of a network SVG.

    An element is a shape, text or link inside a node or edge group, numbered
    in document order within its group; attribute ``#text`` is a text's content.
    """
    root = ET.fromstring(re.sub(r"<!DOCTYPE[^>]*>", "", svg.split("?>", 1)[1]))
    styles = {}
    for group in root.iter(f"{_SVG}g"):
        if group.get("class") not in _TITLE_CLASSES:
            continue
        title = group.find(f"{_SVG}title")
        name = title.text if title is not None else ""
        number = 0
        for element in group.iter():
            tag = element.tag.replace(_SVG, "")
            if tag in ("g", "title"):
                continue
            for attribute in _Network._STYLED:
                value = element.get(attribute)
                if value is not None:
                    short = "xlink:title" if attribute.startswith("{") else attribute
                    styles[(name, number, short)] = value
            if tag == "text":
                styles[(name, number, "#text")] = element.text or ""
            number += 1
    return styles
