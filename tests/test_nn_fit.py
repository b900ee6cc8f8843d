"""fit(): batching, metrics, validation, early stopping, callbacks, divergence, Ctrl-C, progress."""

import numpy as np
import pytest

import nn
from nn import MLP, data, fit


def moons_model():
    return MLP(2, [8, 1], seed=0)


def test_full_batch_training_records_every_epoch_and_learns():
    X, y = data.moons(60, noise=0.1, seed=0)
    model = moons_model()
    history = fit(model, X, y, loss="hinge", lr=0.2, epochs=40, progress=False)
    assert history.epochs == 40 == len(history.metric) == len(history.seconds)
    assert history.val_loss == [] and history.val_metric == []
    assert history.metric_name == "accuracy"
    assert history.loss[-1] < history.loss[0]
    assert history.metric[-1] > 0.8


@pytest.mark.parametrize(("batch_size", "steps_per_epoch"), [(None, 1), (8, 3), (1, 20)])
def test_batch_size_chooses_full_mini_batch_or_stochastic(batch_size, steps_per_epoch):
    X, y = data.moons(20, seed=1)
    model = moons_model()
    optimizer = nn.SGD(model.parameters(), lr=0.05)
    fit(
        model,
        X,
        y,
        loss="hinge",
        optimizer=optimizer,
        epochs=2,
        batch_size=batch_size,
        progress=False,
    )
    assert optimizer.steps == 2 * steps_per_epoch


def test_epoch_loss_is_the_size_weighted_mean_of_batch_losses():
    X, y = data.moons(10, seed=2)
    model = moons_model()
    before = model.state_dict()
    history = fit(model, X, y, loss="mse", lr=0.0, epochs=1, batch_size=4, progress=False)
    model.load_state_dict(before)
    full = nn.mse_loss([model(list(row)) for row in X], y).data
    assert history.loss[0] == pytest.approx(full)  # lr 0: every batch sees the same weights


def test_validation_pairs_and_fraction_fill_val_lists():
    X, y = data.moons(40, seed=3)
    X_val, y_val = data.moons(10, seed=4)
    history = fit(
        moons_model(), X, y, loss="hinge", epochs=3, validation=(X_val, y_val), progress=False
    )
    assert len(history.val_loss) == len(history.val_metric) == 3
    history = fit(moons_model(), X, y, loss="hinge", epochs=3, validation=0.25, progress=False)
    assert len(history.val_loss) == 3 and all(0.0 <= m <= 1.0 for m in history.val_metric)


def test_early_stopping_stops_and_restores_the_best_parameters():
    X, y = data.moons(40, seed=5)
    # Validation labels are flipped: the better the model learns, the worse validation gets.
    states = []
    model = moons_model()
    history = fit(
        model,
        X,
        y,
        loss="hinge",
        lr=0.3,
        epochs=50,
        validation=(X, 1 - y),
        early_stopping=3,
        callbacks=[lambda epoch, h: states.append(model.state_dict())],
        progress=False,
    )
    assert history.stopped_early
    best = history.best_epoch
    assert history.epochs == best + 3
    assert history.val_loss[best - 1] == min(history.val_loss)
    assert model.state_dict() == states[best - 1]


def test_evaluate_reports_loss_and_metric_without_changing_the_model():
    X, y = data.moons(30, seed=12)
    model = moons_model()
    fit(model, X, y, loss="hinge", lr=0.2, epochs=20, progress=False)
    before = model.state_dict()
    scores = nn.evaluate(model, X, y, loss="hinge")
    assert list(scores) == ["loss", "accuracy"]
    expected = nn.hinge_loss([model(list(row)) for row in X], y * 2 - 1).data
    assert scores["loss"] == pytest.approx(expected)
    right = sum(
        (model(list(row)).data > 0) == (label == 1) for row, label in zip(X, y, strict=True)
    )
    assert scores["accuracy"] == right / len(y)
    assert model.state_dict() == before


def test_callback_returning_true_stops_training():
    X, y = data.moons(20, seed=6)
    seen = []

    def stop_at_three(epoch, history):
        seen.append((epoch, history.epochs))
        return epoch == 3

    history = fit(
        moons_model(), X, y, loss="hinge", epochs=10, callbacks=[stop_at_three], progress=False
    )
    assert history.epochs == 3 and seen == [(1, 1), (2, 2), (3, 3)]


