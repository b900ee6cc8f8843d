"""``TuneResult.plot()``: one matplotlib Figure of a hyperparameter search.

Three panels: each trial's validation loss with the best so far (Optuna's
"optimisation history"), every trial's validation loss per epoch (pruned
trials stop early: Optuna's "intermediate values") and how much each
parameter mattered (``optuna.importance.get_param_importances``, Optuna's
default evaluator).

Optuna's own ``optuna.visualization.matplotlib`` functions draw one pyplot
figure each and switch the whole session to the ggplot style, so the panels
are drawn here instead, on a Figure made without pyplot (no window, nothing
global changed), from Optuna's numbers. nn cannot import viz (viz builds on
nn), so the few lines that make a Figure show itself in Jupyter are repeated
here.
"""

from __future__ import annotations

import io
import math
import warnings
from functools import cache

BLUE, LIGHT_BLUE, RED, GREY = "#2166ac", "#67a9cf", "#b2182b", "#9e9e9e"


@cache
def _figure_class():
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("TuneResult.plot needs matplotlib: pip install matplotlib") from error

    class SearchFigure(Figure):
        """A Figure that shows itself in Jupyter without pyplot."""

        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png")
            return buffer.getvalue()

    return SearchFigure


def plot_search(result):
    """The Figure of ``result`` (a TuneResult): history, learning curves, importances."""
    figure = _figure_class()(figsize=(13.5, 3.8), dpi=110, layout="constrained")
    axes = [figure.add_subplot(1, 3, i + 1) for i in range(3)]
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(True, color="#e6e6e6", linewidth=0.8)
        ax.set_axisbelow(True)
    _history(axes[0], result)
    _curves(axes[1], result)
    _importances(axes[2], result)
    return figure


def _history(ax, result) -> None:
    done = [t for t in result.trials if t.value is not None and math.isfinite(t.value)]
    complete = [t for t in done if t.state == "complete"]
    pruned = [t for t in done if t.state == "pruned"]
    failed = [t for t in result.trials if t.state == "failed"]
    if complete:
        ax.scatter([t.number for t in complete], [t.value for t in complete], s=22, color=BLUE,
                   zorder=3, label="complete")
        order = sorted(complete, key=lambda t: t.number)
        best, running = [], math.inf
        for t in order:
            running = min(running, t.value)
            best.append(running)
        last = max(t.number for t in result.trials)  # the line runs to the latest trial
        ax.step([t.number for t in order] + [last], best + best[-1:], where="post", color=RED,
                linewidth=1.6, label="best so far")
    if pruned:
        ax.scatter([t.number for t in pruned], [t.value for t in pruned], s=22, marker="x",
                   color=GREY, zorder=3, label="pruned (when stopped)")
    if failed:
        for t in failed:
            ax.axvline(t.number, color=RED, linewidth=0.8, linestyle=":", alpha=0.6)
        ax.plot([], [], color=RED, linewidth=0.8, linestyle=":", label="failed")
    ax.set_xlabel("trial")
    ax.set_ylabel("validation loss")
    title = "no trial finished yet" if result.best_trial is None else (
        f"best {result.best_value:.4g} at trial {result.best_trial.number}")
    ax.set_title(f"optimisation history · {title}", fontsize=10, loc="left")
    ax.xaxis.get_major_locator().set_params(integer=True)
    _log_if_wide(ax, [t.value for t in done])
    if result.trials:
        ax.legend(frameon=False, fontsize=8)


def _curves(ax, result) -> None:
    shown = [t for t in result.trials if t.curve]
    best = result.best_trial
    for t in shown:
        if best is not None and t.number == best.number:
            continue
        colour, width = (GREY, 0.8) if t.state == "pruned" else (LIGHT_BLUE, 0.9)
        ax.plot(range(1, len(t.curve) + 1), t.curve, color=colour, linewidth=width, alpha=0.8)
    if best is not None and best.curve:
        ax.plot(range(1, len(best.curve) + 1), best.curve, color=RED, linewidth=2.0,
                label=f"best (trial {best.number})")
    ax.plot([], [], color=LIGHT_BLUE, label="complete")
    if any(t.state == "pruned" for t in shown):
        ax.plot([], [], color=GREY, label="pruned")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss")
    ax.set_title("validation loss per epoch, every trial", fontsize=10, loc="left")
    _log_if_wide(ax, [v for t in shown for v in t.curve])
    ax.legend(frameon=False, fontsize=8)


def _importances(ax, result) -> None:
    importances = parameter_importances(result)
    ax.set_title("parameter importance (Optuna)", fontsize=10, loc="left")
    if not importances:
        ax.text(0.5, 0.5, "needs two complete trials\nthat differ in a parameter",
                ha="center", va="center", transform=ax.transAxes, color="#555555")
        ax.set_xticks([])
        ax.set_yticks([])
        return
    names = list(importances)[::-1]
    values = [importances[name] for name in names]
    ax.barh(names, values, color=BLUE)
    for y, value in enumerate(values):
        ax.text(value, y, f" {value:.2f}", va="center", fontsize=8)
    ax.set_xlim(0, max(values) * 1.25 or 1.0)
    ax.set_xlabel("share of the variation in validation loss")
    ax.grid(False, axis="y")


def parameter_importances(result) -> dict[str, float]:
    """{parameter: importance} from Optuna's default evaluator ({} when it cannot tell)."""
    complete = [t for t in result.trials if t.state == "complete"]
    if len(complete) < 2 or not any(len({str(t.params.get(n)) for t in complete}) > 1
                                    for n in result.space):
        return {}
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # experimental-feature notices
        try:
            return dict(optuna.importance.get_param_importances(result.study))
        except (ValueError, RuntimeError, ZeroDivisionError):
            return {}  # too few distinct trials for the evaluator


def _log_if_wide(ax, values) -> None:
    """A logarithmic axis when positive values span more than two decades."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if finite and min(finite) > 0 and max(finite) / min(finite) > 100:
        ax.set_yscale("log")
