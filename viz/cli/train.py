"""``chainrule train``: train a model on a data set and write its model, history and pictures.

    chainrule train --dataset moons --hidden 16,16 --epochs 60 --out out
    chainrule train --dataset houses.csv --target price --optimizer momentum --lr 0.05
    chainrule train --dataset digits --model conv --hidden 8 --epochs 10 --out digits
    chainrule train --dataset parity --model rnn --hidden 16 --epochs 60 --out parity

``--model`` chooses the design: ``mlp`` (the default; images are flattened),
``conv`` (images: per size in ``--hidden``, a 3x3 ``Conv2d`` with padding 1
of that many channels, the activation and a 2x2 ``MaxPool2d``, then
``Flatten`` and a linear ``Layer`` to the outputs) or ``rnn`` (each row a
sequence of numbers: ``RNN(1, hidden)``, ``LastStep()`` and a linear
``Layer``). Images are digits' 8x8 pictures, or the rows of a CSV file
with a square number of features (one channel, row-major).


Decisions where the spec is silent:

* Inputs (and a regression target) are standardised with the training set's
  mean and deviation, which plain SGD on raw house prices needs, then that
  scaling is folded into the first and last layers before saving, so
  ``model.json`` takes raw inputs and predicts in raw units.
* The task is classification when every target is an integer and there are
  at most ``MAX_CLASSES`` distinct ones, or when the targets are names
  (``setosa``, ``yes``; at most ``MAX_NAMED_CLASSES``); labels are mapped to
  0..k-1 in sorted order and ``model.json`` keeps them (with the task and the
  column names) so that ``chainrule predict`` answers in them; otherwise
  regression. ``--dataset iris`` and ``breast_cancer`` use their class names
  (as ``chainrule data`` writes them). Two classes get one output and
  ``bce_with_logits``, more get one output per class and ``cross_entropy``,
  regression gets ``mse``; ``--loss`` overrides (``bce`` gets a sigmoid
  output layer; a loss that does not fit the task is a usage error).
  ``--loss mse`` on two classes regresses the 0/1 index but is still judged
  as a classifier: the metric is the accuracy of the output read at 0.5 (R²
  of 0/1 targets says little about how many points are right).
* Small data sets are not split: below ``SMALL_DATA`` rows (xor has 4) the
  default ``--validation`` is 0, since holding out one of four points leaves
  a problem the rest cannot teach; from ``SMALL_DATA`` rows on it is 0.2.
* Without Graphviz's ``dot`` the pictures it draws (``network.svg``,
  ``neuron.svg``, ``training.html``) are skipped with a warning printed
  before training; the model, history and plots are still written.
  ``decision_boundary.svg`` is written for classification with two inputs
  (a regression has no boundary).
* ``training.html`` is the training player (``viz.training_player``) of the
  run: fit keeps a snapshot per epoch, the scaling is folded into every
  snapshot as into the model, so the player shows the raw inputs and the
  model's raw outputs; its loss curves are those fit printed (for a
  regression, on the standardised target). The player draws MLPs: conv and
  rnn runs write no ``training.html``, and ``--norm`` is for MLPs too.
* conv and rnn models share their weights across positions or time steps,
  so their inputs are scaled alike rather than per column: a conv net's are
  divided by their largest magnitude (zero padding stays zero), an RNN's are
  standardised with one mean and one deviation (parity's 0/1 bits become
  -1/+1). The scaling is folded into the first convolution's (or the RNN's
  input) weights and biases before saving.
  They write ``filters.svg`` and ``feature_maps.svg`` (conv) or ``bptt.svg``
  (rnn: the gradient reaching each time step for the first sequence) where
  an MLP writes ``network.svg`` and ``neuron.svg``.
* Bundled data sets (digits, iris, wine, breast_cancer) have a fixed size:
  ``--samples`` then draws that many of their rows at random (default: all).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import NamedTuple

from autograd import Value

from ._common import INTERRUPTED, UsageError, add_command, save_figure

# nn's names, written out so that the parser needs no numpy (a test keeps them equal);
# "linear" hidden layers are left out, "momentum" is SGD with momentum 0.9.
DATASETS = ("moons", "circles", "blobs", "spiral", "xor", "house_prices", "parity", "sine_waves",
            "digits", "iris", "wine", "breast_cancer")
BUNDLED = ("digits", "iris", "wine", "breast_cancer")  # fixed rows; the others are generated
MODELS = ("mlp", "conv", "rnn")
DEFAULT_HIDDEN = {"mlp": "16,16", "conv": "8", "rnn": "16"}
ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu")
LOSSES = ("mse", "bce", "bce_with_logits", "cross_entropy", "hinge")
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
NORMS = ("batch", "layer")
MAX_CLASSES = 10
MAX_NAMED_CLASSES = 100  # class names (setosa, yes) in a target column
SMALL_DATA = 20  # fewer rows: no validation hold-out by default (0.2 of 20 is 4 rows)
DEFAULT_VALIDATION = 0.2
# Class names of the bundled classifications whose names mean something (wine's are 0, 1, 2)
CLASS_NAMES = {"iris": ("setosa", "versicolor", "virginica"),
               "breast_cancer": ("malignant", "benign")}
GRAPH_FILES = ("network.svg", "neuron.svg", "training.html")  # drawn by Graphviz's dot


def add_parser(commands) -> None:
    """Registers ``train`` and its options."""
    train = add_command(
        commands, "train", run, help="train a model (MLP, conv net or RNN) and write its pictures",
        description="Train a model; writes model.json, history.csv, loss.svg and, by model, "
        "network.svg, neuron.svg and training.html (the training player: every epoch, "
        "offline) for an mlp, filters.svg and feature_maps.svg for a conv net, bptt.svg for "
        "an rnn; for a classification with two inputs decision_boundary.svg and, with "
        "--diagnostics, gradient_flow.svg into --out.",
    )
    add_training_options(train)
    train.add_argument("--model", choices=MODELS, default="mlp",
                       help="mlp; conv for images (digits, or CSV rows of a square number of "
                       "features): 3x3 convolutions, each with 2x2 max pooling, then a linear "
                       "layer; rnn for sequences (parity, sine_waves: each row a sequence): an "
                       "RNN read at its last step by a linear layer (default: mlp)")
    train.add_argument("--diagnostics", action="store_true",
                       help="record each layer's training health, write gradient_flow.svg and "
                       "print a diagnosis of the trained network")


def add_training_options(command, validation_help: str = "0 for none",
                         validation_default: str = f"{DEFAULT_VALIDATION}, or 0 for data sets "
                         f"of fewer than {SMALL_DATA} rows") -> None:
    """The data set, model and training options (train's; tune fixes them for every trial)."""
    command.add_argument("--dataset", default="moons",
                         help=f"one of {', '.join(DATASETS)}, or a CSV file (default: moons)")
    command.add_argument("--target", help="the target column of a CSV file (default: the last)")
    command.add_argument("--delimiter",
                         help="of a CSV file, e.g. ';' (default: the header's most frequent of "
                         "comma, semicolon and tab)")
    command.add_argument("--samples", type=int,
                         help="points drawn for a generated data set (default: 200); rows drawn "
                         "at random from a bundled one (digits, iris, wine, breast_cancer; "
                         "default: all)")
    command.add_argument("--hidden",
                         help="mlp: hidden layer sizes, e.g. 16,16, or none for no hidden "
                         "layer (a linear model; '' means the same) (default: 16,16); "
                         "conv: channels of each convolution (default: 8); rnn: the hidden size "
                         "(default: 16)")
    command.add_argument("--activation", choices=ACTIVATIONS,
                         help="of the hidden layers (default: relu; rnn: tanh, or relu)")
    command.add_argument("--norm", choices=NORMS,
                         help="normalise each hidden layer before its activation (default: none)")
    command.add_argument("--loss", choices=LOSSES,
                         help="default: bce_with_logits, cross_entropy or mse by task")
    command.add_argument("--optimizer", choices=OPTIMIZERS, default="adam",
                         help="momentum is SGD with momentum 0.9 (default: adam)")
    command.add_argument("--lr", type=float, default=0.01, help="learning rate (default: 0.01)")
    command.add_argument("--epochs", type=int, default=100, help="(default: 100)")
    command.add_argument("--batch-size", type=int, default=32,
                         help="mini-batch size; 0 for full batch (default: 32)")
    command.add_argument("--validation", type=float,
                         help=f"fraction held out for validation; {validation_help} "
                         f"(default: {validation_default})")
    command.add_argument("--seed", type=int, default=0,
                         help="for the data, the weights and the shuffling (default: 0)")
    command.add_argument("--out", default="out", help="output folder (default: out)")
    command.add_argument("--no-progress", action="store_true", help="no progress bar")
    command.add_argument("--engine", choices=("auto", "tape", "scalar"), default="auto",
                         help="what trains: auto (a compiled tape when the model traces, else "
                         "the scalar engine), tape (insist) or scalar (default: auto; "
                         "tune trains every trial with it)")


def _hidden_sizes(text: str) -> list[int]:
    if text.strip().lower() in ("", "none"):
        return []
    sizes = []
    for part in text.split(","):
        try:
            size = int(part)
        except ValueError:
            raise UsageError(
                f"--hidden must be comma-separated layer sizes such as 16,16, got {text!r}"
            ) from None
        if size < 1:
            raise UsageError(f"--hidden sizes must be at least 1, got {size}")
        sizes.append(size)
    return sizes


def load_named_dataset(args):
    """(X, y, name, feature names, target name) for --dataset: built-in or a CSV file.

    A built-in's columns are named as ``chainrule data`` writes them; a
    bundled classification with meaningful class names (iris) has them as y.
    """
    source = args.dataset
    path = Path(source)
    if source not in DATASETS and path.suffix.lower() != ".csv" and not path.exists():
        raise UsageError(unknown_dataset(source))
    if source in DATASETS:
        for option in ("target", "delimiter"):
            if getattr(args, option, None) is not None:
                raise UsageError(f"--{option} is for CSV files; built-in data sets know theirs")
    from nn import data

    if source in DATASETS:
        X, y = _built_in(data, source, args)
        if source in CLASS_NAMES:
            import numpy as np

            y = np.asarray(CLASS_NAMES[source])[y]
        features, target = columns(source, X)
        return X, y, source, features, target
    try:
        X, y, features, target = _read_csv(data, path, args.target,
                                           getattr(args, "delimiter", None))
    except FileNotFoundError:
        raise UsageError(f"no such CSV file: {source}") from None
    except (ValueError, KeyError, OSError) as error:  # a folder, a FIFO, bad text or cells
        raise UsageError(f"cannot read {source}: {error}") from None
    return X, y, path.name, features, target


def _read_csv(data, path: Path, target, delimiter):
    """(X, y, feature names, target name) of a CSV file, as nn.data.load_csv reads it."""
    if delimiter is not None and len(delimiter) != 1:
        raise UsageError(f"--delimiter must be one character, such as ';', got {delimiter!r}")
    return data.load_csv_named(path, target=target, delimiter=delimiter)


def _built_in(data, source: str, args):
    if source == "xor":
        return data.xor()
    if source == "digits":
        return _some_rows(*data.digits(images=getattr(args, "model", "mlp") == "conv"), args)
    if source in BUNDLED:
        return _some_rows(*data.DATASETS[source](), args)
    n = 200 if args.samples is None else args.samples
    return data.DATASETS[source](n=n, seed=args.seed)


# The column names of the built-in data sets (features, then the target), as CSV headers.
TARGETS = {"house_prices": "price", "parity": "parity", "sine_waves": "next", "digits": "digit",
           "iris": "species", "wine": "cultivar", "breast_cancer": "diagnosis"}
FEATURES = {"house_prices": ("size", "bedrooms")}
PREFIXES = {"parity": "bit", "sine_waves": "t", "digits": "pixel"}


def columns(source: str, X) -> tuple[list[str], str]:
    """(feature names, target name) of built-in data set ``source`` with inputs X.

    house prices: size, bedrooms, price; sequences: bit0.. / t0.., then parity
    or next; digits: pixel0..pixel63 (row-major), digit; the bundled sets
    their scikit-learn feature names; the rest x0, x1, ..., label. Counting
    starts at 0, as in the pictures (x₀, x₁) and the model's names.
    """
    features = FEATURES.get(source)
    if features is None and source in BUNDLED and source != "digits":
        from sklearn import datasets

        features = getattr(datasets, f"load_{source}")().feature_names
    if features is None:
        width = int(X[0].size) if len(X) else 0
        features = [f"{PREFIXES.get(source, 'x')}{i}" for i in range(width)]
    return [str(name) for name in features], TARGETS.get(source, "label")


def unknown_dataset(source: str) -> str:
    """The message for an unknown --dataset: the close names first (did you mean moons?)."""
    import difflib

    close = difflib.get_close_matches(source.lower(), DATASETS, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    return (f"unknown dataset {source!r}: {hint}expected one of {', '.join(DATASETS)} "
            "or a CSV file")


def _some_rows(X, y, args):
    """--samples rows of a bundled data set drawn at random (seeded), or all of them."""
    if args.samples is None or args.samples >= len(X):
        return X, y
    import numpy as np

    chosen = np.sort(np.random.default_rng(args.seed).permutation(len(X))[: args.samples])
    return X[chosen], y[chosen]


def _check_train_args(args) -> None:
    from nn._checks import MAX_ROWS

    for option, value, least in (("--epochs", args.epochs, 1), ("--samples", args.samples, 4),
                                 ("--batch-size", args.batch_size, 0), ("--seed", args.seed, 0)):
        if value is not None and value < least:
            raise UsageError(f"{option} must be at least {least}, got {value}")
    if args.samples is not None and args.samples > MAX_ROWS:
        raise UsageError(f"--samples must be at most {MAX_ROWS:,} (the most rows a built-in "
                         f"data set draws), got {args.samples:,}")
    if not 0 < args.lr < float("inf"):
        raise UsageError(f"--lr must be positive and finite, got {args.lr}")
    if args.validation is not None and not 0 <= args.validation < 1:
        raise UsageError(f"--validation must be a fraction in [0, 1), got {args.validation}")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise UsageError(f"--out {args.out} is a file; expected a folder")


def _task(y, name: str) -> tuple[str, list]:
    """('classification', sorted labels) or ('regression', []); labels are numbers or names."""
    import numpy as np

    labels = np.unique(y)
    if y.dtype.kind in "US":  # class names
        if len(labels) > MAX_NAMED_CLASSES:
            raise UsageError(f"{name}: the target holds {len(labels):,} distinct names; a "
                             f"classifier takes at most {MAX_NAMED_CLASSES} classes (is "
                             "--target the right column?)")
        return "classification", [str(label) for label in labels]
    if len(labels) <= MAX_CLASSES and np.all(labels == np.round(labels)):
        return "classification", [_plain(label) for label in labels.tolist()]
    return "regression", []


def _plain(label: float):
    """A numeric class label as the data wrote it: 1 rather than 1.0."""
    return int(label) if float(label).is_integer() and abs(label) < 2**53 else label


class Problem(NamedTuple):
    """What ``prepare`` makes of the data set and model options."""

    X: object  # in the layout the model takes
    y: object  # class indices 0..k-1 for a classification (labels in sorted order)
    name: str
    task: str
    hidden: list
    activation: str
    n_out: int
    loss: str
    info: object  # nn.serialize.ModelInfo: task, labels, column names for model.json


def run(args) -> int:
    _check_train_args(args)
    problem = prepare(args)
    return _fit_and_report(args, problem)


def prepare(args) -> Problem:
    """The Problem (data, task, model options) that the data set and options describe.

    ``args.validation`` left at None becomes its default for this data set.
    """
    import numpy as np

    from nn.serialize import ModelInfo

    hidden = _hidden_sizes(DEFAULT_HIDDEN[args.model] if args.hidden is None else args.hidden)
    activation = _activation(args)
    if args.model != "mlp" and args.norm:
        raise UsageError(f"--norm is for --model mlp, not {args.model}")
    X, y, name, features, target = load_named_dataset(args)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y).reshape(-1)
    if y.dtype.kind not in "US":
        y = y.astype(float)
    if X.ndim not in (2, 4) or len(X) != len(y) or len(X) < 2:
        raise UsageError(f"{name}: expected rows of inputs with one target each, got {X.shape}")
    X = _inputs_for(args.model, X, name, hidden)
    task, labels = _task(y, name)
    if task == "classification":
        if len(labels) < 2:
            raise UsageError(f"{name}: the target has a single class ({labels[0]}); need two")
        y = np.searchsorted(np.asarray(labels, dtype=y.dtype), y)  # labels -> indices 0..k-1
    loss = args.loss or (
        "mse" if task == "regression" else "bce_with_logits" if len(labels) == 2
        else "cross_entropy"
    )
    if task == "regression" and loss != "mse":
        raise UsageError(f"--loss {loss} needs class labels, but the target of {name} has "
                         f"more than {MAX_CLASSES} distinct values or non-integers: use mse")
    if len(labels) > 2 and loss != "cross_entropy":
        raise UsageError(f"--loss {loss} handles two classes, but {name} has {len(labels)}: "
                         "use cross_entropy")
    n_out = len(labels) if loss == "cross_entropy" else 1
    if args.validation is None:
        args.validation = 0.0 if len(X) < SMALL_DATA else DEFAULT_VALIDATION
    _check_data(args, X, y)
    info = ModelInfo(task=task, labels=labels, features=features, target=target, loss=loss)
    return Problem(X, y, name, task, hidden, activation, n_out, loss, info)


def _check_data(args, X, y) -> None:
    """The data and the validation split, checked before anything is built."""
    from nn._checks import numeric_array, validation_rows

    try:
        numeric_array(X, "the inputs")
        numeric_array(y, "the target")
    except ValueError as error:
        raise UsageError(str(error)) from None
    if args.validation:
        try:
            validation_rows(len(X), args.validation)
        except ValueError as error:
            raise UsageError(f"--validation {args.validation}: {error}") from None


def _activation(args) -> str:
    if args.model != "rnn":
        return args.activation or "relu"
    if args.activation not in (None, "tanh", "relu"):
        raise UsageError(f"--model rnn takes --activation tanh or relu, not {args.activation}")
    return args.activation or "tanh"


def _inputs_for(model: str, X, name: str, hidden: list[int]):
    """X in the layout the model takes: flat rows (mlp), images (conv) or sequences (rnn)."""
    import math

    if model == "mlp":
        return X.reshape(len(X), -1)  # images flattened row-major
    if model == "rnn":
        if len(hidden) != 1:
            raise UsageError(f"--model rnn takes one hidden size, such as --hidden 16, got "
                             f"{','.join(map(str, hidden)) or 'none'}")
        if X.ndim != 2:
            raise UsageError(f"--model rnn reads each row of {name} as a sequence of numbers, "
                             f"but its rows have shape {X.shape[1:]}")
        return X
    if X.ndim == 2:
        side = math.isqrt(X.shape[1])
        if side * side != X.shape[1]:
            raise UsageError(f"--model conv needs images: {name} has {X.shape[1]} features per "
                             "row, not a square number (use --dataset digits or --model mlp)")
        X = X.reshape(len(X), 1, side, side)
    size = min(X.shape[2:])
    for k, _ in enumerate(hidden):
        if size < 2:
            raise UsageError(f"--hidden {','.join(map(str, hidden))}: a {X.shape[2]}x"
                             f"{X.shape[3]} image is halved by each convolution's pooling, "
                             f"so at most {k} convolutions fit")
        size //= 2
    if not hidden:
        raise UsageError("--model conv needs at least one convolution in --hidden, e.g. 8")
    return X


def standardized(X, y, task, model: str = "mlp") -> tuple:
    """(X scaled, y scaled, scaling) for training; ``scaling`` (x_mean, x_std, y_mean,
    y_std) is what ``_fold_scaling`` undoes.

    An MLP's inputs, and a regression target, are standardised column by column.
    """
    import numpy as np

    import nn

    # One scaling for every input of a conv net or an RNN: a filter or an RNN reads
    # every position alike. A conv net's inputs are only divided (zero padding
    # must stay zero); an RNN's are also centred (bits 0/1 become -1/+1).
    if model == "mlp":
        Xs, x_mean, x_std = nn.data.standardize(X)
    elif model == "conv":
        x_mean, x_std = 0.0, float(np.abs(X).max()) or 1.0
        Xs = X / x_std
    else:
        x_mean, x_std = float(X.mean()), float(X.std()) or 1.0
        Xs = (X - x_mean) / x_std
    y_mean, y_std, ys = 0.0, 1.0, y
    if task == "regression":  # standardize keeps huge targets (±1e300) finite
        scaled, (y_mean,), (y_std,) = nn.data.standardize(y.reshape(-1, 1))
        ys = scaled[:, 0]
    return Xs, ys, (x_mean, x_std, y_mean, y_std)


def _fit_and_report(args, problem: Problem) -> int:
    import nn
    from nn._interrupts import deferred_interrupts

    X, y, name, task, hidden, activation, n_out, loss, info = problem
    skipped = _graph_files_skipped(args.model)
    Xs, ys, scaling = standardized(X, y, task, args.model)

    try:
        model, description = _build_model(nn, args, Xs, hidden, activation, n_out, loss)
    except ValueError as error:  # a module over nn's parameter limit: a typo in --hidden
        raise UsageError(f"--hidden {args.hidden or ','.join(map(str, hidden))}: {error}") \
            from None
    optimizer = _optimizer(nn, args, model.parameters())
    print(f"training {description} on {name} ({len(X)} rows, {task}) "
          f"with {loss} and {args.optimizer} (lr {args.lr})")
    try:
        history = nn.fit(
            model, Xs, ys, loss=loss, optimizer=optimizer, epochs=args.epochs,
            batch_size=args.batch_size or None,
            validation=args.validation or None,
            progress=not args.no_progress, seed=args.seed,
            diagnostics=args.diagnostics, snapshots=args.model == "mlp", engine=args.engine,
            metric=classifier_metric(task, loss),
        )
    except KeyboardInterrupt:  # Ctrl-C that fit could not catch: before its first epoch
        history = nn.History(interrupted=True,
                             snapshots=[model.state_dict()] if args.model == "mlp" else [])
    except nn.tape_engine.EngineError as error:
        raise UsageError(f"--engine tape: {error}") from None
    except nn.norm.BatchTooSmallError:
        raise UsageError(
            "--norm batch needs batches of at least 2 rows, but this --batch-size leaves a "
            "batch of one training row; choose another --batch-size (0: the full batch)"
        ) from None
    diagnosis = _diagnosis(nn, model, Xs, ys, loss, args.seed) if args.diagnostics else None
    with deferred_interrupts():  # never a half-rescaled model
        if history.snapshots:
            history.snapshots = _folded(model, history.snapshots, *scaling)
        _fold_scaling(model, *scaling)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = _write_outputs(model, history, X, y, out, task, progress=not args.no_progress,
                             info=info, graphs=not skipped)
    _print_metrics(history)
    if task == "regression":
        print("(the loss is on the standardised target; R² does not depend on the scale)")
    if diagnosis is not None:
        print(diagnosis)
    print_written(written, out)
    if history.interrupted:
        epochs = "1 epoch" if history.epochs == 1 else f"{history.epochs} epochs"
        print(f"interrupted after {epochs} (Ctrl-C); the files hold the model as it was then")
        return INTERRUPTED
    return 0


def print_written(written: list[Path], out: Path) -> None:
    print(f"wrote {len(written)} files to {out}{os.sep}:")
    for path in written:
        print(f"  {path}")


def _build_model(nn, args, X, hidden, activation, n_out, loss):
    """The model --model asks for, and a one-line description of it."""
    output_activation = "sigmoid" if loss == "bce" else None  # bce takes probabilities
    if args.model == "mlp":
        model = nn.MLP(X.shape[1], [*hidden, n_out], activation=activation, seed=args.seed,
                       output_activation=output_activation, norm=args.norm)
        sizes = "-".join(str(size) for size in (X.shape[1], *hidden, n_out))
        if not hidden:
            return model, f"an MLP {sizes} (no hidden layer: a linear model)"
        norm = f", {args.norm} norm" if args.norm else ""
        return model, f"an MLP {sizes} ({activation}{norm})"
    act = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
           "leaky_relu": nn.LeakyReLU}
    head = [] if output_activation is None else [nn.Sigmoid()]
    if args.model == "rnn":
        rnn = nn.RNN(1, hidden[0], nonlinearity=activation, seed=args.seed)
        model = nn.Sequential(rnn, nn.LastStep(), nn.Layer(hidden[0], n_out, activation="linear",
                                                           init="xavier", seed=args.seed), *head)
        return model, (f"an RNN(1, {hidden[0]}, {activation}) -> LastStep -> "
                       f"Layer({hidden[0]}, {n_out})")
    layers, channels, (height, width) = [], X.shape[1], X.shape[2:]
    for k, size in enumerate(hidden):
        layers += [nn.Conv2d(channels, size, 3, padding=1, seed=args.seed + k), act[activation](),
                   nn.MaxPool2d(2)]
        channels, height, width = size, height // 2, width // 2
    features = channels * height * width
    layers += [nn.Flatten(), nn.Layer(features, n_out, activation="linear", init="xavier",
                                      seed=args.seed), *head]
    convs = " -> ".join(f"Conv2d({size}, 3x3) -> {activation} -> MaxPool2d(2)" for size in hidden)
    return nn.Sequential(*layers), f"a conv net {convs} -> Layer({features}, {n_out})"


