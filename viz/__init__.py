"""viz: pictures of backpropagation.

Computation graphs with their gradients (graphviz, rendered to SVG, PNG or
PDF), the backward-pass stepper and the training player for Jupyter, network
diagrams and matplotlib plots (``viz.layers``: images, filters, feature maps
and backpropagation through time for convolutional and recurrent models).
Names are imported on first use, so ``import viz`` stays light and graphviz
or matplotlib load only when a picture is asked for.
"""

import importlib

_EXPORTS = {
    "draw_dot": "graph",
    "to_svg": "graph",
    "render": "graph",
    "GraphvizNotFoundError": "graph",
    "GraphTooLargeError": "graph",
    "render_svg": "graph",
    "draw_network": "network",
    "plot_history": "plots",
    "plot_decision_boundary": "plots",
    "plot_gradient_flow": "health",
    "plot_layer_stats": "health",
    "plot_images": "layers",
    "plot_filters": "layers",
    "plot_feature_maps": "layers",
    "plot_bptt": "layers",
    "bptt_norms": "layers",
    "compare": "compare",
    "step_through": "stepper",
    "Stepper": "stepper",
    "training_player": "player",
    "TrainingPlayer": "player",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'viz' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"viz.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
