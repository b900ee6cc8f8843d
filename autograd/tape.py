"""The compiled tape: record a function's graph once, replay it over a batch with numpy.

    >>> import numpy as np
    >>> from autograd import Value, trace
    >>> w = Value(0.5)
    >>> tape = trace(lambda x: (w * x).tanh(), 1.0)
    >>> tape(np.array([0.0, 1.0, 2.0])).round(4)
    array([0.    , 0.4621, 0.7616])

``trace(fn, *example_inputs)`` calls ``fn`` once on Values made from the
example inputs with a tracer installed in the mode (``autograd.mode``), so it
sees every node the operations make. The graph from the outputs down is then
compiled: leaves ``fn`` received are the tape's inputs, leaves it reached
through a closure (a model's weights) are its ``parameters`` and leaves made
while tracing (numbers lifted into operations) are constants. Replaying, each
slot of the tape holds an array over the samples, and the nodes of one row of
the table (same ``family`` and ``param``) at the same depth of the graph run as
one numpy call: all ``dot`` nodes of a layer become one matrix product, and a
layer's products, ``+ bias`` and activation one step when nothing else reads
the products and sums. ``tape.rebuild(*columns, sample=b)`` gives one sample's
graph back as ordinary Values, to draw or step through.

Numbers follow the scalar engine (``autograd.primitives``): relu'(0) = 0,
abs'(0) = 0, leaky_relu'(0) = slope, IEEE inf and nan instead of exceptions,
``max`` sends its gradient to the first maximum (a nan counts as one), a
stable log-sum-exp. The scalar engine sums ``dot`` and ``sum`` with
``math.fsum`` (exactly rounded); numpy sums pairwise or in BLAS order, so those
results can differ in the last bits (within 1e-12 relative unless the terms
cancel).

A tape is valid only while the graph's structure does not depend on the
numbers. While tracing, reading a traced Value's ``.data``, ``float()`` of it,
a comparison, truth testing, an operation under ``no_grad()``, a hand-built node
with traced children or a ``_backward`` closure raises ``TraceError`` naming what
happened and the user's file and line. numpy is imported here only: ``import
autograd`` stays standard-library only and imports this module on first use of
``autograd.trace``.
"""

from __future__ import annotations

import copy
import numbers
import sys
import threading

import numpy as np

from . import mode as _mode
from .engine import topological_order
from .gradcheck import _as_floats
from .value import Value

__all__ = ["Tape", "TraceError", "trace"]

_KEPT_BYTES = 32 * 2**20  # a tape keeps its per-sample arrays between calls up to this size


class TraceError(RuntimeError):
    """``fn``'s graph cannot be recorded once and replayed on other numbers."""


# -- the guard: traced Values refuse to be read by user code -------------------------------

_DATA = Value.__dict__["data"]  # the slot's descriptor: reads and writes a Value's data
# autograd's own modules read .data to compute the operations; these two read it on
# a user's behalf (autograd.data(), gradcheck), so reads through them are the user's.
_USER_FACING = ("autograd.numeric", "autograd.gradcheck")


def _in_autograd(frame) -> bool:
    name = frame.f_globals.get("__name__", "")
    return name == "autograd" or name.startswith("autograd.")


def _engine_frame(frame) -> bool:
    return _in_autograd(frame) and frame.f_globals.get("__name__") not in _USER_FACING


def _library(frame) -> bool:
    name = frame.f_globals.get("__name__", "")
    return _in_autograd(frame) or name == "numpy" or name.startswith("numpy.")


def _where(frame) -> str:
    """file:line of the first frame outside autograd (and numpy), from ``frame`` outwards."""
    while frame is not None and _library(frame):
        frame = frame.f_back
    if frame is None:
        return "an unknown place"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} (in {frame.f_code.co_name})"


def _describe(node: Value) -> str:
    op = node._op
    what = f"the output of {op!r}" if op else f"the input {node.label or '?'}"
    return what if node._scope is None else f"{what} in scope {node._scope!r}"


def _refuse(what: str, node: Value | None, frame, advice: str) -> TraceError:
    about = f" ({_describe(node)})" if node is not None else ""
    return TraceError(
        f"{what}{about} at {_where(frame)} while autograd.trace records a graph: a tape "
        f"records the graph once and replays it on other numbers, so the graph must not "
        f"depend on them. {advice}"
    )


_READ_ADVICE = (
    "Use the table's rows instead of reading numbers (autograd.max, autograd.logsumexp, "
    "relu, abs, ...), or call fn without tracing."
)


class _Traced(Value):
    """A Value while it is being traced: user code may not read its number.

    Nodes switch to this class while ``trace`` runs and back to ``Value`` when it
    ends, so the untraced engine never pays for the guard.
    """

    __slots__ = ()

    @property
    def data(self):
        if _engine_frame(sys._getframe(1)):
            return _DATA.__get__(self, Value)
        raise _refuse("reading .data", self, sys._getframe(1), _READ_ADVICE)

    @data.setter
    def data(self, value):
        if _engine_frame(sys._getframe(1)):
            _DATA.__set__(self, value)
            return
        raise _refuse("assigning .data", self, sys._getframe(1), _READ_ADVICE)

    def __float__(self):
        raise _refuse("float() of a Value", self, sys._getframe(1), _READ_ADVICE)

    def __bool__(self):
        raise _refuse("truth testing a Value (if/while/and/or)", self, sys._getframe(1),
                      _READ_ADVICE)

    def _compare(self, symbol):
        raise _refuse(f"comparing a Value ({symbol})", self, sys._getframe(2), _READ_ADVICE)

    def __lt__(self, other):
        self._compare("<")

    def __le__(self, other):
        self._compare("<=")

    def __gt__(self, other):
        self._compare(">")

    def __ge__(self, other):
        self._compare(">=")

    __hash__ = Value.__hash__


