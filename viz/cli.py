"""The ``chainrule`` command line: train a network, draw, step through or explain a backward pass.

    chainrule train --dataset moons --hidden 16,16 --epochs 60 --out out
    chainrule graph "tanh(x * w + b)" x=0.5 w=-1.2 b=0.3 -o graph.svg
    chainrule step "tanh(x * w + b)" x=0.5 w=-1.2 b=0.3 -o steps.html
    chainrule explain "a * b + a" a=2 b=-3

Expressions are read by ``autograd.expression.parse``, a whitelist over
Python's ast: nothing the user types is ever executed. Every mistake in the
arguments (a bad expression, a missing or unknown variable, an unknown data
set, a malformed ``--hidden``) ends with a usage message and exit status 2,
never a traceback; a missing Graphviz program ends with how to install it and
exit status 1.

Decisions where the spec is silent:

* ``train`` standardises the inputs (and a regression target) with the
  training set's mean and deviation, which plain SGD on raw house prices
  needs, then folds that scaling into the first and last layers before
  saving, so ``model.json`` takes raw inputs and predicts in raw units.
* The task is classification when every target is an integer and there are
  at most ``MAX_CLASSES`` distinct ones (labels are mapped to 0..k-1 in sorted
  order); otherwise regression. Two classes get one output and
  ``bce_with_logits``, more get one output per class and ``cross_entropy``,
  regression gets ``mse``; ``--loss`` overrides (``bce`` gets a sigmoid
  output layer; a loss that does not fit the task is a usage error).
  ``decision_boundary.svg`` is written for classification with two inputs
  (a regression has no boundary).
* ``explain`` names each node by its label, or ``n<i>`` (its index in the
  topological order, as in ``draw_dot``) when it has none.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from autograd import Value, topological_order
from autograd.expression import ExpressionError, parse

from ._trace import display_names, formulas, trace

# nn's names, written out so that the parser needs no numpy (a test keeps them equal);
# "linear" hidden layers are left out, "momentum" is SGD with momentum 0.9.
DATASETS = ("moons", "circles", "blobs", "spiral", "xor", "house_prices")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu")
LOSSES = ("mse", "bce", "bce_with_logits", "cross_entropy", "hinge")
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
MAX_CLASSES = 10


class UsageError(Exception):
    """A mistake in the arguments: reported with the usage message, exit status 2."""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chainrule")
    except PackageNotFoundError:  # not installed (running from a source tree)
        from autograd import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with the four subcommands."""
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="See backpropagation: train small networks, draw computation graphs "
        "with their gradients, step through a backward pass.",
        epilog='Example: chainrule graph "tanh(x * w + b)" x=0.5 w=-1.2 b=0.3 -o graph.svg',
    )
    parser.add_argument("--version", action="version", version=f"chainrule {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    train = commands.add_parser(
        "train", help="train an MLP on a data set and write its pictures",
        description="Train an MLP; writes model.json, history.csv, loss.svg, network.svg, "
        "neuron.svg and, for a classification with two inputs, decision_boundary.svg "
        "into --out.",
    )
    train.set_defaults(subparser=train)  # main reports usage errors with its usage line
    train.add_argument("--dataset", default="moons",
                       help=f"one of {', '.join(DATASETS)}, or a CSV file (default: moons)")
    train.add_argument("--target", help="the target column of a CSV file (default: the last)")
    train.add_argument("--samples", type=int, default=200,
                       help="points drawn for a built-in data set (default: 200)")
    train.add_argument("--hidden", default="16,16",
                       help="hidden layer sizes, e.g. 16,16; '' for none (default: 16,16)")
    train.add_argument("--activation", choices=ACTIVATIONS, default="relu",
                       help="of the hidden layers (default: relu)")
    train.add_argument("--loss", choices=LOSSES,
                       help="default: bce_with_logits, cross_entropy or mse by task")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="adam",
                       help="momentum is SGD with momentum 0.9 (default: adam)")
    train.add_argument("--lr", type=float, default=0.01, help="learning rate (default: 0.01)")
    train.add_argument("--epochs", type=int, default=100, help="(default: 100)")
    train.add_argument("--batch-size", type=int, default=32,
                       help="mini-batch size; 0 for full batch (default: 32)")
    train.add_argument("--validation", type=float, default=0.2,
                       help="fraction held out for validation; 0 for none (default: 0.2)")
    train.add_argument("--seed", type=int, default=0,
                       help="for the data, the weights and the shuffling (default: 0)")
    train.add_argument("--out", default="out", help="output folder (default: out)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")

    for name, help_, default, what in (
        ("graph", "draw EXPR's computation graph with its gradients", "graph.svg",
         "the picture (.svg, .png, .pdf or .dot)"),
        ("step", "write the backward-pass stepper for EXPR as an HTML file", "steps.html",
         "the HTML file"),
        ("explain", "print EXPR's backward pass, one row per chain-rule step", None, None),
    ):
        command = commands.add_parser(
            name, help=help_, description=f"{help_[0].upper()}{help_[1:]}. EXPR uses + - * / **, "
            "numbers, variables and exp log sqrt tanh sigmoid relu abs sin cos leaky_relu; "
            "nothing in it is executed. An EXPR that starts with '-' goes after '--': "
            f'chainrule {name} -- "-x * y" x=2 y=3',
        )
        command.set_defaults(subparser=command)
        command.add_argument("expr", metavar="EXPR", help='e.g. "tanh(x * w + b)"')
        command.add_argument("assignments", metavar="name=value", nargs="*",
                             help="a value for every variable of EXPR")
        if default is not None:
            command.add_argument("-o", "--output", default=default,
                                 help=f"{what} (default: {default})")
            command.add_argument("--max-nodes", type=int, default=1000,
                                 help="refuse to draw larger graphs (default: 1000)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit status (0 ok, 1 failure, 2 bad arguments)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UsageError as error:
        args.subparser.error(str(error))  # prints the usage, exits with status 2
    except ExpressionError as error:
        args.subparser.error(f"EXPR: {error}")
    except (RuntimeError, FloatingPointError, OSError, ImportError) as error:
        # no Graphviz (program or package), no matplotlib, training diverged, a file that
        # cannot be written: failures, not usage mistakes
        print(f"chainrule {args.command}: {error}", file=sys.stderr)
        return 1


# -- graph, step, explain --------------------------------------------------------------------


def _read_assignments(expr, assignments: list[str]) -> dict[str, Value]:
    """The Values named by ``name=value`` arguments, one for each variable of expr."""
    given: dict[str, Value] = {}
    for assignment in assignments:
        name, sep, text = assignment.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"expected name=value, got {assignment!r}")
        try:
            number = float(text)
        except ValueError:
            raise UsageError(f"the value of {name} must be a number, got {text!r}") from None
        if name in given:
            raise UsageError(f"{name} is given twice")
        if name not in expr.variables:
            known = ", ".join(expr.variables) or "none"
            raise UsageError(f"{name} is not a variable of the expression (its variables: {known})")
        given[name] = Value(number, label=name)
    missing = [name for name in expr.variables if name not in given]
    if missing:
        example = " ".join(f"{name}=1.0" for name in missing)
        raise UsageError(f"no value for {', '.join(missing)}: add e.g. {example}")
    return given


