"""What the commands share: the usage error, number formatting, output paths, figures."""

from __future__ import annotations

import argparse
from pathlib import Path

INTERRUPTED = 130  # the exit status after Ctrl-C, as shells report 128 + SIGINT


class UsageError(Exception):
    """A mistake in the arguments: reported with the usage message, exit status 2."""


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("chainrule")
    except PackageNotFoundError:  # not installed (running from a source tree)
        from autograd import __version__

        return __version__


def add_command(commands, name: str, run, **kwargs) -> argparse.ArgumentParser:
    """A subparser for ``name`` whose arguments are carried out by ``run(args)``."""
    command = commands.add_parser(name, **kwargs)
    # main reports usage errors with the subcommand's own usage line
    command.set_defaults(run=run, subparser=command)
    return command


def number(x: float) -> str:
    """A number as the command line prints it (6 significant digits)."""
    return f"{x:.6g}"


def save_figure(result, path: Path) -> None:
    """Saves what a viz plot returned (a Figure or Axes) and closes it."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    figure = result if isinstance(result, Figure) else result.figure
    figure.savefig(path, bbox_inches="tight")
    plt.close(figure)