class _Tracer:
    """Sees every node made while ``trace`` runs ``fn`` (the hooks of ``Mode.tracer``)."""

    def __init__(self, inputs: list[Value]):
        self.made: dict[int, Value] = {}  # id -> node made while tracing (kept alive)
        self.first_use: dict[int, int] = {}  # id -> rank, of operands not made while tracing
        self.switched: list[Value] = []  # nodes whose class is _Traced for now
        for leaf in inputs:
            self._guard(leaf)

    def _guard(self, node: Value) -> None:
        if type(node) is Value:  # a user's subclass of Value keeps its class, unguarded
            node.__class__ = _Traced
            self.switched.append(node)

    def node(self, node: Value) -> Value:
        if node._rule is None:  # made under no_grad(): a number, cut from the graph
            raise _refuse(
                "an operation under no_grad()", None, sys._getframe(1),
                "Its result would be the traced sample's number, a constant of the tape; "
                "compute it with the graph's rows instead.",
            )
        self.made[id(node)] = node
        self._guard(node)
        first_use, made = self.first_use, self.made
        for child in node._prev:  # parameters get ranked in the order fn uses them
            key = id(child)
            if key not in made and key not in first_use:
                first_use[key] = len(first_use)
        return node

    def leaf(self, leaf: Value) -> Value:
        self.made[id(leaf)] = leaf  # a constant of the tape (a number lifted or Value(x))
        return leaf

    def built(self, node: Value) -> Value:
        if any(isinstance(child, _Traced) for child in node._prev):
            raise _refuse(
                f"building a node by hand (Value(data, children, {node._op!r}))", None,
                sys._getframe(1),
                "Its data was computed outside the graph; use the operators and "
                "autograd's functions, whose rows the tape replays.",
            )
        self.made[id(node)] = node  # from parameters and constants only: its row replays it
        if node._rule is not None:
            self._guard(node)
        return node

    def closure(self, node: Value) -> None:
        raise _refuse(
            "assigning a _backward closure", None, sys._getframe(1),
            "The tape differentiates with the table's rules only; express the operation "
            "with autograd's operators and functions.",
        )

    def release(self) -> None:
        for node in self.switched:
            node.__class__ = Value
        self.switched.clear()


# -- the rows of the table in numpy ----------------------------------------------------------
#
# Each family maps to (forward, local gradients), as in autograd.primitives:
# forward(args, param, out) writes the results into ``out`` (a block of the tape's slots)
# and local(args, out, param) gives one local derivative per argument (an array, or a
# float that multiplies every sample). Arguments are arrays of one shape, or shapes that
# broadcast (a parameter against samples).


def _sigmoid(x, out):
    e = np.exp(-np.abs(x))  # exp(-x) for x >= 0 and exp(x) below: neither can overflow
    np.divide(np.where(x >= 0.0, 1.0, e), 1.0 + e, out=out)


def _power(x, k, out=None):
    """x ** k for a constant k as C's pow (math.pow), which the engine uses."""
    if k == 0.5:  # numpy takes sqrt here, which differs from pow at -0.0 and -inf
        out = np.add(np.sqrt(x), 0.0, out=out)
        np.copyto(out, np.inf, where=x == -np.inf)
        return out
    return np.power(x, k, out=out)


def _relu(x, out):
    np.maximum(x, 0.0, out=out)  # nan stays nan
    np.add(out, 0.0, out=out)  # and -0.0 becomes 0.0, as the engine's relu


def _leaky_relu(x, slope, out):
    np.multiply(x, slope, out=out)
    np.copyto(out, x, where=x > 0.0)


def _pow_local(args, out, param):
    x, y = args
    # d/dy is x**y * log(x); 0 where x == 0 and y >= 0 (0 * -inf otherwise), as the engine
    return y * np.power(x, y - 1.0), np.where((x == 0.0) & (y >= 0.0), 0.0, out * np.log(x))


def _power_local(args, out, k):
    (x,) = args
    if k == 0:
        return (0.0,)
    if k == 2:
        return (2.0 * x,)
    return (k * _power(x, k - 1),)


def _abs_local(args, out, param):
    (x,) = args
    return ((x > 0.0).astype(np.float64) - (x < 0.0),)  # 0 at 0 and at nan, as the engine


ELEMENTWISE = {
    "+": (lambda a, p, o: np.add(a[0], a[1], out=o), lambda a, out, p: (1.0, 1.0)),
    "-": (lambda a, p, o: np.subtract(a[0], a[1], out=o), lambda a, out, p: (1.0, -1.0)),
    "*": (lambda a, p, o: np.multiply(a[0], a[1], out=o), lambda a, out, p: (a[1], a[0])),
    "/": (lambda a, p, o: np.divide(a[0], a[1], out=o),
          lambda a, out, p: (1.0 / a[1], -(out / a[1]))),
    "neg": (lambda a, p, o: np.negative(a[0], out=o), lambda a, out, p: (-1.0,)),
    "**": (lambda a, p, o: np.power(a[0], a[1], out=o), _pow_local),
    "**k": (lambda a, k, o: _power(a[0], k, o), _power_local),
    "exp": (lambda a, p, o: np.exp(a[0], out=o), lambda a, out, p: (out,)),
    "log": (lambda a, p, o: np.log(a[0], out=o), lambda a, out, p: (1.0 / a[0],)),
    "sqrt": (lambda a, p, o: np.sqrt(a[0], out=o), lambda a, out, p: (0.5 / out,)),
    "tanh": (lambda a, p, o: np.tanh(a[0], out=o), lambda a, out, p: (1.0 - out * out,)),
    "sigmoid": (lambda a, p, o: _sigmoid(a[0], o), lambda a, out, p: (out * (1.0 - out),)),
    # relu's local derivative is a mask: upstream * False is 0 (nan for a nan upstream)
    "relu": (lambda a, p, o: _relu(a[0], o), lambda a, out, p: (a[0] > 0.0,)),
    "abs": (lambda a, p, o: np.abs(a[0], out=o), _abs_local),
    "sin": (lambda a, p, o: np.sin(a[0], out=o), lambda a, out, p: (np.cos(a[0]),)),
    "cos": (lambda a, p, o: np.cos(a[0], out=o), lambda a, out, p: (-np.sin(a[0]),)),
    "leaky_relu": (lambda a, s, o: _leaky_relu(a[0], s, o),
                   lambda a, out, s: (np.where(a[0] > 0.0, 1.0, s),)),
}


