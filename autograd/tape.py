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
one numpy call: all ``dot`` nodes of a layer become one matrix product.

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

import numbers
import sys

import numpy as np

from . import mode as _mode
from .engine import topological_order
from .gradcheck import _as_floats
from .value import Value

__all__ = ["Tape", "TraceError", "trace"]


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
# Each family maps to (forward, local gradients), as in autograd.primitives: forward(args,
# param) -> out and local(args, out, param) -> one local derivative per argument (an array,
# or a float that multiplies every sample). Arguments are arrays of one shape, or shapes that
# broadcast (a parameter against samples).


def _sigmoid(x):
    e = np.exp(-np.abs(x))  # exp(-x) for x >= 0 and exp(x) below: neither can overflow
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def _power(x, k):
    """x ** k for a constant k as C's pow (math.pow), which the engine uses."""
    if k == 0.5:  # numpy takes sqrt here, which differs from pow at -0.0 and -inf
        return np.where(x == -np.inf, np.inf, np.sqrt(x) + 0.0)
    return np.power(x, k)


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
    "+": (lambda a, p: a[0] + a[1], lambda a, out, p: (1.0, 1.0)),
    "-": (lambda a, p: a[0] - a[1], lambda a, out, p: (1.0, -1.0)),
    "*": (lambda a, p: a[0] * a[1], lambda a, out, p: (a[1], a[0])),
    "/": (lambda a, p: a[0] / a[1], lambda a, out, p: (1.0 / a[1], -(out / a[1]))),
    "neg": (lambda a, p: -a[0], lambda a, out, p: (-1.0,)),
    "**": (lambda a, p: np.power(a[0], a[1]), _pow_local),
    "**k": (lambda a, k: _power(a[0], k), _power_local),
    "exp": (lambda a, p: np.exp(a[0]), lambda a, out, p: (out,)),
    "log": (lambda a, p: np.log(a[0]), lambda a, out, p: (1.0 / a[0],)),
    "sqrt": (lambda a, p: np.sqrt(a[0]), lambda a, out, p: (0.5 / out,)),
    "tanh": (lambda a, p: np.tanh(a[0]), lambda a, out, p: (1.0 - out * out,)),
    "sigmoid": (lambda a, p: _sigmoid(a[0]), lambda a, out, p: (out * (1.0 - out),)),
    "relu": (lambda a, p: np.where(a[0] <= 0.0, 0.0, a[0]),
             lambda a, out, p: ((a[0] > 0.0).astype(np.float64),)),
    "abs": (lambda a, p: np.abs(a[0]), _abs_local),
    "sin": (lambda a, p: np.sin(a[0]), lambda a, out, p: (np.cos(a[0]),)),
    "cos": (lambda a, p: np.cos(a[0]), lambda a, out, p: (-np.sin(a[0]),)),
    "leaky_relu": (lambda a, s: np.where(a[0] > 0.0, a[0], a[0] * s),
                   lambda a, out, s: (np.where(a[0] > 0.0, 1.0, s),)),
}


# The n-ary rows take X of shape (m, n, ...): m nodes of n children each.


def _dot_forward(X, p):
    half = X.shape[1] // 2
    return np.einsum("mk...,mk...->m...", X[:, :half], X[:, half:])


def _dot_local(X, out, p):
    half = X.shape[1] // 2
    return np.concatenate([X[:, half:], X[:, :half]], axis=1)  # d/dw_i = x_i, d/dx_i = w_i


def _max_local(X, out, p):
    # all of the gradient to the first maximum, a nan counting as one; 0 to the others
    first = np.argmax((X == out[:, None]) | (X != X), axis=1)
    positions = np.arange(X.shape[1]).reshape((1, -1) + (1,) * (X.ndim - 2))
    return (positions == first[:, None]).astype(np.float64)


def _logsumexp_forward(X, p):
    top = np.max(X, axis=1)
    shift = np.where(np.isfinite(top), top, 0.0)  # no shift by an infinite or nan maximum
    return shift + np.log(np.sum(np.exp(X - shift[:, None]), axis=1))


