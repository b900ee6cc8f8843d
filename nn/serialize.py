"""Model files: a model as JSON, read back with every field validated.

    {"format": "chainrule-model", "version": 3,
     "architecture": {"type": "MLP", "nin": 2, "nouts": [16, 16, 1],
                      "activation": "relu", "output_activation": "linear",
                      "dropout": 0.0},
     "parameters": {"layers.0.neurons.0.w.0": 0.23, ..., "layers.2.neurons.0.b": -0.1},
     "task": "classification", "labels": ["no", "yes"],
     "features": ["x1", "x2"], "target": "label", "loss": "bce_with_logits"}

``parameters`` maps each dotted name of ``state_dict()`` to a finite number:
every parameter, then every buffer (batch norm's running statistics, which
are not trained but are needed to evaluate the model, as in PyTorch's
state_dict). ``architecture`` holds the constructor arguments (``type`` names
a registered kind: MLP, Layer and Neuron since version 1, BatchNorm,
LayerNorm, Sequential, its layers and RNN since version 2, a Sequential's
``layers`` holding its children's architectures; other modules register
theirs with ``register``). Fields added to a kind later (MLP's and Layer's
``norm``) are optional, so files written before them keep loading; version-1
files read as they always did. Version 3 adds what the model was trained
for, each field optional (``ModelInfo``): ``task`` ("classification" or
"regression"), ``labels`` (a classifier's class labels, numbers or strings, in
the order of its outputs: output k, or for one output a score above 0, means
``labels[k]``, ``labels[1]``), ``features`` and ``target`` (the names of the
input columns and of the target column) and ``loss`` (the loss it was trained
with, which says how one output reads: a logit at 0, a probability at 0.5).
``save(model, path, info)`` writes them, ``load_info(path)`` reads them back
with the model; ``load`` ignores them. A file without them is written as
version 2, which older readers take. Loading never unpickles and never evaluates anything: the
text is parsed as JSON, checked field by field, the parameter count and
names the architecture implies are checked against the cap and the file
before any module is built, then the model is rebuilt and the parameters are
loaded by name, so a file with wrong layer sizes, missing or extra parameters
or non-numbers is refused with a ValueError that gives the reason.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ._checks import MAX_PARAMETERS, few, mlp_parameter_count, quoted, read_regular_file
from .containers import Dropout, Flatten, LastStep, LeakyReLU, ReLU, Sequential, Sigmoid, Tanh
from .conv import Conv2d, MaxPool2d
from .module import ACTIVATIONS, MLP, NORMS, Layer, Module, Neuron
from .norm import BatchNorm, LayerNorm, _eps, _momentum
from .recurrent import NONLINEARITIES, RNN

FORMAT = "chainrule-model"
# version 2 adds Sequential, its layers and RNN; version 3 the optional task, labels, features
# and target; older files read the same way
VERSION = 3  # written when a file holds those fields; files without them stay version 2,
# so that older chainrule reads them
READABLE_VERSIONS = (1, 2, 3)
TASKS = ("classification", "regression")
MAX_LABELS = 100_000  # labels or feature names in a model file
MAX_NAME = 1_000  # characters of one label or column name
MAX_BYTES = 200_000_000  # far above any scalar-engine model; refuses to read a disk image
MAX_UNITS = 1_000_000  # layer sizes beyond this cannot be meant for a scalar engine
MAX_DIGITS = 400  # an integer literal this long is already far beyond any float
# MAX_PARAMETERS (1,000,000, from nn._checks): the most a model file may hold, whatever its kind
_PICKLE_MAGIC = (b"\x80", b"(dp", b"(lp", b"ccopy_reg", b"c__builtin__")


@dataclass(frozen=True)
class ModelInfo:
    """What a model was trained for, as a model file keeps it (every field optional).

    ``task``: "classification" or "regression". ``labels``: a classifier's
    class labels (numbers or strings, distinct) in the order of its outputs.
    ``features``, ``target``: the names of the input columns and of the target.
    ``loss``: the loss it was trained with (how to read one output: a logit at 0,
    a probability or a 0/1 regression at 0.5).
    """

    task: str | None = None
    labels: tuple = field(default=())
    features: tuple = field(default=())
    target: str | None = None
    loss: str | None = None

    def __post_init__(self):
        _check_info({"task": self.task, "labels": self.labels, "features": self.features,
                     "target": self.target, "loss": self.loss})
        object.__setattr__(self, "labels", tuple(self.labels))
        object.__setattr__(self, "features", tuple(self.features))

    def as_dict(self) -> dict:
        """The fields that are set, as a model file holds them."""
        fields = {"task": self.task, "labels": list(self.labels),
                  "features": list(self.features), "target": self.target, "loss": self.loss}
        return {name: value for name, value in fields.items() if value not in (None, [])}


INFO_FIELDS = ("task", "labels", "features", "target", "loss")


def _check_info(info: dict) -> None:
    """ValueError naming the field of a ModelInfo (or a model file) that is not valid."""
    task = info.get("task")
    if task is not None and task not in TASKS:
        raise ValueError(f"'task' must be one of {', '.join(TASKS)}, got {quoted(task, 60)}")
    labels = info.get("labels", [])
    if not isinstance(labels, (list, tuple)) or len(labels) > MAX_LABELS:
        raise ValueError(f"'labels' must be a list of class labels, got {quoted(labels, 60)}")
    for label in labels:
        number = isinstance(label, numbers.Real) and not isinstance(label, bool)
        if not (_finite_number(label) if number else _name(label)):
            raise ValueError(
                f"'labels' must hold finite numbers or strings of 1 to {MAX_NAME} characters, "
                f"got {quoted(label, 60)}"
            )
    if len(set(labels)) != len(labels):
        raise ValueError(f"'labels' must be distinct, got [{few([str(x) for x in labels])}]")
    if labels and task != "classification":
        raise ValueError("'labels' are for a classification: 'task' must be 'classification'")
    features = info.get("features", [])
    if (not isinstance(features, (list, tuple)) or len(features) > MAX_LABELS
            or not all(_name(name) for name in features)):
        raise ValueError(f"'features' must be a list of column names, got {quoted(features, 60)}")
    for name in ("target", "loss"):
        value = info.get(name)
        if value is not None and not _name(value):
            raise ValueError(f"{name!r} must be a name, got {quoted(value, 60)}")


def _name(value) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= MAX_NAME


def to_dict(model: Module, info: ModelInfo | None = None) -> dict:
    """The model file's content as a dict (with ``info``'s fields when given)."""
    if not isinstance(model, Module):
        raise TypeError(f"expected an nn Module, got {type(model).__name__}")
    if info is not None and not isinstance(info, ModelInfo):
        raise TypeError(f"info must be an nn.serialize.ModelInfo, got {type(info).__name__}")
    extra = info.as_dict() if info is not None else {}
    return {
        "format": FORMAT,
        "version": VERSION if extra else 2,
        "architecture": model.architecture(),
        "parameters": model.state_dict(),
        **extra,
    }


def dumps(model: Module, info: ModelInfo | None = None) -> str:
    """The model file's text (JSON)."""
    content = to_dict(model, info)
    bad = [name for name, value in content["parameters"].items() if not math.isfinite(value)]
    if bad:
        raise ValueError(
            f"cannot save a model with non-finite parameters ({', '.join(bad[:3])}...): "
            "training diverged; lower the learning rate and train again"
        )
    return json.dumps(content, indent=1)