# The n-ary rows take X of shape (m, n, ...): m nodes of n children each.


def _dot_forward(X, p, out):
    half = X.shape[1] // 2
    np.einsum("mk...,mk...->m...", X[:, :half], X[:, half:], out=out)


def _dot_local(X, out, p):
    half = X.shape[1] // 2
    return np.concatenate([X[:, half:], X[:, :half]], axis=1)  # d/dw_i = x_i, d/dx_i = w_i


def _max_local(X, out, p):
    # all of the gradient to the first maximum, a nan counting as one; 0 to the others
    first = np.argmax((X == out[:, None]) | (X != X), axis=1)
    positions = np.arange(X.shape[1]).reshape((1, -1) + (1,) * (X.ndim - 2))
    return (positions == first[:, None]).astype(np.float64)


def _logsumexp_forward(X, p, out):
    top = X.max(axis=1)  # (the methods: numpy's functions cost a call more each)
    shift = np.where(np.isfinite(top), top, 0.0)  # no shift by an infinite or nan maximum
    np.add(shift, np.log(np.exp(X - shift[:, None]).sum(axis=1)), out=out)


N_ARY = {
    "sum": (lambda X, p, o: np.sum(X, axis=1, out=o), lambda X, out, p: 1.0),
    "dot": (_dot_forward, _dot_local),
    "max": (lambda X, p, o: np.max(X, axis=1, out=o), _max_local),
    "logsumexp": (_logsumexp_forward, lambda X, out, p: np.exp(X - out[:, None])),
}


# -- compiled steps ----------------------------------------------------------------------------


def _rows(indices: list[int]):
    """indices as a slice when they are consecutive (a view, no copy), else an array."""
    if indices and indices == list(range(indices[0], indices[0] + len(indices))):
        return slice(indices[0], indices[0] + len(indices))
    return np.asarray(indices, dtype=np.intp)


class _Rows:
    """Where one operand of a fused step lives: rows of S (per sample) or of U (uniform)."""

    __slots__ = ("sampled", "rows", "unique", "wanted", "view")

    def __init__(self, sampled: bool, indices: list[int], frozen=frozenset()):
        self.sampled = sampled
        self.rows = _rows(indices)
        self.view = isinstance(self.rows, slice)  # reading gives a view, adding is in place
        self.unique = len(set(indices)) == len(indices)
        # no gradient for constants (and what is computed from constants only)
        self.wanted = sampled or not frozen.issuperset(indices)

    def without_inputs(self, n_inputs: int) -> _Rows:
        """These rows, wanting no gradient if they are all inputs (the first S rows)."""
        rows = self.rows
        last = rows.stop - 1 if isinstance(rows, slice) else (rows.max() if len(rows) else -1)
        if not self.sampled or last >= n_inputs:
            return self
        clone = copy.copy(self)
        clone.wanted = False
        return clone

    def read(self, S, U, sampled_step: bool):
        if self.sampled:
            return S[self.rows]
        values = U[self.rows]
        return values[:, None] if sampled_step else values

    def add(self, GS, GU, contribution, sampled_step: bool):
        """Adds d(out)/d(operand) * upstream to the operand's gradient."""
        if self.sampled:
            target = GS
        else:
            target = GU
            if sampled_step:  # a parameter's gradient sums over the samples
                contribution = np.add.reduce(contribution, axis=-1)
        if self.view:
            block = target[self.rows]
            np.add(block, contribution, out=block)
        elif self.unique:
            target[self.rows] += contribution
        else:
            np.add.at(target, self.rows, contribution)


class _Step:
    """m nodes of one row at one depth, computed together; their slots are ``out`` (a slice)
    of S when ``sampled`` (an array per sample), else of U (one number each)."""

    def __init__(self, family, param, sampled: bool, start: int, stop: int):
        self.family, self.param, self.sampled = family, param, sampled
        self.out = slice(start, stop)

    def store(self, S, U):
        return S if self.sampled else U

    def upstream(self, GS, GU):
        return (GS if self.sampled else GU)[self.out]


class _Elementwise(_Step):
    def __init__(self, family, param, sampled, start, stop, operands: list[_Rows]):
        super().__init__(family, param, sampled, start, stop)
        self.operands = operands
        self.forward_fn, self.local_fn = ELEMENTWISE[family]

    def forward(self, S, U):
        sampled = self.sampled
        args = [o.read(S, U, sampled) for o in self.operands]
        self.forward_fn(args, self.param, (S if sampled else U)[self.out])
        return args

    def backward(self, S, U, GS, GU, args):
        sampled, out = self.sampled, self.out
        g = (GS if sampled else GU)[out]
        locals_ = self.local_fn(args, (S if sampled else U)[out], self.param)
        for operand, local in zip(self.operands, locals_, strict=True):
            if not operand.wanted:
                continue
            if local.__class__ is float:
                c = g if local == 1.0 else -g if local == -1.0 else g * local
            else:
                c = g * local
            operand.add(GS, GU, c, sampled)