DIAGNOSED_ROWS = 1000  # diagnose runs them as one batch: a sample of a large data set


def _diagnosis(nn, model, Xs, ys, loss, seed):
    """nn.diagnose of the trained model on (a seeded sample of) the standardised data."""
    import numpy as np

    rows = np.random.default_rng(seed).permutation(len(Xs))[:DIAGNOSED_ROWS]
    return nn.diagnose(model, Xs[rows], ys[rows], loss=loss)


def _optimizer(nn, args, parameters):
    if args.optimizer == "momentum":
        return nn.SGD(parameters, lr=args.lr, momentum=0.9)
    return nn.optim.OPTIMIZERS[args.optimizer](parameters, lr=args.lr)


def _fold_scaling(model, x_mean, x_std, y_mean, y_std) -> None:
    """Makes the model trained on scaled data take raw inputs and predict raw targets.

    MLP, first layer: w.(x - mean)/std + b == (w/std).x + (b - sum(w*mean/std)).
    rnn (one mean m and scale s for every input): the same on W_ih and b_ih.
    conv (one scale s, no shift): the first convolution's weights are divided by s.
    Last layer (linear, regression only): y_std * (w.h + b) + y_mean.
    """
    import nn

    if isinstance(model, nn.MLP):
        for neuron in model.layers[0].neurons:
            # m / s first: near the float limits w * m could overflow
            shift = sum(w.data * (m / s)
                        for w, m, s in zip(neuron.w, x_mean, x_std, strict=True))
            for w, s in zip(neuron.w, x_std, strict=True):
                w.data /= float(s)
            neuron.b.data -= float(shift)
    elif isinstance(model.layers[0], nn.RNN):  # W(x - m)/s + b == (W/s)x + b - m sum(W/s)
        rnn = model.layers[0]
        for row, bias in zip(rnn.weight_ih_l0, rnn.bias_ih_l0, strict=True):
            for w in row:
                w.data /= x_std
            bias.data -= x_mean * sum(w.data for w in row)
    else:
        for w in nn._shapes.flat(model.layers[0].weight):
            w.data /= x_std
    last = next(layer for layer in reversed(model.layers) if isinstance(layer, nn.Layer))
    if y_std != 1.0 or y_mean != 0.0:
        for neuron in last.neurons:
            for w in neuron.w:
                w.data *= float(y_std)
            neuron.b.data = float(neuron.b.data * y_std + y_mean)


