"""Optimizers that follow ``torch.optim`` step for step, and learning-rate schedules.

``SGD`` (momentum, dampening, nesterov, weight decay), ``Adam`` (weight decay
added to the gradient, L2 style, as ``torch.optim.Adam``) and ``AdamW``
(decoupled weight decay) apply the same formulas in the same order as
PyTorch's single-tensor implementations, so a network trained here and in
PyTorch float64 from the same weights follows the same trajectory.

Each optimizer has ``step()``, ``zero_grad()``, a settable ``lr`` and an
optional ``schedule``: a callable of the step number (0 for the first step)
returning the learning rate for that step, e.g. micrograd's decay
``schedule=lambda k: 1.0 - 0.9 * k / 100``. While a schedule is set, ``lr``
shows the rate of the latest step. ``linear_decay``, ``step_decay``,
``exponential_decay`` and ``cosine_decay`` build common schedules.

The array step: ``step_arrays(data, grad)`` takes the parameters and their
gradients as float64 numpy vectors (in ``params`` order) and updates ``data``
in place, with the same numbers as ``step()`` (each formula applied in the
same order, every operation rounded as Python rounds it) and the same
all-or-nothing guarantee (``_updated_arrays`` computes, then the result is
applied inside ``deferred_interrupts()``). fit's tape engine trains this way.
Between array steps the state (momentum buffers, Adam's moments) is kept as
arrays; ``state_as_lists()`` turns it back into lists of floats, and
``step()`` does so first, so the two paths can alternate.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Iterable

import numpy as np

from autograd import Value

from ._checks import non_negative, positive_int, quoted
from ._interrupts import deferred_interrupts


class Optimizer:
    """Base class: holds the parameters, the learning rate, the schedule and the step count.

    A step is all or nothing. ``step()`` asks ``_updated(lr, t)`` for the
    new parameter values and the new optimizer state, computed without
    changing anything, then applies both inside ``deferred_interrupts()``:
    a Ctrl-C during ``step()`` leaves the parameters and state of the last
    completed step, or of this one, never a mix. A subclass (a vectorised
    path included) implements ``_updated`` and inherits the guarantee.
    """

    def __init__(self, params: Iterable[Value], lr: float, schedule: Callable | None = None):
        if hasattr(params, "parameters"):  # a Module passed directly
            params = params.parameters()
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Value):
                raise TypeError(f"parameter {i} must be a Value, got {type(p).__name__}")
        self.lr = lr
        if schedule is not None and not callable(schedule):
            raise TypeError(f"schedule must be a callable of the step number, got {schedule!r}")
        self.schedule = schedule
        self.steps = 0  # steps taken so far

    @property
    def lr(self) -> float:
        """The learning rate (of the latest step, while a schedule is set); checked when set."""
        return self._lr

    @lr.setter
    def lr(self, value) -> None:
        self._lr = non_negative(value, "lr")

    def zero_grad(self) -> None:
        """Sets the gradient of every parameter to 0.0."""
        for p in self.params:
            p.grad = 0.0

    _state = ()  # the names of the per-parameter state attributes (lists of floats)

    def _step_lr(self) -> float:
        """The learning rate of the next step (the schedule's, when one is set)."""
        if self.schedule is None:
            return self._lr
        return non_negative(self.schedule(self.steps), f"schedule({self.steps})")

    def step(self) -> None:
        """Updates every parameter from its ``.grad`` (one optimisation step, all or nothing)."""
        self.state_as_lists()
        lr = self._step_lr()
        values, state = self._updated(lr, self.steps + 1)
        with deferred_interrupts():
            for p, value in zip(self.params, values, strict=True):
                p.data = value
            self._apply(state, lr)

    @classmethod
    def has_array_step(cls) -> bool:
        """True when ``_updated_arrays`` is defined with (or below) every class that defines
        ``_updated``, ``step`` or ``_step_lr``: a subclass that changes the scalar step only
        (its formula, or ``step()`` itself, e.g. to record something) has no array step."""
        return _has_array_step(cls)

    def step_arrays(self, data: np.ndarray, grad: np.ndarray) -> None:
        """``step()`` on vectors: ``data`` (updated in place) and ``grad``, in ``params`` order."""
        if not self.has_array_step():
            raise TypeError(f"{type(self).__name__} has no array step (_updated_arrays)")
        lr = self._step_lr()
        with np.errstate(all="ignore"):  # inf and nan propagate, as on the scalar path
            values, state = self._updated_arrays(lr, self.steps + 1, data, grad)
        with deferred_interrupts():
            data[...] = values
            self._apply(state, lr)

    def _apply(self, state: dict, lr: float) -> None:
        for name, value in state.items():
            setattr(self, name, value)
        self._lr, self.steps = lr, self.steps + 1

    def state_as_lists(self) -> None:
        """Turns state kept as arrays by ``step_arrays`` back into lists of floats."""
        for name in self._state:
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                setattr(self, name, value.tolist())

    def _state_array(self, name: str) -> np.ndarray | None:
        """State ``name`` as a float array (None while it is all None: SGD before a step)."""
        value = getattr(self, name)
        if isinstance(value, np.ndarray):
            return value
        if all(v is None for v in value):
            return None
        return np.array([np.nan if v is None else v for v in value], dtype=float)

    def _updated(self, lr: float, t: int) -> tuple[list[float], dict]:
        """(new value of each parameter, {state attribute: new value}) for step ``t`` (from 1).

        Must change nothing: ``step`` applies the result atomically.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr}, {len(self.params)} parameters)"


class SGD(Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD``.

    With momentum m: ``buf = m * buf + (1 - dampening) * g`` (``buf = g`` at the
    first step), then ``p -= lr * buf`` (nesterov: ``p -= lr * (g + m * buf)``).
    ``weight_decay`` adds ``weight_decay * p`` to the gradient g first.
    """

    def __init__(
        self,
        params,
        lr: float = 0.01,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        schedule: Callable | None = None,
    ):
        super().__init__(params, lr, schedule)
        self.momentum = non_negative(momentum, "momentum")
        # PyTorch takes any number; a dampening outside [0, 1] (or nan) is refused here
        if not isinstance(dampening, numbers.Real) or not 0.0 <= dampening <= 1.0:
            raise ValueError(f"dampening must be a number in [0, 1], got {quoted(dampening)}")
        self.dampening = float(dampening)
        self.weight_decay = non_negative(weight_decay, "weight_decay")
        if nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ValueError("nesterov momentum needs momentum > 0 and dampening 0 (as PyTorch)")
        self.nesterov = bool(nesterov)
        self.buffers: list[float | None] = [None] * len(self.params)

    _state = ("buffers",)

    def _updated(self, lr: float, t: int) -> tuple[list[float], dict]:
        momentum, decay, nesterov = self.momentum, self.weight_decay, self.nesterov
        buffers = list(self.buffers) if momentum else self.buffers
        values = []
        for i, p in enumerate(self.params):
            g = p.grad
            if decay:
                g = g + decay * p.data
            if momentum:
                buf = buffers[i]
                buf = g if buf is None else buf * momentum + (1.0 - self.dampening) * g
                buffers[i] = buf
                g = g + momentum * buf if nesterov else buf
            values.append(p.data - lr * g)
        return values, {"buffers": buffers} if momentum else {}

    def _updated_arrays(self, lr: float, t: int, data, grad) -> tuple[np.ndarray, dict]:
        momentum, decay = self.momentum, self.weight_decay
        g = grad
        if decay:
            g = g + decay * data
        if not momentum:
            return data - lr * g, {}
        buf = self._state_array("buffers")
        if buf is None:
            buf = g.copy()
        else:
            new = buf * momentum + (1.0 - self.dampening) * g
            unset = None if isinstance(self.buffers, np.ndarray) else [
                v is None for v in self.buffers]
            buf = new if unset is None or not any(unset) else np.where(unset, g, new)
        g = g + momentum * buf if self.nesterov else buf
        return data - lr * g, {"buffers": buf}


def _lerp(start: float, end: float, weight: float) -> float:
    """start + weight * (end - start), rounded as torch.lerp rounds it."""
    if weight < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1.0 - weight)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), as ``torch.optim.Adam``: weight decay is added to the gradient."""

    _decoupled = False
    _default_weight_decay = 0.0

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float | None = None,
        schedule: Callable | None = None,
    ):
        """``weight_decay=None`` means PyTorch's default: 0 for Adam, 1e-2 for AdamW."""
        super().__init__(params, lr, schedule)
        if weight_decay is None:
            weight_decay = self._default_weight_decay
        beta1, beta2 = betas
        for name, beta in (("betas[0]", beta1), ("betas[1]", beta2)):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{name} must lie in [0, 1), got {beta!r}")
        self.betas = (float(beta1), float(beta2))
        self.eps = non_negative(eps, "eps")
        self.weight_decay = non_negative(weight_decay, "weight_decay")
        self.exp_avg = [0.0] * len(self.params)
        self.exp_avg_sq = [0.0] * len(self.params)

    _state = ("exp_avg", "exp_avg_sq")

    def _updated(self, lr: float, t: int) -> tuple[list[float], dict]:
        beta1, beta2 = self.betas
        decay, eps = self.weight_decay, self.eps
        step_size = lr / (1.0 - beta1**t)
        bias_correction2_sqrt = math.sqrt(1.0 - beta2**t)
        exp_avg, exp_avg_sq = list(self.exp_avg), list(self.exp_avg_sq)
        values = []
        for i, p in enumerate(self.params):
            g, data = p.grad, p.data
            if decay:
                if self._decoupled:  # AdamW: shrink the weight itself
                    data *= 1.0 - lr * decay
                else:  # Adam: L2 through the gradient
                    g = g + decay * data
            exp_avg[i] = m = _lerp(exp_avg[i], g, 1.0 - beta1)
            exp_avg_sq[i] = v = exp_avg_sq[i] * beta2 + (1.0 - beta2) * g * g
            denom = math.sqrt(v) / bias_correction2_sqrt + eps
            values.append(data + -step_size * (m / denom))
        return values, {"exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}

    def _updated_arrays(self, lr: float, t: int, data, grad) -> tuple[np.ndarray, dict]:
        beta1, beta2 = self.betas
        decay, eps = self.weight_decay, self.eps
        step_size = lr / (1.0 - beta1**t)
        bias_correction2_sqrt = math.sqrt(1.0 - beta2**t)
        g = grad
        if decay:
            if self._decoupled:
                data = data * (1.0 - lr * decay)
            else:
                g = g + decay * data
        exp_avg = self._state_array("exp_avg")
        weight = 1.0 - beta1
        if weight < 0.5:  # _lerp, as torch.lerp rounds it
            m = exp_avg + weight * (g - exp_avg)
        else:
            m = g - (g - exp_avg) * (1.0 - weight)
        v = self._state_array("exp_avg_sq") * beta2 + (1.0 - beta2) * g * g
        denom = np.sqrt(v) / bias_correction2_sqrt + eps
        return data + -step_size * (m / denom), {"exp_avg": m, "exp_avg_sq": v}


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter 2019), as ``torch.optim.AdamW``: decoupled weight decay."""

    _decoupled = True
    _default_weight_decay = 1e-2


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW}


# -- schedules: callables of the step number returning the learning rate ---------------------


def _decay_factor(gamma) -> float:
    # PyTorch takes any gamma; above 1 the rate grows until gamma ** k overflows, so here
    # a decay decays.
    if not isinstance(gamma, numbers.Real) or isinstance(gamma, bool) or not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be a number in [0, 1], got {quoted(gamma)}")
    return float(gamma)


def linear_decay(start: float, end: float, steps: int) -> Callable[[int], float]:
    """From ``start`` at step 0 linearly to ``end`` at step ``steps``, then ``end``."""
    start, end = non_negative(start, "start"), non_negative(end, "end")
    steps = positive_int(steps, "linear_decay's steps")
    return lambda k: start + (end - start) * min(k, steps) / steps


def step_decay(lr: float, step_size: int, gamma: float = 0.1) -> Callable[[int], float]:
    """``lr * gamma ** (k // step_size)``, as torch's StepLR."""
    lr, gamma = non_negative(lr, "lr"), _decay_factor(gamma)
    step_size = positive_int(step_size, "step_decay's step_size")
    return lambda k: lr * gamma ** (k // step_size)


def exponential_decay(lr: float, gamma: float) -> Callable[[int], float]:
    """``lr * gamma ** k``, as torch's ExponentialLR."""
    lr, gamma = non_negative(lr, "lr"), _decay_factor(gamma)
    return lambda k: lr * gamma**k


def cosine_decay(lr: float, steps: int, min_lr: float = 0.0) -> Callable[[int], float]:
    """Half a cosine from ``lr`` to ``min_lr`` over ``steps``, then ``min_lr``."""
    lr, min_lr = non_negative(lr, "lr"), non_negative(min_lr, "min_lr")
    steps = positive_int(steps, "cosine_decay's steps")
    return lambda k: min_lr + (lr - min_lr) * (1.0 + math.cos(math.pi * min(k, steps) / steps)) / 2


# Asked at every step of the tape engine, so answered once per class (a method patched
# onto a class after its first step is not seen; subclassing is the way to change a step).
@functools.cache
def _has_array_step(cls) -> bool:
    mro = cls.__mro__

    def owner(name):
        return next((i for i, c in enumerate(mro) if name in c.__dict__), len(mro))

    arrays = owner("_updated_arrays")
    return arrays < len(mro) and all(
        arrays <= owner(name) for name in ("_updated", "step", "_step_lr"))