class _NAry(_Step):
    """sum, dot, max or logsumexp: X of shape (m, n[, B]) from the children."""

    def __init__(self, family, param, sampled, start, stop, n, sampled_rows, uniform_rows,
                 sampled_positions, uniform_positions):
        super().__init__(family, param, sampled, start, stop)
        self.n = n
        self.sampled_rows, self.uniform_rows = sampled_rows, uniform_rows  # _Rows, flattened
        self.sampled_positions, self.uniform_positions = sampled_positions, uniform_positions
        self.m = stop - start
        self.forward_fn, self.local_fn = N_ARY[family]

    def gather(self, S, U):
        batch = S.shape[1:] if self.sampled else ()
        if self.uniform_rows is None:
            return S[self.sampled_rows.rows].reshape((self.m, self.n) + batch)
        if self.sampled_rows is None:  # then the step is uniform too
            return U[self.uniform_rows.rows].reshape(self.m, self.n)
        X = np.empty((self.m, self.n) + batch)
        X[:, self.sampled_positions] = S[self.sampled_rows.rows].reshape(
            (self.m, len(self.sampled_positions)) + batch)
        X[:, self.uniform_positions] = U[self.uniform_rows.rows].reshape(
            self.m, len(self.uniform_positions))[..., None]
        return X

    def forward(self, S, U):
        X = self.gather(S, U)
        self.forward_fn(X, self.param, self.store(S, U)[self.out])
        return X

    def backward(self, S, U, GS, GU, X):
        g = self.upstream(GS, GU)
        local = self.local_fn(X, self.store(S, U)[self.out], self.param)
        if local.__class__ is float:  # sum's 1.0: the upstream, spread over the children
            c = np.broadcast_to(g[:, None], X.shape) * local
        else:  # an array of X's shape
            c = g[:, None] * local
        batch = X.shape[2:]
        if self.uniform_rows is None:
            if self.sampled_rows.wanted:
                self.sampled_rows.add(GS, GU, c.reshape((-1,) + batch), True)
        elif self.sampled_rows is None:
            if self.uniform_rows.wanted:
                self.uniform_rows.add(GS, GU, c.reshape((-1,) + batch), self.sampled)
        else:
            if self.sampled_rows.wanted:
                self.sampled_rows.add(
                    GS, GU, c[:, self.sampled_positions].reshape((-1,) + batch), True)
            if self.uniform_rows.wanted:
                self.uniform_rows.add(
                    GS, GU, c[:, self.uniform_positions].reshape((-1,) + batch), True)


class _MatrixDot(_Step):
    """dot nodes whose weights are uniform and whose inputs are samples: W @ X.

    With every node reading the same inputs (a layer), one matrix product; otherwise
    an einsum over (node, input, sample).
    """

    def __init__(self, start, stop, weights: _Rows, inputs: _Rows, half: int, shared):
        super().__init__("dot", None, True, start, stop)
        self.weights, self.inputs, self.half = weights, inputs, half
        self.m = stop - start
        self.shared = shared  # _Rows of the common inputs, or None

    def forward(self, S, U):
        W = U[self.weights.rows].reshape(self.m, self.half)
        if self.shared is not None:
            X = S[self.shared.rows]
            np.dot(W, X, out=S[self.out])
        else:
            X = S[self.inputs.rows].reshape(self.m, self.half, -1)
            np.einsum("mk,mkb->mb", W, X, out=S[self.out])
        return W, X

    def backward(self, S, U, GS, GU, cached):
        W, X = cached
        g = GS[self.out]
        if self.shared is not None:
            if self.weights.wanted:
                self.weights.add(GS, GU, np.dot(g, X.T).reshape(-1), False)
            if self.shared.wanted:
                self.shared.add(GS, GU, np.dot(W.T, g), True)
        else:
            if self.weights.wanted:
                self.weights.add(GS, GU, np.einsum("mb,mkb->mk", g, X).reshape(-1), False)
            if self.inputs.wanted:
                self.inputs.add(
                    GS, GU, (W[:, :, None] * g[:, None, :]).reshape(-1, g.shape[1]), True)


class _Dense(_Step):
    """A layer in one step: a matrix product, + bias and optionally an activation.

    Made by ``_fuse_layers`` from a _MatrixDot (shared inputs), the '+' step adding a
    uniform operand to each of its nodes and the unary step applied to each sum, when
    nothing else reads the products or the sums. The numbers are those of the three
    steps (each rounded as before); the products' slots are left unused.
    """

    def __init__(self, dot: _MatrixDot, plus: _Elementwise, bias: _Rows, activation):
        last = activation if activation is not None else plus
        super().__init__("dense", None, True, last.out.start, last.out.stop)
        self.weights, self.shared, self.m, self.half = dot.weights, dot.shared, dot.m, dot.half
        self.bias, self.sums = bias, plus.out
        self.activation = activation

    def forward(self, S, U):
        W = U[self.weights.rows].reshape(self.m, self.half)
        X = S[self.shared.rows]
        Z = S[self.sums]
        np.dot(W, X, out=Z)  # (np.dot is cheaper than matmul on small matrices)
        np.add(Z, U[self.bias.rows][:, None], out=Z)
        if self.activation is not None:
            self.activation.forward_fn([Z], self.activation.param, S[self.out])
        return W, X

    def backward(self, S, U, GS, GU, cached):
        W, X = cached
        g = GS[self.out]
        if self.activation is not None:
            Z = S[self.sums]
            (local,) = self.activation.local_fn([Z], S[self.out], self.activation.param)
            g = g * local
        if self.bias.wanted:
            self.bias.add(GS, GU, g, True)
        if self.weights.wanted:
            self.weights.add(GS, GU, np.dot(g, X.T).reshape(-1), False)
        if self.shared.wanted:
            self.shared.add(GS, GU, np.dot(W.T, g), True)