def save(model: Module, path, info: ModelInfo | None = None) -> None:
    """Writes the model (and ``info``: its task, labels, column names) to ``path`` as JSON.

    The text goes to a temporary file beside ``path`` that then replaces it,
    so an interrupted save leaves the old file or the new one, never half a file.
    """
    text = dumps(model, info)
    path = os.fspath(path)
    partial = f"{path}.partial"
    try:
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def load(path) -> Module:
    """Reads a model file written by ``save``; ValueError with the reason if it is not valid.

    Only a regular file of at most ``MAX_BYTES`` is read: a folder, a device
    such as ``/dev/zero``, a FIFO or a larger file is refused before reading
    (a missing file is a FileNotFoundError).
    """
    return load_info(path)[0]


def load_info(path) -> tuple[Module, ModelInfo]:
    """(model, what it was trained for) from a model file; ``ModelInfo()`` for older files."""
    path = os.fspath(path)
    raw = read_regular_file(path, "model file", MAX_BYTES)
    try:
        return loads_info(raw)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def loads(text) -> Module:
    """The model described by a model file's text (str or bytes)."""
    return loads_info(text)[0]


def loads_info(text) -> tuple[Module, ModelInfo]:
    """(model, ModelInfo) described by a model file's text (str or bytes)."""
    if not isinstance(text, (str, bytes, bytearray)):
        raise TypeError(f"expected a model file's text (str or bytes), got {type(text).__name__}")
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text)
        if text.lstrip()[:1] != b"{" and text.startswith(_PICKLE_MAGIC):
            raise ValueError(
                "this is a pickle, not a chainrule model file; pickles are never loaded"
            )
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(f"not a model file: not UTF-8 text ({error.reason})") from None
    if not text.strip():
        raise ValueError("the model file is empty")
    content = _parse(text)
    return from_dict(content), _info(content)


