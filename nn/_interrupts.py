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
from collections.abc import Callable

try:  # the C functions under ``signal``: its wrappers convert to enums, 20 times slower
    import _signal as _signals
except ImportError:  # another Python than CPython
    _signals = signal

_SIGINT = int(signal.SIGINT)
_MAIN_THREAD = threading.main_thread().ident


class deferred_interrupts:
    """Runs the block with SIGINT held back; a Ctrl-C inside it is raised when the block ends.

    With ``on_interrupt``, that Ctrl-C calls ``on_interrupt()`` instead.
    ``with deferred_interrupts():`` costs a few microseconds (two handler swaps).
    """

    __slots__ = ("on_interrupt", "_previous", "_received")

    def __init__(self, on_interrupt: Callable[[], None] | None = None):
        self.on_interrupt = on_interrupt
        self._previous = None
        self._received: list = []

    def __enter__(self) -> None:
        # Elsewhere than the main thread no signal arrives; a handler installed
        # outside Python (getsignal gives None) could not be put back.
        if threading.get_ident() != _MAIN_THREAD or _signals.getsignal(_SIGINT) is None:
            return
        # From here on a Ctrl-C is only noted: nothing below can be cut short by one.
        self._previous = _signals.signal(_SIGINT, self._hold)

    def _hold(self, signum, frame) -> None:
        self._received.append(frame)

    def __exit__(self, *exc_info) -> bool:
        previous, received = self._previous, self._received
        if previous is None:
            return False
        self._previous = None
        if received and self.on_interrupt is not None:
            self.on_interrupt()  # still held back: a second Ctrl-C here is the same interrupt
            received.clear()
        _signals.signal(_SIGINT, previous)
        if received:
            frame = received[0]
            received.clear()
            if callable(previous):  # Python's default handler raises KeyboardInterrupt here
                previous(_SIGINT, frame)
            elif previous == signal.SIG_DFL:
                signal.raise_signal(signal.SIGINT)
        return False
