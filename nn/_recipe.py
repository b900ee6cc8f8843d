"""From named arguments to a trained MLP: what ``nn.tune`` trials and the scikit-learn
estimators share.

The names are those of ``nn.space.NAMES`` (MLP and fit arguments) plus
``output_activation`` and ``early_stopping``; anything not given takes
``DEFAULTS``. "momentum" as an optimizer is SGD with momentum 0.9 (the
``momentum`` argument overrides it); ``momentum`` moves SGD only.
"""

from __future__ import annotations

import numbers

from .module import MLP
from .optim import OPTIMIZERS, SGD
from .train import _DEFAULT_LR, fit

DEFAULTS = {
    "hidden": [16, 16], "activation": "relu", "init": "uniform", "dropout": 0.0, "norm": None,
    "optimizer": "adam", "lr": None, "momentum": None, "weight_decay": None,
    "batch_size": None, "l1": 0.0, "l2": 0.0, "epochs": 100,
    "output_activation": None, "early_stopping": None,
}


def build_model(nin: int, outputs: int, args: dict, loss, seed) -> MLP:
    """The MLP ``args`` describe, with ``outputs`` outputs (a sigmoid one for loss "bce")."""
    args = {**DEFAULTS, **args}
    hidden = args["hidden"]
    hidden = [hidden] if isinstance(hidden, numbers.Integral) else list(hidden)
    output_activation = args["output_activation"]
    if loss == "bce" and output_activation is None:
        output_activation = "sigmoid"  # bce takes probabilities
    return MLP(nin, [*hidden, outputs], activation=args["activation"], init=args["init"],
               dropout=args["dropout"], output_activation=output_activation, norm=args["norm"],
               seed=seed)


def build_optimizer(args: dict, parameters):
    """The optimizer ``args`` describe (optimizer, lr, momentum, weight_decay)."""
    args = {**DEFAULTS, **args}
    name, lr, decay = args["optimizer"], args["lr"], args["weight_decay"]
    if name in ("sgd", "momentum"):
        momentum = args["momentum"]
        if momentum is None:
            momentum = 0.9 if name == "momentum" else 0.0
        return SGD(parameters, lr=_DEFAULT_LR["sgd"] if lr is None else lr, momentum=momentum,
                   weight_decay=decay or 0.0)
    extra = {} if decay is None else {"weight_decay": decay}
    return OPTIMIZERS[name](parameters, lr=_DEFAULT_LR[name] if lr is None else lr, **extra)


def train(X, y, args: dict, loss, outputs: int, seed, validation=None, callbacks=(),
          progress: bool = False, snapshots: bool = False, engine: str = "auto"):
    """(model, history): the MLP of ``args`` built from ``seed`` and fitted on (X, y)
    (``snapshots``: fit keeps each epoch's parameters, for the training player;
    ``engine``: fit's)."""
    args = {**DEFAULTS, **args}
    model = build_model(X.shape[1], outputs, args, loss, seed)
    history = fit(
        model, X, y, loss=loss, optimizer=build_optimizer(args, model.parameters()),
        epochs=args["epochs"], batch_size=args["batch_size"], validation=validation,
        early_stopping=args["early_stopping"], progress=progress, callbacks=callbacks,
        l1=args["l1"], l2=args["l2"], seed=seed, snapshots=snapshots, engine=engine,
    )
    return model, history


def final_value(history) -> float:
    """The validation loss a run is judged by: after the best epoch with early stopping,
    else after the last."""
    if history.best_epoch is not None and not history.interrupted:
        return history.val_loss[history.best_epoch - 1]
    return history.val_loss[-1]
