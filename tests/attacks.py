"""Helpers for the attack suite (tests/test_attacks_*.py): bounded subprocesses, Ctrl-C on cue.

``run_python(code)`` runs code in a fresh interpreter with a timeout, so an
attack that would hang (a FIFO, /dev/zero, a huge model) fails the test
instead of stalling CI. ``interrupt_at(n)`` raises a real SIGINT, as Ctrl-C
does, at the n-th traced line event of the code inside the ``with`` block;
``line_events()`` counts them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120  # seconds: far beyond what any attack takes once fixed; a hang fails


def run_python(code: str, *args: str, timeout: float = TIMEOUT, **options):
    """subprocess.run of ``python -c code args`` in the repository; pytest.fail if it hangs."""
    try:
        return subprocess.run(
            [sys.executable, "-c", code, *args], cwd=options.pop("cwd", ROOT),
            capture_output=True, text=True, timeout=timeout,
            preexec_fn=_default_sigint, **options,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"hung: still running after {timeout} s: {code[:200]}")


def run_command(argv: list[str], timeout: float = TIMEOUT, **options):
    """subprocess.run of the ``chainrule`` command line (as python -m viz.cli); fails on a hang."""
    code = "import sys; from viz.cli import main; sys.exit(main(sys.argv[1:]))"
    return run_python(code, *argv, timeout=timeout, **options)


def _default_sigint() -> None:
    # A child of a background job inherits SIGINT ignored; Ctrl-C tests need Python's handler.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def popen_python(code: str, *args: str, **options) -> subprocess.Popen:
    """A running ``python -c code args`` (text pipes) that SIGINT interrupts as Ctrl-C would."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=options.pop("cwd", ROOT), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_default_sigint, **options,
    )


@contextmanager
def line_events(counter: list[int], watched=None):
    """Counts traced line events (all of them, or those whose file name ``watched`` accepts)."""

    def trace(frame, event, arg):
        if event == "line" and (watched is None or watched(frame.f_code.co_filename)):
            counter[0] += 1
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        yield
    finally:
        sys.settrace(previous)


@contextmanager
def interrupt_at(target: int, watched=None):
    """Sends this process SIGINT (Ctrl-C) at the ``target``-th line event (from 1) in the block.

    Python's handler then raises KeyboardInterrupt at the next bytecode
    boundary, as it does for a real Ctrl-C, wherever that falls.
    """
    seen = [0]

    def trace(frame, event, arg):
        if event == "line" and (watched is None or watched(frame.f_code.co_filename)):
            seen[0] += 1
            if seen[0] == target:
                os.kill(os.getpid(), signal.SIGINT)
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        yield seen
    finally:
        sys.settrace(previous)
