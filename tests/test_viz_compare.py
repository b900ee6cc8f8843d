"""viz.compare: several runs overlaid, one colour per run, refusing what it cannot draw."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

import nn  # noqa: E402
import viz  # noqa: E402


def history(loss, val_loss=(), metric=(), metric_name="accuracy"):
    return nn.History(loss=list(loss), val_loss=list(val_loss), metric=list(metric),
                      val_metric=list(metric), metric_name=metric_name)


def test_runs_share_a_colour_across_panels_and_are_named_with_their_final_loss():
    runs = {"sgd": history([1.0, 0.8, 0.7], [1.1, 0.9, 0.75], [0.5, 0.6, 0.7]),
            "adam": history([1.0, 0.4, 0.2], [1.0, 0.5, 0.3], [0.5, 0.8, 0.9])}
    figure = viz.compare(runs)
    loss_ax, metric_ax = figure.axes
    assert metric_ax.get_ylabel() == "accuracy"
    lines = loss_ax.get_lines()
    assert len(lines) == 4  # train and validation per run
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    assert lines[1].get_linestyle() == "--"
    labels = [text.get_text() for text in loss_ax.get_legend().get_texts()]
    assert labels == ["sgd (0.75)", "adam (0.3)"]
    assert [line.get_color() for line in metric_ax.get_lines()][::2] == [
        lines[0].get_color(), lines[2].get_color()]


def test_metric_panel_only_when_every_run_has_the_same_metric():
    runs = {"a": history([1.0, 0.5]), "b": history([1.0, 0.6], metric=[0.5, 0.6])}
    assert len(viz.compare(runs).axes) == 1
    runs = {"a": history([1.0, 0.5], metric=[0.5, 0.6], metric_name="r2"),
            "b": history([1.0, 0.6], metric=[0.5, 0.6])}
    assert len(viz.compare(runs).axes) == 1


def test_wide_losses_get_a_log_axis():
    figure = viz.compare({"a": history([100.0, 1.0, 0.1]), "b": history([1.0, 0.9, 0.8])})
    assert figure.axes[0].get_yscale() == "log"


@pytest.mark.parametrize(("given", "reason"), [({}, "non-empty dict"), ([1], "non-empty dict"),
                                               ({"a": history([])}, "'a' has no epochs")])
def test_bad_input_is_named(given, reason):
    with pytest.raises(ValueError, match=reason):
        viz.compare(given)


def test_real_runs_on_one_seed_compare_optimisers():
    X, y = nn.data.moons(40, noise=0.2, seed=0)
    runs = {name: nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, loss="bce_with_logits",
                         optimizer=name, epochs=5, validation=0.25, seed=0, progress=False)
            for name in ("sgd", "adam")}
    figure = viz.compare(runs)
    assert figure._repr_png_().startswith(b"\x89PNG")
