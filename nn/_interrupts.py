"""Ctrl-C that cannot split an update: ``deferred_interrupts()``.

Python delivers Ctrl-C (SIGINT) as a KeyboardInterrupt between any two
bytecodes, so a loop writing 33 parameters can stop after 3. Code that must
change several things together (an optimizer step, a History epoch, a
model's rescaling) computes first, where an interrupt changes nothing, then
applies inside ``with deferred_interrupts():``. There a Ctrl-C is noted,
not raised; it is raised as KeyboardInterrupt as soon as the block ends,
so the state is either all before or all after the update.

Only the main thread receives signals, so elsewhere the block simply runs.
Blocks nest (an inner block hands its interrupt to the outer one). With
``on_interrupt``, a held-back Ctrl-C calls it instead of raising (fit
tidies up this way and marks its History as interrupted).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def deferred_interrupts(on_interrupt: Callable[[], None] | None = None) -> Iterator[None]:
    """Runs the block with SIGINT held back; a Ctrl-C inside it is raised when the block ends.

    With ``on_interrupt``, that Ctrl-C calls ``on_interrupt()`` instead.
    """
    # Elsewhere than the main thread no signal arrives; a handler installed
    # outside Python (getsignal gives None) could not be put back.
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is None
    ):
        yield
        return
    received: list = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(frame))
    try:
        yield
    finally:
        if received and on_interrupt is not None:
            on_interrupt()  # still held back: a second Ctrl-C here is the same interrupt
            received.clear()
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):  # Python's default handler raises KeyboardInterrupt here
                previous(signal.SIGINT, received[0])
            elif previous == signal.SIG_DFL:
                signal.raise_signal(signal.SIGINT)
