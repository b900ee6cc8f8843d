"""Recording modes: ``no_grad()`` and ``scope(name)``.

The mode lives in one ContextVar, so it is per thread and per asyncio task,
never global. Every operation reads it once, and then two of its fields: the
scope its node carries and ``fast``, true when the operation has nothing to do
but record (no ``no_grad``, no anomaly checker, no tracer), so modes and scopes
cost next to nothing when unused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class Mode:
    """What operations do right now.

    recording: whether operations record their inputs (False under no_grad).
    scope: the scope path new nodes carry, such as ``layers.0/neurons.3``.
    anomaly: an anomaly checker (see ``detect_anomaly``) or None.
    tracer: the tracer recording a tape (see ``autograd.trace``) or None. It
        sees every node made while it is active: ``tracer.node(node)`` for a
        node an operation made, ``tracer.leaf(node)`` for a leaf (a number
        lifted into an operation, or ``Value(x)``), ``tracer.built(node)`` for
        a node built by hand with children (micrograd's idiom). Each returns
        the node to use, or raises ``TraceError``; ``tracer.closure(node)`` is
        called when a micrograd ``_backward`` closure is assigned to a node.
    fast: recording, with no anomaly checker and no tracer (derived): the
        one field an operation reads, besides ``scope``, on its fast path.
    """

    recording: bool = True
    scope: str | None = None
    anomaly: Any = None
    tracer: Any = None
    fast: bool = field(init=False, compare=False, repr=False, default=True)

    def __post_init__(self):
        fast = self.recording and self.anomaly is None and self.tracer is None
        object.__setattr__(self, "fast", fast)


PLAIN = Mode()
current: ContextVar[Mode] = ContextVar("chainrule_mode", default=PLAIN)


@contextmanager
def _switch(**changes: Any) -> Iterator[Mode]:
    outer = current.get()
    mode = replace(outer, **changes)
    # Set inside the try and put back by value: a Ctrl-C landing right after the set
    # (or while ``with`` takes the result) still restores the outer mode, from the
    # finally or when the abandoned generator is closed, so no_grad() cannot stick.
    try:
        current.set(PLAIN if mode == PLAIN else mode)
        yield mode
    finally:
        current.set(outer)


def no_grad():
    """Context manager: operations inside record no graph (results are leaves)."""
    return _switch(recording=False)


def enable_grad():
    """Context manager: record again inside an enclosing ``no_grad()``."""
    return _switch(recording=True)


def is_grad_enabled() -> bool:
    return current.get().recording


class scope:
    """Context manager: nodes created inside carry ``name`` in their scope path.

    Scopes nest with ``/``: ``with scope('layers.0'): with scope('neurons.3')``
    tags nodes with ``layers.0/neurons.3``. nn opens one per module call (a
    forward pass of a small MLP over a batch opens thousands), so entering a
    scope is kept cheap: the inner Mode for an (outer mode, name) pair is built
    once and reused, and entering only swaps the context variable.
    """

    __slots__ = ("name", "_token")

    def __init__(self, name: str):
        if not isinstance(name, str) or not name:
            raise TypeError(f"scope name must be a non-empty str, got {name!r}")
        self.name = name

    def __enter__(self) -> Mode:
        outer = current.get()
        key = (outer.recording, outer.scope, self.name)  # every field but anomaly and tracer
        cached = outer.anomaly is None and outer.tracer is None
        inner = _inner_modes.get(key) if cached else None
        if inner is None:
            path = self.name if outer.scope is None else f"{outer.scope}/{self.name}"
            inner = replace(outer, scope=path)
            # Anomaly checkers and tracers come and go: their modes are not kept.
            # The cache is bounded for programs that make up scope names freely.
            if cached and len(_inner_modes) < _MAX_CACHED_MODES:
                _inner_modes[key] = inner
        # An exception (Ctrl-C) landing between the set and the return would skip
        # __exit__, since ``with`` has not taken the result yet: put the outer mode
        # back then. The try costs nothing when nothing is raised.
        try:
            self._token = current.set(inner)
            return inner
        except BaseException:
            current.set(outer)
            raise

    def __exit__(self, *exc_info) -> None:
        current.reset(self._token)


_MAX_CACHED_MODES = 10_000
_inner_modes: dict[tuple, Mode] = {}


def current_scope() -> str | None:
    return current.get().scope
