"""What training watches per layer: activation and gradient statistics, clipping, divergence.

``fit(..., diagnostics=True)`` runs each batch through a ``Monitor``, which
wraps the engine's ``train_step`` in ``nn.module.watching``: containers hand it
each child's outputs for the batch, and it keeps, per layer (the dotted name
from ``named_modules()``), the statistics the README defines:

* ``grad_norm``: the L2 norm of the layer's parameter gradients at the epoch's
  last step, as backward left them (loss and l1/l2 penalties; before
  ``clip_grad`` scales them; an optimizer's weight_decay is not in them);
* ``update_ratio``: the L2 norm of that step's change of the layer's
  parameters over the L2 norm of the parameters before it;
* ``activation_mean``, ``activation_std``: mean and (population) standard
  deviation of every output number of the layer (every unit, every sample,
  every batch of the epoch, in training mode);
* ``dead`` (relu layers): the fraction of units whose output was never
  positive during the epoch;
* ``saturated`` (tanh and sigmoid layers): the fraction of output numbers in
  the flat tails, ``|tanh| > 0.99``, ``sigmoid < 0.01`` or ``> 0.99``.

A statistic that does not apply is None: ``dead`` of a tanh layer, the
gradient of a layer without parameters. A layer's activation is read from its
``activation`` attribute (a name in ``nn.ACTIVATIONS``).

The layers are the modules the model's containers report (an MLP's
``layers.i``); a model that is no container (a ``Layer``, a ``Neuron``, a
micrograd-style callable) is one layer named ``""``, watched through its
outputs.

Also here, because fit needs them at every step: ``clip_grad_norm`` (as
``torch.nn.utils.clip_grad_norm_``) and ``divergence_report``, which names the
layer where a gradient or update first left the finite range when the loss
became nan or inf.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from autograd import Value, no_grad

from .module import watching

STATS = ("grad_norm", "update_ratio", "activation_mean", "activation_std", "dead", "saturated")
# The flat tails: |tanh| above TANH_TAIL, sigmoid below SIGMOID_TAILS[0] or above [1].
TANH_TAIL = 0.99
SIGMOID_TAILS = (0.01, 0.99)
_SATURATING = ("tanh", "sigmoid")

# -- per-layer statistics -------------------------------------------------------------------


def _as_matrix(outputs) -> np.ndarray:
    """A batch of outputs (Values, numbers or lists of them) as a float array (samples, units)."""
    try:  # the usual case, fast: a list of Values per sample, flattened then reshaped
        flat = np.array([v.data for output in outputs for v in output], dtype=float)
        return flat.reshape(len(outputs), -1)
    except (AttributeError, TypeError, ValueError):
        pass
    rows = []
    for output in outputs:
        if isinstance(output, (list, tuple)):
            rows.append([v.data if type(v) is Value else float(v) for v in output])
        else:
            rows.append([output.data if type(output) is Value else float(output)])
    return np.array(rows, dtype=float)


@dataclass
class LayerStats:
    """The running statistics of one layer's outputs over the batches of an epoch."""

    name: str
    module: object
    parameters: list
    activation: str | None
    count: int = 0
    mean: float = 0.0
    squares: float = 0.0  # sum of squared deviations from the mean (Chan et al.)
    ever_positive: np.ndarray | None = None
    in_tails: int = 0

    def add(self, outputs) -> None:
        """Takes in one batch of the layer's outputs."""
        values = _as_matrix(outputs)
        if values.size == 0:
            return
        n = values.size
        with np.errstate(invalid="ignore", over="ignore"):  # inf and nan simply propagate
            mean = float(values.sum()) / n
            deviations = values.ravel() - mean
            squares = float(np.dot(deviations, deviations))
        total = self.count + n
        delta = mean - self.mean
        self.squares += squares + delta * delta * self.count * n / total
        self.mean += delta * n / total
        self.count = total
        if self.activation == "relu":
            positive = (values > 0).any(axis=0)
            self.ever_positive = (
                positive if self.ever_positive is None else self.ever_positive | positive
            )
        elif self.activation == "tanh":
            self.in_tails += int(np.count_nonzero(np.abs(values) > TANH_TAIL))
        elif self.activation == "sigmoid":
            low, high = SIGMOID_TAILS
            self.in_tails += int(np.count_nonzero((values < low) | (values > high)))

    def activations(self) -> dict:
        """activation_mean, activation_std, dead and saturated (None where they do not apply)."""
        seen = self.count > 0
        return {
            "activation_mean": self.mean if seen else None,
            "activation_std": math.sqrt(self.squares / self.count) if seen else None,
            "dead": (
                float(1.0 - self.ever_positive.mean())
                if self.activation == "relu" and self.ever_positive is not None
                else None
            ),
            "saturated": (
                self.in_tails / self.count if self.activation in _SATURATING and seen else None
            ),
        }

    def reset(self) -> None:
        self.count, self.mean, self.squares, self.in_tails = 0, 0.0, 0.0, 0
        self.ever_positive = None