def _folded(model, snapshots, *scaling) -> list[dict]:
    """Each snapshot with the scaling folded in (``_fold_scaling``); the model is left as it was."""
    final = model.state_dict()
    folded = []
    for state in snapshots:
        model.load_state_dict(state)
        _fold_scaling(model, *scaling)
        folded.append(model.state_dict())
    model.load_state_dict(final)
    return folded


def _write_history(history, path: Path) -> None:
    """history.as_dict() as CSV, the metric columns named by the metric (accuracy, r2)."""
    columns = history.as_dict()
    metric = history.metric_name
    names = [name.replace("metric", metric) if metric else name for name in columns]
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(names)
        writer.writerows(zip(*columns.values(), strict=True))


def classifier_metric(task: str, loss: str):
    """fit's metric: accuracy for a classification trained with mse (outputs read at 0.5), else
    None (fit's own choice: accuracy for a classification loss, R² for mse)."""
    if task != "classification" or loss != "mse":
        return None
    from nn.train import accuracy as nn_accuracy

    def accuracy(outputs, targets) -> float:
        return nn_accuracy(outputs, targets, "bce")  # probability-like output > 0.5

    return accuracy


def _graph_files_skipped(model: str) -> bool:
    """True, after a warning, when the pictures Graphviz draws cannot be made (no ``dot``)."""
    import shutil

    if model != "mlp" or shutil.which("dot") is not None:
        return False
    import sys

    print(f"warning: Graphviz's dot program is not installed, so {', '.join(GRAPH_FILES)} "
          "will not be written (the model, history and plots will); install it with "
          "'sudo apt-get install graphviz' or 'brew install graphviz' (README: Installing "
          "Graphviz)", file=sys.stderr)
    return True


