"""Training-health plots: ``plot_gradient_flow`` and ``plot_layer_stats``, from fit's diagnostics.

Both read ``history.diagnostics`` (``fit(..., diagnostics=True)``: per epoch,
per layer, the statistics of ``nn.monitor``) and draw one line per layer over
the epochs, coloured from the first layer (light) to the last (dark), so a
gradient that fades towards the input shows as a fan of lines. They return a
``matplotlib.figure.Figure`` (inline in Jupyter, ``fig.savefig(...)``) as
viz's other plots do.

``history`` is an ``nn.History`` (or a mapping with a ``diagnostics`` list),
or a dict of several, name -> History: then each run gets a panel of its own,
side by side, on one shared y axis, so runs on the same seed compare at a
glance.

Decisions where the spec is silent: gradient norms and update ratios are
drawn on a log scale, the other statistics on a linear one (dead and
saturated as percentages); a value that is None (the statistic does not
apply, such as ``dead`` of a tanh layer), zero on a log scale, or not finite
is left out of its line, and the panel's title says how many were left out.
"""

from __future__ import annotations

import math

from .plots import _field, _figure

LOG_SCALE = ("grad_norm", "update_ratio")
FRACTIONS = ("dead", "saturated")
LABELS = {
    "grad_norm": "gradient norm",
    "update_ratio": "update / parameter norm",
    "activation_mean": "activation mean",
    "activation_std": "activation std",
    "dead": "dead units",
    "saturated": "saturated outputs",
}


def plot_gradient_flow(history):
    """A Figure of each layer's gradient norm over the epochs (log scale)."""
    return _plot(history, "grad_norm", "plot_gradient_flow")


def plot_layer_stats(history, stat: str):
    """A Figure of one diagnostics statistic (``stat``) per layer over the epochs."""
    from nn.monitor import STATS

    if stat not in STATS:
        raise ValueError(f"unknown statistic {stat!r}: expected one of {', '.join(STATS)}")
    return _plot(history, stat, "plot_layer_stats")


def _runs(history, who: str) -> dict:
    """{run name: its diagnostics list}; a single history is the run named ''."""
    if isinstance(history, dict) and "diagnostics" not in history:
        if not history:
            raise ValueError(f"{who}: no histories given (an empty dict)")
        runs = {str(name): _diagnostics(h, who, f" ({name!r})") for name, h in history.items()}
    else:
        runs = {"": _diagnostics(history, who, "")}
    return runs


def _diagnostics(history, who: str, which: str) -> list:
    diagnostics = _field(history, "diagnostics", None)
    if not diagnostics:
        raise ValueError(
            f"{who}: the history{which} has no diagnostics; train with "
            "fit(..., diagnostics=True)"
        )
    return diagnostics


def _plot(history, stat: str, who: str):
    runs = _runs(history, who)
    log = stat in LOG_SCALE
    figure, axes = _figure(min(5.2 * len(runs), 15.0) + 0.9, 3.6, len(runs))
    drawn = [_panel(ax, name, diagnostics, stat, log) for ax, (name, diagnostics) in
             zip(axes, runs.items(), strict=True)]
    _legends(axes)
    if log and any(drawn):
        low = min(lo for lo, _ in filter(None, drawn))
        high = max(hi for _, hi in filter(None, drawn))
        for ax in axes:
            ax.set_yscale("log")
            ax.set_ylim(low / 2, high * 2)  # one shared scale: runs compare by eye
    elif any(drawn):
        low = min(lo for lo, _ in filter(None, drawn))
        high = max(hi for _, hi in filter(None, drawn))
        pad = (high - low) * 0.05 or 0.05
        for ax in axes:
            ax.set_ylim(low - pad, high + pad)
    if stat in FRACTIONS:
        from matplotlib.ticker import PercentFormatter

        for ax in axes:
            ax.set_ylim(-0.03, 1.03)
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    for ax in axes[1:]:
        ax.set_ylabel("")
    if len(runs) > 1 or next(iter(runs)):
        figure.suptitle(LABELS[stat] + (" (log scale)" if log else "") + " per layer",
                        fontsize=11, x=0.01, ha="left")
    return figure


def _panel(ax, name: str, diagnostics: list, stat: str, log: bool):
    """Draws one run; returns the (low, high) of what it drew, or None."""
    from matplotlib import colormaps

    layers = []
    for record in diagnostics:
        for layer, stats in record.items():
            if layer not in layers and stats.get(stat) is not None:
                layers.append(layer)
    epochs = list(range(1, len(diagnostics) + 1))
    marker = "o" if len(epochs) <= 30 else None
    shades = colormaps["viridis"]
    left_out, drawn = 0, []
    for i, layer in enumerate(layers):
        values = []
        for record in diagnostics:
            value = (record.get(layer) or {}).get(stat)
            ok = value is not None and math.isfinite(value) and (value > 0 or not log)
            left_out += value is not None and not ok
            values.append(value if ok else math.nan)
        drawn.extend(v for v in values if not math.isnan(v))
        colour = shades(0.85 - 0.8 * i / max(len(layers) - 1, 1))  # first light, last dark
        ax.plot(epochs, values, color=colour, marker=marker, markersize=3, linewidth=1.8,
                label=layer or "(model)")
    # one run: the statistic is the title; several: each panel is titled by its run
    title = name or LABELS[stat] + (" (log scale)" if log else "") + " per layer"
    if left_out:
        title += f" ({left_out} not drawn: {'0 or ' if log else ''}not finite)"
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_xlabel("epoch")
    ax.set_ylabel(LABELS[stat])
    ax.xaxis.get_major_locator().set_params(integer=True)
    if not layers:
        ax.text(0.5, 0.5, f"no layer has {stat}\n({_applies(stat)})", ha="center",
                va="center", transform=ax.transAxes, color="#666666")
        return None
    return (min(drawn), max(drawn)) if drawn else None


def _legends(axes) -> None:
    """Layer names beside the plot, not over the lines: once, right of the last panel, when
    every panel has the same layers; else right of each panel."""
    labels = [tuple(line.get_label() for line in ax.get_lines()) for ax in axes]
    shared = len(set(labels)) == 1
    for ax, names in zip(axes, labels, strict=True):
        if names and (not shared or ax is axes[-1]):
            ax.legend(frameon=False, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5),
                      ncol=2 if len(names) > 12 else 1)


def _applies(stat: str) -> str:
    return {
        "dead": "it applies to relu layers",
        "saturated": "it applies to tanh and sigmoid layers",
        "grad_norm": "it applies to layers with parameters",
        "update_ratio": "it applies to layers with parameters",
    }.get(stat, "no layer reported activations")