def gradient_norm(parameters) -> float | None:
    """The L2 norm of the parameters' gradients (None for no parameters; inf/nan propagate)."""
    if not parameters:
        return None
    return math.sqrt(sum(p.grad * p.grad for p in parameters))


def layers_of(model) -> list[tuple[str, object]]:
    """(dotted name, module) of each layer: the model's direct submodules, or the model itself."""
    named_children = getattr(model, "named_children", None)
    children = list(named_children()) if named_children is not None else []
    return children or [("", model)]


@dataclass
class Monitor:
    """Collects the per-layer statistics of ``fit(..., diagnostics=True)``, epoch by epoch."""

    model: object
    layers: dict = field(default_factory=dict)  # id(module) -> LayerStats, in forward order
    _names: dict = field(default_factory=dict)
    _before: list | None = None  # at the epoch's last step: the parameters before the update
    _gradients: dict = field(default_factory=dict)
    _updates: dict = field(default_factory=dict)

    def __post_init__(self):
        named_modules = getattr(self.model, "named_modules", None)
        if named_modules is not None:
            self._names = {id(module): name for name, module in named_modules()}

    def _layer(self, module) -> LayerStats:
        stats = self.layers.get(id(module))
        if stats is None:
            name = self._names.get(id(module), type(module).__name__)
            parameters = module.parameters() if hasattr(module, "parameters") else []
            activation = getattr(module, "activation", None)
            stats = self.layers[id(module)] = LayerStats(
                name, module, parameters, activation if isinstance(activation, str) else None
            )
        return stats

    def observe(self, module, outputs) -> None:
        """The watch callback: a child's outputs for the batch."""
        self._layer(module).add(outputs)

    def train_step(self, engine, rows, targets, last: bool):
        """``engine.train_step`` with the layers watched; at the epoch's ``last`` step it also
        reads the gradients and keeps the parameters, for ``stepped`` to compare."""
        with watching(self.observe):
            result = engine.train_step(rows, targets)
        if not self.layers:  # no container reported: the model is its own single layer
            self._layer(self.model).name = ""
        own = self.layers.get(id(self.model))
        if own is not None:
            own.add(result.outputs)
        if last:
            self._gradients = {
                stats.name: gradient_norm(stats.parameters) for stats in self.layers.values()
            }
            self._before = [[p.data for p in stats.parameters] for stats in self.layers.values()]
        return result

    def stepped(self) -> None:
        """After ``optimizer.step()``: the update ratio of each layer, if this was the last step."""
        if self._before is None:
            return
        self._updates = {}
        for stats, before in zip(self.layers.values(), self._before, strict=True):
            if not before:
                self._updates[stats.name] = None
                continue
            change = math.sqrt(sum((p.data - b) * (p.data - b)  # (not **: it raises on overflow)
                                   for p, b in zip(stats.parameters, before, strict=True)))
            size = math.sqrt(sum(b * b for b in before))
            self._updates[stats.name] = change / size if size else (0.0 if not change else math.inf)
        self._before = None

    def epoch_record(self) -> dict:
        """{layer: {statistic: value}} for the epoch just finished; starts the next one."""
        record = {}
        for stats in self.layers.values():
            record[stats.name] = {
                "grad_norm": self._gradients.get(stats.name),
                "update_ratio": self._updates.get(stats.name),
                **stats.activations(),
            }
            stats.reset()
        self._gradients, self._updates = {}, {}
        return record


