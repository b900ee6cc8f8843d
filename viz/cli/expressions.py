"""``chainrule graph``, ``step`` and ``explain``: one expression's backward pass, drawn or told.

    chainrule graph "tanh(x * w + b)" x=0.5 w=-1.2 b=0.3 -o graph.svg
    chainrule step "tanh(x * w + b)" x=0.5 w=-1.2 b=0.3 -o steps.html
    chainrule explain "a * b + a" a=2 b=-3

Expressions are read by ``autograd.expression.parse``, a whitelist over
Python's ast: nothing the user types is ever executed. ``explain`` names each
node as the box of ``chainrule graph``'s picture shows it (one name per node,
``viz._trace.display_names``): by its label, or ``n<i>`` (its index in the
topological order) when it has none.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from autograd import Value, topological_order
from autograd.expression import CONSTANTS, parse

from .._trace import display_names, formulas, trace
from ._common import UsageError, add_command, number

COMMANDS = (
    ("graph", "draw EXPR's computation graph with its gradients", "graph.svg",
     "the picture (.svg, .png, .pdf or .dot)"),
    ("step", "write the backward-pass stepper for EXPR as an HTML file", "steps.html",
     "the HTML file"),
    ("explain", "print EXPR's backward pass, one row per chain-rule step", None, None),
)


def add_parser(commands) -> None:
    """Registers graph, step and explain."""
    runs = {"graph": run_graph, "step": run_step, "explain": run_explain}
    for name, help_, default, what in COMMANDS:
        command = add_command(
            commands, name, runs[name], help=help_,
            description=f"{help_[0].upper()}{help_[1:]}. EXPR uses + - * / **, "
            "numbers, the constants pi and e, variables and exp log sqrt tanh sigmoid relu abs "
            "sin cos leaky_relu; "
            "nothing in it is executed. An EXPR that starts with '-' goes after '--': "
            f'chainrule {name} -- "-x * y" x=2 y=3',
        )
        command.add_argument("expr", metavar="EXPR", help='e.g. "tanh(x * w + b)"')
        command.add_argument("assignments", metavar="name=value", nargs="*",
                             help="a value for every variable of EXPR")
        if default is not None:
            command.add_argument("-o", "--output", default=default,
                                 help=f"{what} (default: {default})")
            command.add_argument("--max-nodes", type=int, default=1000,
                                 help="refuse to draw larger graphs (default: 1000)")


def _read_assignments(expr, assignments: list[str]) -> dict[str, Value]:
    """The Values named by ``name=value`` arguments, one for each variable of expr."""
    given: dict[str, Value] = {}
    for assignment in assignments:
        name, sep, text = assignment.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"expected name=value, got {assignment!r}")
        try:
            value = float(text)
        except ValueError:
            raise UsageError(f"the value of {name} must be a number, got {text!r}") from None
        if name in given:
            raise UsageError(f"{name} is given twice")
        if name in CONSTANTS:
            raise UsageError(f"{name} is the constant {CONSTANTS[name]!r} in expressions, not a "
                             "variable: choose another name")
        if name not in expr.variables:
            known = ", ".join(expr.variables) or "none"
            raise UsageError(f"{name} is not a variable of the expression (its variables: {known})")
        given[name] = Value(value, label=name)
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
    print(f"value: {number(out.data)}")
    width = max([4, *map(len, leaves)])
    print(f"{'name':<{width}}  {'value':>12}  {'gradient':>12}")
    for name, leaf in leaves.items():
        print(f"{name:<{width}}  {number(leaf.data):>12}  {number(leaf.grad):>12}")


def _output_path(args) -> Path:
    """-o as a Path whose folder exists (after checking --max-nodes too)."""
    if args.max_nodes < 1:
        raise UsageError(f"--max-nodes must be at least 1, got {args.max_nodes}")
    path = Path(args.output)
    if not path.parent.is_dir():
        raise UsageError(f"-o {args.output}: the folder {path.parent} does not exist")
    return path


def run_graph(args) -> int:
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


def run_step(args) -> int:
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
    step = 0
    for record in records[1:]:
        step += bool(record["contributions"])  # leaves have no chain-rule step
        for c in record["contributions"]:
            node = written[record["node"]]
            rows.append((step, node, record["upstream"], c["name"], c["local"], c["added"],
                         c["total"]))
    return rows


def run_explain(args) -> int:
    out, leaves = _build(args)
    header = ("step", "node", "upstream", "child", "local", "added", "child grad")
    rows = [(str(row[0]), row[1], number(row[2]), row[3], *map(number, row[4:]))
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
