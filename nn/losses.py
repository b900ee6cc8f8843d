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
  ``relu(1 - y * score)`` with targets -1 or +1;
* ``l1_penalty(parameters, alpha)``, ``l2_penalty(parameters, alpha)``:
  ``alpha * sum(|p|)`` and ``alpha * sum(p * p)`` (micrograd's regulariser).
"""

from __future__ import annotations

import math
import numbers

import autograd
from autograd import Value

from ._checks import quoted

_LOG_FLOOR = -100.0  # torch.nn.BCELoss clamps log(p) and log(1 - p) here


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


def mse_loss(outputs, targets) -> Value:
    """Mean squared error over every output number."""
    return _mean([(o - t) ** 2 for o, t in _pairs(outputs, targets, "mse_loss")])


def _check_binary(target: float, loss: str) -> float:
    if not 0.0 <= target <= 1.0:
        raise ValueError(f"{loss}: targets must lie in [0, 1], got {target}")
    return target


def _clamped_log(p: Value) -> Value:
    log = p.log()
    # a nan stays nan (as torch.clamp), so a diverged model is not a loss of 100
    return Value(_LOG_FLOOR) if log.data < _LOG_FLOOR else log


def _check_probability(p: Value) -> Value:
    # As torch.nn.BCELoss, a probability outside [0, 1] is refused (p = 1.5 would give a
    # negative loss); a nan passes, so that fit reports the divergence that made it.
    if not 0.0 <= p.data <= 1.0 and not math.isnan(p.data):
        raise ValueError(
            f"binary_cross_entropy: probabilities must lie in [0, 1], got {p.data}: for raw "
            "scores (a linear output layer) use bce_with_logits, or end the model with a sigmoid"
        )
    return p


def binary_cross_entropy(probabilities, targets) -> Value:
    """Mean of ``-(t log p + (1 - t) log(1 - p))``; p are probabilities (e.g. sigmoid outputs)."""
    terms = []
    for p, t in _pairs(probabilities, targets, "binary_cross_entropy"):
        t = _check_binary(t, "binary_cross_entropy")
        p = _check_probability(p if isinstance(p, Value) else Value(p))
        terms.append(-(_clamped_log(p) * t + _clamped_log(1.0 - p) * (1.0 - t)))
    return _mean(terms)


def bce_with_logits(logits, targets) -> Value:
    """Binary cross-entropy of ``sigmoid(logit)``, stable for any logit."""
    terms = []
    for z, t in _pairs(logits, targets, "bce_with_logits"):
        t = _check_binary(t, "bce_with_logits")
        z = z if isinstance(z, Value) else Value(z)
        # softplus(-|z|) never overflows; each branch is exact on its side of 0
        # (a relu/abs form would get the derivative at z == 0 wrong).
        if z.data >= 0.0:
            terms.append(z * (1.0 - t) + ((-z).exp() + 1.0).log())
        else:
            terms.append(-z * t + (z.exp() + 1.0).log())
    return _mean(terms)


def _as_values(logits, what: str) -> list[Value]:
    if _is_scalar(logits):
        raise ValueError(f"{what} needs a list of logits (one per class), got a single number")
    logits = [z if isinstance(z, Value) else Value(z) for z in logits]
    if not logits:
        raise ValueError(f"{what} needs at least one logit")
    return logits


def _shifted(logits, what: str) -> list[Value]:
    """The logits minus the largest one, so that no exp of them overflows."""
    logits = _as_values(logits, what)
    top = max(z.data for z in logits)
    if not math.isfinite(top):
        top = 0.0  # inf or nan logits: nothing to gain by shifting, IEEE takes over
    return [z - top for z in logits]  # the shift is a constant: gradients are unchanged


def log_softmax(logits) -> list[Value]:
    """log(softmax(logits)), shifted by the largest logit so no exp overflows."""
    shifted = _shifted(logits, "log_softmax")
    log_total = autograd.sum([s.exp() for s in shifted]).log()
    return [s - log_total for s in shifted]


def softmax(logits) -> list[Value]:
    """exp(z_i) / sum_j exp(z_j), computed from the largest-logit shift."""
    exps = [s.exp() for s in _shifted(logits, "softmax")]
    total = autograd.sum(exps)
    return [e / total for e in exps]


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
        return _mean([cross_entropy(z, t) for z, t in zip(logits, targets, strict=False)])
    log_probs = log_softmax(logits)
    return -log_probs[_class_index(target_index, len(log_probs))]


def hinge_loss(scores, targets) -> Value:
    """Mean of micrograd's max-margin ``relu(1 - y * score)``; targets are -1 or +1."""
    terms = []
    for s, y in _pairs(scores, targets, "hinge_loss"):
        if y not in (-1.0, 1.0):
            raise ValueError(f"hinge_loss: targets must be -1 or +1, got {y}")
        terms.append((1 + -y * s).relu())
    return _mean(terms)


def _parameter_list(parameters) -> list[Value]:
    if hasattr(parameters, "parameters"):  # a Module
        parameters = parameters.parameters()
    return list(parameters)


def l1_penalty(parameters, alpha: float = 1.0) -> Value:
    """``alpha * sum(|p|)`` over the parameters (a list of Values or a Module)."""
    return alpha * autograd.sum([p.abs() for p in _parameter_list(parameters)])


def l2_penalty(parameters, alpha: float = 1.0) -> Value:
    """``alpha * sum(p * p)`` over the parameters (a list of Values or a Module)."""
    return alpha * autograd.sum([p * p for p in _parameter_list(parameters)])


LOSSES = {
    "mse": mse_loss,
    "bce": binary_cross_entropy,
    "bce_with_logits": bce_with_logits,
    "cross_entropy": cross_entropy,
    "hinge": hinge_loss,
}
