"""Normalisation layers: ``BatchNorm`` and ``LayerNorm``, as PyTorch's, on Values.

Both normalise each sample's ``num_features`` numbers and then scale and shift
them by trainable per-feature ``weight`` (starting at 1) and ``bias``
(starting at 0); their dotted parameter names are ``weight.0``, ...,
``bias.0``, ...

* ``LayerNorm`` normalises within one sample: over its features,
  ``y = (x - mean) / sqrt(var + eps) * weight + bias`` with the biased
  variance, as ``torch.nn.LayerNorm(num_features)``. Each sample is on its own,
  so calling it on one sample is the same as on a batch.
* ``BatchNorm`` normalises each feature over the samples of a batch, as
  ``torch.nn.BatchNorm1d(num_features)`` on input of shape (batch, features).
  In training mode it uses the batch's mean and biased variance and updates
  the running statistics (``running = (1 - momentum) * running + momentum *
  batch``, with the batch's *unbiased* variance for ``running_var``;
  ``momentum=None`` takes the cumulative average, as PyTorch); in eval mode it
  uses the running statistics, so each sample is again on its own.

Batch normalisation couples the samples of a batch: each output depends on
every sample through the batch mean and variance of its feature. Those two
nodes per feature (labelled ``batch_mean.j`` and ``batch_var.j``) are the one
place where the samples' graphs meet, which ``draw_dot`` of a
batch-normalised loss shows. So BatchNorm implements ``forward_batch`` and, in
training mode, refuses a single sample (PyTorch raises for a batch of one
too: its variance is 0 and its output would be ``bias`` whatever the input).

The running statistics are buffers, not parameters: they are not in
``parameters()`` (no optimizer touches them) but are in ``state_dict()`` and
model files as ``running_mean.j``, ``running_var.j`` and
``num_batches_tracked``, as in PyTorch, so early stopping, snapshots and a
saved model keep them.

The graph's structure never depends on the numbers flowing through it: only
the running-statistics update reads ``.data`` (of the batch statistics), in
``_update_running``, so a future tracer has one place to look at.
"""

from __future__ import annotations

import math
import numbers

import autograd
from autograd import Value

from ._checks import positive_int
from ._interrupts import deferred_interrupts
from .module import NORMS, Module, _as_inputs


class BatchTooSmallError(ValueError):
    """BatchNorm in training mode was given fewer than two samples."""


def _eps(eps) -> float:
    if not isinstance(eps, numbers.Real) or isinstance(eps, bool) or not 0 < eps < math.inf:
        raise ValueError(
            f"eps must be a positive number (it keeps the division finite when a feature "
            f"is constant), got {eps!r}"
        )
    return float(eps)


def _momentum(momentum) -> float | None:
    if momentum is None:
        return None
    if (
        not isinstance(momentum, numbers.Real)
        or isinstance(momentum, bool)
        or not 0 <= momentum <= 1
    ):
        raise ValueError(f"momentum must be a number in [0, 1] or None, got {momentum!r}")
    return float(momentum)


def _shaped_like(x, out: list):
    """A bare Value for a bare number or Value given to a one-feature norm, else the list."""
    return out[0] if isinstance(x, (Value, numbers.Real)) else out


class _Norm(Module):
    """What both norms share: features, eps, the affine weight and bias."""

    def __init__(self, num_features: int, eps: float):
        self.num_features = positive_int(num_features, f"{type(self).__name__}'s num_features")
        self.eps = _eps(eps)
        self.weight = [Value(1.0) for _ in range(self.num_features)]
        self.bias = [Value(0.0) for _ in range(self.num_features)]
        self._name = f"{type(self).__name__}({self.num_features})"  # for error messages

    def parameters(self) -> list[Value]:
        return self.weight + self.bias

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [(f"weight.{j}", w) for j, w in enumerate(self.weight)] + [
            (f"bias.{j}", b) for j, b in enumerate(self.bias)
        ]


class LayerNorm(_Norm):
    """Normalises each sample over its ``num_features`` features, as ``torch.nn.LayerNorm``."""

    kind = "layer"  # MLP(norm="layer")

    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__(num_features, eps)

    def __call__(self, x):
        row = _as_inputs(x, self.num_features, self._name)
        count = self.num_features
        mean = autograd.sum(row) / count
        mean.label = "mean"
        centred = [v - mean for v in row]
        var = autograd.sum([d**2 for d in centred]) / count  # biased, as torch
        var.label = "var"
        inv_std = (var + self.eps) ** -0.5
        out = [d * inv_std * w + b for d, w, b in zip(centred, self.weight, self.bias, strict=True)]
        return _shaped_like(x, out)

    def architecture(self) -> dict:
        return {"type": "LayerNorm", "num_features": self.num_features, "eps": self.eps}

    def __repr__(self) -> str:
        extra = "" if self.eps == 1e-5 else f", eps={self.eps:g}"
        return f"LayerNorm({self.num_features}{extra})"


