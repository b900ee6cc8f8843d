"""Anomaly mode: stop at the first operation that turns finite numbers into nan or inf.

The engine follows IEEE arithmetic, so ``log(0)`` quietly gives ``-inf`` and a
nan can travel through a whole network before anyone sees it. Inside
``with detect_anomaly():`` every operation is checked as it runs:

* forward: a node whose inputs are all finite but whose value is not
  (``log(0)``, ``exp(1000)``, ``1 / 0``) raises ``AnomalyError``;
* backward: a node whose upstream gradient, inputs and value are finite but
  whose local gradient is not (``sqrt`` at 0: d/dx = 1 / (2 sqrt(0)) = inf),
  or whose contribution ``upstream * local`` overflows, raises too.

The message names the op, its input values, the labels of the nodes involved,
and the place in your code (file, line and source) where the offending node
was created, as PyTorch's anomaly mode shows the forward traceback.

How it hooks in: ``mode.Mode`` carries an ``anomaly`` checker; the engine
calls ``check_forward`` for every node it records and ``check_backward`` for
every node backward visits, but only when the checker is set. Outside anomaly
mode the engine's fast path never looks at it, so it costs nothing.

In IPython and Jupyter an uncaught AnomalyError shows only the frames of the
user's code and the message (``_render_traceback_``), not IPython's and
autograd's own frames, and the creation site stops at IPython's shell
(it named three of its frames: run_code, run_ast_nodes, run_cell_async).

Decisions: ``AnomalyError`` is a ``FloatingPointError`` (an ArithmeticError),
the standard exception for a floating-point operation that went wrong.
``Value`` has ``__slots__`` and no weak references, so the creation sites live
in the checker, keyed by node, for the nodes created inside the block (up to
``MAX_SITES`` of the most recent ones; each entry keeps its node alive until
the block ends). A node created outside the block is reported without a site.
Nested ``detect_anomaly()`` blocks share the outer checker.
"""

from __future__ import annotations

import linecache
import math
import os
import sys
import traceback
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from . import mode as _mode

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
MAX_SITES = 100_000  # creation sites kept per block (oldest dropped first)
SITE_FRAMES = 4  # frames of user code recorded per node


class AnomalyError(FloatingPointError):
    """An operation turned finite numbers into nan or inf (see ``detect_anomaly``).

    Attributes: ``op`` (the op name), ``node`` (the offending Value),
    ``inputs`` (the input values), ``phase`` ('forward' or 'backward') and
    ``site`` (``(filename, line, function)`` frames where the node was made,
    innermost first; empty when unknown).
    """

    def __init__(self, message: str, *, op: str, node, inputs, phase: str, site=()):
        super().__init__(message)
        self.op = op
        self.node = node
        self.inputs = tuple(inputs)
        self.phase = phase
        self.site = tuple(site)

    def _render_traceback_(self) -> list[str]:
        """What IPython and Jupyter show instead of their full traceback: the frames of the
        user's own code (not IPython's, not autograd's: the message already names the op and
        where its node was made), then the error. Plain Python is unaffected."""
        frames = [
            frame for frame in traceback.extract_tb(self.__traceback__)
            if not _in_package(frame.filename) and not _is_ipython(frame.filename)
        ]
        lines = ["Traceback (most recent call last):"] if frames else []
        lines += [line.rstrip("\n") for line in traceback.format_list(frames)]
        lines.append(f"{type(self).__name__}: {self}")
        return lines


_IPYTHON_PARTS = (f"{os.sep}IPython{os.sep}", f"{os.sep}ipykernel{os.sep}")


@lru_cache(maxsize=4096)
def _is_ipython(filename: str) -> bool:
    """A file of IPython or ipykernel (the shell running a notebook cell)."""
    return any(part in filename for part in _IPYTHON_PARTS)


@lru_cache(maxsize=4096)
def _in_package(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_PACKAGE_DIR)


def _user_frames(limit: int = SITE_FRAMES) -> tuple[tuple[str, int, str], ...]:
    """The innermost ``limit`` stack frames outside the autograd package."""
    frames = []
    frame = sys._getframe(1)
    while frame is not None and len(frames) < limit:
        code = frame.f_code
        # IPython's shell (run_code, run_ast_nodes, ...) and what runs it (the kernel's event
        # loop) are no part of the user's code: the walk stops there.
        if _is_ipython(code.co_filename):
            break
        if not _in_package(code.co_filename):
            frames.append((code.co_filename, frame.f_lineno, code.co_name))
        frame = frame.f_back
    return tuple(frames)


def _is_finite(x) -> bool:
    return math.isfinite(float(x))