def _without_inputs(step: _Step, n_inputs: int) -> _Step:
    """A copy of ``step`` that sends no gradient to operands reading inputs only."""
    clone = copy.copy(step)
    for name, value in vars(step).items():
        if isinstance(value, _Rows):
            setattr(clone, name, value.without_inputs(n_inputs))
        elif isinstance(value, list) and value and isinstance(value[0], _Rows):
            setattr(clone, name, [rows.without_inputs(n_inputs) for rows in value])
    return clone


def _fuse_layers(steps: list, uses: dict) -> list:
    """Steps with each dot -> + bias (-> activation) chain made one _Dense step.

    ``uses`` counts, per per-sample slot, the operands (and outputs) reading it; a chain
    fuses only where each product and each sum is read once, by the next step.
    """
    readers = {}  # (start, stop) of a block of S -> [(step, operand)] reading exactly it
    for step in steps:
        if isinstance(step, _Elementwise) and step.sampled:
            for j, operand in enumerate(step.operands):
                if operand.sampled and operand.view:
                    block = (operand.rows.start, operand.rows.stop)
                    readers.setdefault(block, []).append((step, j))

    def only_reader(out: slice):
        if any(uses.get(i, 0) != 1 for i in range(out.start, out.stop)):
            return None, None
        found = readers.get((out.start, out.stop), [])
        return found[0] if len(found) == 1 else (None, None)

    fused, removed = [], set()
    for step in steps:
        if id(step) in removed:
            continue
        if isinstance(step, _MatrixDot) and step.shared is not None:
            plus, j = only_reader(step.out)
            if plus is not None and plus.family == "+" and not plus.operands[1 - j].sampled:
                activation, _ = only_reader(plus.out)
                if activation is not None and len(activation.operands) != 1:
                    activation = None
                removed.update({id(plus), id(activation)})
                fused.append(_Dense(step, plus, plus.operands[1 - j], activation))
                continue
        fused.append(step)
    return fused


# -- the tape ----------------------------------------------------------------------------------