def _info(content: dict) -> ModelInfo:
    """The ModelInfo of a model file's content (checked by from_dict already)."""
    return ModelInfo(**{name: content[name] for name in INFO_FIELDS if name in content})


def _parse(text: str) -> dict:
    try:
        content = json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_int=_integer,
            object_pairs_hook=_refuse_duplicates,
        )
    except RecursionError:
        raise ValueError("not a model file: JSON nested too deeply") from None
    except json.JSONDecodeError as error:
        where = "truncated" if error.pos >= len(text.rstrip()) else "malformed"
        raise ValueError(
            f"not a model file: {where} JSON ({error.msg} at line {error.lineno})"
        ) from None
    if not isinstance(content, dict):
        raise ValueError(f"not a model file: expected a JSON object, got {type(content).__name__}")
    return content


def _refuse_constant(name: str):
    raise ValueError(f"not a model file: {name} is not a valid number")


def _integer(digits: str) -> int:
    # Python refuses to convert integers of more than 4,300 digits (and a
    # parameter of 400 digits is no float anyway): say so before trying.
    if len(digits.lstrip("-")) > MAX_DIGITS:
        raise ValueError(
            f"not a model file: an integer of {len(digits.lstrip('-')):,} digits "
            f"(numbers must be finite floats, at most {MAX_DIGITS} digits)"
        )
    return int(digits)


def _refuse_duplicates(pairs):
    content = dict(pairs)
    if len(content) != len(pairs):  # one pass finds the first repeated key
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"not a model file: repeated key {quoted(key)}")
            seen.add(key)
    return content


def from_dict(content: dict) -> Module:
    """The model described by a model file's content; ValueError if anything does not fit.

    Everything is checked before anything is built: the architecture's fields
    and sizes, its parameter count against ``MAX_PARAMETERS``, and the
    parameters' names and numbers against the names the architecture implies.
    """
    if not isinstance(content, dict):
        raise ValueError(f"expected a dict, got {type(content).__name__}")
    expected = {"format", "version", "architecture", "parameters"}
    optional = set(INFO_FIELDS) if content.get("version") == 3 else set()
    missing, extra = expected - content.keys(), content.keys() - expected - optional
    if missing or extra:
        raise ValueError(
            f"not a model file: missing fields {sorted(missing)}, "
            f"unexpected fields [{few(sorted(extra, key=str))}]"
        )
    if content["format"] != FORMAT:
        raise ValueError(
            f"not a model file: format is {quoted(content['format'])}, expected {FORMAT!r}"
        )
    version = content["version"]
    if type(version) is not int or version not in READABLE_VERSIONS:
        raise ValueError(
            f"unsupported model file version {quoted(version, 60)} (this chainrule reads "
            f"{' and '.join(map(str, READABLE_VERSIONS))})"
        )
    try:
        _check_info(content)
    except ValueError as error:
        raise ValueError(f"not a model file: {error}") from None
    architecture = content["architecture"]
    kind = kind_of(architecture)
    count = kind.count(architecture)
    if count > MAX_PARAMETERS:
        raise ValueError(
            f"{architecture['type']} architecture has {count} parameters, more than "
            f"{MAX_PARAMETERS} (the most a model file may hold)"
        )
    parameters = content["parameters"]
    if not isinstance(parameters, dict):
        raise ValueError(
            f"'parameters' must be an object of name: number, got {type(parameters).__name__}"
        )
    _check_names(architecture["type"], list(kind.names(architecture)), parameters)
    for name, value in parameters.items():
        if not _finite_number(value):
            raise ValueError(
                f"parameter {quoted(name)} must be a finite number, got {quoted(value, 60)}"
            )
    model = kind.build(architecture)
    model.load_state_dict(parameters)
    return model


