"""Loss functions and penalties on Values, numerically stable, batch forms averaged.

Each loss takes a model's output and a target. A batch is a list of outputs
with a list (or numpy array) of targets; the loss is then the mean over the
batch, as PyTorch's default ``reduction='mean'``:

* ``mse_loss(outputs, targets)``: mean of ``(output - target) ** 2`` over every
  output number (multi-output models included);
* ``binary_cross_entropy(probabilities, targets)``: targets 0 or 1; as
  ``torch.nn.BCELoss`` each log is clamped at -100, so a probability of exactly
  0 or 1 gives a finite loss;
* ``bce_with_logits(logits, targets)``: the same from raw scores, computed
  without overflow for any logit;
* ``cross_entropy(logits, target_index)``: one list of logits per sample and
  the index of the right class, through a log-softmax shifted by the largest
  logit, so logits of 1000 and -1000 stay finite;
* ``hinge_loss(scores, targets)``: micrograd's max-margin loss
  ``relu(1 - y * score)`` with targets -1 or +1, or 0 and 1 read as -1 and +1
  (as ``fit`` maps them: ``signed_labels``);
* ``l1_penalty(parameters, alpha)``, ``l2_penalty(parameters, alpha)``:
  ``alpha * sum(|p|)`` and ``alpha * sum(p * p)`` (micrograd's regulariser).

Every loss and penalty opens a scope named by what it is (``mse``, ``bce``,
``bce_with_logits``, ``cross_entropy``, ``hinge``, ``l1_penalty``,
``l2_penalty``; ``softmax`` and ``log_softmax``), so a collapsed picture names
its box. None reads a number to choose the graph's shape, so each traces onto a
compiled tape (``autograd.trace``): cross-entropy is ``logsumexp(z) - z[t]``
(the stable row of the table, no largest-logit shift read from the data), the
bce clamp is ``max(log p, -100)``, bce_with_logits is ``max(z, 0) - z t +
log(1 + exp(-max(z, -z)))`` and hinge maps its labels on the batch of numbers.
``nn.tape_engine`` evaluates the same terms per sample, with the targets as
input columns (class indices as one-hot columns).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

import autograd
from autograd import Value

from ._checks import quoted

_LOG_FLOOR = -100.0  # torch.nn.BCELoss clamps log(p) and log(1 - p) here
# The scope each elementwise loss opens, and the function name its errors give.
_NAMES = {"mse": "mse_loss", "bce": "binary_cross_entropy", "bce_with_logits": "bce_with_logits"}


def _is_scalar(x) -> bool:
    return isinstance(x, (Value, numbers.Real)) or getattr(x, "ndim", None) == 0


def _pairs(outputs, targets, loss: str) -> list[tuple]:
    """(output, target) for each output number, flattening a batch and multi-output rows."""
    if _is_scalar(outputs):
        outputs, targets = [outputs], [targets] if _is_scalar(targets) else list(targets)
    outputs, targets = list(outputs), list(targets)
    if len(outputs) != len(targets):
        raise ValueError(f"{loss}: {len(outputs)} outputs but {len(targets)} targets")
    pairs = []
    for output, target in zip(outputs, targets, strict=False):
        if _is_scalar(output):
            if not _is_scalar(target):
                target = _single(target, loss)
            pairs.append((output, float(target)))
        else:
            pairs.extend(_pairs(output, target, loss))
    return pairs


def _single(target, loss: str):
    target = list(target)
    if len(target) != 1:
        raise ValueError(f"{loss}: one output but a target of {len(target)} numbers")
    return target[0]


def _mean(terms: list) -> Value:
    if not terms:
        raise ValueError("a loss needs at least one output")
    return autograd.sum(terms) * (1.0 / len(terms)) if len(terms) > 1 else terms[0]


def _elementwise(outputs, targets, loss: str, term, check=None) -> Value:
    """The mean of ``term(output, target)`` over every output number, inside scope ``loss``."""
    pairs = _pairs(outputs, targets, _NAMES[loss])
    if check is not None:
        pairs = [check(o, t) for o, t in pairs]
    with autograd.scope(loss):
        return _mean([term(o, t) for o, t in pairs])


def _squared_error(o, t) -> Value:
    return (o - t) ** 2


def mse_loss(outputs, targets) -> Value:
    """Mean squared error over every output number."""
    return _elementwise(outputs, targets, "mse", _squared_error)


def _check_binary(target: float, loss: str) -> float:
    if not 0.0 <= target <= 1.0:
        raise ValueError(f"{loss}: targets must lie in [0, 1], got {target}")
    return target


def _clamped_log(p: Value) -> Value:
    # max(log p, -100): a nan stays nan (as torch.clamp), so a diverged model is not a
    # loss of 100; at log p == -100 the gradient goes to log p, as torch's clamp.
    return autograd.max([p.log(), _LOG_FLOOR])


def _probability_error(p: float) -> ValueError:
    return ValueError(
        f"binary_cross_entropy: probabilities must lie in [0, 1], got {p}: for raw "
        "scores (a linear output layer) use bce_with_logits, or end the model with a sigmoid"
    )


def _checked_probability(p, t: float) -> tuple[Value, float]:
    # As torch.nn.BCELoss, a probability outside [0, 1] is refused (p = 1.5 would give a
    # negative loss); a nan passes, so that fit reports the divergence that made it.
    number = p.data if isinstance(p, Value) else float(p)
    if not 0.0 <= number <= 1.0 and not math.isnan(number):
        raise _probability_error(number)
    return (p if isinstance(p, Value) else Value(p)), _check_binary(t, "binary_cross_entropy")


def _bce_term(p: Value, t) -> Value:
    return -(_clamped_log(p) * t + _clamped_log(1.0 - p) * (1.0 - t))


def binary_cross_entropy(probabilities, targets) -> Value:
    """Mean of ``-(t log p + (1 - t) log(1 - p))``; p are probabilities (e.g. sigmoid outputs)."""
    return _elementwise(probabilities, targets, "bce", _bce_term, _checked_probability)


def _checked_logit(z, t: float) -> tuple[Value, float]:
    return (z if isinstance(z, Value) else Value(z)), _check_binary(t, "bce_with_logits")


def _bce_logits_term(z: Value, t) -> Value:
    # max(z, 0) - z t + log(1 + exp(-|z|)) never overflows, and reads no number to
    # choose a branch (so it traces). |z| is max(z, -z): at z == 0 both maxima give
    # their gradient to z (the first maximum), so the derivative there is sigmoid(0) - t
    # exactly, where relu and abs (derivative 0 at 0) would give -t.
    return (autograd.max([z, 0.0]) - z * t) + ((-autograd.max([z, -z])).exp() + 1.0).log()


def bce_with_logits(logits, targets) -> Value:
    """Binary cross-entropy of ``sigmoid(logit)``, stable for any logit."""
    return _elementwise(logits, targets, "bce_with_logits", _bce_logits_term, _checked_logit)


def _as_values(logits, what: str) -> list[Value]:
    if _is_scalar(logits):
        raise ValueError(f"{what} needs a list of logits (one per class), got a single number")
    logits = [z if isinstance(z, Value) else Value(z) for z in logits]
    if not logits:
        raise ValueError(f"{what} needs at least one logit")
    return logits


def log_softmax(logits) -> list[Value]:
    """log(softmax(logits)): each logit minus ``autograd.logsumexp`` of them (no exp overflows)."""
    logits = _as_values(logits, "log_softmax")
    with autograd.scope("log_softmax"):
        log_total = autograd.logsumexp(logits)
        return [z - log_total for z in logits]


def softmax(logits) -> list[Value]:
    """exp(z_i) / sum_j exp(z_j), computed as exp(z_i - logsumexp(z)) (no exp overflows)."""
    logits = _as_values(logits, "softmax")
    with autograd.scope("softmax"):
        log_total = autograd.logsumexp(logits)
        return [(z - log_total).exp() for z in logits]


def _class_index(target, classes: int) -> int:
    if isinstance(target, Value):
        target = target.data
    if (
        not isinstance(target, numbers.Real)
        or isinstance(target, bool)
        or not math.isfinite(target)  # int(inf) would raise OverflowError, int(nan) ValueError
        or float(target) != int(target)
    ):
        raise ValueError(
            f"cross_entropy: a target must be a class index (an int), got {quoted(target, 60)}"
        )
    index = int(target)
    if not 0 <= index < classes:
        raise ValueError(
            f"cross_entropy: target {index} is outside the {classes} classes 0..{classes - 1}"
        )
    return index


def _one_output_batch(logits: list, targets) -> bool:
    """A batch of single numbers with one target each: the outputs of a one-output model."""
    if not logits or not _is_scalar(logits[0]) or _is_scalar(targets):
        return False
    try:
        return len(targets) == len(logits)
    except TypeError:
        return False


def _cross_entropy_term(logits: list[Value], pick) -> Value:
    """-log_softmax(logits)[t] as logsumexp(logits) - logits[t]; ``pick`` gives logits[t]:
    an index on the scalar engine, a dot product with one-hot target columns on a tape
    (the same number: every other product is 0)."""
    return autograd.logsumexp(logits) - pick(logits)


def cross_entropy(logits, target_index) -> Value:
    """``-log_softmax(logits)[target_index]``; a batch (lists of logits and indices) averages."""
    if _is_scalar(logits):
        raise ValueError(
            "cross_entropy needs a list of logits (one per class), got a single number"
        )
    logits = list(logits)
    if _one_output_batch(logits, target_index):
        raise ValueError(
            f"cross_entropy: the model has one output, but cross_entropy needs one logit per "
            f"class for each sample (got {len(logits)} single numbers and as many targets): "
            "give the last layer one neuron per class, or for two classes use bce_with_logits"
        )
    if logits and not _is_scalar(logits[0]):  # a batch
        targets = list(target_index)
        if len(logits) != len(targets):
            raise ValueError(f"cross_entropy: {len(logits)} outputs but {len(targets)} targets")
    else:
        logits, targets = [logits], [target_index]
    samples = []
    for z, t in zip(logits, targets, strict=True):
        z = _as_values(z, "cross_entropy")
        samples.append((z, _class_index(t, len(z))))
    with autograd.scope("cross_entropy"):
        return _mean([_cross_entropy_term(z, lambda z, i=i: z[i]) for z, i in samples])


def signed_labels(targets, loss: str = "hinge_loss") -> np.ndarray:
    """Labels as -1/+1 floats for the hinge loss: 0/1 labels are read as -1/+1, as fit maps them.

    Labels that are all 0 or 1 become -1 or +1; labels that are all -1 or +1
    stay; anything else is a ValueError naming the first bad label.
    """
    y = np.asarray(targets, dtype=float)
    if np.isin(y, (0.0, 1.0)).all():
        return np.where(y > 0.0, 1.0, -1.0)
    bad = ~np.isin(y, (-1.0, 1.0))
    if bad.any():
        raise ValueError(
            f"{loss}: targets must be -1 or +1 (or 0 and 1, read as -1 and +1), got {y[bad][0]}"
        )
    return y


def _hinge_term(s, y) -> Value:
    return (1 + -y * s).relu()


def hinge_loss(scores, targets) -> Value:
    """Mean of micrograd's max-margin ``relu(1 - y * score)``; targets -1/+1 (or 0/1, as fit)."""
    pairs = _pairs(scores, targets, "hinge_loss")
    signs = signed_labels([t for _, t in pairs]).tolist()
    with autograd.scope("hinge"):
        return _mean([_hinge_term(s, y) for (s, _), y in zip(pairs, signs, strict=True)])


def _parameter_list(parameters) -> list[Value]:
    if hasattr(parameters, "parameters"):  # a Module
        parameters = parameters.parameters()
    return list(parameters)


def l1_penalty(parameters, alpha: float = 1.0) -> Value:
    """``alpha * sum(|p|)`` over the parameters (a list of Values or a Module)."""
    with autograd.scope("l1_penalty"):
        return alpha * autograd.sum([p.abs() for p in _parameter_list(parameters)])


def l2_penalty(parameters, alpha: float = 1.0) -> Value:
    """``alpha * sum(p * p)`` over the parameters (a list of Values or a Module)."""
    with autograd.scope("l2_penalty"):
        return alpha * autograd.sum([p * p for p in _parameter_list(parameters)])


LOSSES = {
    "mse": mse_loss,
    "bce": binary_cross_entropy,
    "bce_with_logits": bce_with_logits,
    "cross_entropy": cross_entropy,
    "hinge": hinge_loss,
}