class Tape:
    """A function's graph, compiled to replay over batches (see ``autograd.trace``).

    ``parameters``: the leaves fn reached through closures, in a fixed order (first
    reached first); ``len(tape)``: the number of operation nodes recorded.
    """

    def __init__(self, n_inputs, parameters, constants, parameter_slots, constant_slots, steps,
                 outputs, single, n_sampled, n_uniform, n_nodes, input_names):
        self.parameters: list[Value] = parameters
        self._n_inputs = n_inputs
        self._constants = np.asarray(constants, dtype=np.float64)
        self._parameter_slots, self._constant_slots = parameter_slots, constant_slots
        self._steps = steps
        self._outputs = outputs  # (sampled, index) per output
        self._single = single
        # The same, as index arrays, so that seeding and gathering the outputs is one numpy
        # call for all of them: (slots, output positions) of the per-sample and of the
        # uniform outputs, and whether a slot is output twice (then np.add.at adds both).
        self._sampled_out = _positions(outputs, sampled=True)
        self._uniform_out = _positions(outputs, sampled=False)
        self._n_sampled, self._n_uniform = n_sampled, n_uniform
        self._n_nodes = n_nodes
        self._input_names = input_names
        self.fn = None  # the traced function (set by trace), for rebuild()
        self._workspace = threading.local()  # per thread: S and GS kept between calls
        self._without_inputs = None  # the steps for input_grads=False, made when needed

    # -- what it is ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._n_nodes

    @property
    def n_inputs(self) -> int:
        return self._n_inputs

    @property
    def n_outputs(self) -> int:
        return len(self._outputs)

    @property
    def bytes_per_sample(self) -> int:
        """Bytes per sample of the arrays a backward pass uses (values and gradients).

        Up to _KEPT_BYTES in all, they stay allocated for the thread's next call.
        """
        return 2 * 8 * self._n_sampled

    def __repr__(self) -> str:
        return (
            f"<Tape: {self._n_inputs} inputs, {len(self.parameters)} parameters, "
            f"{len(self._constants)} constants, {self._n_nodes} nodes in {len(self._steps)} "
            f"fused rows, {self._n_sampled} per-sample slots + {self._n_uniform} uniform, "
            f"{self.n_outputs} output{'s' if self.n_outputs != 1 else ''}>"
        )

    # -- arrays in, arrays out ------------------------------------------------------------------

    def parameter_vector(self) -> np.ndarray:
        """The parameters' ``.data`` as a float64 vector, in ``parameters`` order."""
        return np.fromiter((p.data for p in self.parameters), dtype=np.float64,
                           count=len(self.parameters))

    def _batch(self, columns) -> np.ndarray:
        """The columns as S's first rows: (n_inputs, B)."""
        if isinstance(columns, np.ndarray) and columns.ndim == 2:  # one block, a row per input
            if columns.shape[0] != self._n_inputs:
                raise TypeError(f"an array of columns must have shape ({self._n_inputs}, B), "
                                f"one row per input, got shape {columns.shape}")
            S = self._slots(columns.shape[1])
            S[:self._n_inputs] = _numbers(columns, "columns")
            return S
        if isinstance(columns, (np.ndarray, Value)) or not hasattr(columns, "__len__"):
            raise TypeError(
                f"columns must be a list or tuple of columns (one per input) or an array of "
                f"shape ({self._n_inputs}, B), got {type(columns).__name__}"
            )
        if len(columns) != self._n_inputs:
            raise TypeError(
                f"this tape takes {self._n_inputs} column{'s' if self._n_inputs != 1 else ''} "
                f"(one per input of fn: {', '.join(self._input_names) or 'none'}), "
                f"got {len(columns)}"
            )
        arrays, size = [], None
        for i, column in enumerate(columns):
            array = _column(column, i)
            if array.ndim == 1:
                if size is not None and len(array) != size:
                    raise ValueError(
                        f"columns have different lengths: column 0..{i - 1} have {size} "
                        f"samples, column {i} has {len(array)}"
                    )
                size = len(array)
            arrays.append(array)
        size = 1 if size is None else size
        S = self._slots(size)
        for i, array in enumerate(arrays):
            S[i] = array
        return S

    def _slots(self, size: int, gradients: bool = False) -> np.ndarray:
        """S (or GS, zeroed) for a batch of ``size``: reused between calls of one thread.

        A fresh array of a few megabytes costs its page faults again at every call
        (more than the arithmetic of a full-batch step); arrays up to _KEPT_BYTES are
        kept for the next call instead. Results handed out are copies, never these.
        """
        shape = (self._n_sampled, size)
        kept = getattr(self._workspace, "arrays", None)
        if kept is not None and kept[0].shape == shape:
            if gradients:
                kept[1].fill(0.0)
                return kept[1]
            return kept[0]
        if gradients:
            return np.zeros(shape)
        S = np.empty(shape)
        if 2 * S.nbytes <= _KEPT_BYTES:
            self._workspace.arrays = (S, np.empty(shape))
        return S

    def _uniform(self, params) -> np.ndarray:
        U = np.empty(self._n_uniform)
        P = len(self.parameters)
        if params is None:
            U[self._parameter_slots] = self.parameter_vector()
        else:
            vector = _numbers(params, "params")
            if vector.shape != (P,):
                raise ValueError(
                    f"params must be a vector of shape ({P},) in tape.parameters order, "
                    f"got shape {vector.shape}"
                )
            U[self._parameter_slots] = vector
        U[self._constant_slots] = self._constants
        return U

    def _run(self, columns, params, keep: bool):
        """Forward over the batch (call it with numpy's warnings off): S, U and each step's
        operands when ``keep``."""
        S = self._batch(columns)
        U = self._uniform(params)
        if keep:
            return S, U, [step.forward(S, U) for step in self._steps]
        for step in self._steps:
            step.forward(S, U)
        return S, U, None

    def _gather_outputs(self, S, U) -> np.ndarray:
        outputs = np.empty((S.shape[1], len(self._outputs)))
        slots, where, _ = self._sampled_out
        outputs[:, where] = S[slots].T
        slots, where, _ = self._uniform_out
        outputs[:, where] = U[slots]
        return outputs[:, 0] if self._single else outputs

    def forward_arrays(self, columns, params=None) -> np.ndarray:
        """The outputs over a batch: (B,) or (B, k). ``params`` overrides the parameters.

        ``columns``: a list of columns (numbers or arrays (B,)), one per input, or one
        array of shape (n_inputs, B) (``X.T`` for data X of shape (B, n_inputs)).
        """
        with np.errstate(all="ignore"):
            S, U, _ = self._run(columns, params, keep=False)
        return self._gather_outputs(S, U)

    def backward_arrays(self, columns, seed=None, params=None, input_grads: bool = True):
        """(outputs, param_grads (P,), input_grads): forward and backward over a batch.

        ``param_grads`` sums over the samples ``seed_b * d(out_b)/d(param)``;
        ``input_grads`` is one array (B,) per input, or None with
        ``input_grads=False``, which skips their arithmetic (training needs only
        the parameters' gradients). No Value is read (with ``params``) or written.
        """
        steps = self._steps if input_grads else self._parameter_steps()
        with np.errstate(all="ignore"):
            S, U, kept = self._run(columns, params, keep=True)
            seed = self._seed(seed, S.shape[1])
            GS = self._slots(S.shape[1], gradients=True)
            GU = np.zeros(U.shape)
            slots, where, repeated = self._sampled_out
            if repeated:
                np.add.at(GS, slots, seed[:, where].T)
            else:
                GS[slots] += seed[:, where].T
            for i, j in zip(*self._uniform_out[:2], strict=True):  # rare: no input reaches it
                GU[i] += seed[:, j].sum()
            for step, cached in zip(reversed(steps), reversed(kept), strict=True):
                step.backward(S, U, GS, GU, cached)
        outputs = self._gather_outputs(S, U)
        param_grads = GU[self._parameter_slots]
        if isinstance(self._parameter_slots, slice):
            param_grads = param_grads.copy()
        if not input_grads:
            return outputs, param_grads, None
        # one copy for all inputs (the rows are views of it), never GS itself
        return outputs, param_grads, list(GS[:self._n_inputs].copy())

    def _parameter_steps(self) -> list:
        """The steps with no gradient sent to the inputs (made on first use, then kept)."""
        if self._without_inputs is None:
            self._without_inputs = [_without_inputs(step, self._n_inputs)
                                    for step in self._steps]
        return self._without_inputs

    def _seed(self, seed, size) -> np.ndarray:
        k = len(self._outputs)
        if seed is None:
            return np.ones((size, k))
        array = _numbers(seed, "seed")
        if array.ndim == 0:
            return np.full((size, k), float(array))
        expected = (size,) if self._single else (size, k)
        if array.shape != expected:
            raise ValueError(f"seed must have shape {expected} (one per sample and output), "
                             f"got shape {array.shape}")
        return array.reshape(size, k)

    # -- Values in and out ----------------------------------------------------------------------

    def rebuild(self, *columns, sample: int = 0):
        """One sample's graph as ordinary Values: ``fn`` called on that sample's numbers.

        Returns what ``fn`` returns (a Value or a list), labelled inputs and all, for
        ``draw_dot``, the stepper or ``backward()``; its values and gradients are those
        the tape computes for that sample (the parameters are the same Values).
        """
        S = self._batch(columns)
        if not -S.shape[1] <= sample < S.shape[1]:
            raise IndexError(f"sample {sample} is out of range for a batch of {S.shape[1]}")
        leaves = [Value(float(S[i, sample]), label=name)
                  for i, name in enumerate(self._input_names)]
        return self.fn(*leaves)

    def __call__(self, *columns) -> np.ndarray:
        """The outputs over a batch: each column a number or an array of shape (B,)."""
        return self.forward_arrays(columns)

    def backward(self, *columns, seed=None):
        """Forward and backward over a batch; adds the summed gradients to parameters' .grad.

        Returns ``(outputs, input_grads)``: outputs (B,) or (B, k), one array (B,) per input.
        """
        outputs, param_grads, input_grads = self.backward_arrays(columns, seed)
        for p, g in zip(self.parameters, param_grads.tolist(), strict=True):
            p.grad += g
        return outputs, input_grads