def _finite_number(value) -> bool:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond any float
        return False


def _check_names(type_name: str, names: list[str], parameters: dict) -> None:
    """ValueError naming missing and unexpected parameters (the architecture gives the names)."""
    if len(names) == len(parameters) and all(name in parameters for name in names):
        return
    wanted = set(names)
    missing = [name for name in names if name not in parameters]
    extra = [name for name in parameters if name not in wanted]
    parts = []
    if missing:
        parts.append(f"missing parameters {few(missing)}")
    if extra:
        parts.append(f"unexpected parameters {few(extra)}")
    raise ValueError(f"the parameters do not fit this {type_name}: {'; '.join(parts)}")


# -- the kinds of module a model file can hold ---------------------------------------------


@dataclass(frozen=True)
class Kind:
    """How a model file describes one kind of module.

    ``fields``: the architecture's fields (``type`` included). ``count(arch)``
    validates the sizes and returns the number of parameters, cheaply (no
    module is built, so a tiny file cannot claim a huge model and hang the
    loader); ``names(arch)`` yields the parameters' dotted names in
    ``named_parameters()`` order; ``build(arch)`` makes the module (its
    weights are overwritten next). Every architecture a module's
    ``architecture()`` returns must round-trip through its kind.
    """

    fields: frozenset
    count: Callable[[dict], int]
    names: Callable[[dict], Iterator[str]]
    build: Callable[[dict], Module]
    optional: frozenset = frozenset()


KINDS: dict[str, Kind] = {}


def register(type_name: str, fields, count, names, build, optional=()) -> None:
    """Makes ``type_name`` loadable from model files (see ``Kind``).

    ``optional`` names fields added after files of this kind were first
    written: a file may leave them out (``count``, ``names`` and ``build``
    read them with ``arch.get``), so older files keep loading.
    """
    optional = frozenset(optional)
    KINDS[type_name] = Kind(frozenset(fields) | optional | {"type"}, count, names, build, optional)


def kind_of(architecture) -> Kind:
    """The registered kind of an architecture, after checking its type and fields."""
    if not isinstance(architecture, dict):
        raise ValueError(f"'architecture' must be an object, got {type(architecture).__name__}")
    type_name = architecture.get("type")
    if not isinstance(type_name, str) or type_name not in KINDS:
        raise ValueError(
            f"unknown architecture type {quoted(type_name, 60)}: "
            f"expected one of {', '.join(KINDS)}"
        )
    kind = KINDS[type_name]
    fields = set(architecture)
    if not kind.fields - kind.optional <= fields <= kind.fields:
        raise ValueError(
            f"{type_name} architecture: missing fields "
            f"{sorted(kind.fields - kind.optional - fields)}, "
            f"unexpected fields {few(sorted(fields - kind.fields))}"
        )
    return kind


def _units(value, what: str) -> int:
    if type(value) is not int or not 1 <= value <= MAX_UNITS:
        raise ValueError(
            f"architecture: {what} must be an int from 1 to {MAX_UNITS}, got {quoted(value, 60)}"
        )
    return value


