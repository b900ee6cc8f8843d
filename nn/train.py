"""``fit()``: the training loop, with validation, early stopping, callbacks and progress.

    >>> from nn import MLP, fit, data
    >>> X, y = data.moons(100, seed=0)
    >>> model = MLP(2, [16, 16, 1], seed=0)
    >>> history = fit(model, X, y, loss="hinge", optimizer="sgd", lr=0.1, epochs=50)

Per epoch, the rows are shuffled (unless full-batch) and split into batches
(``batch_size=None``: one full batch; 1: stochastic; k: mini-batches). For
each batch an engine runs the forward pass (``model.forward_batch``), the
mean loss (plus the ``l1``/``l2`` penalties), ``zero_grad`` and ``backward``;
fit checks the loss and the engine steps the optimizer. ``ScalarEngine``
builds one graph of Values per batch; ``nn.tape_engine.TapeEngine`` replays
one sample's traced graph over the batch with numpy, with the parameters in
one vector between the ends of epochs. ``engine="auto"`` (the default) takes
the tape when the model and loss trace and the tape's first step agrees with
the scalar engine's (``nn.tape_engine.choose_engine``), else the scalar
engine, and ``history.engine_reason`` says why; ``"tape"`` insists (raises
the reason), ``"scalar"`` never traces. Both give the same History (1e-9).

Decisions where the spec is silent, documented here:

* ``History.loss`` is the epoch's training loss, the size-weighted mean of
  its batch losses (penalties included), as Keras reports it;
  ``History.metric`` is computed from the same forward passes. Validation is
  evaluated after the epoch under ``autograd.no_grad()`` in eval mode,
  without penalties.
* The metric follows the loss: ``accuracy`` for bce, bce_with_logits, hinge
  and cross_entropy, ``r2`` for mse; a callable loss has no metric unless
  ``metric=`` is given ("accuracy", "r2" or a callable
  ``(outputs, targets) -> float`` receiving the outputs as floats or lists
  of floats). With no metric the metric lists stay empty.
* ``loss="hinge"`` accepts labels 0/1 (mapped to -1/+1) as well as -1/+1.
* ``early_stopping=k`` watches the validation loss (the training loss when
  there is no validation), stops after k epochs without improvement and
  restores the parameters of the best epoch.
* Callbacks are called after each epoch as ``callback(epoch, history)``
  (epoch counts from 1); a callback returning True stops training.
* Ctrl-C returns the History so far (``history.interrupted`` is True); the
  model keeps the parameters of the last completed step. Optimizer steps and
  History epochs are applied whole with Ctrl-C held back
  (``nn._interrupts.deferred_interrupts``), and so is fit's tidying up, so
  the columns always have equal lengths.
* X, y and the validation arrays are checked before training: a nan or inf,
  text, None or a ragged row is a ValueError naming the array, the row and
  the column (``nn._checks.numeric_array``), not a divergence blamed on the
  learning rate. ``loss="bce"`` on a model whose output layer is known not
  to be a sigmoid is refused with a pointer to ``bce_with_logits``.
* A nan or inf loss raises ``FloatingPointError`` naming epoch and step; the
  step that produced it is not applied. The message also names where it
  started (``nn.monitor.divergence_report``): the first layer, in backward
  order, whose gradient left the finite range, else the first whose update
  did, else the first whose outputs did.
* ``diagnostics=True`` wraps each step in a ``nn.monitor.Monitor`` (the
  layers' outputs through ``nn.module.watching``, their gradients and
  updates at the epoch's last step) and adds ``history.diagnostics``; off,
  no watch runs. ``clip_grad=c`` clips each step's gradients to total norm c
  between the loss check and ``optimizer.step()``; a non-finite gradient
  then raises before the step, so the weights stay finite.
* The model's train/eval mode is restored when fit returns.
* ``snapshots=True`` keeps ``history.snapshots``: ``model.state_dict()``
  before the first epoch (index 0) and after each completed epoch (index k
  after epoch k), for the training player. Early stopping does not prune
  them: they show every epoch that ran, while the model gets the best one.
* X has one row per sample: (rows, features) for an MLP, (rows, C, H, W)
  images for a convolutional net, (rows, steps) or (rows, steps, features)
  sequences for an RNN. Each sample reaches the model as nested lists of
  floats (``X[i].tolist()``), the layout those modules take.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import math
import numbers
import time
from dataclasses import dataclass, field

import numpy as np

import autograd
from autograd import Value
from autograd import mode as _mode

from . import losses as L
from ._checks import non_negative, numeric_array, positive_int, validation_rows
from ._interrupts import deferred_interrupts
from ._shapes import numbers_of
from .data import _generator
from .monitor import Monitor, checked_max_norm, clip_grad_norm, divergence_report
from .optim import OPTIMIZERS, Optimizer
from .tape_engine import StepResult, choose_engine, evaluation_engine

_CLASSIFICATION = ("bce", "bce_with_logits", "hinge", "cross_entropy")
_DEFAULT_LR = {"sgd": 0.05, "adam": 0.01, "adamw": 0.01}


@dataclass
class History:
    """Per-epoch records of a ``fit()`` run (val_* stay empty without validation)."""

    loss: list[float] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_metric: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    metric_name: str | None = None
    loss_name: str | None = None  # the loss fit was given ("hinge", or a callable's __name__)
    # fit(snapshots=True): state_dict() before training (index 0) and after each epoch
    snapshots: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None  # set by early stopping (1-based)
    stopped_early: bool = False
    interrupted: bool = False
    # fit(..., diagnostics=True): per epoch, {layer: {statistic: value}} (see nn.monitor)
    diagnostics: list[dict] = field(default_factory=list)
    engine: str | None = None  # "tape" or "scalar": the engine that trained
    engine_reason: str | None = None  # why engine="auto" fell back to the scalar engine

    @property
    def epochs(self) -> int:
        """The number of completed epochs."""
        return len(self.loss)

    def append(self, record: dict) -> None:
        """Adds one epoch: ``record`` maps column names (loss, metric, ...) to numbers.

        Every column grows here at once, after the whole record was computed,
        with Ctrl-C held back (``deferred_interrupts``), so an interrupt cannot
        leave columns of different lengths.
        """
        columns = [getattr(self, name) for name in record]
        with deferred_interrupts():
            for column, value in zip(columns, record.values(), strict=True):
                column.append(value)

    def as_dict(self) -> dict:
        """The per-epoch columns for a CSV: epoch, loss, metric, val_loss, val_metric, seconds."""
        columns = {"epoch": list(range(1, self.epochs + 1)), "loss": self.loss}
        for name in ("metric", "val_loss", "val_metric"):
            if getattr(self, name):
                columns[name] = getattr(self, name)
        columns["seconds"] = self.seconds
        return columns

    def __repr__(self) -> str:
        if not self.loss:
            return "History(no epochs)"
        parts = [f"{self.epochs} epochs", f"loss {self.loss[-1]:.4g}"]
        if self.metric:
            parts.append(f"{self.metric_name} {self.metric[-1]:.4g}")
        if self.val_loss:
            parts.append(f"val_loss {self.val_loss[-1]:.4g}")
        if self.val_metric:
            parts.append(f"val_{self.metric_name} {self.val_metric[-1]:.4g}")
        return f"History({', '.join(parts)})"


# -- metrics on output numbers ----------------------------------------------------------------


def accuracy(outputs, targets, loss: str) -> float:
    """Fraction of predictions that are right, reading the outputs the way ``loss`` reads them.

    cross_entropy: the arg-max class of each sample against its index; bce:
    probability > 0.5 against target > 0.5; bce_with_logits and hinge: score
    > 0 against target > 0 (every output of a multi-output model counts).
    ``outputs`` may be an array (rows, outputs) or (rows,), as the tape gives them.
    """
    if isinstance(outputs, np.ndarray):
        scores = outputs.reshape(len(outputs), -1)
        if loss == "cross_entropy":  # argmax, as max(), takes the first largest score
            wanted = np.asarray(targets, dtype=float).astype(int)
            return int(np.count_nonzero(scores.argmax(axis=1) == wanted)) / len(scores)
        threshold = 0.5 if loss == "bce" else 0.0
        wanted = np.asarray(targets, dtype=float).reshape(scores.shape)
        return int(np.count_nonzero((scores > threshold) == (wanted > threshold))) / scores.size
    right = total = 0
    for output, target in zip(outputs, targets, strict=True):
        scores = numbers_of(output)
        if loss == "cross_entropy":
            right += max(range(len(scores)), key=scores.__getitem__) == int(target)
            total += 1
            continue
        threshold = 0.5 if loss == "bce" else 0.0
        for score, wanted in zip(scores, np.ravel(target), strict=True):
            right += (score > threshold) == (wanted > threshold)
        total += len(scores)
    return right / total


def r2_score(outputs, targets) -> float:
    """The coefficient of determination 1 - SS_res / SS_tot over every output number."""
    if isinstance(outputs, np.ndarray):
        predicted = outputs.reshape(len(outputs), -1).astype(float)
    else:
        predicted = np.array([numbers_of(o) for o in outputs], dtype=float)
    actual = np.asarray(targets, dtype=float).reshape(predicted.shape)
    residual = float(((actual - predicted) ** 2).sum())
    total = float(((actual - actual.mean(axis=0)) ** 2).sum())
    return 1.0 - residual / total if total > 0.0 else (1.0 if residual == 0.0 else 0.0)


# -- engines: how one batch is run ------------------------------------------------------------


class ScalarEngine:
    """Runs batches on the scalar engine: one graph per batch, one ``backward()``.

    ``train_step`` leaves the batch's gradients in the parameters' ``.grad``
    (zeroed first); fit then checks the loss, and the optimizer steps.
    ``evaluate`` runs under ``no_grad`` (the caller sets eval mode).
    """

    name = "scalar"

    def __init__(self, model, loss_fn, parameters, l1: float = 0.0, l2: float = 0.0):
        self.model, self.loss_fn, self.parameters = model, loss_fn, parameters
        self.l1, self.l2 = l1, l2

    def _forward(self, rows) -> list:
        forward_batch = getattr(self.model, "forward_batch", None)
        if forward_batch is None:  # a micrograd-style model: a callable with parameters()
            return [self.model(row) for row in rows]
        return forward_batch(rows)

    def train_step(self, rows, targets) -> StepResult:
        with _fewer_collections():
            outputs = self._forward(rows)
            value = self.loss_fn(outputs, targets)
            if self.l1:
                value = value + L.l1_penalty(self.parameters, self.l1)
            if self.l2:
                value = value + L.l2_penalty(self.parameters, self.l2)
            if math.isfinite(value.data):  # a nan or inf loss is reported by fit, not applied
                for p in self.parameters:
                    p.grad = 0.0
                value.backward()
            result = StepResult(value.data, _detached(outputs))
            del outputs, value  # the graph goes while collections are still few (see below)
        return result

    def evaluate(self, rows, targets) -> StepResult:
        with _fewer_collections(), autograd.no_grad():
            outputs = self._forward(rows)
            result = StepResult(self.loss_fn(outputs, targets).data, _detached(outputs))
            del outputs
        return result

    # What fit asks of every engine besides steps (nn.tape_engine.TapeEngine has the same).

    def rows(self, X: np.ndarray) -> list:
        """The per-row container fit indexes batches from: one list of floats per row."""
        return X.tolist()

    def clip(self, max_norm: float) -> float:
        return clip_grad_norm(self.parameters, max_norm, error_if_nonfinite=True)

    def step(self, optimizer) -> None:
        optimizer.step()

    def sync(self) -> None:
        """The Values always hold the parameters: nothing to write back."""


# A step builds tens of thousands of nodes that all live until its end: the
# collector's default threshold (700 new objects) would scan them again and
# again, although a graph holds no reference cycle. The threshold is raised for
# the step and put back after it, once the step has dropped its graph: reference
# counting frees the graph and takes its nodes off the collector's count, where
# putting the threshold back first would scan the whole graph once more.
_STEP_GC_THRESHOLD = 100_000


@contextlib.contextmanager
def _fewer_collections():
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], _STEP_GC_THRESHOLD), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


# -- fit ----------------------------------------------------------------------------------------


def fit(
    model,
    X,
    y,
    loss="mse",
    optimizer="sgd",
    epochs: int = 100,
    batch_size: int | None = None,
    validation=None,
    early_stopping: int | None = None,
    progress: bool = True,
    callbacks=(),
    lr: float | None = None,
    l1: float = 0.0,
    l2: float = 0.0,
    metric=None,
    seed=None,
    diagnostics: bool = False,
    clip_grad: float | None = None,
    snapshots: bool = False,
    engine: str = "auto",
) -> History:
    """Trains ``model`` on (X, y) for ``epochs`` epochs and returns the ``History``.

    loss: "mse", "bce", "bce_with_logits", "cross_entropy", "hinge" or a
    callable ``(outputs, targets) -> Value`` (outputs: the model's output for
    each row of the batch). optimizer: an Optimizer or "sgd", "adam",
    "adamw" (built with ``lr``). validation: ``(X_val, y_val)`` or a fraction
    of the rows to hold out. seed: shuffling and the validation split.
    diagnostics: record per-layer statistics in ``history.diagnostics``
    (see ``nn.monitor``). clip_grad: scale each step's gradients to at most
    this total L2 norm (``clip_grad_norm``) before the optimizer steps.
    snapshots: keep ``history.snapshots`` (the parameters before training and
    after each epoch). engine: "auto" trains on a compiled tape when the model
    and loss trace and the tape's first step agrees with the scalar engine's,
    else on scalars (``history.engine_reason`` says why); "tape" insists
    (TraceError or ValueError with the reason); "scalar" never traces.
    """
    loss_name, loss_fn = _loss(loss)
    _check_output_for(loss_name, model)
    optimizer = _optimizer(optimizer, model, lr)
    epochs = positive_int(epochs, "epochs")
    l1, l2 = non_negative(l1, "l1"), non_negative(l2, "l2")
    X, y = _arrays(X, y, "X", "y")
    rng = _generator(seed)
    if not isinstance(snapshots, bool):
        raise TypeError(f"snapshots must be True or False, got {snapshots!r}")
    if snapshots and not hasattr(model, "state_dict"):
        raise TypeError(
            f"snapshots=True needs a model with state_dict() (an nn.Module), "
            f"got {type(model).__name__}"
        )
    if isinstance(validation, numbers.Real) and not isinstance(validation, bool):
        X, y, X_val, y_val = _hold_out(X, y, float(validation), rng)
    elif validation is not None:
        try:
            X_val, y_val = validation
        except (TypeError, ValueError):
            raise TypeError("validation must be (X_val, y_val) or a fraction such as 0.2") from None
        X_val, y_val = _arrays(X_val, y_val, "X_val", "y_val")
    else:
        X_val = y_val = None
    batch_size = len(X) if batch_size is None else positive_int(batch_size, "batch_size")
    patience = None if early_stopping is None else positive_int(early_stopping, "early_stopping")
    metric_name, metric_fn = _metric(metric, loss_name)
    if loss_name == "hinge":
        y = L.signed_labels(y)
        y_val = None if y_val is None else L.signed_labels(y_val)
    monitor = _monitor(diagnostics, model)
    clip_grad = _clip_grad(clip_grad)
    outer_mode = _mode.current.get()  # given back however Ctrl-C lands (see the finally)
    try:
        engine, engine_reason = choose_engine(
            engine, model, loss, loss_name, ScalarEngine(model, loss_fn, optimizer.params, l1, l2),
            optimizer, X, y, l1, l2, diagnostics=diagnostics, evaluation=X_val is not None,
        )
    except BaseException:
        _mode.current.set(outer_mode)
        raise
    rows, rows_val = engine.rows(X), None if X_val is None else engine.rows(X_val)

    history = History(metric_name=metric_name, loss_name=loss_name, engine=engine.name,
                      engine_reason=engine_reason)
    if snapshots:
        history.snapshots.append(model.state_dict())
    best, best_loss, waited = None, math.inf, 0
    was_training = getattr(model, "training", True)
    bar = _progress_bar(epochs, progress)
    try:
        for epoch in range(1, epochs + 1):
            started = time.perf_counter()
            if hasattr(model, "train"):
                model.train()
            order = rng.permutation(len(rows)) if batch_size < len(rows) else range(len(rows))
            total, outputs, targets = 0.0, [], []
            for step, start in enumerate(range(0, len(rows), batch_size), start=1):
                batch = order[start : start + batch_size]
                batch_y = y[batch]
                batch_rows = _take(rows, batch)
                if monitor is None:
                    result = engine.train_step(batch_rows, batch_y)
                else:
                    result = monitor.train_step(engine, batch_rows, batch_y,
                                                last=start + batch_size >= len(rows))
                _check_finite(result.loss, epoch, step, optimizer.lr, model, batch_rows)
                if clip_grad is not None:
                    _clip(engine, clip_grad, epoch, step, model)
                engine.step(optimizer)
                if monitor is not None:
                    monitor.stepped()
                total += result.loss * len(batch)
                if metric_fn is not None:
                    outputs.append(result.outputs)
                    targets.extend(batch_y)
            engine.sync()  # the Values hold the parameters for whatever reads them now
            # The epoch's record is complete before any column grows, so the
            # columns always have equal lengths.
            record = {"loss": total / len(rows)}
            if metric_fn is not None:
                record["metric"] = metric_fn(_joined(outputs), targets)
            if X_val is not None:
                val_loss, val_metric = _evaluate(engine, model, rows_val, y_val, metric_fn)
                record["val_loss"] = val_loss
                if metric_fn is not None:
                    record["val_metric"] = val_metric
            if monitor is not None:
                record["diagnostics"] = monitor.epoch_record()
            record["seconds"] = time.perf_counter() - started
            if snapshots:  # in the record, so that it grows with the other columns
                record["snapshots"] = model.state_dict()
            history.append(record)
            if bar is not None:
                bar.set_postfix(_latest(history), refresh=False)
                bar.update(1)
            if patience is not None:
                watched = history.val_loss[-1] if history.val_loss else history.loss[-1]
                if watched < best_loss:
                    best, best_loss, waited = model.state_dict(), watched, 0
                    history.best_epoch = epoch
                else:
                    waited += 1
                    if waited >= patience:
                        history.stopped_early = True
                        break
            if any(callback(epoch, history) is True for callback in callbacks):
                break
    except KeyboardInterrupt:
        history.interrupted = True
    finally:
        # Tidying up is not interrupted: a Ctrl-C landing here is noted, as one in
        # the last epoch would have been.
        with deferred_interrupts(on_interrupt=lambda: setattr(history, "interrupted", True)):
            # A Ctrl-C landing as a module's or loss's ``with scope(...)`` closes can
            # skip its __exit__; the caller gets back the recording mode it called with.
            _mode.current.set(outer_mode)
            engine.sync()
            if history.interrupted:
                optimizer.zero_grad()
            if bar is not None:
                bar.close()
            if hasattr(model, "train"):
                model.train(was_training)
            if best is not None and not history.interrupted:
                model.load_state_dict(best)
    return history


def evaluate(model, X, y, loss="mse", metric=None, engine: str = "auto") -> dict[str, float]:
    """{"loss": mean loss, <metric name>: metric} on (X, y), under no_grad in eval mode.

    ``loss`` and ``metric`` are read as by ``fit`` (the metric follows the loss by default);
    ``engine`` as by fit: "auto" evaluates on a tape when the model traces and agrees
    with the scalar engine on the first rows.
    """
    loss_name, loss_fn = _loss(loss)
    _check_output_for(loss_name, model)
    metric_name, metric_fn = _metric(metric, loss_name)
    X, y = _arrays(X, y, "X", "y")
    if loss_name == "hinge":
        y = L.signed_labels(y)
    engine = evaluation_engine(engine, model, loss, loss_name, ScalarEngine(model, loss_fn, []),
                               X, y)
    value, measured = _evaluate(engine, model, engine.rows(X), y, metric_fn)
    return {"loss": value} if metric_fn is None else {"loss": value, metric_name: measured}


def _evaluate(engine, model, rows, targets, metric_fn=None) -> tuple[float, float | None]:
    """(mean loss, metric) of the model on rows, in eval mode (restored afterwards)."""
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        result = engine.evaluate(rows, targets)
    finally:
        if hasattr(model, "train"):
            model.train(was_training)
    measured = None if metric_fn is None else metric_fn(result.outputs, list(targets))
    return result.loss, measured


def _detached(outputs) -> list:
    """The batch's output numbers, so the epoch's graph is not kept alive for the metric."""
    return [o.data if isinstance(o, Value) else [v.data for v in o] for o in outputs]


def _joined(batches: list):
    """The epoch's outputs from its batches': one array when the tape gave arrays."""
    if batches and all(isinstance(b, np.ndarray) for b in batches):
        return np.concatenate(batches)
    return [output for batch in batches for output in batch]


def _take(rows, batch):
    """The batch's rows: an array's (the tape engine's) or a list's (the scalar engine's)."""
    return rows[batch] if isinstance(rows, np.ndarray) else [rows[i] for i in batch]


def _latest(history: History) -> dict:
    shown = {"loss": f"{history.loss[-1]:.4g}"}
    if history.metric:
        shown[history.metric_name] = f"{history.metric[-1]:.3f}"
    if history.val_loss:
        shown["val_loss"] = f"{history.val_loss[-1]:.4g}"
    return shown


def _check_finite(loss: float, epoch: int, step: int, lr: float, model=None, rows=None) -> None:
    if not math.isfinite(loss):
        if isinstance(rows, np.ndarray):
            rows = rows.tolist()
        raise FloatingPointError(
            f"the loss became {loss} at epoch {epoch}, step {step}: training diverged. "
            f"Try a smaller learning rate than {lr:g} (e.g. {lr / 10:g}) or standardise the inputs."
            + ("" if model is None else divergence_report(model, rows=rows))
        )


# -- training health: diagnostics and clipping (nn.monitor) ---------------------------------


def _monitor(diagnostics, model) -> Monitor | None:
    if not isinstance(diagnostics, bool):
        raise TypeError(f"diagnostics must be True or False, got {diagnostics!r}")
    return Monitor(model) if diagnostics else None


def _clip_grad(clip_grad) -> float | None:
    return None if clip_grad is None else checked_max_norm(clip_grad, "clip_grad")


def _clip(engine, max_norm: float, epoch: int, step: int, model) -> None:
    """Clips the step's gradients; a non-finite gradient stops training before it is applied."""
    try:
        engine.clip(max_norm)
    except FloatingPointError:
        # Scaling would spread the nan over every gradient (as torch does) and the
        # update would carry it into every weight: stop while the weights are finite.
        raise FloatingPointError(
            f"the gradient became non-finite at epoch {epoch}, step {step}: training "
            f"diverged, and clipping cannot scale a non-finite gradient, so the step was not "
            f"applied. Try a smaller learning rate or standardise the inputs."
            + divergence_report(model, applied=False)
        ) from None


def _progress_bar(total: int, enabled: bool, desc: str = "fit", unit: str = "epoch"):
    """A tqdm bar of ``total`` steps, or None.

    In a terminal, tqdm's text bar. In Jupyter, a widget with ipywidgets;
    without them, one line when the bar closes: a text bar's every redraw
    would be kept in the saved notebook's stderr, a block of lines in exported
    notebooks and on GitHub.
    """
    if not enabled:
        return None
    try:
        if importlib.util.find_spec("ipywidgets") is None:
            # Without ipywidgets tqdm.auto warns in Jupyter; the text bar works everywhere.
            from tqdm.std import tqdm
        else:
            from tqdm.auto import tqdm
    except ImportError:
        raise ImportError(
            "the progress bar needs tqdm: pip install tqdm (or pass progress=False)"
        ) from None
    if tqdm.__module__ == "tqdm.std" and _in_jupyter():
        return _one_line_bar(tqdm)(total=total, desc=desc, unit=unit)
    return tqdm(total=total, desc=desc, unit=unit, leave=True)


def _in_jupyter() -> bool:
    """Whether this runs in a Jupyter kernel (IPython with a kernel), without importing IPython."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def _one_line_bar(tqdm):
    """A tqdm (text) class that draws nothing while it runs and its final line once, on close."""

    class OneLineBar(tqdm):
        def __init__(self, **options):
            # an infinite delay: tqdm never draws by itself
            super().__init__(**options, leave=True, delay=float("inf"))
            self._line_written = False

        def close(self):
            if self.disable or self._line_written:
                return super().close()
            self._line_written = True
            line = str(self)
            file = self.fp
            super().close()
            file.write(line + "\n")
            file.flush()

    return OneLineBar


# -- argument checks --------------------------------------------------------------------------


def _loss(loss):
    if callable(loss):
        return getattr(loss, "__name__", "custom"), loss
    if loss not in L.LOSSES:
        raise ValueError(
            f"unknown loss {loss!r}: expected one of {', '.join(L.LOSSES)} or a callable"
        )
    return loss, L.LOSSES[loss]


def _metric(metric, loss_name: str):
    if metric is None:
        if loss_name in _CLASSIFICATION:
            metric = "accuracy"
        elif loss_name == "mse":
            metric = "r2"
        else:
            return None, None
    if callable(metric):  # it receives the outputs as floats or lists of floats, as documented
        return getattr(metric, "__name__", "metric"), lambda outputs, targets: metric(
            outputs.tolist() if isinstance(outputs, np.ndarray) else outputs, targets)
    if metric == "accuracy":
        if loss_name not in _CLASSIFICATION:
            raise ValueError(f"metric 'accuracy' needs a classification loss, not {loss_name!r}")
        return metric, lambda outputs, targets: accuracy(outputs, targets, loss_name)
    if metric == "r2":
        return metric, r2_score
    raise ValueError(f"unknown metric {metric!r}: expected 'accuracy', 'r2', a callable or None")


def _check_output_for(loss_name: str, model) -> None:
    """bce needs probabilities: refuse a model whose output layer is known not to give them."""
    if loss_name != "bce":
        return
    activation = getattr(model, "output_activation", None)  # MLP
    if activation is None and isinstance(getattr(model, "activation", None), str):
        activation = model.activation  # Neuron, Layer
    if activation is not None and activation != "sigmoid":
        raise ValueError(
            f"loss='bce' takes probabilities in [0, 1], but the model's output is "
            f"{activation}: use loss='bce_with_logits' (the same loss from raw scores, and "
            "stable), or give the model output_activation='sigmoid'"
        )


def _optimizer(optimizer, model, lr) -> Optimizer:
    if isinstance(optimizer, Optimizer):
        if lr is not None:
            optimizer.lr = lr  # checked by the optimizer, as at construction
        return optimizer
    if optimizer not in OPTIMIZERS:
        raise ValueError(
            f"unknown optimizer {optimizer!r}: expected one of {', '.join(OPTIMIZERS)} "
            "or an Optimizer such as nn.SGD(model.parameters(), lr=0.1)"
        )
    return OPTIMIZERS[optimizer](
        model.parameters(), lr=_DEFAULT_LR[optimizer] if lr is None else lr
    )


def _arrays(X, y, x_name: str, y_name: str):
    """X as floats and y as numbers, every entry finite; ValueError naming array, row, column."""
    X, y = numeric_array(X, x_name).astype(float, copy=False), numeric_array(y, y_name)
    if X.ndim == 1:
        X = X.reshape(-1, 1)  # one feature per row
    if X.ndim < 2:
        raise ValueError(
            f"{x_name} must have one row per sample: shape (rows, features), or (rows, ...) "
            f"for images and sequences, got shape {X.shape}"
        )
    if len(X) != len(y):
        raise ValueError(f"{x_name} has {len(X)} rows but {y_name} has {len(y)}")
    if len(X) == 0:
        raise ValueError(f"{x_name} has no rows")
    return X, y


def _hold_out(X, y, fraction: float, rng):
    n_val = validation_rows(len(X), fraction)
    order = rng.permutation(len(X))
    train, held = order[n_val:], order[:n_val]
    return X[train], y[train], X[held], y[held]


_signed = L.signed_labels  # (nn.diagnostics maps hinge labels as fit does)
