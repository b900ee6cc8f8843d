"""``diagnose``: one forward/backward pass, read layer by layer for the usual training troubles.

    >>> from nn import MLP, data, diagnose
    >>> X, y = data.moons(100, seed=0)
    >>> print(diagnose(MLP(2, [16, 16, 1], init="he", seed=0), X, y, loss="bce_with_logits"))

``diagnose(model, X, y, loss=...)`` runs the model on (X, y) as one batch in
training mode, back-propagates the mean loss and measures each layer as
``fit(..., diagnostics=True)`` does (``nn.monitor``: gradient norm,
activation mean and deviation, dead and saturated fractions). The model is
left as it was: its parameters, their ``.grad`` and batch norm's running
statistics are restored. A ``Finding(kind, layer, message)`` is raised for
each layer past one of these thresholds:

* ``vanishing``: the layer's gradient norm is below ``VANISHING_RATIO``
  (1e-2) times the largest layer gradient norm in the network;
* ``exploding``: the gradient norm is above ``EXPLODING_NORM`` (100), or not
  finite (the loss is nan or inf);
* ``dead``: at least ``DEAD_FRACTION`` (half) of a relu layer's units are
  never positive on the given samples;
* ``saturated``: at least ``SATURATED_FRACTION`` (a quarter) of a tanh or
  sigmoid layer's outputs are in the flat tails (``|tanh| > 0.99``,
  ``sigmoid < 0.01`` or ``> 0.99``).

Why these numbers: healthy networks (He init and ReLU, or Xavier and tanh, on
standardised inputs with a loss of order 1) keep their layers' gradient
norms within a factor of about ten of each other and between about 0.01
and 10; sigmoid derivatives are at most 1/4, so a deep sigmoid network loses
about a factor of four per layer and its first layers fall below 1/100 of
the last within a few layers; unstandardised inputs (house prices in
thousands) give norms of 1e5 and more. At initialisation with He init a
relu layer has few units that are never positive (we measured up to a
fifth), and a tanh or sigmoid layer fed standardised inputs has almost no
output in the tails; an output in a tail passes on less than 2% of its
gradient, so when a quarter of them are there the layer is losing much of
its signal.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

from .monitor import Monitor, kept_buffers
from .train import ScalarEngine, _arrays, _loss, _signed

VANISHING_RATIO = 1e-2
EXPLODING_NORM = 100.0
DEAD_FRACTION = 0.5
SATURATED_FRACTION = 0.25
KINDS = ("vanishing", "exploding", "dead", "saturated")

_ADVICE = {
    "vanishing_saturating": (
        "Sigmoid and tanh pass on at most 1/4 and 1 of the gradient per layer; ReLU with He "
        "initialisation (activation='relu', init='he') or normalisation (norm='batch') "
        "usually helps."
    ),
    "vanishing": (
        "Normalisation (norm='batch' or 'layer'), another initialisation (init='he') or "
        "fewer layers usually helps."
    ),
    "exploding": (
        "A smaller learning rate, gradient clipping (fit(..., clip_grad=1.0)), standardised "
        "inputs and targets (nn.data.standardize), normalisation (norm='batch') or a smaller "
        "initialisation (init='he' or 'xavier') usually helps."
    ),
    "dead": (
        "A smaller learning rate, He initialisation (init='he'), leaky_relu, standardised "
        "inputs or normalisation (norm='batch') usually helps."
    ),
    "saturated": (
        "Standardised inputs (nn.data.standardize), Xavier initialisation (init='xavier'), "
        "normalisation (norm='batch') or ReLU usually helps."
    ),
}


_TAILS = {"tanh": "|tanh| > 0.99", "sigmoid": "sigmoid < 0.01 or > 0.99"}
_NOTHING_FOUND = (
    f"No findings: every layer's gradient norm is within 1/{1 / VANISHING_RATIO:,.0f} of the "
    f"largest and below {EXPLODING_NORM:g}, and no layer is mostly dead or saturated."
)


@dataclass(frozen=True)
class Finding:
    """One trouble found in one layer: ``kind`` in KINDS, ``layer`` its dotted name."""

    kind: str
    layer: str
    message: str  # what was measured, and what usually helps

    def __str__(self) -> str:
        return f"{self.kind} in {self.layer or 'the model'}: {self.message}"


@dataclass
class Diagnosis:
    """What ``diagnose`` measured (``layers``: {layer: statistics}) and found (``findings``)."""

    findings: list[Finding]
    layers: dict[str, dict]
    loss: float
    samples: int
    model_name: str = "model"
    thresholds: dict = field(default_factory=lambda: {
        "vanishing_ratio": VANISHING_RATIO, "exploding_norm": EXPLODING_NORM,
        "dead_fraction": DEAD_FRACTION, "saturated_fraction": SATURATED_FRACTION,
    })

    @property
    def healthy(self) -> bool:
        """True when nothing was found."""
        return not self.findings

    def kinds(self) -> set[str]:
        """The kinds of trouble found."""
        return {finding.kind for finding in self.findings}

    def _rows(self) -> list[list[str]]:
        rows = []
        for name, stats in self.layers.items():
            rows.append([
                name or "(model)",
                _number(stats["grad_norm"]),
                _number(stats["activation_mean"]),
                _number(stats["activation_std"]),
                _percent(stats["dead"]),
                _percent(stats["saturated"]),
            ])
        return rows

    def _title(self) -> str:
        return (
            f"Diagnosis of {self.model_name} on {self.samples} samples "
            f"(loss {self.loss:.4g}; one forward and backward pass in training mode)"
        )

    def __str__(self) -> str:
        header = ["layer", "grad norm", "act mean", "act std", "dead", "saturated"]
        rows = [header, *self._rows()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = [self._title()]
        for row in rows:
            lines.append("  " + "  ".join(
                cell.ljust(width) if i == 0 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            ).rstrip())
        if self.findings:
            lines.append(f"{len(self.findings)} finding{'s' if len(self.findings) > 1 else ''}:")
            lines.extend(f"- {finding}" for finding in self.findings)
        else:
            lines.append(_NOTHING_FOUND)
        return "\n".join(lines)

    def __repr__(self) -> str:
        found = ", ".join(f"{f.kind} {f.layer or '(model)'}" for f in self.findings) or "healthy"
        return f"Diagnosis({found})"

    def _repr_html_(self) -> str:
        header = ["layer", "grad norm", "act mean", "act std", "dead", "saturated"]
        flagged = {(f.layer or "(model)") for f in self.findings}
        cells = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = []
        for row in self._rows():
            style = ' style="background:#fde0dd"' if row[0] in flagged else ""
            body.append(f"<tr{style}>" + "".join(
                f"<td>{html.escape(cell)}</td>" for cell in row
            ) + "</tr>")
        if self.findings:
            items = "".join(
                f"<li><b>{html.escape(f.kind)}</b> in <code>{html.escape(f.layer or 'the model')}"
                f"</code>: {html.escape(f.message)}</li>" for f in self.findings
            )
            verdict = f"<ul>{items}</ul>"
        else:
            verdict = f"<p>{html.escape(_NOTHING_FOUND)}</p>"
        return (
            f'<div class="chainrule-diagnosis"><p>{html.escape(self._title())}</p>'
            f"<table><thead><tr>{cells}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"{verdict}</div>"
        )


def _number(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if math.isfinite(value) else str(value)


def _percent(value) -> str:
    return "-" if value is None else f"{value:.0%}"


def diagnose(model, X, y, loss="mse", l1: float = 0.0, l2: float = 0.0) -> Diagnosis:
    """Runs one forward/backward pass of ``model`` on (X, y) and reports each layer's health.

    ``loss`` is read as by ``fit`` (a name or a callable); ``l1``/``l2`` add
    the penalties fit would. Pass a sample of a large data set: the whole of X
    is one batch. The model's parameters, gradients, batch-norm running
    statistics and train/eval mode are as before afterwards (dropout, if any,
    draws its masks as in a training step).
    """
    loss_name, loss_fn = _loss(loss)
    X, y = _arrays(X, y, "X", "y")
    if loss_name == "hinge":
        y = _signed(y)
    parameters = model.parameters()
    grads = [p.grad for p in parameters]
    was_training = getattr(model, "training", True)
    monitor = Monitor(model)
    try:
        with kept_buffers(model):
            if hasattr(model, "train"):
                model.train()
            result = monitor.train_step(
                ScalarEngine(model, loss_fn, parameters, l1, l2), X.tolist(), y, last=True
            )
        layers = monitor.epoch_record()
        activations = {stats.name: stats.activation for stats in monitor.layers.values()}
    finally:
        for p, g in zip(parameters, grads, strict=True):
            p.grad = g
        if hasattr(model, "train"):
            model.train(was_training)
    for stats in layers.values():
        stats.pop("update_ratio")  # no step is taken
        if not math.isfinite(result.loss):  # not back-propagated: no gradient of this pass
            stats["grad_norm"] = None
    return Diagnosis(
        findings=findings(layers, result.loss, activations),
        layers=layers,
        loss=result.loss,
        samples=len(X),
        model_name=_model_name(model),
    )


def findings(layers: dict[str, dict], loss: float = 0.0, activations=None) -> list[Finding]:
    """The findings for per-layer statistics (as in ``history.diagnostics[epoch]``).

    ``activations`` ({layer: activation name}) only sharpens the messages.
    """
    activations = activations or {}
    found = []
    if not math.isfinite(loss):
        first = next(
            (name for name, s in layers.items()
             if s["activation_mean"] is not None and not math.isfinite(s["activation_mean"])),
            next(iter(layers), ""),
        )
        found.append(Finding(
            "exploding", first,
            f"the loss is {loss}: the forward pass left the finite range, first in the outputs "
            f"of this layer (or the data hold nan or inf). {_ADVICE['exploding']}",
        ))
    norms = {name: s["grad_norm"] for name, s in layers.items() if s["grad_norm"] is not None}
    finite = {name: g for name, g in norms.items() if math.isfinite(g)}
    largest_name = max(finite, key=finite.get, default=None)
    largest = finite.get(largest_name, 0.0)
    # only tanh and sigmoid layers have a saturated fraction
    saturating = any(s.get("saturated") is not None for s in layers.values())
    for name, stats in layers.items():
        g = norms.get(name)
        if g is not None and not math.isfinite(g):
            found.append(Finding(
                "exploding", name,
                f"the gradient norm of its parameters is {g}. {_ADVICE['exploding']}",
            ))
        elif g is not None and g > EXPLODING_NORM:
            found.append(Finding(
                "exploding", name,
                f"the gradient norm of its parameters is {g:.3g}, above {EXPLODING_NORM:g}; a "
                f"step of SGD moves them by the learning rate times that. {_ADVICE['exploding']}",
            ))
        elif g is not None and largest > 0 and g < VANISHING_RATIO * largest:
            advice = _ADVICE["vanishing_saturating" if saturating else "vanishing"]
            found.append(Finding(
                "vanishing", name,
                f"the gradient norm of its parameters is {g:.2g}, 1/{largest / g:,.0f} of the "
                f"largest ({largest_name}, {largest:.2g}; the threshold is 1/"
                f"{1 / VANISHING_RATIO:,.0f}): this layer barely learns. {advice}",
            ))
        dead = stats.get("dead")
        if dead is not None and dead >= DEAD_FRACTION:
            found.append(Finding(
                "dead", name,
                f"{dead:.0%} of its relu units were never positive on these samples (the "
                f"threshold is {DEAD_FRACTION:.0%}), so they pass no gradient back. "
                f"{_ADVICE['dead']}",
            ))
        saturated = stats.get("saturated")
        if saturated is not None and saturated >= SATURATED_FRACTION:
            tails = _TAILS.get(activations.get(name), "|tanh| > 0.99, sigmoid < 0.01 or > 0.99")
            found.append(Finding(
                "saturated", name,
                f"{saturated:.0%} of its outputs are in the flat tails ({tails}; the threshold "
                f"is {SATURATED_FRACTION:.0%}), where the derivative is below 0.02. "
                f"{_ADVICE['saturated']}",
            ))
    return found


def _model_name(model) -> str:
    name = getattr(model, "_name", None)
    return name if isinstance(name, str) else type(model).__name__


__all__ = [
    "DEAD_FRACTION",
    "EXPLODING_NORM",
    "KINDS",
    "SATURATED_FRACTION",
    "VANISHING_RATIO",
    "Diagnosis",
    "Finding",
    "diagnose",
    "findings",
]
