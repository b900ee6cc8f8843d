"""Convolution and max pooling on images, one scalar node per output pixel.

An image is a nested list ``[channel][row][column]`` of numbers or Values
(a numpy array of shape (C, H, W), or (H, W) for one channel, works too);
the output of both layers is an image of Values in the same layout.

``Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0)``
follows ``torch.nn.Conv2d`` (a cross-correlation, as every deep-learning
library computes): output pixel (o, r, c) is

    dot(weight[o], the patch of the input under the filter) + bias[o]

as ONE ``autograd.dot`` node plus one ``+``, so a shared weight is one leaf
with an edge to every position it was used at, and backward adds up its
gradient over those positions, which the graph shows. Zero padding adds no
nodes: a filter tap that falls on the padding is left out of that pixel's
dot (its product would be 0 and so would its gradient). Each output channel
is computed inside ``autograd.scope("filters.o")``, so a collapsed graph
shows one box per filter inside the layer's box.

Parameters are named as PyTorch indexes them: ``weight.o.c.i.j`` is
``weight[o, c, i, j]`` of ``torch.nn.Conv2d`` (out channel, in channel,
kernel row, kernel column) and ``bias.o`` is ``bias[o]``; ``parameters()``
lists the weights in that order, then the biases. Initialisation is
PyTorch's default: weights and biases uniform in ±1/sqrt(in_channels * kh * kw).

``MaxPool2d(kernel_size, stride=None, padding=0)`` follows
``torch.nn.MaxPool2d`` (stride defaults to the kernel size; padding counts
as -inf, so a window only looks at the pixels inside the image): each output
pixel is one ``autograd.max`` node over its window, the max row of the
primitive table, whose gradient goes to the first maximum as in PyTorch.

Sizes: an output has ``floor((H + 2 * padding - kernel) / stride) + 1`` rows
(likewise columns); images need not be square nor divide evenly. An input
of the wrong shape, or smaller than the kernel, raises ValueError naming the
expected and received shapes. The graph's shape depends only on the input's
shape, never on its numbers.
"""

from __future__ import annotations

import math
import numbers

import autograd
from autograd import Value

from . import _shapes
from ._checks import check_parameter_count, positive_int
from .module import Module, _random_source

_dot = autograd.dot
_max = autograd.max


