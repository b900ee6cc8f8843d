"""Search spaces for ``nn.tune``: what each hyperparameter may be.

    >>> from nn import space
    >>> grid = {"lr": space.loguniform(1e-3, 0.3), "hidden": [[8], [16, 16]]}

A space maps a name (an MLP or fit argument, see ``NAMES``) to one of

* ``choice(values)``: one of a few values (a plain list means the same);
* ``uniform(low, high)``: a float drawn evenly between the bounds;
* ``loguniform(low, high)``: a float drawn evenly on a log scale (learning
  rates, penalties), so 1e-3..1e-2 is as likely as 1e-2..1e-1;
* ``integer(low, high)``: an int in [low, high], both included.

Each dimension knows how to ask an Optuna trial for its value (``suggest``)
and, for the grid strategy, its list of grid points (``grid``). Optuna stores
only None, bools, ints, floats and strings, so a choice among lists (hidden
layer sizes) is stored as JSON text ("[16, 16]") and read back as a list.

``parse(space)`` checks a whole space: unknown names, empty choices, bad
bounds and values that cannot work for their name (a negative learning rate,
dropout of 1) raise ``ValueError`` naming the parameter.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass

from .module import ACTIVATIONS, INITS
from .optim import OPTIMIZERS

# The names a space may vary (MLP and fit arguments); "momentum" as an optimizer is SGD
# with momentum (0.9 unless the space or the fixed arguments give one).
NAMES = ("hidden", "activation", "init", "dropout", "norm", "lr", "optimizer", "momentum",
         "batch_size", "l1", "l2", "weight_decay", "epochs")
OPTIMIZER_NAMES = (*OPTIMIZERS, "momentum")
NORMS = (None, "batch", "layer")


class Dimension:
    """One parameter's range of values; subclasses say how Optuna draws it."""

    continuous = False

    def suggest(self, trial, name: str):
        """The value of ``name`` for this Optuna trial."""
        raise NotImplementedError

    def grid(self, name: str) -> list:
        """The grid points of this dimension (ValueError for a continuous one)."""
        raise ValueError(
            f"the grid strategy needs a finite set of values, but {name!r} is {self!r}, a "
            f"continuous range: give it as nn.space.choice([...]) of the values to try, or "
            f"use strategy='random' or 'bayes'"
        )

    def values(self) -> list:
        """Every value the dimension can take when it is finite (for checking), else its bounds."""
        raise NotImplementedError

    def describe(self) -> dict:
        """A JSON-ready description, the form of ``chainrule tune --space`` files."""
        raise NotImplementedError


@dataclass(frozen=True)
class Choice(Dimension):
    """One of ``options`` (any JSON values: numbers, strings, None, lists of numbers)."""

    options: tuple

    def __post_init__(self):
        labels = [_label(option) for option in self.options]
        if len(set(labels)) != len(labels):
            twice = sorted({label for label in labels if labels.count(label) > 1}, key=str)
            raise ValueError(f"choice lists {', '.join(map(str, twice))} more than once")

    def suggest(self, trial, name: str):
        return _unlabel(trial.suggest_categorical(name, self.labels()))

    def labels(self) -> list:
        """The options as Optuna stores them (lists as JSON text)."""
        return [_label(option) for option in self.options]

    def grid(self, name: str) -> list:
        return self.labels()

    def values(self) -> list:
        return list(self.options)

    def describe(self) -> dict:
        return {"choice": [_plain(option) for option in self.options]}

    def __repr__(self) -> str:
        return f"choice({[_plain(option) for option in self.options]!r})"


@dataclass(frozen=True)
class Uniform(Dimension):
    """A float between ``low`` and ``high``, evenly (or evenly in log space with ``log``)."""

    low: float
    high: float
    log: bool = False
    continuous = True

    def suggest(self, trial, name: str):
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def values(self) -> list:
        return [self.low, self.high]

    def describe(self) -> dict:
        return {"loguniform" if self.log else "uniform": [self.low, self.high]}

    def __repr__(self) -> str:
        return f"{'loguniform' if self.log else 'uniform'}({self.low!r}, {self.high!r})"


@dataclass(frozen=True)
class Integer(Dimension):
    """An int in [low, high], both included."""

    low: int
    high: int

    def suggest(self, trial, name: str):
        return trial.suggest_int(name, self.low, self.high)

    def grid(self, name: str) -> list:
        return list(range(self.low, self.high + 1))

    def values(self) -> list:
        return [self.low, self.high]

    def describe(self) -> dict:
        return {"integer": [self.low, self.high]}

    def __repr__(self) -> str:
        return f"integer({self.low!r}, {self.high!r})"


# -- the four constructors ----------------------------------------------------------------------