def test_diverging_loss_raises_naming_epoch_step_and_learning_rate():
    X, y = data.house_prices(30, seed=0)  # unscaled features: lr 1.0 explodes
    with pytest.raises(FloatingPointError, match=r"epoch \d+, step \d+.*smaller learning rate"):
        fit(
            MLP(2, [1], seed=0),
            X,
            y,
            loss="mse",
            lr=1.0,
            epochs=50,
            batch_size=10,
            progress=False,
        )


def test_ctrl_c_returns_history_so_far_and_model_stays_usable():
    X, y = data.moons(20, seed=7)
    model = moons_model()
    calls = []

    def interrupting_loss(outputs, targets):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return nn.hinge_loss(outputs, np.where(targets > 0, 1.0, -1.0))

    history = fit(model, X, y, loss=interrupting_loss, epochs=10, batch_size=10, progress=False)
    assert history.interrupted and history.epochs == 1
    assert history.metric == [] and history.metric_name is None
    assert all(p.grad == 0.0 for p in model.parameters())
    assert np.isfinite(model([0.1, 0.2]).data)


def standardized_house_prices():
    X, y = data.house_prices(60, seed=1)
    return data.standardize(X)[0], (y - y.mean()) / y.std()


def standardized_blobs():
    X, y = data.blobs(60, centers=3, seed=2)
    return data.standardize(X)[0], y


@pytest.mark.parametrize(
    ("make_data", "loss", "nout", "metric_name", "least"),
    [
        (standardized_house_prices, "mse", 1, "r2", 0.8),
        (standardized_blobs, "cross_entropy", 3, "accuracy", 0.9),
    ],
)
def test_metric_follows_the_loss_and_training_reaches_it(make_data, loss, nout, metric_name, least):
    X, y = make_data()
    model = MLP(2, [8, nout], seed=1)
    history = fit(model, X, y, loss=loss, optimizer="adam", lr=0.05, epochs=40, progress=False)
    assert history.metric_name == metric_name and history.metric[-1] > least


def test_fit_restores_the_model_mode_and_trains_with_dropout():
    X, y = data.moons(20, seed=8)
    model = MLP(2, [8, 1], dropout=0.2, seed=0).eval()
    fit(model, X, y, loss="hinge", epochs=2, progress=False)
    assert not model.training


def test_progress_bar_shows_only_when_asked(capsys):
    X, y = data.moons(10, seed=9)
    fit(moons_model(), X, y, loss="hinge", epochs=2, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    fit(moons_model(), X, y, loss="hinge", epochs=2, progress=True)
    assert "2/2" in capsys.readouterr().err


def test_bad_arguments_name_the_problem():
    X, y = data.moons(10, seed=10)
    with pytest.raises(ValueError, match="unknown loss 'l2'"):
        fit(moons_model(), X, y, loss="l2", progress=False)
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        fit(moons_model(), X, y, optimizer="rmsprop", progress=False)
    with pytest.raises(ValueError, match="X has 10 rows but y has 3"):
        fit(moons_model(), X, y[:3], progress=False)
    with pytest.raises(ValueError, match="validation fraction"):
        fit(moons_model(), X, y, validation=1.5, progress=False)


def test_history_as_dict_has_one_row_per_epoch():
    X, y = data.moons(10, seed=11)
    columns = fit(
        moons_model(), X, y, loss="hinge", epochs=3, validation=0.2, progress=False
    ).as_dict()
    assert list(columns) == ["epoch", "loss", "metric", "val_loss", "val_metric", "seconds"]
    assert all(len(column) == 3 for column in columns.values())


def test_progress_bar_works_in_a_jupyter_kernel():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.v4.new_notebook()
    source = (
        "import nn\n"
        "X, y = nn.data.moons(20, seed=0)\n"
        "print(nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, loss='hinge', epochs=3))"
    )
    notebook.cells = [nbformat.v4.new_code_cell(source)]
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = notebook.cells[0].outputs
    shown = "".join(o.get("text", "") for o in outputs) + str([o.get("data") for o in outputs])
    assert "History(3 epochs" in shown
    assert "3/3" in shown
    assert "Warning" not in shown and all(o.output_type != "error" for o in outputs)


def test_accuracy_reads_outputs_the_way_the_loss_does():
    from nn.train import accuracy

    assert accuracy([[0.9, 0.2], [0.6, 0.7]], [[1, 1], [1, 0]], "bce") == 0.5
    assert accuracy([0.3, -0.1], [1, 0], "bce_with_logits") == 1.0
    assert accuracy([0.3, -0.1], [-1, -1], "hinge") == 0.5
    assert accuracy([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0]], [1, 2], "cross_entropy") == 0.5