def _described(node, value: bool = True) -> str:
    """``label 'y', value 0.0, scope layers.0/neurons.3``: the label and scope where set."""
    parts = [f"label {node.label!r}"] if node.label else []
    if value:
        parts.append(f"value {node.data}")
    if node.scope:
        parts.append(f"scope {node.scope}")
    return ", ".join(parts)


class AnomalyChecker:
    """The ``Mode.anomaly`` object: checks each node and remembers where it was created."""

    def __init__(self) -> None:
        # Oldest first, so the oldest entry goes in O(1) when MAX_SITES is reached.
        self._sites: OrderedDict[int, tuple[object, tuple]] = OrderedDict()
        self._interned: dict[tuple, tuple] = {}  # a loop creates many nodes at one site
        # The node whose local gradients backward is building right now, set
        # by the engine, so a forward error under create_graph can name it.
        self.differentiating = None

    def site_of(self, node) -> tuple:
        """The user frames where ``node`` was created (empty if not created in this block)."""
        entry = self._sites.get(id(node))
        return entry[1] if entry is not None and entry[0] is node else ()

    def check_forward(self, node, rule, children) -> None:
        """Records node's creation site; raises AnomalyError if finite inputs gave nan/inf."""
        sites = self._sites
        if len(sites) >= MAX_SITES:
            sites.popitem(last=False)
        site = _user_frames()
        sites[id(node)] = (node, self._interned.setdefault(site, site))
        if math.isfinite(node.data) or not all(math.isfinite(c.data) for c in children):
            return
        raise self._error(
            "forward",
            node,
            rule.name,
            children,
            f"forward of {_describe_call(rule.name, children)} gave {node.data} from finite inputs",
        )

    def check_backward(self, node, upstream, locals_) -> None:
        """Raises AnomalyError if finite upstream, inputs and value gave a non-finite gradient."""
        children = node._prev
        if not (
            _is_finite(upstream)
            and math.isfinite(node.data)
            and all(math.isfinite(c.data) for c in children)
        ):
            return  # the non-finite number came from elsewhere (and was reported there)
        for index, local in enumerate(locals_):
            local = float(local)
            if not math.isfinite(local):
                problem = f"its local gradient d(out)/d(input {index}) is {local}"
            elif not math.isfinite(float(upstream) * local):
                problem = (
                    f"upstream {float(upstream)} * local gradient {local} for input {index} "
                    f"overflows to {float(upstream) * local}"
                )
            else:
                continue
            raise self._error(
                "backward",
                node,
                node._op,
                children,
                f"backward of {_describe_call(node._op, children)} = {node.data} "
                f"(upstream gradient {float(upstream)}): {problem}",
            )

    def _error(self, phase, node, op, children, headline) -> AnomalyError:
        site = self.site_of(node)
        lines = [
            f"{headline}",
            f"  op: {op}",
            f"  node: {_described(node)}",
        ]
        for index, child in enumerate(children):
            lines.append(f"  input {index}: {_described(child)}")
        if site:
            filename, lineno, function = site[0]
            lines.append(f"  node created at {filename}:{lineno} in {function}")
            source = linecache.getline(filename, lineno).strip()
            if source:
                lines.append(f"      {source}")
            for filename, lineno, function in site[1:]:
                lines.append(f"    called from {filename}:{lineno} in {function}")
        else:
            lines.append("  node created outside detect_anomaly(), so its place is unknown")
        differentiated = self.differentiating if phase == "forward" else None
        if differentiated is not None:
            names = _described(differentiated, value=False)
            lines.append(
                f"  while backward (create_graph=True) built the local gradient of "
                f"{_describe_call(differentiated._op, differentiated._prev)} = "
                f"{differentiated.data}" + (f", {names}" if names else "")
            )
            where = self.site_of(differentiated)
            if where:
                lines.append(f"    which was created at {where[0][0]}:{where[0][1]}")
        return AnomalyError(
            "\n".join(lines),
            op=op,
            node=node,
            inputs=[child.data for child in children],
            phase=phase,
            site=site,
        )


def _describe_call(op: str, children) -> str:
    values = ", ".join(repr(child.data) for child in children)
    return f"{op}({values})"


@contextmanager
def detect_anomaly() -> Iterator[AnomalyChecker]:
    """Context manager: raise AnomalyError at the first op that makes nan/inf from finite numbers.

    Checks forward and backward (``backward()``, ``backward_steps()`` and
    ``grad()`` run inside the block). Slower than normal mode: use it to find
    where a nan comes from, not for training.
    """
    outer = _mode.current.get().anomaly
    if outer is not None:
        yield outer
        return
    with _mode._switch(anomaly=AnomalyChecker()) as mode:
        yield mode.anomaly