def _activation(value) -> str:
    if value not in ACTIVATIONS:
        raise ValueError(
            f"architecture: unknown activation {quoted(value, 60)}: "
            f"expected one of {', '.join(ACTIVATIONS)}"
        )
    return value


def _dropout(value) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1:
        raise ValueError(
            f"architecture: 'dropout' must be a number in [0, 1), got {quoted(value, 60)}"
        )
    return float(value)


def _norm_kind(value) -> str | None:
    if value is not None and value not in NORMS:
        raise ValueError(
            f"architecture: unknown norm {value!r:.60}: expected null or one of {', '.join(NORMS)}"
        )
    return value


# Neuron, Layer and MLP (the version-1 kinds; ``norm`` came later and is optional).


def _neuron_count(arch) -> int:
    _activation(arch["activation"])
    return _units(arch["nin"], "nin") + 1


def _neuron_names(arch, prefix: str = "") -> Iterator[str]:
    for i in range(arch["nin"]):
        yield f"{prefix}w.{i}"
    yield f"{prefix}b"


def _layer_count(arch) -> int:
    _activation(arch["activation"])
    nout = _units(arch["nout"], "nout")
    norm = 0 if _norm_kind(arch.get("norm")) is None else 2 * nout
    return (_units(arch["nin"], "nin") + 1) * nout + norm


def _layer_parameter_names(arch, prefix: str = "") -> Iterator[str]:
    for j in range(arch["nout"]):
        yield from _neuron_names(arch, f"{prefix}neurons.{j}.")
    if arch.get("norm") is not None:
        yield from _norm_parameter_names(arch["nout"], f"{prefix}norm.")


def _layer_buffer_names(arch, prefix: str = "") -> Iterator[str]:
    if arch.get("norm") == "batch":
        yield from _batch_norm_buffer_names(arch["nout"], f"{prefix}norm.")


def _layer_names(arch) -> Iterator[str]:
    yield from _layer_parameter_names(arch)
    yield from _layer_buffer_names(arch)


def _mlp_sizes(arch) -> list[int]:
    nouts = arch["nouts"]
    if not isinstance(nouts, list) or not nouts or len(nouts) > MAX_UNITS:
        raise ValueError(
            f"MLP architecture: 'nouts' must be a non-empty list of sizes, got {quoted(nouts, 60)}"
        )
    return [_units(arch["nin"], "nin")] + [_units(n, "each size in nouts") for n in nouts]


def _mlp_count(arch) -> int:
    sizes = _mlp_sizes(arch)
    _activation(arch["activation"])
    _activation(arch["output_activation"])
    _dropout(arch["dropout"])
    return mlp_parameter_count(sizes, norm=_norm_kind(arch.get("norm")) is not None)


def _mlp_layers(arch) -> list[dict]:
    """The Layer architecture of each layer (hidden layers carry the MLP's norm)."""
    sizes = _mlp_sizes(arch)
    last = len(sizes) - 2
    return [
        {"nin": nin, "nout": nout, "norm": None if i == last else arch.get("norm")}
        for i, (nin, nout) in enumerate(zip(sizes, sizes[1:], strict=False))
    ]


def _mlp_names(arch) -> Iterator[str]:
    layers = _mlp_layers(arch)  # state_dict order: every parameter, then every buffer
    for i, layer in enumerate(layers):
        yield from _layer_parameter_names(layer, f"layers.{i}.")
    for i, layer in enumerate(layers):
        yield from _layer_buffer_names(layer, f"layers.{i}.")


# BatchNorm and LayerNorm: weights, biases and (batch norm) the running statistics.


def _norm_parameter_names(count: int, prefix: str = "") -> Iterator[str]:
    for kind in ("weight", "bias"):
        for j in range(count):
            yield f"{prefix}{kind}.{j}"


def _batch_norm_buffer_names(count: int, prefix: str = "") -> Iterator[str]:
    for kind in ("running_mean", "running_var"):
        for j in range(count):
            yield f"{prefix}{kind}.{j}"
    yield f"{prefix}num_batches_tracked"


def _checked(check, value):
    """A norm's own argument check (nn.norm), its error prefixed as the loader's are."""
    try:
        return check(value)
    except ValueError as error:
        raise ValueError(f"architecture: {error}") from None