def _build(args) -> tuple[Value, dict[str, Value]]:
    expr = parse(args.expr)
    leaves = _read_assignments(expr, args.assignments)
    return expr.evaluate(leaves), leaves


def _print_gradients(out: Value, leaves: dict[str, Value]) -> None:
    print(f"value: {_number(out.data)}")
    width = max([4, *map(len, leaves)])
    print(f"{'name':<{width}}  {'value':>12}  {'gradient':>12}")
    for name, leaf in leaves.items():
        print(f"{name:<{width}}  {_number(leaf.data):>12}  {_number(leaf.grad):>12}")


def _number(x: float) -> str:
    return f"{x:.6g}"


def _output_path(args) -> Path:
    """-o as a Path whose folder exists (after checking --max-nodes too)."""
    if args.max_nodes < 1:
        raise UsageError(f"--max-nodes must be at least 1, got {args.max_nodes}")
    path = Path(args.output)
    if not path.parent.is_dir():
        raise UsageError(f"-o {args.output}: the folder {path.parent} does not exist")
    return path


def _graph(args) -> int:
    path = _output_path(args)
    if path.suffix.lower() not in (".svg", ".png", ".pdf", ".dot"):
        raise UsageError(f"-o must end in .svg, .png, .pdf or .dot, got {path.name!r}")
    out, leaves = _build(args)
    out.backward()
    from viz import render  # after the arguments are checked: graphviz loads only if needed

    with _drawing_limits():
        render(out, path, max_nodes=args.max_nodes)
    _print_gradients(out, leaves)
    print(f"wrote {path}")
    return 0


def _step(args) -> int:
    path = _output_path(args)
    out, leaves = _build(args)
    from viz import step_through

    with _drawing_limits():
        step_through(out, max_nodes=args.max_nodes).save(path)
    out.backward()  # the stepper leaves the Values' own gradients as they were
    _print_gradients(out, leaves)
    print(f"wrote {path} (open it in a browser; arrow keys step)")
    return 0


