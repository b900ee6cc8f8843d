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
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable

from autograd import Value


def _check_rate(value, what: str) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value >= 0.0:
        raise ValueError(f"{what} must be a non-negative number, got {value!r}")
    return float(value)


class Optimizer:
    """Base class: holds the parameters, the learning rate, the schedule and the step count."""

    def __init__(self, params: Iterable[Value], lr: float, schedule: Callable | None = None):
        if hasattr(params, "parameters"):  # a Module passed directly
            params = params.parameters()
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Value):
                raise TypeError(f"parameter {i} must be a Value, got {type(p).__name__}")
        self.lr = _check_rate(lr, "lr")
        if schedule is not None and not callable(schedule):
            raise TypeError(f"schedule must be a callable of the step number, got {schedule!r}")
        self.schedule = schedule
        self.steps = 0  # steps taken so far

    def zero_grad(self) -> None:
        """Sets the gradient of every parameter to 0.0."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Updates every parameter from its ``.grad`` (one optimisation step)."""
        if self.schedule is not None:
            self.lr = _check_rate(self.schedule(self.steps), f"schedule({self.steps})")
        self.steps += 1
        self._update(self.lr)

    def _update(self, lr: float) -> None:
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
        self.momentum = _check_rate(momentum, "momentum")
        self.dampening = float(dampening)
        self.weight_decay = _check_rate(weight_decay, "weight_decay")
        if nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ValueError("nesterov momentum needs momentum > 0 and dampening 0 (as PyTorch)")
        self.nesterov = bool(nesterov)
        self.buffers: list[float | None] = [None] * len(self.params)

    def _update(self, lr: float) -> None:
        momentum, decay, nesterov = self.momentum, self.weight_decay, self.nesterov
        buffers = self.buffers
        for i, p in enumerate(self.params):
            g = p.grad
            if decay:
                g = g + decay * p.data
            if momentum:
                buf = buffers[i]
                buf = g if buf is None else buf * momentum + (1.0 - self.dampening) * g
                buffers[i] = buf
                g = g + momentum * buf if nesterov else buf
            p.data -= lr * g


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
        self.eps = _check_rate(eps, "eps")
        self.weight_decay = _check_rate(weight_decay, "weight_decay")
        self.exp_avg = [0.0] * len(self.params)
        self.exp_avg_sq = [0.0] * len(self.params)

    def _update(self, lr: float) -> None:
        beta1, beta2 = self.betas
        decay, eps, t = self.weight_decay, self.eps, self.steps
        step_size = lr / (1.0 - beta1**t)
        bias_correction2_sqrt = math.sqrt(1.0 - beta2**t)
        exp_avg, exp_avg_sq = self.exp_avg, self.exp_avg_sq
        for i, p in enumerate(self.params):
            g = p.grad
            if decay:
                if self._decoupled:  # AdamW: shrink the weight itself
                    p.data *= 1.0 - lr * decay
                else:  # Adam: L2 through the gradient
                    g = g + decay * p.data
            exp_avg[i] = m = _lerp(exp_avg[i], g, 1.0 - beta1)
            exp_avg_sq[i] = v = exp_avg_sq[i] * beta2 + (1.0 - beta2) * g * g
            denom = math.sqrt(v) / bias_correction2_sqrt + eps
            p.data += -step_size * (m / denom)


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter 2019), as ``torch.optim.AdamW``: decoupled weight decay."""

    _decoupled = True
    _default_weight_decay = 1e-2


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW}


# -- schedules: callables of the step number returning the learning rate ---------------------


def linear_decay(start: float, end: float, steps: int) -> Callable[[int], float]:
    """From ``start`` at step 0 linearly to ``end`` at step ``steps``, then ``end``."""
    return lambda k: start + (end - start) * min(k, steps) / steps


def step_decay(lr: float, step_size: int, gamma: float = 0.1) -> Callable[[int], float]:
    """``lr * gamma ** (k // step_size)``, as torch's StepLR."""
    return lambda k: lr * gamma ** (k // step_size)


def exponential_decay(lr: float, gamma: float) -> Callable[[int], float]:
    """``lr * gamma ** k``, as torch's ExponentialLR."""
    return lambda k: lr * gamma**k


def cosine_decay(lr: float, steps: int, min_lr: float = 0.0) -> Callable[[int], float]:
    """Half a cosine from ``lr`` to ``min_lr`` over ``steps``, then ``min_lr``."""
    return lambda k: min_lr + (lr - min_lr) * (1.0 + math.cos(math.pi * min(k, steps) / steps)) / 2
