"""``nn.MLPClassifier`` and ``nn.MLPRegressor``: chainrule's MLP as scikit-learn estimators.

    >>> from sklearn.model_selection import GridSearchCV
    >>> import nn
    >>> X, y = nn.data.moons(200, noise=0.2, seed=0)
    >>> search = GridSearchCV(nn.MLPClassifier(epochs=60, seed=0), {"lr": [0.01, 0.1]}, cv=3)
    >>> search.fit(X, y).best_params_

The constructor arguments mirror ``nn.MLP`` and ``nn.fit`` (``hidden``,
``activation``, ``init``, ``dropout``, ``norm``, ``optimizer``, ``lr``,
``momentum``, ``weight_decay``, ``batch_size``, ``l1``, ``l2``, ``epochs``,
``early_stopping``, ``validation``, ``seed``, ``progress``) and are read as
``nn.tune`` reads them (``nn._recipe``). Following scikit-learn's rules, the
constructor only stores them; ``fit`` checks them and sets the fitted
attributes: ``model_`` (the nn.MLP), ``history_`` (its nn.History),
``n_features_in_``, and for the classifier ``classes_``.

Decisions where the spec is silent:

* The classifier takes labels of any type (strings, ints, bools), sorted as
  ``numpy.unique`` sorts them in ``classes_``; two classes get one output
  and bce_with_logits (``decision_function`` is that logit), more get one
  output per class and cross_entropy (``decision_function`` the logits).
  ``predict_proba`` is the sigmoid or the softmax of them.
* The regressor fits mse on y as given (one output per column of a 2-D y);
  scale inputs and targets with a Pipeline (``StandardScaler``) or
  ``TransformedTargetRegressor`` as for any scikit-learn network.
* ``seed`` seeds the weights and the shuffling, so the same seed fits the
  same model; ``seed=None`` draws from the global generators, as nn.MLP.
* ``progress`` is off by default: a grid search fits many models.
"""

from __future__ import annotations

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError(
        "nn.MLPClassifier and nn.MLPRegressor need scikit-learn: pip install scikit-learn"
    ) from None

import autograd

from . import _recipe as recipe
from . import space

_ARGUMENTS = ("hidden", "activation", "init", "dropout", "norm", "optimizer", "lr", "momentum",
              "weight_decay", "batch_size", "l1", "l2", "epochs")


class _MLPEstimator(BaseEstimator):
    """What both estimators share: the arguments, training and the forward pass."""

    def __init__(self, hidden=(16, 16), activation="relu", init="uniform", dropout=0.0,
                 norm=None, optimizer="adam", lr=None, momentum=None, weight_decay=None,
                 batch_size=None, l1=0.0, l2=0.0, epochs=100, early_stopping=None,
                 validation=None, seed=None, progress=False):
        self.hidden = hidden
        self.activation = activation
        self.init = init
        self.dropout = dropout
        self.norm = norm
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.l1 = l1
        self.l2 = l2
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation = validation
        self.seed = seed
        self.progress = progress

    def _arguments(self) -> dict:
        """The recipe's arguments, each checked (ValueError names a bad one)."""
        args = {}
        for name in _ARGUMENTS:
            value = getattr(self, name)
            if value is None and name in ("lr", "momentum", "weight_decay", "norm"):
                continue  # the recipe's default
            space.check_value(name, list(value) if name == "hidden" and isinstance(
                value, tuple) else value)
            args[name] = list(value) if isinstance(value, tuple) else value
        args["early_stopping"] = self.early_stopping
        return args

    def _train(self, X, targets, loss: str, outputs: int) -> None:
        self.model_, self.history_ = recipe.train(
            X, targets, self._arguments(), loss, outputs, self.seed,
            validation=self.validation, progress=self.progress,
        )

    def _outputs(self, X) -> np.ndarray:
        """The model's raw outputs, one row per sample (eval mode, no graph kept)."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False)
        model = self.model_
        model.eval()
        with autograd.no_grad():
            rows = [model(row) for row in X.tolist()]
        return np.array([[v.data for v in out] if isinstance(out, list) else [out.data]
                         for out in rows], dtype=float).reshape(len(X), -1)


class MLPClassifier(ClassifierMixin, _MLPEstimator):
    """An nn.MLP classifier in scikit-learn's API: fit, predict, predict_proba, score."""

    def fit(self, X, y):
        """Trains a new MLP on (X, y); y holds class labels of any type. Returns self."""
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.classes_, targets = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"MLPClassifier needs at least two classes in y, got one class: "
                             f"{self.classes_[0]!r}")
        if len(self.classes_) == 2:
            self._train(X, targets, "bce_with_logits", 1)
        else:
            self._train(X, targets, "cross_entropy", len(self.classes_))
        return self

    def decision_function(self, X) -> np.ndarray:
        """The logits: shape (n,) for two classes (positive: ``classes_[1]``), else (n, k)."""
        logits = self._outputs(X)
        return logits[:, 0] if len(self.classes_) == 2 else logits

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n, k), columns in the order of ``classes_``."""
        logits = self._outputs(X)
        if len(self.classes_) == 2:
            positive = 1.0 / (1.0 + np.exp(-np.clip(logits[:, 0], -700, 700)))
            return np.column_stack([1.0 - positive, positive])
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        """The most likely class of each sample, in the labels given to fit."""
        logits = self._outputs(X)
        index = (logits[:, 0] > 0).astype(int) if len(self.classes_) == 2 else logits.argmax(1)
        return self.classes_[index]


class MLPRegressor(RegressorMixin, _MLPEstimator):
    """An nn.MLP regressor in scikit-learn's API: fit, predict, score (R²)."""

    def fit(self, X, y):
        """Trains a new MLP on (X, y) with mse; y of shape (n,) or (n, outputs). Returns self."""
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True)
        y = np.asarray(y, dtype=float)
        if not np.all(np.isfinite(y)):
            raise ValueError("y holds nan or inf values")
        self._one_column = y.ndim == 1
        self._train(X, y, "mse", 1 if y.ndim == 1 else y.shape[1])
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # one output per column of y
        return tags

    def predict(self, X) -> np.ndarray:
        """Predictions, shape (n,) when fit had a 1-D y, else (n, outputs)."""
        outputs = self._outputs(X)
        return outputs[:, 0] if self._one_column else outputs