def choice(values) -> Choice:
    """One of ``values`` (a list; each value once)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"choice takes a list of values, got {values!r}")
    options = tuple(_plain(value) for value in values)
    if not options:
        raise ValueError("choice needs at least one value, got an empty list")
    return Choice(options)


def uniform(low, high) -> Uniform:
    """A float drawn evenly from [low, high]."""
    low, high = _bounds(low, high, "uniform")
    return Uniform(low, high)


def loguniform(low, high) -> Uniform:
    """A float drawn evenly on a log scale from [low, high] (both > 0)."""
    low, high = _bounds(low, high, "loguniform")
    if low <= 0:
        raise ValueError(f"loguniform needs bounds above 0, got low={low!r}")
    return Uniform(low, high, log=True)


def integer(low, high) -> Integer:
    """An int drawn from [low, high], both included."""
    for bound in (low, high):
        if not isinstance(bound, numbers.Integral) or isinstance(bound, bool):
            raise ValueError(f"integer needs int bounds, got ({low!r}, {high!r})")
    if low > high:
        raise ValueError(f"integer needs low <= high, got ({low!r}, {high!r})")
    return Integer(int(low), int(high))


def _bounds(low, high, kind: str) -> tuple[float, float]:
    for bound in (low, high):
        if not isinstance(bound, numbers.Real) or isinstance(bound, bool) or not math.isfinite(
            bound
        ):
            raise ValueError(f"{kind} needs two finite numbers, got ({low!r}, {high!r})")
    if not low < high:
        raise ValueError(f"{kind} needs low < high, got ({low!r}, {high!r})")
    return float(low), float(high)


# -- reading and checking a whole space ------------------------------------------------------


def parse(space) -> dict[str, Dimension]:
    """{name: Dimension} for a space of Dimensions, plain lists or ``--space`` descriptions.

    A description is a one-key dict such as ``{"loguniform": [0.001, 0.3]}`` or
    ``{"choice": [[8], [16, 16]]}`` (the JSON form of ``chainrule tune --space``).
    ValueError names an unknown parameter, a bad range or a value that cannot work.
    """
    if not hasattr(space, "items"):
        raise TypeError(f"space must map parameter names to ranges, got {type(space).__name__}")
    if not space:
        raise ValueError(f"space is empty: give at least one of {', '.join(NAMES)}")
    parsed = {}
    for name, given in space.items():
        if name not in NAMES:
            raise ValueError(f"unknown parameter {name!r} in the space: expected one of "
                             f"{', '.join(NAMES)}")
        try:
            dimension = _dimension(given)
            for value in dimension.values():
                check_value(name, value)
        except ValueError as error:
            raise ValueError(f"space {name!r}: {error}") from None
        parsed[name] = dimension
    return parsed


def _dimension(given) -> Dimension:
    if isinstance(given, Dimension):
        return given
    if isinstance(given, (list, tuple)):
        return choice(given)
    if isinstance(given, dict) and len(given) == 1:
        ((kind, arguments),) = given.items()
        makers = {"choice": choice, "uniform": uniform, "loguniform": loguniform,
                  "integer": integer}
        if kind not in makers:
            raise ValueError(f"unknown range {kind!r}: expected one of {', '.join(makers)}")
        if kind == "choice":
            return choice(arguments)
        if not isinstance(arguments, (list, tuple)) or len(arguments) != 2:
            raise ValueError(f"{kind} takes [low, high], got {arguments!r}")
        return makers[kind](*arguments)
    raise ValueError(
        f"expected nn.space.choice/uniform/loguniform/integer or a list of values, got "
        f"{given!r} (an argument that does not vary goes to nn.tune as a keyword, e.g. lr=0.1)"
    )


def check_value(name: str, value) -> None:
    """ValueError unless ``value`` can work as the MLP or fit argument ``name``."""
    problem = _problem(name, value)
    if problem:
        raise ValueError(f"{name}={value!r} {problem}")


def _problem(name: str, value) -> str | None:
    def number(v) -> bool:
        return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)

    def count(v) -> bool:
        return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1

    if name == "hidden":
        sizes = [value] if isinstance(value, numbers.Integral) else value
        if not isinstance(sizes, (list, tuple)) or not all(count(size) for size in sizes):
            return "must be hidden layer sizes: a list of positive ints such as [16, 16] " \
                   "(or one int for one layer)"
    elif name == "activation" and value not in ACTIVATIONS:
        return f"is not an activation: expected one of {', '.join(ACTIVATIONS)}"
    elif name == "init" and value not in INITS:
        return f"is not an initialisation: expected one of {', '.join(INITS)}"
    elif name == "norm" and value not in NORMS:
        return "is not a normalisation: expected None, 'batch' or 'layer'"
    elif name == "optimizer" and value not in OPTIMIZER_NAMES:
        return f"is not an optimizer: expected one of {', '.join(OPTIMIZER_NAMES)}"
    elif name == "dropout" and not (number(value) and 0 <= value < 1):
        return "must be a probability in [0, 1)"
    elif name == "lr" and not (number(value) and value > 0):
        return "must be a positive number"
    elif name in ("momentum", "l1", "l2", "weight_decay") and not (number(value) and value >= 0):
        return "must be a number >= 0"
    elif name == "batch_size" and not (value is None or count(value)):
        return "must be a positive int (or None for full batch)"
    elif name == "epochs" and not count(value):
        return "must be a positive int"
    return None


# -- how Optuna stores a choice --------------------------------------------------------------


def _plain(value):
    """A value as JSON would give it back: tuples as lists, numpy numbers as Python numbers."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    if value is None or isinstance(value, (str, bool)):
        return value
    raise ValueError(f"choice values must be numbers, strings, None or lists, got {value!r}")


def _label(value):
    """What Optuna stores for a choice value: the value, or JSON text for a list."""
    return json.dumps(value) if isinstance(value, list) else value


def _unlabel(label):
    if isinstance(label, str) and label.startswith("["):
        return json.loads(label)
    return label


def readable(params: dict) -> dict:
    """A trial's params as stored by Optuna, with choice lists read back from their JSON text."""
    return {name: _unlabel(value) for name, value in params.items()}
