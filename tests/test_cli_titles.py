"""Accuracy reads as a percentage in the loss plot's titles and the metrics table, as the
decision boundary gives it; after early stopping the titles name the restored epoch."""

import os

import pytest
from test_cli import run

import nn
from nn import data

os.environ.setdefault("MPLBACKEND", "Agg")


def titles(history):
    from viz import plot_history

    figure = plot_history(history)
    return [ax.get_title(loc="left") for ax in figure.axes]


def test_accuracy_titles_are_percentages():
    history = nn.History(loss=[0.5, 0.1], metric=[0.5, 1.0], metric_name="accuracy",
                         seconds=[0.1, 0.1])
    assert titles(history) == ["loss: 0.1 after 2 epochs", "accuracy: 100.0% after 2 epochs"]


def test_r2_titles_stay_numbers():
    history = nn.History(loss=[0.5], metric=[0.25], metric_name="r2", seconds=[0.1])
    assert titles(history)[1] == "r2: 0.25 after 1 epochs"


def test_after_early_stopping_the_titles_name_the_restored_epoch():
    X, y = data.moons(40, noise=0.3, seed=0)
    history = nn.fit(nn.MLP(2, [8, 1], seed=0), X, y, loss="bce_with_logits", optimizer="adam",
                     lr=0.5, epochs=60, validation=0.3, early_stopping=3, seed=0,
                     progress=False)
    assert history.stopped_early and history.best_epoch < history.epochs
    best, run_epochs = history.best_epoch, history.epochs
    loss_title, accuracy_title = titles(history)
    assert loss_title == (f"loss: {history.loss[best - 1]:.4g} at epoch {best} "
                          f"(restored; {run_epochs} epochs run)")
    assert accuracy_title.startswith(f"accuracy: {history.metric[best - 1]:.1%} at epoch {best}")


@pytest.mark.graphviz
def test_the_metrics_table_prints_accuracy_as_a_percentage(capsys, tmp_path):
    status, out, _ = run(capsys, "train", "--dataset", "xor", "--epochs", "2", "--hidden", "4",
                         "--no-progress", "--out", str(tmp_path))
    row = next(line for line in out.splitlines() if line.startswith("train "))
    assert status == 0 and row.split()[-1].endswith("%")
