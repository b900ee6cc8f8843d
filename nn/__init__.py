"""nn: neural networks built on autograd Values (modules, losses, optimizers, data, training).

    >>> from nn import MLP
    >>> model = MLP(2, [16, 16, 1])   # micrograd's demo network
    >>> model
    MLP of [Layer of [ReLUNeuron(2), ...

Beyond the MLP, with PyTorch's names: ``Sequential`` and its small modules
(``ReLU``, ``Tanh``, ``Sigmoid``, ``LeakyReLU``, ``Flatten``, ``Dropout``,
``LastStep``; nn/containers.py), ``Conv2d`` and ``MaxPool2d`` (nn/conv.py),
``RNN`` (nn/recurrent.py), and ``to_torch`` / ``from_torch``
(nn/torch_bridge.py, which imports torch only when called).

``nn.strategies`` (hypothesis) is imported on demand, not here; so are Optuna
(by ``nn.tune``) and scikit-learn (by ``nn.MLPClassifier`` / ``nn.MLPRegressor``
and the bundled data sets).
"""

from . import data, space
from .containers import (
    Dropout,
    Flatten,
    LastStep,
    LeakyReLU,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)
from .conv import Conv2d, MaxPool2d
from .diagnostics import Diagnosis, Finding, diagnose
from .losses import (
    bce_with_logits,
    binary_cross_entropy,
    cross_entropy,
    hinge_loss,
    l1_penalty,
    l2_penalty,
    log_softmax,
    mse_loss,
    softmax,
)
from .module import ACTIVATIONS, INITS, MLP, NORMS, Layer, Module, Neuron
from .monitor import clip_grad_norm
from .norm import BatchNorm, LayerNorm
from .optim import (
    SGD,
    Adam,
    AdamW,
    Optimizer,
    cosine_decay,
    exponential_decay,
    linear_decay,
    step_decay,
)
from .recurrent import RNN
from .serialize import load, save
from .torch_bridge import from_torch, to_torch
from .train import History, evaluate, fit
from .tune import TuneResult, tune

_SKLEARN = ("MLPClassifier", "MLPRegressor")  # scikit-learn loads on first use


def __getattr__(name):
    if name in _SKLEARN:
        from . import sklearn

        return getattr(sklearn, name)
    raise AttributeError(f"module 'nn' has no attribute {name!r}")

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "MLP",
    "NORMS",
    "RNN",
    "SGD",
    "Adam",
    "AdamW",
    "BatchNorm",
    "Conv2d",
    "Diagnosis",
    "Dropout",
    "Finding",
    "Flatten",
    "History",
    "LastStep",
    "Layer",
    "LayerNorm",
    "LeakyReLU",
    "MaxPool2d",
    "MLPClassifier",
    "MLPRegressor",
    "Module",
    "Neuron",
    "Optimizer",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "bce_with_logits",
    "binary_cross_entropy",
    "clip_grad_norm",
    "cosine_decay",
    "cross_entropy",
    "data",
    "diagnose",
    "evaluate",
    "exponential_decay",
    "fit",
    "from_torch",
    "hinge_loss",
    "l1_penalty",
    "l2_penalty",
    "linear_decay",
    "load",
    "log_softmax",
    "mse_loss",
    "save",
    "softmax",
    "space",
    "step_decay",
    "to_torch",
    "tune",
    "TuneResult",
]
