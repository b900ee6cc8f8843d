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

from ._checks import positive_int

ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "linear")
INITS = ("uniform", "xavier", "he")

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


# -- modules ---------------------------------------------------------------------------------


class Module:
    """Base class: parameters, gradients, train/eval mode, state dicts and model files.

    micrograd's subclasses override ``parameters()`` only; such modules still
    get ``named_parameters()`` (names ``"0"``, ``"1"``, ...), ``zero_grad()``
    and state dicts.
    """

    training = True
    _children_attribute: str | None = None  # the list of submodules: "neurons", "layers"

    def children(self) -> list[Module]:
        """The direct submodules."""
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
        if self._children_attribute is None:
            return
        for i, child in enumerate(self.children()):
            name = f"{self._children_attribute}.{i}"
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def forward_batch(self, xs) -> list:
        """The outputs for a batch of samples (a list of inputs): one call per sample."""
        return [self(x) for x in xs]

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(dotted name, Value) for each parameter, in ``parameters()`` order."""
        if self._children_attribute is None:
            return [(str(i), p) for i, p in enumerate(self.parameters())]
        return [
            (f"{self._children_attribute}.{i}.{name}", p)
            for i, child in enumerate(self.children())
            for name, p in child.named_parameters()
        ]

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
        """{dotted name: float} for every parameter, in ``parameters()`` order."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state) -> None:
        """Sets every parameter from ``state``; ValueError names missing, extra or bad entries."""
        if not hasattr(state, "keys"):
            raise TypeError(
                f"state must be a mapping of names to numbers, got {type(state).__name__}"
            )
        named = dict(self.named_parameters())
        missing = [name for name in named if name not in state]
        extra = [name for name in state if name not in named]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing parameters {_few(missing)}")
            if extra:
                parts.append(f"unexpected parameters {_few(extra)}")
            raise ValueError(f"state does not fit this {type(self).__name__}: {'; '.join(parts)}")
        values = {}
        for name in named:
            value = state[name]
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise ValueError(f"parameter {name!r} must be a number, got {value!r:.60}")
            values[name] = float(value)
        for name, p in named.items():  # all checked first: a bad state changes nothing
            p.data = values[name]

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


def _few(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


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
    """``nout`` neurons reading the same inputs; returns a Value when ``nout == 1``, else a list."""

    _children_attribute = "neurons"

    def __init__(self, nin: int, nout: int, **kwargs):
        self.nin = positive_int(nin, "Layer's nin")
        self.nout = positive_int(nout, "Layer's nout")
        kwargs.setdefault("fan_out", nout)
        rng = _random_source(kwargs.pop("seed", None))
        self.neurons = [Neuron(nin, seed=rng, **kwargs) for _ in range(nout)]
        self._scopes = [f"neurons.{j}" for j in range(nout)]
        self._name = f"Layer({nin}, {nout})"  # for error messages

    @property
    def activation(self) -> str:
        return self.neurons[0].activation

    def __call__(self, x):
        x = _as_inputs(x, self.nin, self._name)
        out = []
        for name, neuron in zip(self._scopes, self.neurons, strict=False):
            with autograd.scope(name):
                out.append(neuron(x))
        return out[0] if len(out) == 1 else out

    def architecture(self) -> dict:
        return {"type": "Layer", "nin": self.nin, "nout": self.nout, "activation": self.activation}

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """A multi-layer perceptron: ``MLP(2, [16, 16, 1])`` has two hidden layers of 16 and one output.

    Hidden layers use ``activation``; the last layer is linear unless
    ``output_activation`` is given. ``dropout`` is the probability of zeroing
    each hidden output in training mode (inverted dropout: kept outputs are
    scaled by 1 / (1 - p), so evaluation needs no rescaling).
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
    ):
        self.nin = positive_int(nin, "MLP's nin")
        if isinstance(nouts, numbers.Integral):
            raise TypeError(f"nouts must be a list of layer sizes such as [16, 1], got {nouts!r}")
        self.nouts = [positive_int(n, "each layer size in nouts") for n in nouts]
        if not self.nouts:
            raise ValueError("nouts must list at least one layer size, such as [1]")
        self.activation = _check_choice(activation, ACTIVATIONS, "activation")
        output_activation = "linear" if output_activation is None else output_activation
        self.output_activation = _check_choice(output_activation, ACTIVATIONS, "output_activation")
        self.init = _check_choice(init, INITS, "init")
        if not isinstance(dropout, numbers.Real) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
        self.dropout = float(dropout)
        self._rng = _random_source(seed)
        sizes = [self.nin] + self.nouts
        last = len(self.nouts) - 1
        self.layers = [
            Layer(
                sizes[i],
                sizes[i + 1],
                activation=self.output_activation if i == last else self.activation,
                init=self.init,
                seed=self._rng,
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
        """Inverted dropout on a layer's outputs: zero with probability p, else scale by 1/(1-p)."""
        keep = 1.0 / (1.0 - self.dropout)
        outputs = hidden if isinstance(hidden, list) else [hidden]
        dropped = [h * keep if self._rng.random() >= self.dropout else Value(0.0) for h in outputs]
        return dropped if isinstance(hidden, list) else dropped[0]

    def architecture(self) -> dict:
        return {
            "type": "MLP",
            "nin": self.nin,
            "nouts": list(self.nouts),
            "activation": self.activation,
            "output_activation": self.output_activation,
            "dropout": self.dropout,
        }

    def summary(self) -> str:
        """A table of the layers: sizes, activation and parameter count."""
        rows = [f"MLP({self.nin}, {self.nouts}): {self.num_parameters()} parameters"]
        for i, layer in enumerate(self.layers):
            count = len(layer.parameters())
            rows.append(
                f"  layers.{i}: {layer.nin} -> {layer.nout}, {layer.activation}, {count} parameters"
            )
        if self.dropout:
            rows.append(f"  dropout {self.dropout} between hidden layers (training mode only)")
        return "\n".join(rows)

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
