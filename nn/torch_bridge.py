"""``to_torch(model)`` and ``from_torch(module)``: the same function in chainrule and PyTorch.

    >>> torch_model = nn.to_torch(model)     # a torch.nn.Module in float64, same weights
    >>> again = nn.from_torch(torch_model)   # back to chainrule modules

PyTorch is not a dependency of chainrule (it is the tests' oracle): it is
imported when one of these is called, and an ImportError says how to
install it. What converts, and to what:

=========================  ==============================================
chainrule                  torch (float64)
=========================  ==============================================
``MLP``                    ``Sequential(Linear, act, [Dropout], ..., Linear[, act])``
``Layer``                  ``Linear``, or ``Sequential(Linear, act)``
``Sequential``             ``Sequential`` of the children
``Conv2d``, ``MaxPool2d``  ``Conv2d``, ``MaxPool2d``
``ReLU`` ... ``Dropout``   the module of the same name
``RNN``                    ``RNN(batch_first=True)``; inside a Sequential
                           wrapped in ``RNNOutputs``, which returns only the
                           outputs (batch, steps, hidden)
``LastStep``               ``LastStep``: ``x[:, -1]``
=========================  ==============================================

The torch modules take batches, as PyTorch does: images (batch, C, H, W),
sequences (batch, steps, input_size) (or (batch, steps) when input_size is
1, for ``RNNOutputs``). ``from_torch`` converts the torch modules of the
table back (``Linear`` becomes a linear ``Layer``); a module it cannot
express, or an option chainrule lacks (a convolution's dilation or groups,
a layer without bias, a multi-layer RNN), raises an error naming it. So
``from_torch(to_torch(mlp))`` is a ``Sequential`` computing the MLP's
function, not an ``MLP``.
"""

from __future__ import annotations

import functools

from .containers import Dropout, Flatten, LastStep, LeakyReLU, ReLU, Sequential, Sigmoid, Tanh
from .conv import Conv2d, MaxPool2d
from .module import MLP, Layer, Module
from .recurrent import RNN

INSTALL = "pip install torch==2.13.0"


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError(
            "nn.to_torch and nn.from_torch need PyTorch, which chainrule does not install: "
            + INSTALL
        ) from None
    return torch


@functools.cache
def _adapters():
    """The two small torch modules chainrule's Sequential needs around an RNN."""
    torch = _torch()

    class RNNOutputs(torch.nn.Module):
        """A ``torch.nn.RNN`` returning only its outputs (batch, steps, hidden), for Sequential."""

        def __init__(self, rnn):
            super().__init__()
            self.rnn = rnn

        def forward(self, x):
            if x.dim() == 2 and self.rnn.input_size == 1:
                x = x.unsqueeze(-1)  # (batch, steps) of numbers, as chainrule's RNN takes
            return self.rnn(x)[0]

    class LastStep(torch.nn.Module):
        """The last time step of a batch of sequences: ``x[:, -1]``."""

        def forward(self, x):
            return x[:, -1]

    return RNNOutputs, LastStep


def _tensor(torch, nested):
    return torch.tensor(nested, dtype=torch.float64)


def _activation_module(torch, activation: str):
    return {
        "relu": torch.nn.ReLU,
        "tanh": torch.nn.Tanh,
        "sigmoid": torch.nn.Sigmoid,
        "leaky_relu": lambda: torch.nn.LeakyReLU(0.01),  # nn's default slope
        "linear": lambda: None,
    }[activation]()


def to_torch(model: Module):
    """A torch.nn.Module (float64) computing the same function as ``model``, in the same mode."""
    torch = _torch()
    converted = _to_torch(torch, model, inside=False)
    converted.train(model.training)
    return converted