def _norm_count(arch) -> int:
    _checked(_eps, arch["eps"])
    if "momentum" in arch:
        _checked(_momentum, arch["momentum"])
    return 2 * _units(arch["num_features"], "num_features")


def _batch_norm_names(arch) -> Iterator[str]:
    yield from _norm_parameter_names(arch["num_features"])
    yield from _batch_norm_buffer_names(arch["num_features"])


register(
    "MLP",
    {"nin", "nouts", "activation", "output_activation", "dropout"},
    _mlp_count,
    _mlp_names,
    lambda arch: MLP(
        arch["nin"],
        arch["nouts"],
        activation=arch["activation"],
        output_activation=arch["output_activation"],
        dropout=_dropout(arch["dropout"]),
        seed=0,
        norm=arch.get("norm"),
    ),
    optional={"norm"},
)
register(
    "Layer",
    {"nin", "nout", "activation"},
    _layer_count,
    _layer_names,
    lambda arch: Layer(
        arch["nin"], arch["nout"], activation=arch["activation"], seed=0, norm=arch.get("norm")
    ),
    optional={"norm"},
)
register(
    "Neuron",
    {"nin", "activation"},
    _neuron_count,
    _neuron_names,
    lambda arch: Neuron(arch["nin"], activation=arch["activation"], seed=0),
)
register(
    "BatchNorm",
    {"num_features", "eps", "momentum"},
    _norm_count,
    _batch_norm_names,
    lambda arch: BatchNorm(arch["num_features"], eps=arch["eps"], momentum=arch["momentum"]),
)
register(
    "LayerNorm",
    {"num_features", "eps"},
    _norm_count,
    lambda arch: _norm_parameter_names(arch["num_features"]),
    lambda arch: LayerNorm(arch["num_features"], eps=arch["eps"]),
)

# Version 2: Sequential and the modules it strings together, Conv2d, MaxPool2d and RNN.

MAX_DEPTH = 32  # Sequentials inside Sequentials
MAX_MODULES = 100_000  # modules in one architecture, however nested


def _layers(arch) -> list:
    layers = arch["layers"]
    if not isinstance(layers, list) or not layers:
        raise ValueError(
            "Sequential architecture: 'layers' must be a non-empty list of architectures, "
            f"got {layers!r:.60}"
        )
    return layers


def _sequential_count(arch, depth: int = 1, budget: list | None = None) -> int:
    """The parameters of a Sequential, each child checked through its own kind.

    Nested Sequentials recurse here (not through ``KINDS``) to keep count of
    the depth and of the modules, both bounded before anything is built.
    """
    if depth > MAX_DEPTH:
        raise ValueError(f"Sequential architecture nested more than {MAX_DEPTH} deep")
    budget = [MAX_MODULES] if budget is None else budget
    total = 0
    for child in _layers(arch):
        budget[0] -= 1
        if budget[0] < 0:
            raise ValueError(f"Sequential architecture holds more than {MAX_MODULES} modules")
        kind = kind_of(child)
        if child["type"] == "Sequential":
            total += _sequential_count(child, depth + 1, budget)
        else:
            total += kind.count(child)
    return total


def _sequential_names(arch) -> Iterator[str]:
    """The children's names in state_dict order: every parameter, then every buffer.

    A kind names its parameters first (``count`` of them), then its buffers.
    """
    buffers = []
    for i, child in enumerate(_layers(arch)):
        kind = kind_of(child)
        names = kind.names(child)
        for _ in range(kind.count(child)):
            yield f"layers.{i}.{next(names)}"
        buffers.extend(f"layers.{i}.{name}" for name in names)
    yield from buffers


def _sequential_build(arch) -> Sequential:
    return Sequential(*[kind_of(child).build(child) for child in _layers(arch)])


def _pair(value, what: str, least: int) -> tuple[int, int]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(type(v) is int and least <= v <= MAX_UNITS for v in value)
    ):
        raise ValueError(
            f"architecture: {what} must be a list of two ints from {least} to {MAX_UNITS}, "
            f"got {value!r:.60}"
        )
    return value[0], value[1]