class BatchNorm(_Norm):
    """Normalises each feature over a batch, as ``torch.nn.BatchNorm1d`` (see the module doc)."""

    kind = "batch"  # MLP(norm="batch")

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1):
        super().__init__(num_features, eps)
        self.momentum = _momentum(momentum)
        self.running_mean = [0.0] * self.num_features
        self.running_var = [1.0] * self.num_features
        self.num_batches_tracked = 0

    def __call__(self, x):
        """One sample: only in eval mode (in training a batch of one has no statistics)."""
        return self.forward_batch([x])[0]

    def forward_batch(self, xs) -> list:
        """The outputs for a batch: batch statistics in training mode, running ones in eval."""
        batch = [_as_inputs(x, self.num_features, self._name) for x in xs]
        if not self.training:
            return [_shaped_like(x, self._eval(row)) for x, row in zip(xs, batch, strict=True)]
        count = len(batch)
        if count < 2:
            raise BatchTooSmallError(
                f"{self._name} in training mode got a batch of {count} sample"
                f"{'' if count == 1 else 's'}; batch statistics need at least 2 (PyTorch "
                "refuses too). Train on batches of 2 or more rows (with fit, a batch_size "
                "that leaves no last batch of one row), or call .eval() to use the running "
                "statistics."
            )
        out = [[None] * self.num_features for _ in batch]
        means, variances = [], []
        for j in range(self.num_features):
            column = [row[j] for row in batch]
            mean = autograd.sum(column) / count
            mean.label = f"batch_mean.{j}"
            centred = [v - mean for v in column]
            var = autograd.sum([d**2 for d in centred]) / count  # biased, as torch
            var.label = f"batch_var.{j}"
            scale = (var + self.eps) ** -0.5 * self.weight[j]
            for i, d in enumerate(centred):
                out[i][j] = d * scale + self.bias[j]
            means.append(mean)
            variances.append(var)
        self._update_running(means, variances, count)
        return [_shaped_like(x, row) for x, row in zip(xs, out, strict=True)]

    def _eval(self, row: list) -> list:
        return [
            (v - mean) * (w * (1.0 / math.sqrt(var + self.eps))) + b
            for v, mean, var, w, b in zip(
                row, self.running_mean, self.running_var, self.weight, self.bias, strict=True
            )
        ]

    def _update_running(self, means: list[Value], variances: list[Value], count: int) -> None:
        """Moves the running statistics towards this batch's (unbiased variance), as torch.

        Computed first, then applied with Ctrl-C held back, so an interrupt never
        leaves some features updated and others not.
        """
        tracked = self.num_batches_tracked + 1
        factor = 1.0 / tracked if self.momentum is None else self.momentum
        unbias = count / (count - 1)
        running_mean = [
            (1.0 - factor) * old + factor * mean.data
            for old, mean in zip(self.running_mean, means, strict=True)
        ]
        running_var = [
            (1.0 - factor) * old + factor * var.data * unbias
            for old, var in zip(self.running_var, variances, strict=True)
        ]
        with deferred_interrupts():
            self.running_mean, self.running_var = running_mean, running_var
            self.num_batches_tracked = tracked

    # -- buffers: the running statistics --------------------------------------------------

    def _own_buffers(self) -> list[tuple[str, float]]:
        return (
            [(f"running_mean.{j}", m) for j, m in enumerate(self.running_mean)]
            + [(f"running_var.{j}", v) for j, v in enumerate(self.running_var)]
            + [("num_batches_tracked", self.num_batches_tracked)]
        )

    def _check_buffer(self, name: str, value):
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(
            value
        ):
            raise ValueError(f"must be a finite number, got {value!r:.60}")
        if name == "num_batches_tracked":
            if value < 0 or value != int(value):
                raise ValueError(f"must be a count (an integer >= 0), got {value!r}")
            return int(value)
        if name.startswith("running_var.") and value < 0:
            raise ValueError(f"is a variance and must be >= 0, got {value!r}")
        return float(value)

    def _set_buffer(self, name: str, value) -> None:
        if name == "num_batches_tracked":
            self.num_batches_tracked = value
            return
        kind, index = name.rsplit(".", 1)
        getattr(self, kind)[int(index)] = value

    def architecture(self) -> dict:
        return {
            "type": "BatchNorm",
            "num_features": self.num_features,
            "eps": self.eps,
            "momentum": self.momentum,
        }

    def __repr__(self) -> str:
        extra = "" if self.eps == 1e-5 else f", eps={self.eps:g}"
        if self.momentum != 0.1:
            extra += f", momentum={self.momentum}"
        return f"BatchNorm({self.num_features}{extra})"


def make_norm(kind: str, num_features: int) -> _Norm:
    """The norm ``kind`` ("batch" or "layer") over ``num_features`` features, defaults as torch."""
    if kind == "batch":
        return BatchNorm(num_features)
    if kind == "layer":
        return LayerNorm(num_features)
    raise ValueError(f"unknown norm {kind!r}: expected None or one of {', '.join(NORMS)}")