@pytest.mark.parametrize("penalty", ["l1", "l2"])
def test_penalties_shrink_the_weights(penalty):
    X, y = data.moons(30, seed=13)
    norms = {}
    for strength in (0.0, 0.1):
        model = moons_model()
        fit(model, X, y, loss="hinge", lr=0.1, epochs=30, progress=False, **{penalty: strength})
        norms[strength] = sum(abs(p.data) for p in model.parameters())
    assert norms[0.1] < 0.8 * norms[0.0]


def test_snapshots_hold_the_parameters_before_training_and_after_each_epoch():
    X, y = data.moons(30, seed=8)
    model = moons_model()
    before = model.state_dict()
    after_epoch = []
    history = fit(model, X, y, loss="bce_with_logits", optimizer="adam", lr=0.05, epochs=4,
                  batch_size=10, snapshots=True, seed=0, progress=False,
                  callbacks=[lambda epoch, h: after_epoch.append(model.state_dict())])
    assert history.snapshots[0] == before
    assert history.snapshots[1:] == after_epoch
    assert history.snapshots[-1] == model.state_dict()
    assert history.loss_name == "bce_with_logits"
    # Each snapshot is a copy: training on does not change it.
    assert history.snapshots[1] != history.snapshots[2]


def test_snapshots_are_off_by_default_and_cover_every_epoch_with_early_stopping():
    X, y = data.moons(40, seed=5)
    assert fit(moons_model(), X, y, loss="hinge", epochs=2, progress=False).snapshots == []
    model = moons_model()
    history = fit(model, X, y, loss="hinge", lr=0.3, epochs=50, validation=(X, 1 - y),
                  early_stopping=3, snapshots=True, progress=False)
    assert history.stopped_early and len(history.snapshots) == history.epochs + 1
    assert model.state_dict() == history.snapshots[history.best_epoch]


def test_snapshots_must_be_a_bool_and_need_a_module():
    X, y = data.moons(10, seed=1)
    with pytest.raises(TypeError, match="snapshots must be True or False"):
        fit(moons_model(), X, y, epochs=1, snapshots="yes", progress=False)

    class Bare:  # micrograd's style: a callable with parameters(), no state_dict
        def __init__(self):
            self.inner = moons_model()

        def __call__(self, x):
            return self.inner(x)

        def parameters(self):
            return self.inner.parameters()

    with pytest.raises(TypeError, match=r"state_dict\(\)"):
        fit(Bare(), X, y, epochs=1, snapshots=True, progress=False)
    fit(Bare(), X, y, epochs=1, progress=False)  # without snapshots it trains


def test_a_scalar_training_step_never_has_the_collector_scan_its_graph():
    # A step's graph has no reference cycle: reference counting frees it. The step
    # raises the collector's threshold while the graph lives and puts it back only
    # once the graph is gone, so no collection ever walks the graph's nodes.
    import gc

    from nn.losses import hinge_loss
    from nn.train import ScalarEngine

    X, y = data.moons(100, seed=0)
    model = MLP(2, [16, 16, 1], seed=0)
    engine = ScalarEngine(model, hinge_loss, model.parameters(), l2=1e-4)
    rows, targets = X.tolist(), (2 * y - 1).tolist()
    young = []  # objects the collector would walk, at each collection's start

    def record(phase, info):
        if phase == "start" and info["generation"] == 0:
            young.append(len(gc.get_objects(generation=0)))

    thresholds = gc.get_threshold()
    gc.collect()
    gc.callbacks.append(record)
    try:
        step = engine.train_step(rows, targets)
    finally:
        gc.callbacks.remove(record)
    assert max(young, default=0) < 1_000  # the graph: about 11,000 nodes
    assert gc.get_threshold() == thresholds
    assert step.loss > 0 and any(p.grad for p in model.parameters())
