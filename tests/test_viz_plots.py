"""viz.plots: plot_history and plot_decision_boundary return matplotlib Figures (Agg backend)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import autograd  # noqa: E402
import nn  # noqa: E402
from autograd import Value  # noqa: E402
from viz.plots import plot_decision_boundary, plot_history  # noqa: E402


def history(epochs=5, validation=True, metric=True):
    h = nn.History(metric_name="accuracy" if metric else None)
    for epoch in range(epochs):
        h.loss.append(1.0 / (epoch + 1))
        h.seconds.append(0.1)
        if metric:
            h.metric.append(0.5 + epoch / (2 * epochs))
        if validation:
            h.val_loss.append(1.2 / (epoch + 1))
            if metric:
                h.val_metric.append(0.45 + epoch / (2 * epochs))
    return h


def lines(ax):
    return {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}


def test_history_plots_loss_and_metric_for_train_and_validation():
    h = history()
    figure = plot_history(h)
    loss_ax, metric_ax = figure.axes
    assert lines(loss_ax) == {"train": h.loss, "validation": h.val_loss}
    assert lines(metric_ax) == {"train": h.metric, "validation": h.val_metric}
    assert metric_ax.get_ylabel() == "accuracy"
    assert list(loss_ax.get_lines()[0].get_xdata()) == [1, 2, 3, 4, 5]


def test_history_without_metric_or_validation_has_one_panel_one_line():
    figure = plot_history(history(validation=False, metric=False))
    assert len(figure.axes) == 1 and list(lines(figure.axes[0])) == ["train"]


def test_history_accepts_a_mapping_and_marks_the_best_epoch():
    figure = plot_history({"loss": [3.0, 2.0, 2.5], "val_loss": [3.1, 2.2, 2.9], "best_epoch": 2})
    assert "best epoch" in lines(figure.axes[0])


def test_history_loss_spanning_decades_gets_a_log_axis():
    figure = plot_history({"loss": [10.0, 1.0, 0.01]})
    assert figure.axes[0].get_yscale() == "log"
    assert plot_history({"loss": [2.0, 1.0]}).axes[0].get_yscale() == "linear"


def test_empty_history_raises():
    with pytest.raises(ValueError, match="no epochs"):
        plot_history(nn.History())


class Recorder:
    """A 1-output model (x0 - x1) that records whether each call records a graph."""

    training = True

    def __init__(self):
        self.grad_enabled = set()
        self.modes = []

    def eval(self):
        self.training = False

    def train(self, mode=True):
        self.training = mode

    def __call__(self, x):
        self.grad_enabled.add(autograd.is_grad_enabled())
        self.modes.append(self.training)
        return Value(x[0]) - Value(x[1])


def test_boundary_evaluates_the_grid_under_no_grad_in_eval_mode(tmp_path):
    model = Recorder()
    X = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 0.5], [-1.0, 1.0]])
    y = np.array([1, -1, 1, -1])
    figure = plot_decision_boundary(model, X, y, resolution=5)
    assert model.grad_enabled == {False}
    assert set(model.modes) == {False} and model.training is True  # restored afterwards
    assert len(model.modes) == 5 * 5 + len(X)
    assert "accuracy 100.0%" in figure.axes[0].get_title(loc="left")
    figure.savefig(tmp_path / "boundary.png")
    assert (tmp_path / "boundary.png").read_bytes().startswith(b"\x89PNG")


def test_boundary_threshold_is_half_for_a_sigmoid_output():
    model = nn.MLP(2, [1], output_activation="sigmoid", seed=0)
    neuron = model.layers[0].neurons[0]
    neuron.w[0].data, neuron.w[1].data, neuron.b.data = 4.0, 0.0, 0.0  # p > 0.5 iff x0 > 0
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.5, 3.0], [-0.5, -3.0]])
    figure = plot_decision_boundary(model, X, np.array([1, 0, 1, 0]), resolution=4)
    assert "accuracy 100.0%" in figure.axes[0].get_title(loc="left")
    wrong = plot_decision_boundary(model, X, np.array([1, 0, 1, 0]), resolution=4, threshold=0.99)
    assert "accuracy 50.0%" in wrong.axes[0].get_title(loc="left")


def test_boundary_of_a_multiclass_model_uses_argmax():
    def model(x):  # class = the quadrant-ish region: argmax of (x0, x1, -x0 - x1)
        return [Value(x[0]), Value(x[1]), Value(-x[0] - x[1])]

    X = np.array([[2.0, 0.0], [0.0, 2.0], [-2.0, -2.0], [3.0, 1.0]])
    figure = plot_decision_boundary(model, X, np.array([0, 1, 2, 0]), resolution=6)
    assert "accuracy 100.0%" in figure.axes[0].get_title(loc="left")
    labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert labels == ["class 0", "class 1", "class 2"]


def test_boundary_rejects_inputs_that_are_not_two_features():
    with pytest.raises(ValueError, match=r"shape \(n, 2\), got \(3, 3\)"):
        plot_decision_boundary(Recorder(), np.zeros((3, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="3 rows but y has 2 labels"):
        plot_decision_boundary(Recorder(), np.zeros((3, 2)), np.zeros(2))


def test_figures_display_as_png_in_a_kernel_without_a_matplotlib_backend():
    from IPython.core.formatters import DisplayFormatter  # what Jupyter calls to show a value

    data, _ = DisplayFormatter().format(plot_history(history()))
    assert data["image/png"][:8] == b"\x89PNG\r\n\x1a\n"


def point_colours(figure):
    """legend text -> the RGB of that class's points."""
    from matplotlib.colors import to_hex

    ax = figure.axes[0]
    return {c.get_label(): to_hex(c.get_facecolor()[0]) for c in ax.collections
            if c.get_label().startswith("class ")}