@contextmanager
def _drawing_limits():
    """draw_dot's error for too large a graph, as a usage error naming --max-nodes."""
    from viz.graph import GraphTooLargeError

    try:
        yield
    except GraphTooLargeError as error:
        raise UsageError(
            f"the graph has {error.count} nodes to draw, more than {error.max_nodes}; "
            f"pass --max-nodes {error.count} to draw them all"
        ) from None


def explain_rows(out: Value) -> list[tuple]:
    """One row per chain-rule step of out's backward pass.

    Each row is (step, node, upstream, child, local, added, running total),
    where the running total is the child's gradient summed so far. Runs the
    pass (so ``.grad`` ends as after ``out.backward()``).
    """
    order = topological_order(out)
    names = display_names(order)
    records, _ = trace(out, order, names)
    written = formulas(records, names)
    rows = []
    number = 0
    for record in records[1:]:
        number += bool(record["contributions"])  # leaves have no chain-rule step
        for c in record["contributions"]:
            node = written[record["node"]]
            rows.append((number, node, record["upstream"], c["name"], c["local"], c["added"],
                         c["total"]))
    return rows


def _explain(args) -> int:
    out, leaves = _build(args)
    header = ("step", "node", "upstream", "child", "local", "added", "child grad")
    rows = [(str(row[0]), row[1], _number(row[2]), row[3], *map(_number, row[4:]))
            for row in explain_rows(out)]
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    left = {1, 3}  # node and child names read better left-aligned
    for cells in (header, *rows):
        print("  ".join(cell.ljust(w) if i in left else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(cells, widths, strict=True))).rstrip())
    if rows:
        print("upstream x local = added; child grad is the running sum of what reached that child.")
    else:
        print("(no chain-rule steps: the expression is a single leaf)")
    _print_gradients(out, leaves)
    return 0


# -- train -------------------------------------------------------------------------------------


def _hidden_sizes(text: str) -> list[int]:
    if not text.strip():
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


def _load_dataset(args):
    """(X, y, name) for --dataset: a built-in generator or a CSV file."""
    source = args.dataset
    path = Path(source)
    if source not in DATASETS and path.suffix.lower() != ".csv" and not path.exists():
        raise UsageError(
            f"unknown dataset {source!r}: expected one of {', '.join(DATASETS)} or a CSV file"
        )
    if source in DATASETS and args.target is not None:
        raise UsageError("--target is for CSV files; built-in data sets know their target")
    if source not in DATASETS and not path.is_file():
        raise UsageError(f"no such CSV file: {source}")
    from nn import data

    if source == "xor":
        return (*data.xor(), source)
    if source in DATASETS:
        return (*data.DATASETS[source](n=args.samples, seed=args.seed), source)
    try:
        X, y = data.load_csv(path, target=args.target)
    except (ValueError, KeyError) as error:
        raise UsageError(f"cannot read {source}: {error}") from None
    return X, y, path.name


def _check_train_args(args) -> None:
    for option, value, least in (("--epochs", args.epochs, 1), ("--samples", args.samples, 4),
                                 ("--batch-size", args.batch_size, 0)):
        if value < least:
            raise UsageError(f"{option} must be at least {least}, got {value}")
    if not args.lr > 0:
        raise UsageError(f"--lr must be positive, got {args.lr}")
    if not 0 <= args.validation < 1:
        raise UsageError(f"--validation must be a fraction in [0, 1), got {args.validation}")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise UsageError(f"--out {args.out} is a file; expected a folder")


def _task(y) -> tuple[str, list]:
    """('classification', sorted labels) or ('regression', [])."""
    import numpy as np

    labels = np.unique(y)
    if len(labels) <= MAX_CLASSES and np.all(labels == np.round(labels)):
        return "classification", labels.tolist()
    return "regression", []


def _train(args) -> int:
    import numpy as np

    _check_train_args(args)
    hidden = _hidden_sizes(args.hidden)
    X, y, name = _load_dataset(args)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).reshape(-1)
    if X.ndim != 2 or len(X) != len(y) or len(X) < 2:
        raise UsageError(f"{name}: expected rows of inputs with one target each, got {X.shape}")
    task, labels = _task(y)
    if task == "classification":
        if len(labels) < 2:
            raise UsageError(f"{name}: the target has a single class ({labels[0]}); need two")
        y = np.searchsorted(labels, y)  # labels -> class indices 0..k-1
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
    return _fit_and_report(args, X, y, name, task, hidden, n_out, loss)


