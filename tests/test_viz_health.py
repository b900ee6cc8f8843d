"""viz.health: plot_gradient_flow and plot_layer_stats read fit's diagnostics (Agg backend)."""

import math

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

import nn  # noqa: E402
import viz  # noqa: E402
from nn.monitor import STATS  # noqa: E402


def record(grad_norms, dead=None):
    """One epoch of diagnostics for layers named layers.0, layers.1, ..."""
    return {
        f"layers.{i}": {"grad_norm": g, "update_ratio": None if g is None else g / 100,
                        "activation_mean": 0.5, "activation_std": 0.1 * (i + 1),
                        "dead": dead, "saturated": None}
        for i, g in enumerate(grad_norms)
    }


def history(rows, dead=None):
    h = nn.History()
    h.diagnostics = [record(row, dead) for row in rows]
    h.loss = [1.0] * len(rows)
    return h


def lines(ax):
    return {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}


def test_gradient_flow_draws_each_layers_norm_over_the_epochs_on_a_log_scale():
    h = history([[1e-4, 1e-2, 0.5], [2e-4, 3e-2, 0.4], [1e-4, 2e-2, 0.6]])
    figure = viz.plot_gradient_flow(h)
    (ax,) = figure.axes
    assert ax.get_yscale() == "log"
    assert lines(ax) == {"layers.0": [1e-4, 2e-4, 1e-4], "layers.1": [1e-2, 3e-2, 2e-2],
                         "layers.2": [0.5, 0.4, 0.6]}
    low, high = ax.get_ylim()
    assert low <= 1e-4 and high >= 0.6
    assert "gradient norm (log scale) per layer" in ax.get_title(loc="left")
    first, last = ax.get_lines()[0].get_color(), ax.get_lines()[-1].get_color()
    assert sum(first[:3]) > sum(last[:3])  # the first layer light, the last dark


def test_several_runs_are_side_by_side_on_one_scale():
    runs = {"sigmoid": history([[1e-5, 0.1]] * 3), "relu": history([[0.2, 0.3]] * 3)}
    figure = viz.plot_gradient_flow(runs)
    assert len(figure.axes) == 2
    assert [ax.get_title(loc="left") for ax in figure.axes] == ["sigmoid", "relu"]
    assert figure.get_suptitle() == "gradient norm (log scale) per layer"
    assert figure.axes[0].get_ylim() == figure.axes[1].get_ylim()
    assert figure.axes[1].get_ylim()[0] <= 1e-5


def test_values_that_cannot_be_drawn_are_left_out_and_said_so():
    h = history([[0.1, math.inf], [0.0, 0.2], [None, 0.3]])
    (ax,) = viz.plot_gradient_flow(h).axes
    drawn = lines(ax)
    assert math.isnan(drawn["layers.1"][0]) and math.isnan(drawn["layers.0"][1])
    assert "(2 not drawn: 0 or not finite)" in ax.get_title(loc="left")


@pytest.mark.parametrize("stat", STATS)
def test_layer_stats_draws_any_diagnostics_field(stat):
    h = history([[0.1, 0.2], [0.3, 0.4]], dead=0.25)
    (ax,) = viz.plot_layer_stats(h, stat).axes
    drawn = lines(ax)
    if stat == "saturated":  # no layer is tanh or sigmoid here
        assert drawn == {} and "tanh and sigmoid" in ax.texts[0].get_text()
        return
    assert set(drawn) == {"layers.0", "layers.1"}
    assert ax.get_yscale() == ("log" if stat in ("grad_norm", "update_ratio") else "linear")
    assert drawn["layers.1"] == [h.diagnostics[e]["layers.1"][stat] for e in range(2)]


def test_layer_stats_shows_fractions_as_percentages():
    (ax,) = viz.plot_layer_stats(history([[0.1]] * 2, dead=0.5), "dead").axes
    assert ax.get_ylim() == (-0.03, 1.03)
    assert ax.yaxis.get_major_formatter()(0.5, 0).endswith("%")


def test_bad_calls_say_what_was_expected():
    with pytest.raises(ValueError, match="unknown statistic 'loss': expected one of grad_norm"):
        viz.plot_layer_stats(history([[0.1]]), "loss")
    with pytest.raises(ValueError, match=r"no diagnostics; train with fit\(\.\.\., diagn"):
        viz.plot_gradient_flow(nn.History(loss=[1.0]))
    with pytest.raises(ValueError, match=r"history \('b'\) has no diagnostics"):
        viz.plot_gradient_flow({"a": history([[0.1]]), "b": nn.History()})
    with pytest.raises(ValueError, match="no histories given"):
        viz.plot_gradient_flow({})


def test_a_real_fit_plots_and_saves_as_svg(tmp_path):
    X, y = nn.data.moons(30, seed=0)
    h = nn.fit(nn.MLP(2, [4, 4, 1], seed=0), X, y, loss="bce_with_logits", epochs=3,
               progress=False, diagnostics=True)
    figure = viz.plot_gradient_flow(h)
    figure.savefig(tmp_path / "gradient_flow.svg")
    assert (tmp_path / "gradient_flow.svg").read_text().count("<svg") == 1
    assert set(lines(figure.axes[0])) == {"layers.0", "layers.1", "layers.2"}
    second = viz.plot_layer_stats({"one": h, "two": h}, "dead").axes[1]
    assert second.get_title(loc="left").startswith("two")
    assert figure._repr_png_().startswith(b"\x89PNG")


def test_the_layer_names_stand_beside_the_lines_once_when_runs_share_them():
    same = viz.plot_gradient_flow({"a": history([[0.1, 0.2]]), "b": history([[0.3, 0.4]])})
    assert [ax.get_legend() is not None for ax in same.axes] == [False, True]
    legend = same.axes[1].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["layers.0", "layers.1"]
    differ = viz.plot_gradient_flow({"a": history([[0.1, 0.2]]), "b": history([[0.3]])})
    assert all(ax.get_legend() is not None for ax in differ.axes)