@contextmanager
def kept_buffers(model) -> Iterator[None]:
    """Inside the block the model may run in training mode: its buffers (batch norm's
    running statistics) are put back as they were afterwards, whatever they hold."""
    walk = getattr(model, "_walk_buffers", None)
    kept = [] if walk is None else [(module, local, value) for _, module, local, value in walk()]
    try:
        yield
    finally:
        for module, local, value in kept:
            module._set_buffer(local, value)


# -- gradient clipping ------------------------------------------------------------------------


def checked_max_norm(value, what: str) -> float:
    """``value`` as a float if it is a positive finite number; else ValueError naming ``what``."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 < value < math.inf:
        raise ValueError(
            f"{what} must be a positive number (the largest gradient norm allowed), got {value!r}"
        )
    return float(value)


def _power(x: float, p: float) -> float:
    """x ** p for x >= 0, inf on overflow as IEEE (Python's float ** raises OverflowError)."""
    try:
        return x**p
    except OverflowError:
        return math.inf


def _gradient_holders(parameters) -> list:
    if hasattr(parameters, "parameters") and not isinstance(parameters, Value):
        parameters = parameters.parameters()  # a Module
    elif isinstance(parameters, Value):
        parameters = [parameters]
    try:
        parameters = list(parameters)
    except TypeError:
        raise TypeError(
            f"parameters must be Values, a list of Values or a Module, "
            f"got {type(parameters).__name__}"
        ) from None
    for p in parameters:
        if not isinstance(p, Value):
            raise TypeError(f"parameters must be Values, got a {type(p).__name__} among them")
    return parameters


def clip_grad_norm(parameters, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False) -> float:
    """Scales the gradients so their total norm is at most ``max_norm``; returns the norm before.

    As ``torch.nn.utils.clip_grad_norm_``: the total norm is taken over every
    gradient together (``norm_type`` 2 by default, any p > 0, or ``math.inf``
    for the largest magnitude), and when it exceeds ``max_norm`` every
    gradient is multiplied by ``max_norm / (total + 1e-6)``. A nan total norm
    makes every gradient nan, as in torch; ``error_if_nonfinite=True`` raises
    ``FloatingPointError`` instead. ``parameters``: a Value, Values or a Module.
    """
    parameters = _gradient_holders(parameters)
    max_norm = checked_max_norm(max_norm, "max_norm")
    if norm_type == "inf":
        norm_type = math.inf
    if not isinstance(norm_type, numbers.Real) or isinstance(norm_type, bool) or not norm_type > 0:
        raise ValueError(f"norm_type must be a positive number or math.inf, got {norm_type!r}")
    if not parameters:
        return 0.0
    grads = [p.grad for p in parameters]
    if norm_type == math.inf:
        total = math.nan if any(g != g for g in grads) else max(abs(g) for g in grads)
    elif norm_type == 2:
        total = math.sqrt(sum(g * g for g in grads))
    else:
        total = sum(_power(abs(g), norm_type) for g in grads) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise FloatingPointError(
            f"the total norm of order {norm_type} of the gradients is {total}, so they "
            "cannot be clipped (pass error_if_nonfinite=False to scale them anyway)"
        )
    coefficient = max_norm / (total + 1e-6)
    if coefficient < 1.0 or coefficient != coefficient:  # nan spreads, as torch's clamp
        for p in parameters:
            p.grad *= coefficient
    return float(total)


# -- where a divergence started ---------------------------------------------------------------


def _first_nonfinite(named, read) -> tuple[str, float] | None:
    for name, p in named:
        value = read(p)
        if not math.isfinite(value):
            return name, value
    return None


def _named_parameters(name: str, module) -> list[tuple[str, Value]]:
    if hasattr(module, "named_parameters"):
        prefix = f"{name}." if name else ""
        return [(prefix + local, p) for local, p in module.named_parameters()]
    return [(str(i), p) for i, p in enumerate(module.parameters())]


def divergence_report(model, applied: bool = True, rows=None) -> str:
    """A sentence naming the first layer whose gradient or update left the finite range.

    Called when fit's loss became nan or inf (``applied``: the parameters'
    ``.grad`` still hold the last applied step's gradients, since a non-finite
    loss is not back-propagated, and the parameters that step's update), or
    when clipping met a non-finite gradient before applying it
    (``applied=False``). Layers are searched in the order backward reaches
    them (from the output), so the layer named is where the non-finite
    gradient started; failing that, the first layer (from the input) whose
    parameters are no longer finite. When everything is still finite the
    forward pass overflowed: given the batch's ``rows``, it is run again to
    name the first layer whose outputs left the finite range.
    """
    layers = [(name, _named_parameters(name, module)) for name, module in layers_of(model)]
    layers = [(name, named) for name, named in layers if named]
    if not layers:
        return ""
    shown = {"": "the model"}
    for name, named in reversed(layers):
        found = _first_nonfinite(named, lambda p: p.grad)
        if found is not None:
            where = shown.get(name, name)
            checked = "layers checked in the order backward reaches them"
            if not applied:
                return (
                    f" The gradient left the finite range first in {where} ({found[0]} has "
                    f"gradient {found[1]}; {checked})."
                )
            return (
                f" It started in the step before: the gradient left the finite range first "
                f"in {where} ({found[0]} had gradient {found[1]}; {checked}), and that step's "
                f"update carried it into the weights."
            )
    for name, named in layers:
        found = _first_nonfinite(named, lambda p: p.data)
        if found is not None:
            return (
                f" The gradients were finite, but the update of {shown.get(name, name)} left "
                f"the finite range ({found[0]} became {found[1]})."
            )
    largest_name, largest = max(
        ((name, max(abs(p.data) for _, p in named)) for name, named in layers),
        key=lambda item: item[1],
    )
    if largest == 0 or not any(p.grad for _, named in layers for _, p in named):
        return ""  # nothing has been applied yet: the inputs themselves, not training
    where = "" if rows is None else _first_nonfinite_output(model, rows)
    return (
        f" Every gradient and parameter is still finite, so the forward pass overflowed"
        f"{where}; the largest parameters are in {shown.get(largest_name, largest_name)} "
        f"(|{largest:.3g}|)."
    )


def _first_nonfinite_output(model, rows) -> str:
    """Where the batch's forward pass first leaves the finite range, rerun with the layers
    watched (under no_grad; parameters and running statistics are restored afterwards)."""
    if not hasattr(model, "forward_batch") or not hasattr(model, "named_modules"):
        return ""
    found = []

    def watch(module, outputs):
        if not found and not np.isfinite(_as_matrix(outputs)).all():
            found.append(module)

    try:
        with kept_buffers(model), no_grad(), watching(watch), np.errstate(all="ignore"):
            model.forward_batch(rows)
    except Exception:  # a diagnosis must never hide the error being reported
        return ""
    if not found:
        return " in the loss (every layer's outputs are finite)"
    names = {id(module): name for name, module in model.named_modules()}
    return f", first in the outputs of {names.get(id(found[0]), type(found[0]).__name__)}"