def _fit_and_report(args, X, y, name, task, hidden, n_out, loss) -> int:
    import nn

    Xs, x_mean, x_std = nn.data.standardize(X)
    y_mean, y_std = (y.mean(), y.std() or 1.0) if task == "regression" else (0.0, 1.0)
    ys = (y - y_mean) / y_std

    model = nn.MLP(X.shape[1], [*hidden, n_out], activation=args.activation, seed=args.seed,
                   output_activation="sigmoid" if loss == "bce" else None)  # bce takes p
    optimizer = _optimizer(nn, args, model.parameters())
    sizes = "-".join(str(size) for size in (X.shape[1], *hidden, n_out))
    print(f"training an MLP {sizes} ({args.activation}) on {name} ({len(X)} rows, {task}) "
          f"with {loss} and {args.optimizer} (lr {args.lr})")
    history = nn.fit(
        model, Xs, ys, loss=loss, optimizer=optimizer, epochs=args.epochs,
        batch_size=args.batch_size or None,
        validation=args.validation or None,
        progress=not args.no_progress, seed=args.seed,
    )
    _fold_scaling(model, x_mean, x_std, y_mean, y_std)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = _write_outputs(model, history, X, y, out, task)
    _print_metrics(history)
    if task == "regression":
        print("(the loss is on the standardised target; R² does not depend on the scale)")
    print(f"wrote {len(written)} files to {out}{os.sep}:")
    for path in written:
        print(f"  {path}")
    return 0


def _optimizer(nn, args, parameters):
    if args.optimizer == "momentum":
        return nn.SGD(parameters, lr=args.lr, momentum=0.9)
    return nn.optim.OPTIMIZERS[args.optimizer](parameters, lr=args.lr)


def _fold_scaling(model, x_mean, x_std, y_mean, y_std) -> None:
    """Makes the model trained on standardised data take raw inputs and predict raw targets.

    First layer: w.(x - mean)/std + b == (w/std).x + (b - sum(w*mean/std)).
    Last layer (linear, regression only): y_std * (w.h + b) + y_mean.
    """
    for neuron in model.layers[0].neurons:
        shift = sum(w.data * m / s for w, m, s in zip(neuron.w, x_mean, x_std, strict=True))
        for w, s in zip(neuron.w, x_std, strict=True):
            w.data /= float(s)
        neuron.b.data -= float(shift)
    if y_std != 1.0 or y_mean != 0.0:
        for neuron in model.layers[-1].neurons:
            for w in neuron.w:
                w.data *= float(y_std)
            neuron.b.data = float(neuron.b.data * y_std + y_mean)


def _save_figure(result, path: Path) -> None:
    """Saves what a viz plot returned (a Figure or Axes) and closes it."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    figure = result if isinstance(result, Figure) else result.figure
    figure.savefig(path, bbox_inches="tight")
    plt.close(figure)


def _write_history(history, path: Path) -> None:
    """history.as_dict() as CSV, the metric columns named by the metric (accuracy, r2)."""
    columns = history.as_dict()
    metric = history.metric_name
    names = [name.replace("metric", metric) if metric else name for name in columns]
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(names)
        writer.writerows(zip(*columns.values(), strict=True))


def _write_outputs(model, history, X, y, out: Path, task: str) -> list[Path]:
    """Writes the model, its history and its pictures into out; returns the paths."""
    os.environ.setdefault("MPLBACKEND", "Agg")  # files only, never a window
    from viz import draw_network, plot_decision_boundary, plot_history, render
    from viz.graph import render_svg

    written = [out / name for name in ("model.json", "history.csv", "loss.svg", "network.svg")]
    model.save(written[0])
    _write_history(history, written[1])
    _save_figure(plot_history(history), written[2])
    written[3].write_text(render_svg(draw_network(model)), encoding="utf-8")
    if X.shape[1] == 2 and task == "classification":  # a regression has no boundary
        written.append(out / "decision_boundary.svg")
        _save_figure(plot_decision_boundary(model, X, y), written[-1])
    written.append(out / "neuron.svg")
    render(_one_neuron_graph(model, X), written[-1])
    return written


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
    output = neuron([Value(float(value), label=f"x{i}") for i, value in enumerate(row, 1)])
    output.label = "out"
    output.backward()
    return output


def _print_metrics(history) -> None:
    metric = history.metric_name
    rows = [("train", history.loss[-1], history.metric[-1])]
    if history.val_loss:
        rows.append(("validation", history.val_loss[-1], history.val_metric[-1]))
    print(f"{'':<10}  {'loss':>10}  {metric:>10}")
    for name, loss, value in rows:
        print(f"{name:<10}  {loss:>10.4f}  {value:>10.4f}")
    print(f"{len(history.loss)} epochs in {sum(history.seconds):.1f} s")


COMMANDS = {"train": _train, "graph": _graph, "step": _step, "explain": _explain}


if __name__ == "__main__":
    sys.exit(main())