def _write_outputs(model, history, X, y, out: Path, task: str, progress=False, info=None,
                   graphs: bool = True) -> list[Path]:
    """Writes the model, its history and its pictures into out; returns the paths.

    ``info`` (task, labels, column names) goes into model.json; ``graphs=False``
    leaves out the pictures Graphviz draws.
    """
    os.environ.setdefault("MPLBACKEND", "Agg")  # files only, never a window
    import nn
    from viz import (
        draw_network,
        plot_bptt,
        plot_decision_boundary,
        plot_feature_maps,
        plot_filters,
        plot_history,
        render,
        training_player,
    )
    from viz.graph import render_svg

    written = [out / name for name in ("model.json", "history.csv")]
    nn.save(model, written[0], info)
    _write_history(history, written[1])
    if history.epochs:  # none when Ctrl-C came during the first epoch: no loss to plot yet
        written.append(out / "loss.svg")
        save_figure(plot_history(history), written[-1])
    if isinstance(model, nn.MLP) and graphs:
        written.append(out / "network.svg")
        written[-1].write_text(render_svg(draw_network(model)), encoding="utf-8")
    if X.ndim == 2 and X.shape[1] == 2 and task == "classification":  # regressions: no boundary
        written.append(out / "decision_boundary.svg")
        save_figure(plot_decision_boundary(model, X, y), written[-1])
    if history.diagnostics:  # --diagnostics
        from viz import plot_gradient_flow

        written.append(out / "gradient_flow.svg")
        save_figure(plot_gradient_flow(history), written[-1])
    if isinstance(model, nn.MLP):
        if not graphs:
            return written
        written.append(out / "neuron.svg")
        render(_one_neuron_graph(model, X), written[-1])
        written.append(out / "training.html")
        training_player(history, model, X, y, progress=progress).save(written[-1])
    elif isinstance(model.layers[0], nn.Conv2d):
        written += [out / "filters.svg", out / "feature_maps.svg"]
        save_figure(plot_filters(model), written[-2])
        save_figure(plot_feature_maps(model, X[0]), written[-1])
    else:
        written.append(out / "bptt.svg")
        save_figure(plot_bptt(*_first_sequence_loss(nn, model, X[0], y[0], history)), written[-1])
    return written


