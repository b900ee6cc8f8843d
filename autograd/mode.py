"""Recording modes: ``no_grad()`` and ``scope(name)``.

The mode lives in one ContextVar, so it is per thread and per asyncio task,
never global. Every operation reads it once; when no mode is active it holds
the shared ``PLAIN`` object and the operation takes its fast path with a
single identity check, so modes cost next to nothing when unused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Mode:
    """What operations do right now.

    recording: whether operations record their inputs (False under no_grad).
    scope: the scope path new nodes carry, such as ``layers.0/neurons.3``.
    anomaly: an anomaly checker (see ``detect_anomaly``) or None.
    """

    recording: bool = True
    scope: str | None = None
    anomaly: Any = None


PLAIN = Mode()
current: ContextVar[Mode] = ContextVar("chainrule_mode", default=PLAIN)


@contextmanager
def _switch(**changes: Any) -> Iterator[Mode]:
    mode = replace(current.get(), **changes)
    token = current.set(PLAIN if mode == PLAIN else mode)
    try:
        yield mode
    finally:
        current.reset(token)


def no_grad():
    """Context manager: operations inside record no graph (results are leaves)."""
    return _switch(recording=False)


def enable_grad():
    """Context manager: record again inside an enclosing ``no_grad()``."""
    return _switch(recording=True)


def is_grad_enabled() -> bool:
    return current.get().recording


def scope(name: str):
    """Context manager: nodes created inside carry ``name`` in their scope path.

    Scopes nest with ``/``: ``with scope('layers.0'): with scope('neurons.3')``
    tags nodes with ``layers.0/neurons.3``. nn opens one per module call, so
    viz can group a graph by neuron and layer.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"scope name must be a non-empty str, got {name!r}")
    outer = current.get().scope
    return _switch(scope=name if outer is None else f"{outer}/{name}")


def current_scope() -> str | None:
    return current.get().scope
