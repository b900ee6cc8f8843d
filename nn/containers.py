"""``Sequential`` and the small modules it strings together, named as in PyTorch.

    >>> from nn import Sequential, Conv2d, ReLU, MaxPool2d, Flatten, Layer
    >>> model = Sequential(Conv2d(1, 4, 3), ReLU(), MaxPool2d(2), Flatten(),
    ...                    Layer(36, 10, activation="linear"))

``Sequential(*modules)`` keeps its children in ``.layers`` and calls them in
turn, each inside ``autograd.scope("layers.i")``, so parameters are named
``layers.0.weight.0.0.1.2`` and a graph collapses into one box per layer.
``forward_batch`` passes the whole batch through each child in turn and
calls the ``nn.module.watching`` callback after each child, as
``MLP.forward_batch`` does.

The parameter-free modules work on any nesting of Values (a vector, an
image ``[channel][row][column]``, the hidden states of an RNN):

* ``ReLU()``, ``Tanh()``, ``Sigmoid()``, ``LeakyReLU(negative_slope=0.01)``:
  the activation of every number;
* ``Flatten()``: every number in one list, row-major (an image of shape
  (C, H, W) becomes C*H*W inputs, as ``torch.nn.Flatten`` on a batch);
* ``Dropout(p=0.5, seed=None)``: inverted dropout in training mode (each
  number is zeroed with probability p, the others scaled by 1 / (1 - p)),
  the identity in evaluation mode. The graph does not depend on the draws:
  every number is multiplied by a constant (0 or 1 / (1 - p)), so a dropped
  unit shows as a product with 0;
* ``LastStep()``: the last item of a sequence, such as the last hidden state
  of an RNN (PyTorch code writes ``output[:, -1]``), so a sequence classifier
  reads ``Sequential(RNN(1, 16), LastStep(), Layer(16, 2, activation="linear"))``.
"""

from __future__ import annotations

import numbers

import autograd
from autograd import Value

from . import _shapes
from .module import Module, _random_source, _watch, dropout


class Sequential(Module):
    """Modules called one after the other: ``Sequential(Conv2d(1, 4, 3), ReLU(), ...)``."""

    _children_attribute = "layers"

    def __init__(self, *modules: Module):
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = tuple(modules[0])  # Sequential([a, b]) as well as Sequential(a, b)
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(
                    f"Sequential takes nn modules, but item {i} is a {type(module).__name__}"
                )
        if not modules:
            raise ValueError("Sequential needs at least one module")
        self.layers = list(modules)
        self._scopes = [f"layers.{i}" for i in range(len(self.layers))]

    def __call__(self, x):
        for name, layer in zip(self._scopes, self.layers, strict=True):
            with autograd.scope(name):
                x = layer(x)
        return x

    def forward_batch(self, xs) -> list:
        """The outputs for a batch: the whole batch through each child in turn."""
        batch = list(xs)
        watch = _watch.get()
        for name, layer in zip(self._scopes, self.layers, strict=True):
            with autograd.scope(name):
                batch = layer.forward_batch(batch)
            if watch is not None:
                watch(layer, batch)
        return batch

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def architecture(self) -> dict:
        return {"type": "Sequential", "layers": [layer.architecture() for layer in self.layers]}

    def __repr__(self) -> str:
        lines = ["Sequential("]
        for i, layer in enumerate(self.layers):
            inner = repr(layer).replace("\n", "\n  ")
            lines.append(f"  ({i}): {inner}")
        return "\n".join(lines) + "\n)"


class _Elementwise(Module):
    """A parameter-free module applying one Value method to every number of its input."""

    _method = None

    def __call__(self, x):
        return _shapes.nested_map(self._method, x)

    def architecture(self) -> dict:
        return {"type": type(self).__name__}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ReLU(_Elementwise):
    """max(0, x) of every number (the derivative at 0 is 0, as PyTorch)."""

    _method = staticmethod(Value.relu)


class Tanh(_Elementwise):
    """tanh of every number."""

    _method = staticmethod(Value.tanh)


class Sigmoid(_Elementwise):
    """1 / (1 + exp(-x)) of every number."""

    _method = staticmethod(Value.sigmoid)


class LeakyReLU(_Elementwise):
    """x for x > 0, else ``negative_slope * x``, of every number (as torch.nn.LeakyReLU)."""

    def __init__(self, negative_slope: float = 0.01):
        if not isinstance(negative_slope, numbers.Real) or isinstance(negative_slope, bool):
            raise TypeError(f"negative_slope must be a number, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)
        slope = self.negative_slope
        self._method = lambda v: v.leaky_relu(slope)

    def architecture(self) -> dict:
        return {"type": "LeakyReLU", "negative_slope": self.negative_slope}

    def __repr__(self) -> str:
        return f"LeakyReLU(negative_slope={self.negative_slope})"


class Flatten(Module):
    """Every number of the input in one list, row-major: (C, H, W) becomes C*H*W inputs."""

    def __call__(self, x):
        return [v if isinstance(v, Value) else Value(v) for v in _shapes.flat(x)]

    def architecture(self) -> dict:
        return {"type": "Flatten"}

    def __repr__(self) -> str:
        return "Flatten()"


class LastStep(Module):
    """The last item of a sequence: the last hidden state of an RNN's output."""

    def __call__(self, sequence):
        if not isinstance(sequence, (list, tuple)) or not sequence:
            raise ValueError(
                "LastStep takes a non-empty sequence (such as an RNN's hidden states), "
                f"got {type(sequence).__name__}"
                + (" of length 0" if isinstance(sequence, (list, tuple)) else "")
            )
        return sequence[-1]

    def architecture(self) -> dict:
        return {"type": "LastStep"}

    def __repr__(self) -> str:
        return "LastStep()"


class Dropout(Module):
    """Inverted dropout: in training mode each number is zeroed with probability ``p``.

    Kept numbers are scaled by 1 / (1 - p), so evaluation (``eval()``) needs
    no rescaling and passes the input through. ``seed`` (an int, a
    ``random.Random`` or None for the global ``random`` module) makes the
    masks reproducible.
    """

    def __init__(self, p: float = 0.5, seed=None):
        if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout's p must be a probability in [0, 1), got {p!r}")
        self.p = float(p)
        self._rng = _random_source(seed)

    def __call__(self, x):
        if not self.training or self.p == 0.0:
            return x
        # a product with 0 or 1 / (1 - p) either way: the graph's shape does not depend on
        # the draws (a tape takes the masks as input columns)
        return dropout(x, self.p, self._rng)

    def architecture(self) -> dict:
        return {"type": "Dropout", "p": self.p}

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"