N_ARY = {
    "sum": (lambda X, p: X.sum(axis=1), lambda X, out, p: 1.0),
    "dot": (_dot_forward, _dot_local),
    "max": (lambda X, p: np.max(X, axis=1), _max_local),
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

    __slots__ = ("sampled", "rows", "unique")

    def __init__(self, sampled: bool, indices: list[int]):
        self.sampled = sampled
        self.rows = _rows(indices)
        self.unique = len(set(indices)) == len(indices)

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
                contribution = contribution.sum(axis=-1)
        if self.unique:
            target[self.rows] += contribution
        else:
            np.add.at(target, self.rows, contribution)


class _Step:
    """m nodes of one row at one depth, computed by one numpy call; outputs out[0]:out[1]."""

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
        args = [o.read(S, U, self.sampled) for o in self.operands]
        self.store(S, U)[self.out] = self.forward_fn(args, self.param)
        return args

    def backward(self, S, U, GS, GU, args):
        g = self.upstream(GS, GU)
        locals_ = self.local_fn(args, self.store(S, U)[self.out], self.param)
        for operand, local in zip(self.operands, locals_, strict=True):
            if type(local) is float:
                c = g if local == 1.0 else -g if local == -1.0 else g * local
            else:
                c = g * local
            if c.shape != g.shape:  # a local of a uniform operand, against samples
                c = np.broadcast_to(c, g.shape)
            operand.add(GS, GU, c, self.sampled)


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
        if self.sampled_rows is None:
            values = U[self.uniform_rows.rows].reshape(self.m, self.n)
            return np.broadcast_to(values[..., None], values.shape + batch) if batch else values
        X = np.empty((self.m, self.n) + batch)
        X[:, self.sampled_positions] = S[self.sampled_rows.rows].reshape(
            (self.m, len(self.sampled_positions)) + batch)
        X[:, self.uniform_positions] = U[self.uniform_rows.rows].reshape(
            self.m, len(self.uniform_positions))[..., None]
        return X

    def forward(self, S, U):
        X = self.gather(S, U)
        self.store(S, U)[self.out] = self.forward_fn(X, self.param)
        return X

    def backward(self, S, U, GS, GU, X):
        g = self.upstream(GS, GU)
        local = self.local_fn(X, self.store(S, U)[self.out], self.param)
        c = np.broadcast_to(g[:, None], X.shape) * local
        batch = X.shape[2:]
        if self.uniform_rows is None:
            self.sampled_rows.add(GS, GU, c.reshape((-1,) + batch), True)
        elif self.sampled_rows is None:
            self.uniform_rows.add(GS, GU, c.reshape((-1,) + batch), self.sampled)
        else:
            self.sampled_rows.add(GS, GU, c[:, self.sampled_positions].reshape((-1,) + batch),
                                  True)
            self.uniform_rows.add(GS, GU, c[:, self.uniform_positions].reshape((-1,) + batch),
                                  True)


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
            S[self.out] = W @ X
        else:
            X = S[self.inputs.rows].reshape(self.m, self.half, -1)
            S[self.out] = np.einsum("mk,mkb->mb", W, X)
        return W, X

    def backward(self, S, U, GS, GU, cached):
        W, X = cached
        g = GS[self.out]
        if self.shared is not None:
            self.weights.add(GS, GU, (g @ X.T).reshape(-1), False)
            self.shared.add(GS, GU, W.T @ g, True)
        else:
            self.weights.add(GS, GU, np.einsum("mb,mkb->mk", g, X).reshape(-1), False)
            self.inputs.add(GS, GU, (W[:, :, None] * g[:, None, :]).reshape(-1, g.shape[1]),
                            True)


# -- the tape ----------------------------------------------------------------------------------


class Tape:
    """A function's graph, compiled to replay over batches (see ``autograd.trace``).

    ``parameters``: the leaves fn reached through closures, in a fixed order (first
    reached first); ``len(tape)``: the number of operation nodes recorded.
    """

    def __init__(self, n_inputs, parameters, constants, steps, outputs, single, n_sampled,
                 n_uniform, n_nodes, input_names):
        self.parameters: list[Value] = parameters
        self._n_inputs = n_inputs
        self._constants = np.asarray(constants, dtype=np.float64)
        self._steps = steps
        self._outputs = outputs  # (sampled, index) per output
        self._single = single
        self._n_sampled, self._n_uniform = n_sampled, n_uniform
        self._n_nodes = n_nodes
        self._input_names = input_names

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
        """Bytes of the per-sample arrays one backward_arrays call holds (values and gradients)."""
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
        if isinstance(columns, (np.ndarray, Value)) or not hasattr(columns, "__len__"):
            raise TypeError(
                f"columns must be a list or tuple of columns (one per input), got "
                f"{type(columns).__name__}"
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
        S = np.empty((self._n_sampled, size))
        for i, array in enumerate(arrays):
            S[i] = array
        return S

    def _uniform(self, params) -> np.ndarray:
        U = np.empty(self._n_uniform)
        P = len(self.parameters)
        if params is None:
            U[:P] = self.parameter_vector()
        else:
            vector = np.asarray(params, dtype=np.float64)
            if vector.shape != (P,):
                raise ValueError(
                    f"params must be a vector of shape ({P},) in tape.parameters order, "
                    f"got shape {vector.shape}"
                )
            U[:P] = vector
        U[P:P + len(self._constants)] = self._constants
        return U

    def _run(self, columns, params, keep: bool):
        S = self._batch(columns)
        U = self._uniform(params)
        kept = []
        with np.errstate(all="ignore"):
            for step in self._steps:
                cached = step.forward(S, U)
                if keep:
                    kept.append(cached)
        return S, U, kept

    def _gather_outputs(self, S, U) -> np.ndarray:
        size = S.shape[1]
        columns = [S[i] if sampled else np.full(size, U[i]) for sampled, i in self._outputs]
        if self._single:
            return columns[0].copy()
        return np.stack(columns, axis=1) if columns else np.empty((size, 0))

    def forward_arrays(self, columns, params=None) -> np.ndarray:
        """The outputs over a batch: (B,) or (B, k). ``params`` overrides the parameters."""
        S, U, _ = self._run(columns, params, keep=False)
        return self._gather_outputs(S, U)

    def backward_arrays(self, columns, seed=None, params=None):
        """(outputs, param_grads (P,), input_grads): forward and backward over a batch.

        ``param_grads`` sums over the samples ``seed_b * d(out_b)/d(param)``;
        ``input_grads`` is one array (B,) per input. No Value is read (with
        ``params``) or written.
        """
        S, U, kept = self._run(columns, params, keep=True)
        size = S.shape[1]
        seed = self._seed(seed, size)
        GS = np.zeros_like(S)
        GU = np.zeros_like(U)
        for j, (sampled, i) in enumerate(self._outputs):
            if sampled:
                GS[i] += seed[:, j]
            else:
                GU[i] += seed[:, j].sum()
        with np.errstate(all="ignore"):
            for step, cached in zip(reversed(self._steps), reversed(kept), strict=True):
                step.backward(S, U, GS, GU, cached)
        outputs = self._gather_outputs(S, U)
        return outputs, GU[:len(self.parameters)].copy(), [GS[i].copy()
                                                            for i in range(self._n_inputs)]

    def _seed(self, seed, size) -> np.ndarray:
        k = len(self._outputs)
        if seed is None:
            return np.ones((size, k))
        array = np.asarray(seed, dtype=np.float64)
        if array.ndim == 0:
            return np.full((size, k), float(array))
        expected = (size,) if self._single else (size, k)
        if array.shape != expected:
            raise ValueError(f"seed must have shape {expected} (one per sample and output), "
                             f"got shape {array.shape}")
        return array.reshape(size, k)

    # -- Values in and out ----------------------------------------------------------------------

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


def _column(column, i: int) -> np.ndarray:
    if isinstance(column, Value):
        raise TypeError(f"column {i} is a Value; a column is a number or an array of numbers")
    if isinstance(column, numbers.Real):
        return np.asarray(float(column))
    try:
        array = np.asarray(column)
    except (TypeError, ValueError) as error:
        raise TypeError(f"column {i} is not an array of numbers: {error}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"column {i} must hold real numbers, got an array of dtype {array.dtype}"
        )
    if array.ndim > 1:
        raise ValueError(
            f"column {i} must be a number or an array of shape (B,), got shape {array.shape}"
        )
    return array.astype(np.float64, copy=False)


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
    for j, out in enumerate(outputs):
        if not isinstance(out, Value):
            raise TypeError(f"fn's output {j} must be a Value, got {type(out).__name__}")
    return _compile(inputs, list(outputs), single, tracer.made, tracer.first_use)


def _compile(inputs, outputs, single, made, first_use) -> Tape:
    order, seen = [], set()
    for out in outputs:
        for node in topological_order(out):
            if node not in seen:
                seen.add(node)
                order.append(node)
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
            if node._rule is not None:
                raise TraceError(
                    f"fn uses a Value computed before tracing ({_describe(node)}, "
                    f"{node!r}): a tape replays only the graph fn builds; compute it inside "
                    f"fn, or pass it in as a leaf Value(x)"
                )
            depth[key], sampled[key] = 0, False
            parameters.append(node)
        elif node._rule is None:
            depth[key], sampled[key] = 0, False
            constants.append(node)
        else:
            children = node._prev
            kinds = tuple(sampled[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            sampled[key] = any(kinds)
            rule = node._rule
            group_key = (depth[key], rule.family, rule.param, len(children), kinds)
            groups.setdefault(group_key, []).append(node)
    # Parameters in the order fn used them (a model's own order), then any that only
    # appear as outputs.
    unused = len(first_use)
    parameters.sort(key=lambda p: first_use.get(id(p), unused))
    # Slots: S (per sample) holds the inputs, then the sampled steps' outputs; U (one
    # number for all samples) the parameters, the constants, then the uniform steps'.
    slot: dict[int, int] = {id(x): i for i, x in enumerate(inputs)}
    slot.update((id(p), i) for i, p in enumerate(parameters))
    slot.update((id(c), len(parameters) + i) for i, c in enumerate(constants))
    n_sampled, n_uniform = len(inputs), len(parameters) + len(constants)
    steps = []
    for (_, family, param, arity, kinds), nodes in sorted(groups.items(),
                                                          key=lambda item: item[0][0]):
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
        steps.append(_make_step(family, param, is_sampled, start, stop, arity, kinds, children))
    outputs_spec = [(sampled[id(out)], slot[id(out)]) for out in outputs]
    n_nodes = sum(len(nodes) for nodes in groups.values())
    return Tape(len(inputs), parameters, [c.data for c in constants], steps, outputs_spec,
                single, n_sampled, n_uniform, n_nodes, [x.label for x in inputs])


def _make_step(family, param, is_sampled, start, stop, arity, kinds, children):
    if family in ELEMENTWISE:
        operands = [_Rows(kinds[j], [row[j] for row in children]) for j in range(arity)]
        return _Elementwise(family, param, is_sampled, start, stop, operands)
    if family not in N_ARY:
        raise TraceError(f"the tape has no numpy row for {family!r}")
    half = arity // 2
    if (family == "dot" and is_sampled and arity % 2 == 0
            and not any(kinds[:half]) and all(kinds[half:])):
        weights = _Rows(False, [i for row in children for i in row[:half]])
        xs = [row[half:] for row in children]
        inputs = _Rows(True, [i for row in xs for i in row])
        shared = _Rows(True, xs[0]) if all(row == xs[0] for row in xs) else None
        return _MatrixDot(start, stop, weights, inputs, half, shared)
    if (family == "dot" and is_sampled and arity % 2 == 0
            and all(kinds[:half]) and not any(kinds[half:])):
        # x . w with the samples first: swap the halves, the same products
        swapped = [row[half:] + row[:half] for row in children]
        return _make_step(family, param, is_sampled, start, stop, arity,
                          kinds[half:] + kinds[:half], swapped)
    sampled_positions = [j for j in range(arity) if kinds[j]]
    uniform_positions = [j for j in range(arity) if not kinds[j]]
    sampled_rows = (_Rows(True, [row[j] for row in children for j in sampled_positions])
                    if sampled_positions else None)
    uniform_rows = (_Rows(False, [row[j] for row in children for j in uniform_positions])
                    if uniform_positions else None)
    return _NAry(family, param, is_sampled, start, stop, arity, sampled_rows, uniform_rows,
                 sampled_positions, uniform_positions)