def _positions(outputs, sampled: bool) -> tuple[np.ndarray, np.ndarray, bool]:
    """(slots, positions among the outputs, a slot repeated?) of the sampled or uniform
    outputs of ``outputs`` ((sampled, slot) per output)."""
    chosen = [(i, j) for j, (is_sampled, i) in enumerate(outputs) if is_sampled == sampled]
    slots = np.array([i for i, _ in chosen], dtype=np.intp)
    where = np.array([j for _, j in chosen], dtype=np.intp)
    return slots, where, len(set(slots.tolist())) < len(slots)


def _numbers(values, name: str) -> np.ndarray:
    """values as a float64 array; TypeError naming ``name`` for anything but real numbers."""
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as error:  # ragged nested lists
        raise TypeError(f"{name} must be an array of real numbers: {error}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {array.dtype}")
    return array.astype(np.float64, copy=False)


def _column(column, i: int) -> np.ndarray:
    if column.__class__ is np.ndarray and column.dtype == np.float64 and column.ndim == 1:
        return column  # the common case, checked first
    if isinstance(column, Value):
        raise TypeError(f"column {i} is a Value; a column is a number or an array of numbers")
    if isinstance(column, numbers.Real):
        return np.asarray(float(column))
    array = _numbers(column, f"column {i}")
    if array.ndim > 1:
        raise ValueError(
            f"column {i} must be a number or an array of shape (B,), got shape {array.shape}"
        )
    return array


# -- tracing and compiling ---------------------------------------------------------------------


def trace(fn, *example_inputs) -> Tape:
    """Records ``fn``'s graph on the example inputs and compiles it into a ``Tape``.

    ``fn`` takes one Value per input and returns a Value or a list of Values. Leaves
    it reaches without receiving them (a model's weights) become ``tape.parameters``;
    numbers lifted while tracing are constants. Raises ``TraceError`` if the graph
    depends on the numbers (see the module docstring).
    """
    if not callable(fn):
        raise TypeError(f"trace needs a function, got {type(fn).__name__}")
    point = _as_floats(example_inputs, "trace's example_inputs")
    inputs = [Value(x, label=f"x{i}") for i, x in enumerate(point)]
    tracer = _Tracer(inputs)
    try:
        with _mode._switch(tracer=tracer):
            result = fn(*inputs)
    finally:
        tracer.release()
    single = isinstance(result, Value)
    outputs = [result] if single else result
    if not isinstance(outputs, (list, tuple)):
        raise TypeError(f"fn must return a Value or a list of Values, got "
                        f"{type(result).__name__}")
    if not outputs:
        raise ValueError("fn returned an empty list: a tape needs at least one output Value")
    for j, out in enumerate(outputs):
        if not isinstance(out, Value):
            raise TypeError(f"fn's output {j} must be a Value, got {type(out).__name__}")
    tape = _compile(inputs, list(outputs), single, tracer.made, tracer.first_use)
    tape.fn = fn
    return tape


def _row_of(node: Value):
    """The table row that computes ``node`` (also for a node built by hand with a row's op)."""
    rule = node._rule
    if getattr(rule, "fn", None) is not None:  # a _backward closure (tracer.closure refuses it)
        raise TraceError(f"{_describe(node)} has a _backward closure: the tape replays rows only")
    row = getattr(rule, "row", rule)  # a hand-built node's rule names the row it follows
    if row is None or row.family not in ELEMENTWISE and row.family not in N_ARY:
        raise TraceError(
            f"{_describe(node)} was built by hand with op {node._op!r}, which is no row of "
            f"the table: a tape replays rows only; build it with autograd's operations"
        )
    return row