def _pair(value, what: str, least: int) -> tuple[int, int]:
    """An int or a pair of ints (each at least ``least``) as a pair, as PyTorch's size arguments."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 2
        or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value)
    ):
        raise ValueError(f"{what} must be an int or a pair of ints, got {value!r}")
    if min(value) < least:
        raise ValueError(f"{what} must be at least {least}, got {tuple(value)}")
    return int(value[0]), int(value[1])


def _output_size(who: str, height: int, width: int, kernel, stride, padding) -> tuple[int, int]:
    padded = (height + 2 * padding[0], width + 2 * padding[1])
    if padded[0] < kernel[0] or padded[1] < kernel[1]:
        raise ValueError(
            f"{who} needs an image of at least {kernel[0]}x{kernel[1]} pixels "
            f"(padding included), got {height}x{width}"
            + (f" padded to {padded[0]}x{padded[1]}" if any(padding) else "")
        )
    return (
        (padded[0] - kernel[0]) // stride[0] + 1,
        (padded[1] - kernel[1]) // stride[1] + 1,
    )


def _windows(height: int, width: int, kernel, stride, padding):
    """For each output position (row-major): the taps inside the image.

    A tap is (index in the kernel, row-major over kh x kw; index of the pixel
    in the channel, row-major over H x W). Taps on the padding are left out.
    """
    rows, columns = _output_size("", height, width, kernel, stride, padding)
    windows = []
    for r in range(rows):
        top = r * stride[0] - padding[0]
        for c in range(columns):
            left = c * stride[1] - padding[1]
            windows.append([
                (i * kernel[1] + j, (top + i) * width + left + j)
                for i in range(kernel[0])
                for j in range(kernel[1])
                if 0 <= top + i < height and 0 <= left + j < width
            ])
    return rows, columns, windows


class Conv2d(Module):
    """A 2-D convolution over images of ``in_channels`` channels, as ``torch.nn.Conv2d``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 seed=None):
        self.in_channels = positive_int(in_channels, "Conv2d's in_channels")
        self.out_channels = positive_int(out_channels, "Conv2d's out_channels")
        self.kernel_size = _pair(kernel_size, "Conv2d's kernel_size", 1)
        self.stride = _pair(stride, "Conv2d's stride", 1)
        self.padding = _pair(padding, "Conv2d's padding", 0)
        kh, kw = self.kernel_size
        check_parameter_count((self.in_channels * kh * kw + 1) * self.out_channels,
                              f"Conv2d({self.in_channels}, {self.out_channels}, {kh}x{kw})")
        bound = 1.0 / math.sqrt(self.in_channels * kh * kw)  # PyTorch's default init
        rng = _random_source(seed)
        self.weight = [
            [[[Value(rng.uniform(-bound, bound)) for _ in range(kw)] for _ in range(kh)]
             for _ in range(self.in_channels)]
            for _ in range(self.out_channels)
        ]
        self.bias = [Value(rng.uniform(-bound, bound)) for _ in range(self.out_channels)]
        self._filters = [_shapes.flat(w) for w in self.weight]  # weight[o] as (c, i, j) row-major
        self._scopes = [f"filters.{o}" for o in range(self.out_channels)]
        self._plans: dict[tuple[int, int], tuple] = {}

    def _plan(self, height: int, width: int):
        """(rows, columns, per position: kernel taps and the pixels they read), per image size."""
        plan = self._plans.get((height, width))
        if plan is None:
            _output_size(self._name(), height, width, self.kernel_size, self.stride, self.padding)
            rows, columns, windows = _windows(
                height, width, self.kernel_size, self.stride, self.padding
            )
            taps_per_channel = self.kernel_size[0] * self.kernel_size[1]
            size = height * width
            positions = []
            for window in windows:
                # the same taps in every input channel, channel after channel
                channels = range(self.in_channels)
                taps = [c * taps_per_channel + k for c in channels for k, _ in window]
                pixels = [c * size + p for c in channels for _, p in window]
                full = len(taps) == taps_per_channel * self.in_channels
                positions.append((None if full else taps, pixels))
            plan = rows, columns, positions
            if len(self._plans) < 64:  # a handful of image sizes in practice
                self._plans[(height, width)] = plan
        return plan

    def __call__(self, x) -> list:
        image = _shapes.image(x, self.in_channels, self._name())
        rows, columns, positions = self._plan(len(image[0]), len(image[0][0]))
        pixels = _shapes.flat(image)
        patches = [[pixels[k] for k in reads] for _, reads in positions]
        out = []
        for weights, bias, scope in zip(self._filters, self.bias, self._scopes, strict=True):
            with autograd.scope(scope):
                values = [
                    _dot(weights if taps is None else [weights[k] for k in taps], patch) + bias
                    for (taps, _), patch in zip(positions, patches, strict=True)
                ]
            out.append([values[r * columns:(r + 1) * columns] for r in range(rows)])
        return out

    def output_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """(out_channels, rows, columns) of the output for an image of height x width."""
        rows, columns = _output_size(
            self._name(), height, width, self.kernel_size, self.stride, self.padding
        )
        return self.out_channels, rows, columns

    def parameters(self) -> list[Value]:
        return [w for weights in self._filters for w in weights] + list(self.bias)

    def named_parameters(self) -> list[tuple[str, Value]]:
        kh, kw = self.kernel_size
        named = [
            (f"weight.{o}.{c}.{i}.{j}", self.weight[o][c][i][j])
            for o in range(self.out_channels)
            for c in range(self.in_channels)
            for i in range(kh)
            for j in range(kw)
        ]
        return named + [(f"bias.{o}", b) for o, b in enumerate(self.bias)]

    def architecture(self) -> dict:
        return {
            "type": "Conv2d",
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": list(self.padding),
        }

    def _name(self) -> str:
        return f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size})"

    def __repr__(self) -> str:
        text = (f"Conv2d({self.in_channels}, {self.out_channels}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}")
        if any(self.padding):
            text += f", padding={self.padding}"
        return text + ")"


class MaxPool2d(Module):
    """The largest pixel of each window, per channel, as ``torch.nn.MaxPool2d``."""

    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel_size = _pair(kernel_size, "MaxPool2d's kernel_size", 1)
        self.stride = self.kernel_size if stride is None else _pair(stride, "MaxPool2d's stride", 1)
        self.padding = _pair(padding, "MaxPool2d's padding", 0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size, strict=True)):
            raise ValueError(  # as PyTorch: a window must never lie wholly on the padding
                f"MaxPool2d's padding must be at most half the kernel size, got padding "
                f"{self.padding} for kernel_size {self.kernel_size}"
            )
        self._plans: dict[tuple[int, int], tuple] = {}

    def __call__(self, x) -> list:
        image = _shapes.image(x, None, repr(self))
        height, width = len(image[0]), len(image[0][0])
        plan = self._plans.get((height, width))
        if plan is None:
            _output_size(repr(self), height, width, self.kernel_size, self.stride, self.padding)
            rows, columns, windows = _windows(
                height, width, self.kernel_size, self.stride, self.padding
            )
            plan = rows, columns, [[p for _, p in window] for window in windows]
            if len(self._plans) < 64:
                self._plans[(height, width)] = plan
        rows, columns, windows = plan
        out = []
        for channel in image:
            pixels = _shapes.flat(channel)
            values = [_max([pixels[p] for p in window]) for window in windows]
            out.append([values[r * columns:(r + 1) * columns] for r in range(rows)])
        return out

    def architecture(self) -> dict:
        return {
            "type": "MaxPool2d",
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": list(self.padding),
        }

    def __repr__(self) -> str:
        text = f"MaxPool2d(kernel_size={self.kernel_size}, stride={self.stride}"
        if any(self.padding):
            text += f", padding={self.padding}"
        return text + ")"
