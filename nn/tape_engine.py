"""fit's tape engine: one sample's graph traced once (``autograd.trace``), replayed over batches.

``TapeEngine`` has the methods of ``nn.train.ScalarEngine`` (``train_step``,
``evaluate``, ``clip``, ``step``, ``sync``, ``rows``). It traces a function of
one sample: its inputs are the sample's numbers, then the target's columns
(a one-hot column per class for cross-entropy; the -1/+1 labels for hinge),
then one column per dropout mask; it returns the model's outputs and the
loss's terms for that sample (one per output number, one for cross-entropy).
A batch's loss is their mean (``math.fsum`` over the batch's terms times
1/n, as the scalar engine's ``autograd.sum(terms) * (1 / n)``), and backward
seeds each term with 1/n. ``l1``/``l2`` are computed in numpy on the
parameter vector.

The parameters live in one float64 vector (in the optimizer's order) while
training; ``sync()`` writes them and their gradients back to the Values (and
the optimizer's state back to lists) and the next step reads the Values
again, so whatever fit does between steps (validation, snapshots, early
stopping, callbacks, a divergence report, Ctrl-C) sees right Values and may
change them. fit syncs at the end of every epoch, before reporting a
divergence and when it returns.

Dropout traces: ``nn.module.dropout`` asks the tracing engine for a mask
Value per number instead of drawing, and each step draws the masks with the
module's own random source, layer by layer, sample by sample (the order of
``forward_batch`` on the scalar engine), so both engines draw the same
numbers. Each mode (train, eval) has its own tape.

``choose_engine`` decides what fit trains on (``engine="auto"``): the
scalar engine, with the reason, when the tape cannot run the model
(``unsupported``), tracing raises ``TraceError`` or the first step's loss,
outputs or gradients on a few rows differ from the scalar engine's (1e-9
relative).
"""

from __future__ import annotations

import contextvars
import math
from dataclasses import dataclass, field

import numpy as np

import autograd
from autograd import Value, ieee

from . import _shapes
from . import losses as L
from ._interrupts import deferred_interrupts
from ._shapes import numbers_of
from .module import MLP, Layer, Module, _dropout_masks

ENGINES = ("auto", "tape", "scalar")
CHECK_ROWS = 4  # rows of the first batch both engines run before a tape is trusted
TOLERANCE = 1e-9  # relative: the tape sums in numpy's order, the scalar engine with fsum


@dataclass
class StepResult:
    """What one batch gave: its loss (penalties included) as a float and its output numbers
    (a list per sample on the scalar engine, an array (B,) or (B, k) on the tape)."""

    loss: float
    outputs: list


class NotTraceable(Exception):
    """The tape cannot run this model or loss; the message is the reason."""


class EngineError(ValueError):
    """``engine="tape"`` was asked for, but the tape cannot run this model (the reason)."""


# -- losses as per-sample terms ---------------------------------------------------------------


def _float_targets(targets, k: int, loss: str) -> np.ndarray:
    t = np.asarray(targets, dtype=float)
    t = t.reshape(len(t), -1)
    if t.shape[1] != k:
        raise ValueError(f"{loss}: {k} outputs per sample but targets of {t.shape[1]} numbers")
    return t


def _binary_targets(targets, k: int, loss: str) -> np.ndarray:
    t = _float_targets(targets, k, loss)
    bad = ~((t >= 0.0) & (t <= 1.0))
    if bad.any():
        L._check_binary(float(t[bad][0]), loss)
    return t


def _signed_targets(targets, k: int, loss: str) -> np.ndarray:
    return L.signed_labels(_float_targets(targets, k, loss), loss)


def _one_hot(targets, k: int, loss: str) -> np.ndarray:
    t = np.asarray(targets)
    if t.ndim == 1 and t.dtype.kind in "iu" and (
            not len(t) or (int(t.min()) >= 0 and int(t.max()) < k)):
        return np.eye(k)[t]  # the usual case, fast: integer labels in range
    if t.ndim != 1 or t.dtype == bool or not np.issubdtype(t.dtype, np.number):
        for target in t.tolist() if t.ndim else [t.item()]:
            L._class_index(target, k)  # raises the scalar engine's message
        raise ValueError(f"cross_entropy: targets must be class indices, got shape {t.shape}")
    t = t.astype(float)
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(t) & (t == np.floor(t)) & (t >= 0) & (t < k))
    if bad.any():
        L._class_index(t[bad][0].item(), k)
    return np.eye(k)[t.astype(int)]