def _linear(torch, layer: Layer):
    linear = torch.nn.Linear(layer.nin, layer.nout, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(_tensor(torch, [[w.data for w in n.w] for n in layer.neurons]))
        linear.bias.copy_(_tensor(torch, [n.b.data for n in layer.neurons]))
    return linear


def _to_torch(torch, model, inside: bool):
    if isinstance(model, (MLP, Layer)) and getattr(model, "norm", None):
        raise TypeError(f"to_torch does not convert normalised layers (norm={model.norm!r})")
    if isinstance(model, MLP):
        modules, last = [], len(model.layers) - 1
        for i, layer in enumerate(model.layers):
            modules.append(_linear(torch, layer))
            act = _activation_module(torch, layer.activation)
            if act is not None:
                modules.append(act)
            if model.dropout and i < last:
                modules.append(torch.nn.Dropout(model.dropout))
        return torch.nn.Sequential(*modules)
    if isinstance(model, Layer):
        act = _activation_module(torch, model.activation)
        linear = _linear(torch, model)
        return linear if act is None else torch.nn.Sequential(linear, act)
    if isinstance(model, Sequential):
        return torch.nn.Sequential(*[_to_torch(torch, m, inside=True) for m in model.layers])
    if isinstance(model, Conv2d):
        conv = torch.nn.Conv2d(model.in_channels, model.out_channels, model.kernel_size,
                               stride=model.stride, padding=model.padding, dtype=torch.float64)
        with torch.no_grad():
            conv.weight.copy_(_tensor(torch, [[[[w.data for w in row] for row in channel]
                                               for channel in out] for out in model.weight]))
            conv.bias.copy_(_tensor(torch, [b.data for b in model.bias]))
        return conv
    if isinstance(model, MaxPool2d):
        return torch.nn.MaxPool2d(model.kernel_size, stride=model.stride, padding=model.padding)
    if isinstance(model, RNN):
        rnn = torch.nn.RNN(model.input_size, model.hidden_size, nonlinearity=model.nonlinearity,
                           batch_first=True, dtype=torch.float64)
        with torch.no_grad():
            for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
                ours = getattr(model, name)
                numbers = [[w.data for w in row] for row in ours] if name.startswith("weight") \
                    else [b.data for b in ours]
                getattr(rnn, name).copy_(_tensor(torch, numbers))
        return _adapters()[0](rnn) if inside else rnn
    simple = {
        ReLU: torch.nn.ReLU, Tanh: torch.nn.Tanh, Sigmoid: torch.nn.Sigmoid,
        Flatten: torch.nn.Flatten, LastStep: _adapters()[1],
    }
    if type(model) in simple:
        return simple[type(model)]()
    if isinstance(model, LeakyReLU):
        return torch.nn.LeakyReLU(model.negative_slope)
    if isinstance(model, Dropout):
        return torch.nn.Dropout(model.p)
    raise TypeError(
        f"to_torch cannot convert a {type(model).__name__}: it converts MLP, Layer, Sequential, "
        "Conv2d, MaxPool2d, RNN, ReLU, Tanh, Sigmoid, LeakyReLU, Flatten, Dropout and LastStep"
    )


def from_torch(module) -> Module:
    """The chainrule modules computing the same function as a torch module (see the table)."""
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch expects a torch.nn.Module, got {type(module).__name__}")
    converted = _from_torch(torch, module)
    converted.train(module.training)
    return converted


def _numbers(tensor) -> list[float]:
    return tensor.detach().double().reshape(-1).tolist()


def _set(parameters, numbers) -> None:
    for parameter, number in zip(parameters, numbers, strict=True):
        parameter.data = number


def _unsupported(module, option: str):
    return ValueError(f"from_torch: chainrule has no equivalent of {module} ({option})")


def _from_torch(torch, module) -> Module:
    RNNOutputs, TorchLastStep = _adapters()
    tnn = torch.nn
    if isinstance(module, tnn.Sequential):
        if len(module) == 0:
            raise ValueError("from_torch: an empty torch.nn.Sequential has nothing to convert")
        return Sequential(*[_from_torch(torch, child) for child in module])
    if isinstance(module, tnn.Linear):
        if module.bias is None:
            raise _unsupported(module, "a Layer always has a bias")
        layer = Layer(module.in_features, module.out_features, activation="linear", seed=0)
        weights, biases = module.weight.detach().double().tolist(), _numbers(module.bias)
        for neuron, row, bias in zip(layer.neurons, weights, biases, strict=True):
            _set(neuron.w, row)
            neuron.b.data = bias
        return layer
    if isinstance(module, tnn.Conv2d):
        if isinstance(module.padding, str):
            raise _unsupported(module, f"padding={module.padding!r}: give the padding as numbers")
        for option, value, plain in (("dilation", module.dilation, (1, 1)),
                                     ("groups", module.groups, 1),
                                     ("padding_mode", module.padding_mode, "zeros")):
            if value != plain:
                raise _unsupported(module, f"{option}={value!r}")
        if module.bias is None:
            raise _unsupported(module, "bias=False")
        conv = Conv2d(module.in_channels, module.out_channels, module.kernel_size,
                      stride=module.stride, padding=module.padding, seed=0)
        _set(conv.parameters(), _numbers(module.weight) + _numbers(module.bias))
        return conv
    if isinstance(module, tnn.MaxPool2d):
        for option, value, plain in (("dilation", module.dilation, 1),
                                     ("ceil_mode", module.ceil_mode, False),
                                     ("return_indices", module.return_indices, False)):
            if value not in (plain, (plain, plain)):
                raise _unsupported(module, f"{option}={value!r}")
        return MaxPool2d(module.kernel_size, stride=module.stride, padding=module.padding)
    if isinstance(module, RNNOutputs):
        return _from_torch(torch, module.rnn)
    if isinstance(module, tnn.RNN):
        for option, value, plain in (("num_layers", module.num_layers, 1),
                                     ("bias", module.bias, True),
                                     ("bidirectional", module.bidirectional, False)):
            if value != plain:
                raise _unsupported(module, f"{option}={value!r}")
        rnn = RNN(module.input_size, module.hidden_size, nonlinearity=module.nonlinearity, seed=0)
        _set(rnn.parameters(), [x for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                                               "bias_hh_l0")
                                for x in _numbers(getattr(module, name))])
        return rnn
    if isinstance(module, tnn.Flatten):
        if (module.start_dim, module.end_dim) != (1, -1):
            raise _unsupported(module, "only start_dim=1, end_dim=-1 (each sample flattened)")
        return Flatten()
    simple = {tnn.ReLU: ReLU, tnn.Tanh: Tanh, tnn.Sigmoid: Sigmoid, TorchLastStep: LastStep}
    if type(module) in simple:
        return simple[type(module)]()
    if isinstance(module, tnn.LeakyReLU):
        return LeakyReLU(module.negative_slope)
    if isinstance(module, tnn.Dropout):
        return Dropout(module.p)
    raise TypeError(
        f"from_torch cannot convert a {type(module).__name__}: it converts Sequential, Linear, "
        "Conv2d, MaxPool2d, RNN, ReLU, Tanh, Sigmoid, LeakyReLU, Flatten, Dropout and "
        "chainrule's RNNOutputs and LastStep"
    )
