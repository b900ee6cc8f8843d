"""``chainrule predict``: a saved model's predictions for the rows of a CSV file.

    chainrule predict out/model.json houses.csv
    chainrule predict out/model.json iris.csv -o predictions.csv

Prints (or writes to ``-o``) a CSV with a header and one prediction per row:
a classifier's in its training labels (``setosa``, ``yes``, ``1``), a
regression's in the target's units. The model file says which columns are
the inputs (``train`` writes their names): those columns are read from
DATA.csv by name, in any order, and the others (the target, an id) are
ignored; a model file without names (saved from Python) takes every column
of DATA.csv but the ``--target`` one, in order. Without labels (a model
saved from Python) a classifier's predictions are class indices 0..k-1.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from ._common import UsageError, add_command


def add_parser(commands) -> None:
    """Registers ``predict`` and its options."""
    command = add_command(
        commands, "predict", run, help="predict the rows of a CSV file with a saved model.json",
        description="Predictions of a model.json (written by chainrule train or tune) for "
        "each row of a CSV file, as CSV: a classifier's in its training labels, a regression's "
        "in the target's units.",
    )
    command.add_argument("model", metavar="MODEL.json", help="a model file (chainrule train)")
    command.add_argument("data", metavar="DATA.csv",
                         help="a CSV file with a header row holding the model's input columns")
    command.add_argument("-o", "--output", help="the CSV file to write (default: print it)")
    command.add_argument("--target",
                         help="a column of DATA.csv to leave out when the model file names no "
                         "inputs (default: the training target's name, if the file has it)")
    command.add_argument("--delimiter", help="of DATA.csv (default: sniffed, as train)")


def run(args) -> int:
    from nn.serialize import load_info

    try:
        model, info = load_info(args.model)
    except FileNotFoundError:
        raise UsageError(f"no such model file: {args.model}") from None
    except (ValueError, OSError) as error:
        raise UsageError(f"cannot read {args.model}: {error}") from None
    X = _inputs(args, info)
    model.eval()
    try:
        with _no_grad():
            outputs = [_numbers(model(_row(model, row))) for row in X]
    except ValueError as error:  # a row of the wrong length or shape for this model
        raise UsageError(f"the rows of {args.data} do not fit {args.model}: {error}") from None
    width = len(outputs[0]) if outputs else 0
    labels = list(info.labels)
    if info.task == "classification" and labels and len(labels) != max(width, 2) \
            and not (width == 1 and len(labels) == 2):
        raise UsageError(f"{args.model}: {len(labels)} labels for a model of {width} outputs")
    column = info.target or "prediction"
    lines = [[column]]
    for scores in outputs:
        lines.append([_prediction(scores, info, labels)])
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(lines)
    if args.output is None:
        sys.stdout.write(text.getvalue())
    else:
        Path(args.output).write_text(text.getvalue(), encoding="utf-8")
        print(f"wrote {len(outputs)} predictions to {args.output}")
    return 0


def _no_grad():
    import autograd

    return autograd.no_grad()


def _inputs(args, info):
    """The model's input columns of DATA.csv, as a float array (rows, features)."""
    from nn import data

    if args.delimiter is not None and len(args.delimiter) != 1:
        raise UsageError(f"--delimiter must be one character, such as ';', got {args.delimiter!r}")
    features = list(info.features)
    try:
        if features:
            # every column a feature: the one left over (target or not) read as the "target"
            X, y, names, last = _read(data, args, None)
            table = {name: X[:, i] for i, name in enumerate(names)}
            if y.dtype.kind not in "US":
                table[last] = y
            missing = [name for name in features if name not in table]
            if missing:
                present = [*names, last]
                raise UsageError(f"{args.data} has no column {', '.join(map(repr, missing[:3]))} "
                                 f"that {args.model} takes; its columns are "
                                 f"{', '.join(present[:10])}")
            import numpy as np

            return np.column_stack([table[name] for name in features])
        X, _, _, _ = _read(data, args, args.target or info.target)
        return X
    except FileNotFoundError:
        raise UsageError(f"no such CSV file: {args.data}") from None
    except (ValueError, OSError) as error:
        raise UsageError(f"cannot read {args.data}: {error}") from None


def _read(data, args, target):
    return data.load_csv_named(args.data, target=target, delimiter=args.delimiter)


def _row(model, row):
    """A row of X in the layout the model takes: a flat list, an image or a sequence."""
    import nn

    first = model.layers[0] if isinstance(model, nn.Sequential) else None
    if isinstance(first, nn.Conv2d):
        import math

        side = math.isqrt(len(row))
        return row.reshape(first.in_channels, side, side).tolist()
    return row.tolist()


def _numbers(output) -> list[float]:
    if isinstance(output, list):
        return [value.data for value in output]
    return [output.data]


# How a single output is read by the loss it was trained with: a probability or a 0/1
# regression at 0.5, a logit or a hinge score at 0.
THRESHOLDS = {"bce": 0.5, "mse": 0.5}


def _prediction(scores: list[float], info, labels: list):
    """One row's prediction: a class label (the highest score, or one output read at its
    loss's threshold), or a regression's value."""
    if info.task != "classification":
        return repr(scores[0]) if len(scores) == 1 else " ".join(map(repr, scores))
    if len(scores) == 1:
        index = int(scores[0] > THRESHOLDS.get(info.loss, 0.0))
    else:
        index = max(range(len(scores)), key=scores.__getitem__)
    return labels[index] if labels else index