def _check_probabilities(outputs: np.ndarray) -> None:
    bad = ~((outputs >= 0.0) & (outputs <= 1.0)) & ~np.isnan(outputs)
    if bad.any():
        raise L._probability_error(float(outputs[bad][0]))


@dataclass(frozen=True)
class TapeLoss:
    """A built-in loss as per-sample terms: ``terms(outputs, target_values)`` on Values,
    ``targets(array, k, name)`` the target columns (B, m), ``check(outputs)`` optional."""

    name: str
    scope: str
    terms: object
    targets: object
    check: object = None


def _elementwise(term):
    return lambda outputs, targets: [term(o, t) for o, t in zip(outputs, targets, strict=True)]


def _cross_entropy(outputs, one_hot):
    return [L._cross_entropy_term(outputs, lambda z: autograd.dot(one_hot, z))]


TAPE_LOSSES = {
    "mse": TapeLoss("mse_loss", "mse", _elementwise(L._squared_error), _float_targets),
    "bce": TapeLoss("binary_cross_entropy", "bce", _elementwise(L._bce_term), _binary_targets,
                    _check_probabilities),
    "bce_with_logits": TapeLoss("bce_with_logits", "bce_with_logits",
                                _elementwise(L._bce_logits_term), _binary_targets),
    "cross_entropy": TapeLoss("cross_entropy", "cross_entropy", _cross_entropy, _one_hot),
    "hinge": TapeLoss("hinge_loss", "hinge", _elementwise(L._hinge_term), _signed_targets),
}
_BUILT_IN = {function: name for name, function in L.LOSSES.items()}


def tape_loss_name(loss) -> str | None:
    """The TAPE_LOSSES name of a loss given to fit (a name or a built-in function), or None."""
    if isinstance(loss, str):
        return loss if loss in TAPE_LOSSES else None
    return _BUILT_IN.get(loss)


# -- dropout masks as input columns -----------------------------------------------------------


class _Masks:
    """The dropout hook while tracing: each number is multiplied by the next mask input
    (or, counting, by the keep factor), and each call is recorded as (rng, p, count)."""

    def __init__(self, inputs=None):
        self.inputs, self.used, self.calls = inputs, 0, []

    def __call__(self, x, p, rng, keep):
        start = self.used

        def mask(v):
            factor = keep if self.inputs is None else self.inputs[self.used]
            self.used += 1
            return v * factor

        out = _shapes.nested_map(mask, x)
        self.calls.append((rng, p, keep, self.used - start))
        return out


def _draw_masks(calls, batch: int) -> list[np.ndarray]:
    """(count, B) mask columns per call, drawn in forward_batch's order (call, sample, number)."""
    columns = []
    for rng, p, keep, count in calls:
        draw = rng.random
        draws = np.array([draw() for _ in range(batch * count)]).reshape(batch, count)
        columns.append(np.where(draws >= p, keep, 0.0).T)
    return columns


def _random_sources(model) -> list:
    """The distinct random sources of the model's modules (dropout draws from them)."""
    sources, seen = [], set()
    modules = [m for _, m in model.named_modules()] if hasattr(model, "named_modules") else []
    for module in modules or [model]:
        rng = getattr(module, "_rng", None)
        if rng is not None and id(rng) not in seen and hasattr(rng, "getstate"):
            seen.add(id(rng))
            sources.append(rng)
    return sources


# -- one traced mode ----------------------------------------------------------------------------


