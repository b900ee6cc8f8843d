"""nn: neural networks built on autograd Values (modules, losses, optimizers, data, training).

    >>> from nn import MLP
    >>> model = MLP(2, [16, 16, 1])   # micrograd's demo network
    >>> model
    MLP of [Layer of [ReLUNeuron(2), ...

``nn.strategies`` (hypothesis) is imported on demand, not here; so are Optuna
(by ``nn.tune``) and scikit-learn (by ``nn.MLPClassifier`` / ``nn.MLPRegressor``).
"""

from . import data, space
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
from .serialize import load, save
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
    "SGD",
    "Adam",
    "AdamW",
    "BatchNorm",
    "Diagnosis",
    "Finding",
    "History",
    "Layer",
    "LayerNorm",
    "MLPClassifier",
    "MLPRegressor",
    "Module",
    "Neuron",
    "Optimizer",
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
    "tune",
    "TuneResult",
]
