"""Modules: ``Module``, ``Neuron``, ``Layer`` and ``MLP``, micrograd-compatible.

The classes keep micrograd's shape (``parameters()``, ``zero_grad()``,
``__call__``, weights in ``.w``, bias in ``.b``, ``.neurons``, ``.layers``,
reprs such as ``MLP of [Layer of [ReLUNeuron(2), ...], ...]``), so micrograd's
demo notebook runs unchanged with ``from nn import MLP``. On top of that they
offer PyTorch's conveniences: dotted ``named_parameters()``, ``state_dict()``,
``train()`` / ``eval()``, dropout, initialisations and model files.

A neuron computes ``activation(dot(w, x) + b)`` with ``autograd.dot``, one
fused node instead of micrograd's chain of ``2 * nin`` additions and products.

Scopes (contract with viz): a module call opens ``autograd.scope`` around each
child call it makes, named by the child's dotted attribute name, so the nodes
of neuron 3 of layer 0 carry ``scope == "layers.0/neurons.3"``. Parameters
are created at construction, outside any scope.

Batches: ``forward_batch(xs)`` runs the module on a list of samples and
returns the list of outputs. The default is one call per sample; containers
(``MLP``) pass the whole batch through each child in turn, so a layer that
couples the samples of a batch (batch normalisation) sees all of them. fit
calls ``forward_batch``. While ``watching(callback)`` is active, containers
call ``callback(child, outputs)`` after each child has run on the batch
(training diagnostics read the layers' activations this way).

Randomness comes from ``seed``: an int, a ``random.Random``, or None for the
global ``random`` module, as in micrograd, so ``random.seed(1337)`` before
construction reproduces micrograd's weights draw for draw.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import autograd
from autograd import Value

from . import _shapes
from ._checks import check_parameter_count, few, mlp_parameter_count, positive_int

ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "linear")
INITS = ("uniform", "xavier", "he")
NORMS = ("batch", "layer")  # MLP(norm=...): nn.norm's BatchNorm, LayerNorm

# The Value method applying each activation (None: linear, the node itself).
_ACTIVATION_METHODS = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "leaky_relu": Value.leaky_relu,
    "linear": None,
}
_REPR_NAMES = {
    "relu": "ReLU",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "leaky_relu": "LeakyReLU",
    "linear": "Linear",
}

# -- checks --------------------------------------------------------------------------------


def _random_source(seed):
    """The source of random numbers for ``seed``: the random module, a Random, or a new one."""
    if seed is None or seed is random:
        return random  # the global generator, as micrograd
    if isinstance(seed, random.Random):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return random.Random(int(seed))
    raise TypeError(f"seed must be an int, a random.Random or None, got {type(seed).__name__}")


def _check_choice(value, choices, what: str) -> str:
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}: expected one of {', '.join(choices)}")
    return value


def _as_inputs(x, nin: int, who: str) -> list:
    """x as a list of Values of length ``nin``; a bare number or Value is accepted when nin == 1."""
    if type(x) is list:
        pass
    elif isinstance(x, (Value, numbers.Real)):
        x = [x]
    elif not isinstance(x, tuple):
        try:
            x = list(x)  # numpy rows, generators
        except TypeError:
            raise TypeError(
                f"{who} takes a list of numbers or Values, got {type(x).__name__}"
            ) from None
    if len(x) != nin:
        raise ValueError(f"{who} expects {nin} inputs, got {len(x)}")
    return [xi if type(xi) is Value else _lift(xi) for xi in x]


def _lift(x) -> Value:
    if isinstance(x, Value):
        return x
    try:
        return Value(x)
    except TypeError:
        raise TypeError(f"inputs must be numbers or Values, got {type(x).__name__}") from None


# -- watching activations ---------------------------------------------------------------------

_watch: ContextVar[Callable | None] = ContextVar("chainrule_activation_watch", default=None)


@contextmanager
def watching(callback: Callable) -> Iterator[None]:
    """Inside the block, containers call ``callback(child, outputs)`` after each child's batch."""
    token = _watch.set(callback)
    try:
        yield
    finally:
        _watch.reset(token)


# -- dropout ---------------------------------------------------------------------------------

# While set (by nn.tape_engine, tracing), dropout asks it for the masks instead of drawing.
_dropout_masks: ContextVar[Callable | None] = ContextVar("chainrule_dropout_masks", default=None)


