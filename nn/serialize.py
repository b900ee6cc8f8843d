"""Model files: a model as JSON, read back with every field validated.

    {"format": "chainrule-model", "version": 1,
     "architecture": {"type": "MLP", "nin": 2, "nouts": [16, 16, 1],
                      "activation": "relu", "output_activation": "linear",
                      "dropout": 0.0},
     "parameters": {"layers.0.neurons.0.w.0": 0.23, ..., "layers.2.neurons.0.b": -0.1}}

``parameters`` maps each dotted name of ``named_parameters()`` to a finite
number. ``architecture`` holds the constructor arguments (``type`` is MLP,
Layer or Neuron). Loading never unpickles and never evaluates anything: the
text is parsed as JSON, checked field by field, the model is rebuilt from the
architecture and the parameters are loaded by name, so a file with wrong
layer sizes, missing or extra parameters or non-numbers is refused with a
ValueError that gives the reason.
"""

from __future__ import annotations

import json
import math
import numbers
import os

from .module import ACTIVATIONS, MLP, Layer, Module, Neuron

FORMAT = "chainrule-model"
VERSION = 1
MAX_BYTES = 200_000_000  # far above any scalar-engine model; refuses to read a disk image
MAX_UNITS = 1_000_000  # layer sizes beyond this cannot be meant for a scalar engine
_PICKLE_MAGIC = (b"\x80", b"(dp", b"(lp", b"ccopy_reg", b"c__builtin__")


def to_dict(model: Module) -> dict:
    """The model file's content as a dict."""
    if not isinstance(model, Module):
        raise TypeError(f"expected an nn Module, got {type(model).__name__}")
    return {
        "format": FORMAT,
        "version": VERSION,
        "architecture": model.architecture(),
        "parameters": model.state_dict(),
    }


def dumps(model: Module) -> str:
    """The model file's text (JSON)."""
    content = to_dict(model)
    bad = [name for name, value in content["parameters"].items() if not math.isfinite(value)]
    if bad:
        raise ValueError(
            f"cannot save a model with non-finite parameters ({', '.join(bad[:3])}...): "
            "training diverged; lower the learning rate and train again"
        )
    return json.dumps(content, indent=1)


def save(model: Module, path) -> None:
    """Writes the model to ``path`` as JSON."""
    text = dumps(model)
    with open(os.fspath(path), "w", encoding="utf-8") as handle:
        handle.write(text)


def load(path) -> Module:
    """Reads a model file written by ``save``; ValueError with the reason if it is not valid."""
    path = os.fspath(path)
    size = os.path.getsize(path)
    if size > MAX_BYTES:
        raise ValueError(
            f"{path} is {size} bytes, too large for a model file (at most {MAX_BYTES})"
        )
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        return loads(raw)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def loads(text) -> Module:
    """The model described by a model file's text (str or bytes)."""
    if isinstance(text, bytes):
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
    return from_dict(_parse(text))


def _parse(text: str) -> dict:
    try:
        content = json.loads(
            text, parse_constant=_refuse_constant, object_pairs_hook=_refuse_duplicates
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


def _refuse_duplicates(pairs):
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        raise ValueError(f"not a model file: repeated key {repeated[0]!r}")
    return dict(pairs)


def from_dict(content: dict) -> Module:
    """The model described by a model file's content; ValueError if anything does not fit."""
    if not isinstance(content, dict):
        raise ValueError(f"expected a dict, got {type(content).__name__}")
    expected = {"format", "version", "architecture", "parameters"}
    missing, extra = expected - content.keys(), content.keys() - expected
    if missing or extra:
        raise ValueError(
            f"not a model file: missing fields {sorted(missing)}, unexpected fields {sorted(extra)}"
        )
    if content["format"] != FORMAT:
        raise ValueError(f"not a model file: format is {content['format']!r}, expected {FORMAT!r}")
    version = content["version"]
    if type(version) is not int or version != VERSION:
        raise ValueError(
            f"unsupported model file version {version!r} (this chainrule reads {VERSION})"
        )
    model = _build(content["architecture"])
    parameters = content["parameters"]
    if not isinstance(parameters, dict):
        raise ValueError(
            f"'parameters' must be an object of name: number, got {type(parameters).__name__}"
        )
    for name, value in parameters.items():
        if (
            not isinstance(value, numbers.Real)
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            raise ValueError(f"parameter {name!r} must be a finite number, got {value!r:.60}")
    model.load_state_dict(parameters)
    return model


_FIELDS = {
    "MLP": {"type", "nin", "nouts", "activation", "output_activation", "dropout"},
    "Layer": {"type", "nin", "nout", "activation"},
    "Neuron": {"type", "nin", "activation"},
}


def _build(architecture) -> Module:
    """A model with the architecture's shape (weights drawn from seed 0, overwritten next)."""
    if not isinstance(architecture, dict):
        raise ValueError(f"'architecture' must be an object, got {type(architecture).__name__}")
    kind = architecture.get("type")
    if kind not in _FIELDS:
        raise ValueError(
            f"unknown architecture type {kind!r}: expected one of {', '.join(_FIELDS)}"
        )
    fields = set(architecture)
    if fields != _FIELDS[kind]:
        raise ValueError(
            f"{kind} architecture: missing fields {sorted(_FIELDS[kind] - fields)}, "
            f"unexpected fields {sorted(fields - _FIELDS[kind])}"
        )
    nin = _units(architecture["nin"], "nin")
    if kind == "Neuron":
        return Neuron(nin, activation=_activation(architecture["activation"]), seed=0)
    if kind == "Layer":
        nout = _units(architecture["nout"], "nout")
        return Layer(nin, nout, activation=_activation(architecture["activation"]), seed=0)
    nouts = architecture["nouts"]
    if not isinstance(nouts, list) or not nouts:
        raise ValueError(
            f"MLP architecture: 'nouts' must be a non-empty list of sizes, got {nouts!r:.60}"
        )
    nouts = [_units(n, "each size in nouts") for n in nouts]
    sizes = [nin] + nouts
    if sum(a * b for a, b in zip(sizes, sizes[1:], strict=False)) > MAX_UNITS:
        raise ValueError(f"MLP architecture {sizes} has more than {MAX_UNITS} weights")
    dropout = architecture["dropout"]
    if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout < 1:
        raise ValueError(f"MLP architecture: 'dropout' must be a number in [0, 1), got {dropout!r}")
    return MLP(
        nin,
        nouts,
        activation=_activation(architecture["activation"]),
        output_activation=_activation(architecture["output_activation"]),
        dropout=dropout,
        seed=0,
    )


def _units(value, what: str) -> int:
    if type(value) is not int or not 1 <= value <= MAX_UNITS:
        raise ValueError(
            f"architecture: {what} must be an int from 1 to {MAX_UNITS}, got {value!r:.60}"
        )
    return value


def _activation(value) -> str:
    if value not in ACTIVATIONS:
        raise ValueError(
            f"architecture: unknown activation {value!r:.60}: "
            f"expected one of {', '.join(ACTIVATIONS)}"
        )
    return value