def _compile(inputs, outputs, single, made, first_use) -> Tape:
    # One traversal for all outputs: a root above them (never part of the tape).
    root = Value(0.0)
    root._prev = tuple(outputs)
    order = topological_order(root)[:-1]
    input_index = {id(x): i for i, x in enumerate(inputs)}
    parameters, constants = [], []
    depth: dict[int, int] = {}
    sampled: dict[int, bool] = {}
    groups: dict[tuple, list[Value]] = {}
    for node in order:
        key = id(node)
        if key in input_index:
            depth[key], sampled[key] = 0, True
        elif key not in made:
            if node._prev and node._rule is not None:
                raise TraceError(
                    f"fn uses a Value computed before tracing ({_describe(node)}, "
                    f"{node!r}): a tape replays only the graph fn builds; compute it inside "
                    f"fn, or pass it in as a leaf Value(x)"
                )
            depth[key], sampled[key] = 0, False
            parameters.append(node)
        elif not node._prev or node._rule is None:
            depth[key], sampled[key] = 0, False
            constants.append(node)
        else:
            rule = _row_of(node)
            children = node._prev
            kinds = tuple(sampled[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            sampled[key] = any(kinds)
            group_key = (depth[key], rule.family, rule.param, len(children), kinds)
            groups.setdefault(group_key, []).append(node)
    # Parameters in the order fn used them (a model's own order), then any that only
    # appear as outputs.
    unused = len(first_use)
    parameters.sort(key=lambda p: first_use.get(id(p), unused))
    # Slots: S (per sample) holds the inputs, then the sampled steps' outputs; U (one
    # number for all samples) the parameters and constants, then the uniform steps'.
    # Leaves go into U in the order the steps read them, so that a step reads (and
    # adds its gradient to) a slice of U: a layer's weights are one block.
    ordered = sorted(groups.items(), key=lambda item: item[0][0])
    leaves = {id(leaf): leaf for leaf in (*parameters, *constants)}
    slot: dict[int, int] = {id(x): i for i, x in enumerate(inputs)}
    for (_, family, _, arity, _), nodes in ordered:
        if family in ELEMENTWISE:  # operand j of every node, then operand j + 1
            reads = (node._prev[j] for j in range(arity) for node in nodes)
        else:  # a node's children, then the next node's
            reads = (node._prev[j] for node in nodes for j in range(arity))
        for child in reads:
            key = id(child)
            if key in leaves and key not in slot:
                slot[key] = len(slot) - len(inputs)
    for key in leaves:  # leaves that are only outputs
        if key not in slot:
            slot[key] = len(slot) - len(inputs)
    n_sampled, n_uniform = len(inputs), len(parameters) + len(constants)
    frozen = {slot[id(c)] for c in constants}
    steps = []
    for (_, family, param, arity, kinds), nodes in ordered:
        is_sampled = any(kinds)
        start = n_sampled if is_sampled else n_uniform
        for i, node in enumerate(nodes):
            slot[id(node)] = start + i
        stop = start + len(nodes)
        if is_sampled:
            n_sampled = stop
        else:
            n_uniform = stop
        children = [[slot[id(c)] for c in node._prev] for node in nodes]
        if not is_sampled and all(frozen.issuperset(row) for row in children):
            frozen.update(range(start, stop))  # constants only: a constant, computed each call
        steps.append(_make_step(family, param, is_sampled, start, stop, arity, kinds, children,
                                frozen))
    outputs_spec = [(sampled[id(out)], slot[id(out)]) for out in outputs]
    uses: dict[int, int] = {}  # per-sample slot -> how many operands and outputs read it
    for nodes in groups.values():
        for node in nodes:
            for child in node._prev:
                if sampled[id(child)]:
                    uses[slot[id(child)]] = uses.get(slot[id(child)], 0) + 1
    for is_sampled, i in outputs_spec:
        if is_sampled:
            uses[i] = uses.get(i, 0) + 1
    steps = _fuse_layers(steps, uses)
    n_nodes = sum(len(nodes) for nodes in groups.values())
    return Tape(len(inputs), parameters, [c.data for c in constants],
                _rows([slot[id(p)] for p in parameters]), _rows([slot[id(c)] for c in constants]),
                steps, outputs_spec, single, n_sampled, n_uniform, n_nodes,
                [x.label for x in inputs])


def _make_step(family, param, is_sampled, start, stop, arity, kinds, children, frozen):
    """The step computing nodes start..stop-1 from their children's slots.

    kinds: per operand position, whether it is per sample; frozen: the U slots that need
    no gradient (constants and what is computed from them alone).
    """
    if family in ELEMENTWISE:
        operands = [_Rows(kinds[j], [row[j] for row in children], frozen)
                    for j in range(arity)]
        return _Elementwise(family, param, is_sampled, start, stop, operands)
    if family not in N_ARY:
        raise TraceError(f"the tape has no numpy row for {family!r}")
    half = arity // 2
    if (family == "dot" and is_sampled and arity % 2 == 0
            and not any(kinds[:half]) and all(kinds[half:])):
        weights = _Rows(False, [i for row in children for i in row[:half]], frozen)
        xs = [row[half:] for row in children]
        inputs = _Rows(True, [i for row in xs for i in row])
        shared = _Rows(True, xs[0]) if all(row == xs[0] for row in xs) else None
        return _MatrixDot(start, stop, weights, inputs, half, shared)
    if (family == "dot" and is_sampled and arity % 2 == 0
            and all(kinds[:half]) and not any(kinds[half:])):
        # x . w with the samples first: swap the halves, the same products
        swapped = [row[half:] + row[:half] for row in children]
        return _make_step(family, param, is_sampled, start, stop, arity,
                          kinds[half:] + kinds[:half], swapped, frozen)
    sampled_positions = [j for j in range(arity) if kinds[j]]
    uniform_positions = [j for j in range(arity) if not kinds[j]]
    sampled_rows = (_Rows(True, [row[j] for row in children for j in sampled_positions])
                    if sampled_positions else None)
    uniform_rows = (_Rows(False, [row[j] for row in children for j in uniform_positions],
                          frozen) if uniform_positions else None)
    return _NAry(family, param, is_sampled, start, stop, arity, sampled_rows, uniform_rows,
                 sampled_positions, uniform_positions)