def test_class_colours_are_the_same_in_two_and_three_class_plots():
    def binary(x):
        return Value(x[0])

    def three(x):
        return [Value(-x[0]), Value(x[0]), Value(x[1] - 5)]

    X = np.array([[-1.0, 0.0], [1.0, 0.0], [0.5, 9.0]])
    two = point_colours(plot_decision_boundary(binary, X[:2], np.array([0, 1]), resolution=5))
    many = point_colours(plot_decision_boundary(three, X, np.array([0, 1, 2]), resolution=5))
    assert two["class 0"] == many["class 0"] and two["class 1"] == many["class 1"]


def test_labels_are_shown_as_themselves_and_scored_by_their_sorted_place():
    def model(x):  # output k scores the k-th label of 1, 2, 3
        return [Value(-x[0]), Value(1 - abs(x[0])), Value(x[0])]

    X = np.array([[-2.0, 0.0], [0.0, 0.0], [2.0, 0.0]])
    figure = plot_decision_boundary(model, X, np.array([1, 2, 3]), resolution=5)
    assert "accuracy 100.0%" in figure.axes[0].get_title(loc="left")
    assert list(point_colours(figure)) == ["class 1", "class 2", "class 3"]


def test_axes_are_numbered_from_zero_like_the_network_inputs():
    figure = plot_decision_boundary(Recorder(), np.zeros((2, 2)), np.array([0, 1]),
                                    resolution=3)
    assert figure.axes[0].get_xlabel() == "x₀" and figure.axes[0].get_ylabel() == "x₁"


def test_multiclass_regions_are_smooth_contours_not_grid_cells():
    def model(x):
        return [Value(x[0]), Value(x[1]), Value(-x[0] - x[1])]

    X = np.array([[2.0, 0.0], [0.0, 2.0], [-2.0, -2.0]])
    figure = plot_decision_boundary(model, X, np.array([0, 1, 2]), resolution=8)
    assert not figure.axes[0].images  # no nearest-neighbour picture of the grid
    filled = [c for c in figure.axes[0].collections if hasattr(c, "get_paths")]
    assert filled