def _conv_count(arch) -> int:
    kh, kw = _pair(arch["kernel_size"], "kernel_size", 1)
    _pair(arch["stride"], "stride", 1)
    _pair(arch["padding"], "padding", 0)
    fan_in = _units(arch["in_channels"], "in_channels") * kh * kw
    return (fan_in + 1) * _units(arch["out_channels"], "out_channels")


def _conv_names(arch) -> Iterator[str]:
    kh, kw = arch["kernel_size"]
    for o in range(arch["out_channels"]):
        for c in range(arch["in_channels"]):
            for i in range(kh):
                for j in range(kw):
                    yield f"weight.{o}.{c}.{i}.{j}"
    for o in range(arch["out_channels"]):
        yield f"bias.{o}"


def _pool_count(arch) -> int:
    kernel = _pair(arch["kernel_size"], "kernel_size", 1)
    _pair(arch["stride"], "stride", 1)
    padding = _pair(arch["padding"], "padding", 0)
    if any(2 * p > k for p, k in zip(padding, kernel, strict=True)):
        raise ValueError("MaxPool2d architecture: padding must be at most half the kernel size")
    return 0


def _rnn_count(arch) -> int:
    if arch["nonlinearity"] not in NONLINEARITIES:
        raise ValueError(
            f"RNN architecture: unknown nonlinearity {arch['nonlinearity']!r:.60}: "
            f"expected one of {', '.join(NONLINEARITIES)}"
        )
    inputs, hidden = _units(arch["input_size"], "input_size"), _units(arch["hidden_size"],
                                                                      "hidden_size")
    return hidden * (inputs + hidden + 2)


def _rnn_names(arch) -> Iterator[str]:
    hidden = arch["hidden_size"]
    for name, columns in (("weight_ih_l0", arch["input_size"]), ("weight_hh_l0", hidden)):
        for i in range(hidden):
            for j in range(columns):
                yield f"{name}.{i}.{j}"
    for name in ("bias_ih_l0", "bias_hh_l0"):
        for i in range(hidden):
            yield f"{name}.{i}"


def _slope(value) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(
            f"LeakyReLU architecture: 'negative_slope' must be a finite number, got {value!r:.60}"
        )
    return float(value)


def _leaky_count(arch) -> int:
    _slope(arch["negative_slope"])
    return 0


def _dropout_count(arch) -> int:
    _dropout(arch["p"])
    return 0


def _no_names(arch) -> Iterator[str]:
    return iter(())


register("Sequential", {"layers"}, _sequential_count, _sequential_names, _sequential_build)
for _module in (ReLU, Tanh, Sigmoid, Flatten, LastStep):
    register(_module.__name__, (), lambda arch: 0, _no_names, lambda arch, m=_module: m())
register(
    "LeakyReLU",
    {"negative_slope"},
    _leaky_count,
    _no_names,
    lambda arch: LeakyReLU(_slope(arch["negative_slope"])),
)
register(
    "Dropout",
    {"p"},
    _dropout_count,
    _no_names,
    lambda arch: Dropout(_dropout(arch["p"]), seed=0),
)
register(
    "Conv2d",
    {"in_channels", "out_channels", "kernel_size", "stride", "padding"},
    _conv_count,
    _conv_names,
    lambda arch: Conv2d(arch["in_channels"], arch["out_channels"], arch["kernel_size"],
                        stride=arch["stride"], padding=arch["padding"], seed=0),
)
register(
    "MaxPool2d",
    {"kernel_size", "stride", "padding"},
    _pool_count,
    _no_names,
    lambda arch: MaxPool2d(arch["kernel_size"], stride=arch["stride"], padding=arch["padding"]),
)
register(
    "RNN",
    {"input_size", "hidden_size", "nonlinearity"},
    _rnn_count,
    _rnn_names,
    lambda arch: RNN(arch["input_size"], arch["hidden_size"],
                     nonlinearity=arch["nonlinearity"], seed=0),
)