def _first_sequence_loss(nn, model, sequence, target, history):
    """(loss, hidden states) of the trained RNN model on one sequence, for plot_bptt."""
    rnn, rest = model.layers[0], nn.Sequential(*model.layers[1:])
    states = rnn(sequence.tolist())
    output = rest(states)
    if isinstance(output, list) and len(output) > 1:
        loss = nn.cross_entropy(output, int(target))
    elif history.metric_name == "accuracy":
        loss = nn.bce_with_logits(output, float(target))
    else:
        loss = nn.mse_loss(output, float(target))
    return loss, states


def _one_neuron_graph(model, X) -> Value:
    """The first neuron of the first layer on an input row where it is active, after backward.

    Its parameters' gradients are zeroed first (they still hold the last
    training step's), so the picture shows d(output)/d(each input) for this row.
    """
    neuron = model.layers[0].neurons[0]

    def weighted_sum(row) -> float:
        return sum(w.data * float(x) for w, x in zip(neuron.w, row, strict=True)) + neuron.b.data

    # A relu neuron at a row where it is off would show only zero gradients.
    row = next((row for row in X if weighted_sum(row) > 0), X[0])
    for i, w in enumerate(neuron.w, 1):
        w.label = w.label or f"w{i}"
    neuron.b.label = neuron.b.label or "b"
    for parameter in neuron.parameters():
        parameter.grad = 0.0
    output = neuron([Value(float(value), label=f"x{i}") for i, value in enumerate(row)])
    output.label = "out"
    output.backward()
    return output


def _print_metrics(history) -> None:
    if not history.epochs:
        print("no epoch was completed")
        return
    metric = history.metric_name
    rows = [("train", history.loss[-1], history.metric[-1])]
    if history.val_loss:
        rows.append(("validation", history.val_loss[-1], history.val_metric[-1]))
    print(f"{'':<10}  {'loss':>10}  {metric:>10}")
    for name, loss, value in rows:
        shown = f"{value:.1%}" if metric == "accuracy" else f"{value:.4f}"
        print(f"{name:<10}  {loss:>10.4f}  {shown:>10}")
    print(f"{len(history.loss)} epochs in {sum(history.seconds):.1f} s")
