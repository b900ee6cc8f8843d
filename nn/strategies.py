"""Hypothesis strategies for nn: ``mlps()`` draws small random MLPs with matching inputs.

    from hypothesis import given
    from nn.strategies import mlps

    @given(mlps())
    def test_output_is_finite(case):
        model, x = case
        ...

Needs hypothesis (a test dependency); importing this module without it
raises ImportError saying what to install. Weights, biases and inputs are
drawn as floats (not from a seed), so hypothesis shrinks a failing case to
small, readable numbers.
"""

from __future__ import annotations

from typing import NamedTuple

try:
    from hypothesis import strategies as st
except ImportError as error:  # pragma: no cover - hypothesis is a test dependency
    raise ImportError("nn.strategies needs hypothesis: pip install hypothesis") from error

from .module import ACTIVATIONS, MLP


class MLPCase(NamedTuple):
    """A drawn model and an input of the right length for it."""

    model: MLP
    inputs: list[float]


@st.composite
def mlps(
    draw,
    max_inputs: int = 3,
    max_layers: int = 3,
    max_width: int = 4,
    activations=ACTIVATIONS,
    weights=None,
    inputs=None,
) -> MLPCase:
    """Draws an ``MLPCase(model, inputs)``: an MLP of 1..max_layers layers with drawn weights.

    ``weights`` and ``inputs`` are strategies for the numbers (defaults:
    floats in [-1, 1] and [-2, 2]).
    """
    weights = st.floats(-1.0, 1.0) if weights is None else weights
    inputs = st.floats(-2.0, 2.0) if inputs is None else inputs
    nin = draw(st.integers(1, max_inputs))
    nouts = draw(st.lists(st.integers(1, max_width), min_size=1, max_size=max_layers))
    activation = draw(st.sampled_from(activations))
    output_activation = draw(st.sampled_from(activations))
    model = MLP(nin, nouts, activation=activation, output_activation=output_activation, seed=0)
    for p in model.parameters():
        p.data = draw(weights)
    x = draw(st.lists(inputs, min_size=nin, max_size=nin))
    return MLPCase(model, x)