def _nested(values: list, shape: tuple):
    """values (flat, row-major) as nested lists of ``shape``: one sample as the model takes it."""
    if len(shape) == 1:
        return list(values)
    step = len(values) // shape[0]
    return [_nested(values[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def _with_masks(masks: _Masks, model, x):
    """The model's output for one sample with dropout asking ``masks``. The hook is set in
    a copy of the context, so no Ctrl-C can leave it set behind (the copy carries the
    tracer and the mode)."""

    def run():
        _dropout_masks.set(masks)
        return _forward_one(model, x)

    return contextvars.copy_context().run(run)


def _forward_one(model, x):
    """The model's output for one sample, through forward_batch as the scalar engine runs it."""
    forward_batch = getattr(model, "forward_batch", None)
    return model(x) if forward_batch is None else forward_batch([x])[0]


def _flat_outputs(out) -> tuple[list, bool]:
    """(the output Values, whether the output is a bare Value)."""
    if isinstance(out, Value):
        return [out], True
    if isinstance(out, (list, tuple)) and out and all(isinstance(v, Value) for v in out):
        return list(out), False
    raise NotTraceable(
        f"the model's output is a {type(out).__name__}, not a Value or a list of Values"
    )


@dataclass
class Traced:
    """One mode's tape and what it takes: d sample numbers, m target columns, r masks."""

    tape: object
    shape: tuple
    k: int  # model outputs per sample
    bare: bool  # the model returns a Value (not a list)
    terms: int  # loss terms per sample (0: outputs only)
    targets: int
    masks: list  # (rng, p, keep, count) per dropout call
    positions: np.ndarray  # tape parameters that are trained ...
    indices: np.ndarray  # ... and their index in the engine's vector
    identity: bool
    base: np.ndarray  # the tape's parameters (untrained ones keep these values)
    _seeds: dict = field(default_factory=dict)

    def seed(self, batch: int, n: int) -> np.ndarray:
        seed = self._seeds.get((batch, n))
        if seed is None:
            seed = np.zeros((batch, self.k + self.terms))
            seed[:, self.k:] = 1.0 / n
            self._seeds = {(batch, n): seed}
        return seed

    def columns(self, rows: np.ndarray, target_columns) -> np.ndarray:
        """The tape's inputs for a batch as one (inputs, B) array: the rows' numbers, the
        target columns, the dropout masks."""
        batch = len(rows)
        parts = [rows.reshape(batch, -1).T]
        if target_columns is not None:
            parts.append(target_columns.T)
        parts.extend(_draw_masks(self.masks, batch))
        return np.concatenate(parts) if len(parts) > 1 else np.ascontiguousarray(parts[0])

    def detached(self, outputs: np.ndarray) -> np.ndarray:
        """The model's outputs as fit's metrics take them: (B,) for a bare Value, else (B, k)."""
        return outputs[:, 0].copy() if self.bare else outputs[:, :self.k].copy()


def trace_model(model, shape: tuple, parameters, loss: TapeLoss | None = None,
                example_row=None, example_target=None) -> Traced:
    """The tape of ``model`` (in its current mode) on one sample of ``shape``, with the
    loss's terms when ``loss`` is given; ``parameters`` are the engine's vector order."""
    d = int(np.prod(shape))
    row = np.zeros(d) if example_row is None else np.asarray(example_row, float).reshape(d)
    counting = _Masks()
    with autograd.no_grad():
        outs, _ = _flat_outputs(_with_masks(counting, model, _nested(row.tolist(), shape)))
    k = len(outs)
    if loss is None:
        target_row = []
    else:
        target_row = loss.targets(example_target, k, loss.name)[0].tolist()
    n_masks = counting.used
    shape_seen = {}

    def one_sample(*inputs):
        x = _nested(list(inputs[:d]), shape)
        t = list(inputs[d:d + len(target_row)])
        masks = _Masks(list(inputs[d + len(target_row):]))
        outputs, bare = _flat_outputs(_with_masks(masks, model, x))
        if masks.used != n_masks:
            raise NotTraceable("the model's dropout draws a different number of masks per call")
        shape_seen.update(k=len(outputs), bare=bare, masks=masks.calls)
        if loss is None:
            return outputs
        with autograd.scope(loss.scope):
            terms = loss.terms(outputs, t)
        shape_seen["terms"] = len(terms)
        return outputs + terms

    example = [*row.tolist(), *target_row, *([1.0] * n_masks)]
    try:
        tape = autograd.trace(one_sample, *example)
    except (autograd.TraceError, NotTraceable):
        raise
    except Exception as error:  # the model ran on scalars (the check runs them first)
        raise NotTraceable(
            f"the tape could not record the graph ({type(error).__name__}: {error})"
        ) from error
    index = {id(p): i for i, p in enumerate(parameters)}
    pairs = [(j, index[id(p)]) for j, p in enumerate(tape.parameters) if id(p) in index]
    positions = np.array([j for j, _ in pairs], dtype=int)
    indices = np.array([i for _, i in pairs], dtype=int)
    identity = len(pairs) == len(tape.parameters) == len(parameters) and bool(
        (positions == indices).all())
    return Traced(tape, tuple(shape), shape_seen["k"], shape_seen["bare"],
                  shape_seen.get("terms", 0), len(target_row), shape_seen["masks"],
                  positions, indices, identity, tape.parameter_vector())


def _mean(terms: np.ndarray, n: int) -> float:
    """The scalar engine's mean of n terms: fsum times 1/n (the one term itself when n == 1)."""
    if n == 1:
        return float(terms.reshape(-1)[0])
    return ieee.fsum(terms.reshape(-1).tolist()) * (1.0 / n)


# -- the engine -------------------------------------------------------------------------------


class TapeEngine:
    """Runs fit's batches on tapes; the parameters live in ``vector`` between syncs."""

    name = "tape"

    def __init__(self, model, loss: str | None, parameters, l1: float = 0.0, l2: float = 0.0):
        self.model, self.parameters = model, list(parameters)
        self.loss = None if loss is None else TAPE_LOSSES[loss]
        self.l1, self.l2 = l1, l2
        self.vector = np.array([p.data for p in self.parameters], dtype=float)
        self.grad: np.ndarray | None = None
        self._tapes: dict[bool, Traced] = {}
        self._values_own = False  # True after sync(): the next step reads the Values again
        self._optimizer = None

    # -- the Values and the vector

    def rows(self, X: np.ndarray) -> np.ndarray:
        """The per-row container fit indexes batches from: the array itself."""
        return X

    def _pull(self) -> None:
        if self._values_own:
            self.vector = np.array([p.data for p in self.parameters], dtype=float)
            for traced in self._tapes.values():
                traced.base = traced.tape.parameter_vector()
            self._values_own = False

    def sync(self) -> None:
        """Writes the vector (and the last gradients) to the Values, the optimizer's state
        to lists; until the next step the Values own the parameters."""
        if self._values_own:
            return
        with deferred_interrupts():
            if self.grad is None:
                for p, value in zip(self.parameters, self.vector.tolist(), strict=True):
                    p.data = value
            else:
                for p, value, grad in zip(self.parameters, self.vector.tolist(),
                                          self.grad.tolist(), strict=True):
                    p.data, p.grad = value, grad
            if self._optimizer is not None:
                self._optimizer.state_as_lists()
            self._values_own = True

    # -- steps

    def _traced(self, rows: np.ndarray, targets, with_loss: bool = True) -> Traced:
        training = bool(getattr(self.model, "training", True))
        traced = self._tapes.get(training)
        if traced is None:
            traced = self._tapes[training] = trace_model(
                self.model, rows.shape[1:], self.parameters, self.loss if with_loss else None,
                rows[0], None if targets is None else np.asarray(targets)[:1])
        return traced

    def _tape_params(self, traced: Traced) -> np.ndarray:
        if traced.identity:
            return self.vector
        params = traced.base.copy()
        params[traced.positions] = self.vector[traced.indices]
        return params

    def _run(self, rows, targets, backward: bool):
        self._pull()
        rows = np.asarray(rows, dtype=float)
        traced = self._traced(rows, targets)
        batch = len(rows)
        target_columns = self.loss.targets(targets, traced.k, self.loss.name)
        columns = traced.columns(rows, target_columns)
        params = self._tape_params(traced)
        n = batch * traced.terms
        with np.errstate(all="ignore"):
            if backward:
                outputs, grads, _ = traced.tape.backward_arrays(
                    columns, seed=traced.seed(batch, n), params=params, input_grads=False)
            else:
                outputs, grads = traced.tape.forward_arrays(columns, params=params), None
        outputs = outputs.reshape(batch, -1)
        if self.loss.check is not None:
            self.loss.check(outputs[:, :traced.k])
        return traced, outputs, grads, _mean(outputs[:, traced.k:], n)

    def train_step(self, rows, targets) -> StepResult:
        traced, outputs, grads, loss = self._run(rows, targets, backward=True)
        if self.l1 or self.l2:
            with np.errstate(all="ignore"):
                if self.l1:
                    loss = loss + self.l1 * ieee.fsum(np.abs(self.vector).tolist())
                if self.l2:
                    loss = loss + self.l2 * ieee.fsum((self.vector * self.vector).tolist())
        if math.isfinite(loss):  # a nan or inf loss is reported by fit, not applied
            if traced.identity:
                gradient = np.array(grads, dtype=float)
            else:
                gradient = np.zeros(len(self.vector))
                gradient[traced.indices] = grads[traced.positions]
            with np.errstate(all="ignore"):
                if self.l1:
                    gradient += self.l1 * np.sign(self.vector)
                if self.l2:
                    gradient += self.l2 * self.vector
                    gradient += self.l2 * self.vector
            self.grad = gradient
        else:
            self.sync()  # the divergence report reads the Values
        return StepResult(loss, traced.detached(outputs[:, :traced.k]))

    def evaluate(self, rows, targets) -> StepResult:
        traced, outputs, _, loss = self._run(rows, targets, backward=False)
        return StepResult(loss, traced.detached(outputs[:, :traced.k]))

    def clip(self, max_norm: float) -> float:
        """``clip_grad_norm`` on the gradient vector; FloatingPointError if it is not finite."""
        with np.errstate(all="ignore"):
            total = math.sqrt(float(np.dot(self.grad, self.grad)))
        if not math.isfinite(total):
            self.sync()
            raise FloatingPointError(f"the total norm of the gradients is {total}")
        coefficient = max_norm / (total + 1e-6)
        if coefficient < 1.0:
            self.grad *= coefficient
        return total

    def step(self, optimizer) -> None:
        self._optimizer = optimizer
        optimizer.step_arrays(self.vector, self.grad)


# -- choosing an engine -------------------------------------------------------------------------

_BATCH_WISE = {Module.forward_batch, MLP.forward_batch, Layer.forward_batch}


def _pass_through_batches() -> set:
    from .containers import Sequential

    return _BATCH_WISE | {Sequential.forward_batch}


def unsupported(model, loss, optimizer, parameters, diagnostics: bool = False) -> str | None:
    """Why the tape cannot train ``model`` with ``loss`` and ``optimizer``, or None."""
    if getattr(autograd, "trace", None) is None:
        return "this autograd has no compiled tape (autograd.trace)"
    if diagnostics:
        return ("diagnostics=True watches every layer's outputs at every step, which a tape "
                "does not keep")
    if tape_loss_name(loss) is None:
        name = getattr(loss, "__name__", type(loss).__name__)
        return (f"the loss {name} is a callable that sees the whole batch; the tape runs the "
                "built-in losses (means over the samples)")
    if optimizer is not None and not optimizer.has_array_step():
        return (f"the optimizer {type(optimizer).__name__} changes the scalar step (_updated or "
                "step) without an array step (_updated_arrays)")
    if len({id(p) for p in parameters}) != len(parameters):
        return "the optimizer lists a parameter more than once"
    from .norm import BatchNorm

    named = list(model.named_modules()) if hasattr(model, "named_modules") else [("", model)]
    known = _pass_through_batches()
    for name, module in named:
        where = f"{name} ({type(module).__name__})" if name else type(module).__name__
        if isinstance(module, BatchNorm) and module.training:
            return (f"batch norm ({where}) couples the samples of a batch: each output "
                    "depends on the batch's mean and variance")
        forward_batch = getattr(type(module), "forward_batch", None)
        if forward_batch is not None and forward_batch not in known and not isinstance(
                module, BatchNorm):
            return f"{where} has its own forward_batch, which may couple the samples of a batch"
    return None


def _close(a, b) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return False
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    scale = max(float(np.max(np.abs(b[np.isfinite(b)]), initial=0.0)), 1e-300)
    with np.errstate(all="ignore"):
        near = np.abs(a - b) <= TOLERANCE * np.maximum(np.abs(a), np.abs(b)) + 1e-12 * scale
    return bool((same | near).all())


def _disagreement(what: str, tape, scalar, names=None) -> str | None:
    if _close(tape, scalar):
        return None
    tape, scalar = np.asarray(tape, float).ravel(), np.asarray(scalar, float).ravel()
    if tape.shape != scalar.shape:
        return f"the tape's {what} has shape {tape.shape}, the scalar engine's {scalar.shape}"
    worst = int(np.argmax(~np.array([_close(t, s) for t, s in zip(tape, scalar, strict=True)])))
    name = f" of {names[worst]}" if names is not None else ""
    return (f"the tape's first-step {what}{name} is {tape[worst]!r} where the scalar engine "
            f"gives {scalar[worst]!r}")


def check(engine: TapeEngine, scalar, rows: np.ndarray, targets, names=None,
          evaluation: bool = False) -> str | None:
    """Runs the first ``CHECK_ROWS`` rows on both engines (a training step, and an evaluation
    in eval mode when asked); the disagreement, or None. Nothing is applied; the random
    sources are put back as they were."""
    rows, targets = rows[:CHECK_ROWS], targets[:CHECK_ROWS]
    sources = _random_sources(engine.model)
    states = [rng.getstate() for rng in sources]
    model_parameters = getattr(engine.model, "parameters", None)
    held = [(p, p.grad) for p in (model_parameters() if model_parameters else [])]

    def restore():
        for rng, state in zip(sources, states, strict=True):
            rng.setstate(state)
        for p, grad in held:  # the check's backward leaves no gradient behind
            p.grad = grad

    try:
        reference = scalar.train_step(rows.tolist(), targets)
        reference_grads = [p.grad for p in scalar.parameters]
        restore()
        result = engine.train_step(rows, targets)
        found = _disagreement("loss", result.loss, reference.loss) or _disagreement(
            "outputs", result.outputs, reference.outputs)
        if found is None and math.isfinite(reference.loss):
            found = _disagreement("gradient", engine.grad, reference_grads, names)
        if found is None and evaluation:
            was_training = getattr(engine.model, "training", True)
            if hasattr(engine.model, "eval"):
                engine.model.eval()
            try:
                reference = scalar.evaluate(rows.tolist(), targets)
                result = engine.evaluate(rows, targets)
            finally:
                if hasattr(engine.model, "train"):
                    engine.model.train(was_training)
            found = _disagreement("validation loss", result.loss, reference.loss) or \
                _disagreement("validation outputs", result.outputs, reference.outputs)
    finally:
        restore()
    engine.grad = None
    engine._values_own = True  # nothing was applied: read the Values at the first step
    return found


def check_engine(requested: str) -> None:
    """ValueError unless ``requested`` is one of ENGINES (fit's and tune's ``engine``)."""
    if requested not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(map(repr, ENGINES))}, "
                         f"got {requested!r}")


def _decided(requested: str, model, training: bool, what: str, attempt):
    """(engine, reason) from ``attempt()`` run with the model in training mode or not (put
    back afterwards); a TraceError or NotTraceable is a reason; ``requested == "tape"``
    raises instead of giving one."""
    was_training = getattr(model, "training", None)
    if hasattr(model, "train"):
        model.train(training)
    try:
        engine, reason = attempt()
    except autograd.TraceError as error:
        if requested == "tape":
            raise
        engine, reason = None, f"the model or loss does not trace: {error}"
    except NotTraceable as error:
        engine, reason = None, str(error)
    finally:
        if was_training is not None and hasattr(model, "train"):
            model.train(was_training)
    if reason is not None and requested == "tape":
        raise EngineError(f"engine='tape' cannot {what} this model: {reason}")
    return engine, reason


def choose_engine(requested: str, model, loss, loss_name: str, scalar, optimizer, rows,
                  targets, l1: float = 0.0, l2: float = 0.0, diagnostics: bool = False,
                  evaluation: bool = False):
    """(engine, reason): the TapeEngine when ``requested`` allows and the tape agrees with
    ``scalar`` on the first rows, else ``scalar`` and why (``requested == "tape"``: raises)."""
    check_engine(requested)
    if requested == "scalar":
        return scalar, None
    parameters = scalar.parameters

    def attempt():
        reason = unsupported(model, loss, optimizer, parameters, diagnostics)
        if reason is not None:
            return None, reason
        engine = TapeEngine(model, tape_loss_name(loss) or loss_name, parameters, l1, l2)
        names = _parameter_names(model, parameters)
        reason = check(engine, scalar, rows, targets, names, evaluation)
        if reason is not None:
            return None, reason + " (1e-9 relative), so the tape is not trusted"
        return engine, None

    engine, reason = _decided(requested, model, True, "train", attempt)
    return (scalar, reason) if engine is None else (engine, None)


def evaluation_engine(requested: str, model, loss, loss_name: str, scalar, rows, targets):
    """The engine ``nn.evaluate`` runs on: a TapeEngine in eval mode when it traces and agrees
    with ``scalar`` on the first rows (and there are enough rows to be worth a trace)."""
    check_engine(requested)
    if requested == "scalar" or (requested == "auto" and len(rows) < 2 * CHECK_ROWS):
        return scalar

    def attempt():
        reason = unsupported(model, loss, None, [])
        if reason is not None:
            return None, reason
        engine = TapeEngine(model, tape_loss_name(loss) or loss_name, [])
        reference = scalar.evaluate(rows[:CHECK_ROWS].tolist(), targets[:CHECK_ROWS])
        result = engine.evaluate(rows[:CHECK_ROWS], targets[:CHECK_ROWS])
        reason = _disagreement("loss", result.loss, reference.loss) or _disagreement(
            "outputs", result.outputs, reference.outputs)
        return (None, reason) if reason is not None else (engine, None)

    engine, _ = _decided(requested, model, False, "evaluate", attempt)
    return scalar if engine is None else engine


def _parameter_names(model, parameters) -> list[str]:
    named = dict((id(p), name) for name, p in model.named_parameters()) if hasattr(
        model, "named_parameters") else {}
    return [named.get(id(p), f"parameter {i}") for i, p in enumerate(parameters)]


# -- many points: evaluate and plot -------------------------------------------------------------


def outputs(model, X) -> np.ndarray:
    """The model's outputs on every row of X as an array (rows, outputs), in eval mode under
    the current mode's tape when it traces and agrees with the scalar engine on the first
    rows; else one scalar call per row."""
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    was_training = getattr(model, "training", None)
    if was_training and hasattr(model, "eval"):
        model.eval()
    try:
        traced = _traced_outputs(model, X)
        if traced is not None:
            return traced
        with autograd.no_grad():
            return np.array([numbers_of(_forward_one(model, row)) for row in X.tolist()],
                            dtype=float).reshape(len(X), -1)
    finally:
        if was_training and hasattr(model, "train"):
            model.train()


def _traced_outputs(model, X: np.ndarray) -> np.ndarray | None:
    """The outputs from a tape, or None (point by point then): a model without
    ``parameters()`` (a plain function), few rows, a model the tape cannot run or whose
    tape disagrees with it on the first rows."""
    if not hasattr(model, "parameters") or len(X) < 2 * CHECK_ROWS:
        return None
    parameters = model.parameters()
    if unsupported(model, "mse", None, parameters) is not None:
        return None
    try:
        traced = trace_model(model, X.shape[1:], parameters, None, X[0])
    except Exception:  # noqa: BLE001 (any failure to trace: the scalar path says what is wrong)
        return None
    with np.errstate(all="ignore"):
        out = traced.tape.forward_arrays(traced.columns(X, None), params=traced.base)
    out = np.array(out, dtype=float).reshape(len(X), -1)  # a copy: the tape reuses its arrays
    with autograd.no_grad():
        reference = [numbers_of(_forward_one(model, row)) for row in X[:CHECK_ROWS].tolist()]
    return out if _close(out[:CHECK_ROWS], reference) else None