def dropout(x, p: float, rng):
    """Inverted dropout of every number of ``x`` (a Value or nested lists of them).

    Each number is multiplied by 0 (probability ``p``, one ``rng.random()``
    per number, in order) or by 1 / (1 - p), so the graph's shape does not
    depend on the draws and a tape can take the masks as input columns.
    """
    keep = 1.0 / (1.0 - p)
    masks = _dropout_masks.get()
    if masks is not None:
        return masks(x, p, rng, keep)
    draw = rng.random
    return _shapes.nested_map(lambda v: v * (keep if draw() >= p else 0.0), x)


# -- modules ---------------------------------------------------------------------------------


class Module:
    """Base class: parameters, gradients, train/eval mode, state dicts and model files.

    micrograd's subclasses override ``parameters()`` only; such modules still
    get ``named_parameters()`` (names ``"0"``, ``"1"``, ...), ``zero_grad()``
    and state dicts.
    """

    training = True
    _children_attribute: str | None = None  # the list of submodules: "neurons", "layers"

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for each direct submodule: ``neurons.0``, ``neurons.1``, ...

        The default lists ``_children_attribute``; a module holding another
        submodule beside it (a Layer's ``norm``) adds it here and in
        ``children()``, and every walk over the tree (parameters, buffers,
        names, train mode) follows.
        """
        if self._children_attribute is None:
            return
        for i, child in enumerate(getattr(self, self._children_attribute)):
            yield f"{self._children_attribute}.{i}", child

    def children(self) -> list[Module]:
        """The direct submodules, in ``named_children()`` order."""
        if self._children_attribute is None:
            return []
        return list(getattr(self, self._children_attribute))

    def parameters(self) -> list[Value]:
        """Every trainable Value of the module (micrograd's base module has none)."""
        return [p for child in self.children() for p in child.parameters()]

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module (named ``prefix``, '' by default) and
        every module inside it, parents before children: ``layers.0``,
        ``layers.0.neurons.3``, ... as PyTorch's ``named_modules()``."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def forward_batch(self, xs) -> list:
        """The outputs for a batch of samples (a list of inputs): one call per sample."""
        return [self(x) for x in xs]

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(dotted name, Value) for each parameter, in ``parameters()`` order."""
        if self._children_attribute is None:
            return [(str(i), p) for i, p in enumerate(self.parameters())]
        return [
            (f"{prefix}.{name}", p)
            for prefix, child in self.named_children()
            for name, p in child.named_parameters()
        ]

    def named_buffers(self) -> list[tuple[str, float]]:
        """(dotted name, number) for each buffer: state that is saved but not trained.

        Batch norm's running statistics are buffers (``layers.0.norm.running_mean.3``),
        as in PyTorch; most modules have none.
        """
        return [(name, value) for name, _, _, value in self._walk_buffers()]

    def _walk_buffers(self) -> Iterator[tuple[str, Module, str, float]]:
        """(dotted name, owning module, its own name there, value) for each buffer."""
        for name, module in self.named_modules():
            for local, value in module._own_buffers():
                yield (f"{name}.{local}" if name else local), module, local, value

    def _own_buffers(self) -> list[tuple[str, float]]:
        """This module's own buffers (not its children's): none by default."""
        return []

    def _check_buffer(self, name: str, value) -> float:
        """The number to store in own buffer ``name``; ValueError (saying what a valid
        value is) if ``value`` cannot be one."""
        raise ValueError(f"is not a buffer of {type(self).__name__}")

    def _set_buffer(self, name: str, value: float) -> None:
        """Stores a value ``_check_buffer`` returned."""
        raise ValueError(f"{name!r} is not a buffer of {type(self).__name__}")

    def zero_grad(self) -> None:
        """Sets the gradient of every parameter to 0.0."""
        for p in self.parameters():
            p.grad = 0.0

    def train(self, mode: bool = True) -> Module:
        """Switches training mode (dropout active) on this module and its children; returns self."""
        self.training = bool(mode)
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Switches to evaluation mode (dropout off); returns self."""
        return self.train(False)

    def num_parameters(self) -> int:
        return len(self.parameters())

    def state_dict(self) -> dict[str, float]:
        """{dotted name: number} for every parameter, in ``parameters()`` order, then
        every buffer (batch norm's running statistics), as PyTorch's ``state_dict()``."""
        state = {name: p.data for name, p in self.named_parameters()}
        state.update(self.named_buffers())
        return state

    def load_state_dict(self, state) -> None:
        """Sets every parameter and buffer from ``state``; ValueError names missing, extra
        or bad entries."""
        if not hasattr(state, "keys"):
            raise TypeError(
                f"state must be a mapping of names to numbers, got {type(state).__name__}"
            )
        named = dict(self.named_parameters())
        owners = {name: (module, local) for name, module, local, _ in self._walk_buffers()}
        missing = [name for name in [*named, *owners] if name not in state]
        extra = [name for name in state if name not in named and name not in owners]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing parameters {few(missing)}")
            if extra:
                parts.append(f"unexpected parameters {few(extra)}")
            raise ValueError(f"state does not fit this {type(self).__name__}: {'; '.join(parts)}")
        values = {}
        for name in named:
            value = state[name]
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise ValueError(f"parameter {name!r} must be a number, got {value!r:.60}")
            try:
                values[name] = float(value)
            except OverflowError:  # an int beyond float's range, as torch.tensor refuses it
                raise ValueError(
                    f"parameter {name!r} is an integer too large for a float "
                    f"(about {int(value.bit_length() * 0.30103)} digits); "
                    "expected a number within ±1.8e308"
                ) from None
        buffers = {}
        for name, (module, local) in owners.items():
            try:
                buffers[name] = module._check_buffer(local, state[name])
            except ValueError as error:
                raise ValueError(f"buffer {name!r} {error}") from None
        for name, p in named.items():  # all checked first: a bad state changes nothing
            p.data = values[name]
        for name, (module, local) in owners.items():
            module._set_buffer(local, buffers[name])

    def save(self, path) -> None:
        """Writes the model to ``path`` as a JSON model file (see README, Model files)."""
        from .serialize import save

        save(self, path)

    @classmethod
    def load(cls, path) -> Module:
        """Reads a model file; ValueError if it is not a valid model of this class."""
        from .serialize import load

        model = load(path)
        if not isinstance(model, cls):
            raise ValueError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model

    def architecture(self) -> dict:
        """The constructor arguments that rebuild this module (saved in model files)."""
        raise NotImplementedError(f"{type(self).__name__} cannot be saved to a model file")


def _sizes_text(sizes: list[int], limit: int = 8) -> str:
    """[16, 16, 1], or [1, 1, ... 999,999 sizes] for a list too long to print."""
    if len(sizes) <= limit:
        return str(sizes)
    return f"[{', '.join(map(str, sizes[:3]))}, ... {len(sizes):,} sizes]"


class Neuron(Module):
    """One neuron: ``activation(w . x + b)``.

    ``nonlin=True`` means relu and False linear, as in micrograd; ``activation``
    (relu, tanh, sigmoid, leaky_relu, linear) overrides it when given. Weights
    are drawn by ``init`` (uniform(-1, 1) as micrograd, xavier or he); the bias
    starts at 0.
    """

    def __init__(
        self,
        nin: int,
        nonlin: bool = True,
        activation: str | None = None,
        init: str = "uniform",
        seed=None,
        fan_out: int = 1,
    ):
        self.nin = positive_int(nin, "Neuron's nin")
        check_parameter_count(self.nin + 1, f"Neuron({self.nin})")
        if activation is None:
            activation = "relu" if nonlin else "linear"
        self.activation = _check_choice(activation, ACTIVATIONS, "activation")
        self.nonlin = activation != "linear"
        self.init = _check_choice(init, INITS, "init")
        self.w = [Value(w) for w in _draw_weights(init, nin, fan_out, _random_source(seed))]
        self.b = Value(0.0)
        self._activate = _ACTIVATION_METHODS[activation]

    def __call__(self, x) -> Value:
        if type(x) is not list or len(x) != self.nin:
            x = _as_inputs(x, self.nin, repr(self))
        act = _dot(self.w, x) + self.b
        return act if self._activate is None else self._activate(act)

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [(f"w.{i}", w) for i, w in enumerate(self.w)] + [("b", self.b)]

    def architecture(self) -> dict:
        return {"type": "Neuron", "nin": self.nin, "activation": self.activation}

    def __repr__(self) -> str:
        return f"{_REPR_NAMES[self.activation]}Neuron({len(self.w)})"


_dot = autograd.dot


def _draw_weights(init: str, fan_in: int, fan_out: int, rng) -> list[float]:
    """``fan_in`` initial weights: uniform(-1, 1), Glorot uniform or He normal."""
    if init == "uniform":  # micrograd's draw, one call per weight in order
        return [rng.uniform(-1, 1) for _ in range(fan_in)]
    if init == "xavier":  # Glorot & Bengio 2010, as torch.nn.init.xavier_uniform_
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        return [rng.uniform(-bound, bound) for _ in range(fan_in)]
    std = math.sqrt(2.0 / fan_in)  # He et al. 2015, as torch.nn.init.kaiming_normal_
    return [rng.gauss(0.0, std) for _ in range(fan_in)]


class Layer(Module):
    """``nout`` neurons reading the same inputs; returns a Value when ``nout == 1``, else a list.

    ``norm="batch"`` or ``"layer"`` makes the layer linear + norm + activation:
    the neurons compute ``w . x + b`` only, a ``BatchNorm(nout)`` or
    ``LayerNorm(nout)`` (``.norm``, parameters ``norm.weight.j`` and
    ``norm.bias.j``) normalises them, and the layer's ``activation`` follows.
    (Before batch norm a neuron's bias has no effect, since the batch mean is
    subtracted; its gradient is 0. It is kept so that every Layer has the same
    parameters.)
    """

    _children_attribute = "neurons"

    def __init__(self, nin: int, nout: int, norm: str | None = None, **kwargs):
        self.nin = positive_int(nin, "Layer's nin")
        self.nout = positive_int(nout, "Layer's nout")
        norms = 0 if norm is None else 2 * self.nout
        check_parameter_count((self.nin + 1) * self.nout + norms, f"Layer({self.nin}, {self.nout})")
        kwargs.setdefault("fan_out", nout)
        rng = _random_source(kwargs.pop("seed", None))
        self.norm = None if norm is None else _make_norm(norm, self.nout)
        if self.norm is not None:  # the activation moves after the norm
            activation = kwargs.pop("activation", None)
            if activation is None:
                activation = "relu" if kwargs.pop("nonlin", True) else "linear"
            self._activation = _check_choice(activation, ACTIVATIONS, "activation")
            self._activate = _ACTIVATION_METHODS[activation]
            kwargs["activation"] = "linear"
        self.neurons = [Neuron(nin, seed=rng, **kwargs) for _ in range(nout)]
        self._scopes = [f"neurons.{j}" for j in range(nout)]
        self._name = f"Layer({nin}, {nout})"  # for error messages

    @property
    def activation(self) -> str:
        return self.neurons[0].activation if self.norm is None else self._activation

    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from super().named_children()
        if self.norm is not None:
            yield "norm", self.norm

    def children(self) -> list[Module]:
        return list(self.neurons) if self.norm is None else [*self.neurons, self.norm]

    def _linear(self, x) -> list:
        """Each neuron's output on x (one sample), inside the neuron's scope."""
        out = []
        for name, neuron in zip(self._scopes, self.neurons, strict=False):
            with autograd.scope(name):
                out.append(neuron(x))
        return out

    def _activated(self, normalised: list) -> list:
        activate = self._activate
        return normalised if activate is None else [activate(v) for v in normalised]

    def __call__(self, x):
        x = _as_inputs(x, self.nin, self._name)
        out = []  # (the loop of _linear, inlined: this is the hot path of every MLP)
        for name, neuron in zip(self._scopes, self.neurons, strict=False):
            with autograd.scope(name):
                out.append(neuron(x))
        if self.norm is not None:
            with autograd.scope("norm"):
                out = self.norm(out)
            out = self._activated(out)
        return out[0] if len(out) == 1 else out

    def forward_batch(self, xs) -> list:
        """The outputs for a batch; with a norm, the whole batch goes through it at once."""
        if self.norm is None:
            return [self(x) for x in xs]
        batch = [self._linear(_as_inputs(x, self.nin, self._name)) for x in xs]
        with autograd.scope("norm"):
            batch = self.norm.forward_batch(batch)
        batch = [self._activated(row) for row in batch]
        return [row[0] if len(row) == 1 else row for row in batch]

    def architecture(self) -> dict:
        return {
            "type": "Layer",
            "nin": self.nin,
            "nout": self.nout,
            "activation": self.activation,
            "norm": self.norm_kind,
        }

    @property
    def norm_kind(self) -> str | None:
        """None, "batch" or "layer"."""
        return None if self.norm is None else self.norm.kind

    def __repr__(self) -> str:
        neurons = f"Layer of [{', '.join(str(n) for n in self.neurons)}]"
        if self.norm is None:
            return neurons
        return f"{neurons} + {self.norm!r} + {_REPR_NAMES[self.activation]}"


def _make_norm(kind, num_features: int) -> Module:
    # nn.norm builds on Module, so it is imported here, when a norm is asked for.
    from .norm import make_norm

    return make_norm(kind, num_features)


class MLP(Module):
    """A multi-layer perceptron: ``MLP(2, [16, 16, 1])`` has two hidden layers of 16 and one output.

    Hidden layers use ``activation``; the last layer is linear unless
    ``output_activation`` is given. ``dropout`` is the probability of zeroing
    each hidden output in training mode (inverted dropout: kept outputs are
    scaled by 1 / (1 - p), so evaluation needs no rescaling). ``norm="batch"``
    or ``"layer"`` normalises each hidden layer before its activation (see
    ``Layer``; the output layer is never normalised): ``layers.0.norm.weight.3``.
    """

    _children_attribute = "layers"

    def __init__(
        self,
        nin: int,
        nouts,
        activation: str = "relu",
        output_activation: str | None = None,
        init: str = "uniform",
        dropout: float = 0.0,
        seed=None,
        norm: str | None = None,
    ):
        self.nin = positive_int(nin, "MLP's nin")
        if isinstance(nouts, numbers.Integral):
            raise TypeError(f"nouts must be a list of layer sizes such as [16, 1], got {nouts!r}")
        self.nouts = [positive_int(n, "each layer size in nouts") for n in nouts]
        if not self.nouts:
            raise ValueError("nouts must list at least one layer size, such as [1]")
        sizes = [self.nin] + self.nouts
        check_parameter_count(
            mlp_parameter_count(sizes, norm=norm is not None),
            f"MLP({self.nin}, {_sizes_text(self.nouts)})",
        )
        self.activation = _check_choice(activation, ACTIVATIONS, "activation")
        output_activation = "linear" if output_activation is None else output_activation
        self.output_activation = _check_choice(output_activation, ACTIVATIONS, "output_activation")
        self.init = _check_choice(init, INITS, "init")
        if not isinstance(dropout, numbers.Real) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
        self.dropout = float(dropout)
        if norm is not None:
            _check_choice(norm, NORMS, "norm")
        self.norm = norm
        self._rng = _random_source(seed)
        last = len(self.nouts) - 1
        self.layers = [
            Layer(
                sizes[i],
                sizes[i + 1],
                activation=self.output_activation if i == last else self.activation,
                init=self.init,
                seed=self._rng,
                norm=None if i == last else norm,
            )
            for i in range(len(self.nouts))
        ]
        self._scopes = [f"layers.{i}" for i in range(len(self.layers))]
        self._name = f"MLP({self.nin}, {self.nouts})"  # for error messages

    def __call__(self, x):
        x = _as_inputs(x, self.nin, self._name)
        last = len(self.layers) - 1
        for i, (name, layer) in enumerate(zip(self._scopes, self.layers, strict=False)):
            with autograd.scope(name):
                x = layer(x)
            if self.dropout and self.training and i < last:
                x = self._drop(x)
        return x

    def forward_batch(self, xs) -> list:
        """The outputs for a batch, passed through one layer at a time.

        The same numbers as calling the MLP on each sample; with dropout the
        random draws come layer by layer (every sample's mask for a layer,
        then the next layer's), so the masks differ from per-sample calls.
        """
        batch = [_as_inputs(x, self.nin, self._name) for x in xs]
        watch = _watch.get()
        last = len(self.layers) - 1
        for i, (name, layer) in enumerate(zip(self._scopes, self.layers, strict=False)):
            with autograd.scope(name):
                batch = layer.forward_batch(batch)
            if watch is not None:
                watch(layer, batch)
            if self.dropout and self.training and i < last:
                batch = [self._drop(h) for h in batch]
        return batch

    def _drop(self, hidden):
        """Inverted dropout on a layer's outputs: times 0 with probability p, else 1/(1-p)."""
        return dropout(hidden, self.dropout, self._rng)

    def architecture(self) -> dict:
        return {
            "type": "MLP",
            "nin": self.nin,
            "nouts": list(self.nouts),
            "activation": self.activation,
            "output_activation": self.output_activation,
            "dropout": self.dropout,
            "norm": self.norm,
        }

    def summary(self) -> str:
        """A table of the layers: sizes, activation and parameter count."""
        rows = [f"MLP({self.nin}, {self.nouts}): {self.num_parameters()} parameters"]
        for i, layer in enumerate(self.layers):
            count = len(layer.parameters())
            norm = "" if layer.norm is None else f"{layer.norm_kind} norm, "
            rows.append(
                f"  layers.{i}: {layer.nin} -> {layer.nout}, {norm}{layer.activation}, "
                f"{count} parameters"
            )
        if self.dropout:
            rows.append(f"  dropout {self.dropout} between hidden layers (training mode only)")
        return "\n".join(rows)

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
