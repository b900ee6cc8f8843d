"""``RNN``: a recurrent layer unrolled over a sequence, one scope per time step.

    >>> from nn import RNN
    >>> rnn = RNN(1, 4)                      # input_size 1, hidden_size 4, tanh
    >>> states = rnn([0.0, 1.0, 1.0])        # three steps -> three hidden states
    >>> len(states), len(states[0])
    (3, 4)

As ``torch.nn.RNN`` (one layer, ``batch_first`` in spirit: a sample is one
sequence), the hidden state at step t is

    h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)

(``nonlinearity="relu"`` for relu), with h_(-1) = h0, zeros by default.
Each hidden unit of each step is one ``autograd.dot`` over the concatenated
row ``[W_ih[i], W_hh[i]]`` and input ``[x_t, h_(t-1)]``, one ``sum`` adding
the two biases, and the activation. Without ``h0`` the first step's dot
reads x_0 only (the recurrent term is zero and so is its gradient). The
nodes of step t are made inside ``autograd.scope("t.<t>")``, so the unrolled
graph draws and collapses by time step, and backpropagation through time is
backward on it.

A sequence is a list of T inputs, each a list of ``input_size`` numbers or
Values, or a number when ``input_size == 1`` (a numpy array of shape (T,)
or (T, input_size) works too). Calling the RNN returns the T hidden states,
each a list of ``hidden_size`` Values; ``LastStep()`` picks the last one for
a classifier. Wrong shapes raise ValueError naming the expected and received
shapes.

Parameters are named as PyTorch's: ``weight_ih_l0.i.j`` is
``weight_ih_l0[i, j]`` (hidden unit i, input j), ``weight_hh_l0.i.j``,
``bias_ih_l0.i`` and ``bias_hh_l0.i``, in that order; all start uniform in
±1/sqrt(hidden_size), PyTorch's default.
"""

from __future__ import annotations

import math

import autograd
from autograd import Value

from . import _shapes
from ._checks import check_parameter_count, positive_int
from .module import Module, _random_source

NONLINEARITIES = ("tanh", "relu")
_ACTIVATE = {"tanh": Value.tanh, "relu": Value.relu}
_dot = autograd.dot
_sum = autograd.sum


class RNN(Module):
    """An Elman recurrent layer, as ``torch.nn.RNN(input_size, hidden_size, nonlinearity)``."""

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh", seed=None):
        self.input_size = positive_int(input_size, "RNN's input_size")
        self.hidden_size = positive_int(hidden_size, "RNN's hidden_size")
        check_parameter_count((self.input_size + self.hidden_size + 2) * self.hidden_size,
                              f"RNN({self.input_size}, {self.hidden_size})")
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"unknown nonlinearity {nonlinearity!r}: expected one of "
                             f"{', '.join(NONLINEARITIES)}")
        self.nonlinearity = nonlinearity
        self._activate = _ACTIVATE[nonlinearity]
        rng = _random_source(seed)
        bound = 1.0 / math.sqrt(self.hidden_size)

        def draw(rows, columns):
            return [[Value(rng.uniform(-bound, bound)) for _ in range(columns)]
                    for _ in range(rows)]

        # PyTorch's order of parameters (and of the draws)
        self.weight_ih_l0 = draw(self.hidden_size, self.input_size)
        self.weight_hh_l0 = draw(self.hidden_size, self.hidden_size)
        self.bias_ih_l0 = draw(1, self.hidden_size)[0]
        self.bias_hh_l0 = draw(1, self.hidden_size)[0]
        # each unit's dot reads [x_t, h_(t-1)] against [W_ih[i], W_hh[i]]
        self._rows = [wi + wh for wi, wh in zip(self.weight_ih_l0, self.weight_hh_l0, strict=True)]
        self._scopes: list[str] = []

    def __call__(self, sequence, h0=None) -> list[list[Value]]:
        steps = self._steps(sequence)
        hidden = None if h0 is None else self._initial(h0)
        while len(self._scopes) < len(steps):
            self._scopes.append(f"t.{len(self._scopes)}")
        activate, units = self._activate, range(self.hidden_size)
        states = []
        for x, scope in zip(steps, self._scopes, strict=False):
            with autograd.scope(scope):
                if hidden is None:
                    hidden = [
                        activate(_sum([_dot(self.weight_ih_l0[i], x), self.bias_ih_l0[i],
                                       self.bias_hh_l0[i]]))
                        for i in units
                    ]
                else:
                    inputs = x + hidden
                    hidden = [
                        activate(_sum([_dot(self._rows[i], inputs), self.bias_ih_l0[i],
                                       self.bias_hh_l0[i]]))
                        for i in units
                    ]
            states.append(hidden)
        return states

    def _steps(self, sequence) -> list[list[Value]]:
        shape = _shapes.shape_of(sequence, repr(self))
        if len(shape) == 1 and self.input_size == 1 and shape[0] > 0:
            return [[v] for v in _shapes.lifted(sequence)]
        if len(shape) != 2 or shape[1] != self.input_size or shape[0] == 0:
            expected = "(steps,) or (steps, 1)" if self.input_size == 1 else (
                f"(steps, {self.input_size})"
            )
            raise ValueError(
                f"{self!r} expects a sequence of shape {expected} with at least one step, "
                f"got shape {shape}"
            )
        return _shapes.lifted(sequence)

    def _initial(self, h0) -> list[Value]:
        shape = _shapes.shape_of(h0, repr(self))
        if shape != (self.hidden_size,):
            raise ValueError(f"{self!r} expects h0 of shape ({self.hidden_size},), got {shape}")
        return _shapes.lifted(h0)

    def parameters(self) -> list[Value]:
        return (
            [w for row in self.weight_ih_l0 for w in row]
            + [w for row in self.weight_hh_l0 for w in row]
            + list(self.bias_ih_l0)
            + list(self.bias_hh_l0)
        )

    def named_parameters(self) -> list[tuple[str, Value]]:
        named = []
        for name in ("weight_ih_l0", "weight_hh_l0"):
            for i, row in enumerate(getattr(self, name)):
                named.extend((f"{name}.{i}.{j}", w) for j, w in enumerate(row))
        for name in ("bias_ih_l0", "bias_hh_l0"):
            named.extend((f"{name}.{i}", b) for i, b in enumerate(getattr(self, name)))
        return named

    def architecture(self) -> dict:
        return {
            "type": "RNN",
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "nonlinearity": self.nonlinearity,
        }

    def __repr__(self) -> str:
        extra = "" if self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity!r}"
        return f"RNN({self.input_size}, {self.hidden_size}{extra})"
