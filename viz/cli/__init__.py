"""The ``chainrule`` command line: one small entry point, one module per command.

    chainrule train --dataset moons --hidden 16,16 --epochs 60 --out out
    chainrule tune --dataset moons --epochs 60 --space space.json --trials 20 --out tuned
    chainrule graph "tanh(x * w + b)" x=0.5 w=-1.2 b=0.3 -o graph.svg
    chainrule step "tanh(x * w + b)" x=0.5 w=-1.2 b=0.3 -o steps.html
    chainrule explain "a * b + a" a=2 b=-3
    chainrule data house_prices -o houses.csv
    chainrule predict out/model.json houses.csv -o predictions.csv

Each command lives in a module of this package with two functions:
``add_parser(commands)`` registers its subparser (and sets ``run`` as the
subparser's default), ``run(args)`` carries it out and returns the exit
status. Adding a command is adding a module and a line to ``COMMAND_MODULES``.

Every mistake in the arguments ends with a short usage line, the one-line
reason and exit status 2, never a traceback or the whole option list (a
command raises ``UsageError``; ``--help`` lists the options); failures that are not the
user's typing (no Graphviz, a file that cannot be written, training that
diverged) print one line and exit with status 1. Ctrl-C exits with status 130
(128 + SIGINT, as a shell reports it) and no traceback; ``train`` first writes
what it can.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from autograd.expression import ExpressionError

from ._common import INTERRUPTED, UsageError, version

# The commands, in the order --help lists them.
COMMAND_MODULES = ("train", "tune", "predict", "data", "expressions")

__all__ = ["COMMAND_MODULES", "UsageError", "build_parser", "main"]


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are two lines: a short usage and the reason."""

    def error(self, message: str):
        self.exit(2, f"{self.short_usage()}\n{self.prog}: error: {message}\n")

    def short_usage(self) -> str:
        """``usage: chainrule graph [options] EXPR [name=value ...]  (--help lists them)``."""
        words = [self.prog, "[options]"]
        for action in self._actions:
            if action.option_strings:
                continue
            if isinstance(action, argparse._SubParsersAction):
                words.append("COMMAND ...")
            else:
                name = action.metavar or action.dest
                words.append(f"[{name} ...]" if action.nargs in ("*", "?") else name)
        return f"usage: {' '.join(words)}  ({self.prog} --help lists the options)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = Parser(
        prog="chainrule",
        description="See backpropagation: train small networks, draw computation graphs "
        "with their gradients, step through a backward pass.",
        epilog='Example: chainrule graph "tanh(x * w + b)" x=0.5 w=-1.2 b=0.3 -o graph.svg',
    )
    parser.add_argument("--version", action="version", version=f"chainrule {version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit status (0 ok, 1 failure, 2 bad arguments)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:  # Ctrl-C outside training: no traceback, the shell's status
        print(f"chainrule {args.command}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except UsageError as error:
        args.subparser.error(str(error))  # prints a short usage, exits with status 2
    except ExpressionError as error:
        args.subparser.error(f"EXPR: {error}")
    except (RuntimeError, FloatingPointError, OSError, ImportError) as error:
        # no Graphviz (program or package), no matplotlib, training diverged, a file that
        # cannot be written: failures, not usage mistakes
        print(f"chainrule {args.command}: {error}", file=sys.stderr)
        return 1
