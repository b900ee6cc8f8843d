"""nn.tune: the three strategies on Optuna, pruning, failures, storages, workers, the result."""

import csv
import json
import signal
from collections import Counter

import numpy as np
import pytest

import nn
from nn import data, space
from nn.tune import StorageError

optuna = pytest.importorskip("optuna")

X, Y = data.moons(60, noise=0.2, seed=0)
SMALL = {"hidden": [4], "epochs": 4, "progress": False}  # a trial takes a few milliseconds


def key(params):
    return json.dumps(params, sort_keys=True)


# -- spaces: bad input is named -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"learning_rate": [0.1]}, "unknown parameter 'learning_rate'"),
        ({"lr": []}, "at least one value"),
        ({"lr": {"uniform": [0.3, 0.1]}}, "low < high"),
        ({"lr": {"loguniform": [0.0, 0.1]}}, "above 0"),
        ({"lr": {"loguniform": [1e-3, float("inf")]}}, "finite"),
        ({"epochs": {"integer": [1.5, 3]}}, "int bounds"),
        ({"epochs": {"integer": [5, 2]}}, "low <= high"),
        ({"lr": 0.1}, "as a keyword"),
        ({"lr": {"normal": [0, 1]}}, "unknown range 'normal'"),
        ({"lr": [0.1, -0.1]}, "lr=-0.1 must be a positive number"),
        ({"dropout": {"uniform": [0.0, 1.0]}}, "dropout=1.0 must be a probability"),
        ({"hidden": [[8], [0]]}, "hidden=[0]"),
        ({"activation": ["relu", "swish"]}, "activation='swish'"),
        ({"optimizer": ["adam", "lbfgs"]}, "optimizer='lbfgs'"),
        ({"lr": [0.1, 0.1]}, "more than once"),
        ({}, "space is empty"),
    ],
)
def test_bad_space_raises_value_error_naming_the_problem(given, named):
    with pytest.raises(ValueError) as raised:
        nn.tune(X, Y, given, **SMALL)
    assert named in str(raised.value)


def test_space_constructors_name_their_bad_bounds():
    with pytest.raises(ValueError, match=r"uniform needs low < high, got \(1, 1\)"):
        space.uniform(1, 1)
    with pytest.raises(ValueError, match="finite"):
        space.uniform(float("nan"), 1)
    with pytest.raises(ValueError, match="above 0"):
        space.loguniform(-1, 1)
    with pytest.raises(TypeError, match="list of values"):
        space.choice("relu")
    with pytest.raises(ValueError, match="at least one value"):
        space.choice([])


def test_grid_refuses_a_continuous_parameter_naming_it():
    with pytest.raises(ValueError, match="'lr' is loguniform"):
        nn.tune(X, Y, {"lr": space.loguniform(1e-3, 0.1), "hidden": [[4]]},
                strategy="grid", progress=False, epochs=2)


def test_unknown_fixed_argument_and_a_parameter_given_twice_are_refused():
    with pytest.raises(ValueError, match="unknown argument momentun=0.9"):
        nn.tune(X, Y, {"lr": [0.1]}, momentun=0.9, **SMALL)
    with pytest.raises(ValueError, match="lr is both in the space and fixed"):
        nn.tune(X, Y, {"lr": [0.1]}, lr=0.2, **SMALL)
    with pytest.raises(ValueError, match="unknown strategy 'bayesian'"):
        nn.tune(X, Y, {"lr": [0.1]}, strategy="bayesian", **SMALL)
    with pytest.raises(ValueError, match="trials must be a positive int"):
        nn.tune(X, Y, {"lr": [0.1]}, trials=0, **SMALL)


@pytest.mark.parametrize(
    ("data_and_arguments", "named"),
    [
        ((X, Y[:10], {}), "one row per target"),
        ((X[:0], Y[:0], {}), "at least 2"),
        ((np.where(X > 1, np.nan, X), Y, {}), "X holds nan"),
        ((X, np.where(Y == 1, np.inf, 0.5), {}), "y holds nan or inf"),
        ((X, np.zeros(len(Y), dtype=int), {}), "a single class"),
        ((X, Y, {"loss": "focal"}), "unknown loss 'focal'"),
        ((X, Y, {"output_activation": "softplus"}), "output_activation='softplus'"),
        ((X, Y, {"early_stopping": 0}), "early_stopping must be a positive int"),
        ((X, Y, {"validation": 1.5}), "validation must be a fraction in (0, 1)"),
        ((X, Y, {"validation": (X[:5], np.full(5, 7))}), "y_val has labels that y lacks: [7]"),
        ((X, Y, {"validation": (X[:5, :1], Y[:5])}), "rows of 2 features"),
        ((X, Y, {"strategy": "grid", "hidden": [4], "epochs": 1}), None),  # the one that works
    ],
)
def test_bad_data_and_arguments_are_named_before_any_study_is_made(tmp_path, data_and_arguments,
                                                                   named):
    X_, y_, arguments = data_and_arguments
    storage = f"sqlite:///{tmp_path / 'attacks.db'}"
    arguments = {"epochs": 1, "progress": False, **arguments}
    if named is None:
        assert len(nn.tune(X_, y_, {"lr": [0.1]}, storage=storage, **arguments).trials) == 1
        return
    with pytest.raises((ValueError, TypeError)) as raised:
        nn.tune(X_, y_, {"lr": [0.1]}, storage=storage, **arguments)
    assert named in str(raised.value)
    assert not (tmp_path / "attacks.db").exists()  # nothing was written


def test_norm_is_searched_and_a_batch_of_one_row_fails_that_trial_only():
    result = nn.tune(X, Y, {"norm": [None, "layer", "batch"], "batch_size": [None, 47]},
                     strategy="grid", seed=0, prune=False, **SMALL)
    states = {(t.params["norm"], t.params["batch_size"]): t for t in result.trials}
    assert len(states) == 6
    # 48 training rows in batches of 47 leave one row: batch norm cannot normalise it.
    assert states[("batch", 47)].state == "failed"
    assert "BatchTooSmallError" in states[("batch", 47)].reason
    assert {t.state for key, t in states.items() if key != ("batch", 47)} == {"complete"}
    model, _ = result.train(states[("layer", None)].number)
    assert model.layers[0].norm is not None


# -- strategies ------------------------------------------------------------------------------


def test_grid_runs_every_combination_once_and_then_nothing_more(tmp_path):
    grid = {"lr": [0.01, 0.1], "hidden": [[4], [2, 2]], "activation": ["relu", "tanh"]}
    storage = f"sqlite:///{tmp_path / 'grid.db'}"
    first = nn.tune(X, Y, grid, strategy="grid", trials=5, storage=storage, seed=0,
                    epochs=3, progress=False)
    assert len(first.trials) == 5
    second = nn.tune(X, Y, grid, strategy="grid", trials=50, storage=storage, epochs=3,
                     progress=False)
    ran = Counter(key(t.params) for t in second.trials)
    assert len(ran) == 8 and set(ran.values()) == {1}
    assert "the grid of 8 is complete" in str(second)
    third = nn.tune(X, Y, grid, strategy="grid", trials=50, storage=storage, epochs=3,
                    progress=False)
    assert len(third.trials) == 8


def test_random_search_is_reproducible_from_the_seed():
    lr = {"lr": space.loguniform(1e-3, 0.3), "batch_size": [None, 16]}
    one = nn.tune(X, Y, lr, strategy="random", trials=4, seed=3, **SMALL)
    two = nn.tune(X, Y, lr, strategy="random", trials=4, seed=3, **SMALL)
    assert [t.params for t in one.trials] == [t.params for t in two.trials]
    assert [t.value for t in one.trials] == [t.value for t in two.trials]
    other = nn.tune(X, Y, lr, strategy="random", trials=4, seed=4, **SMALL)
    assert [t.params for t in other.trials] != [t.params for t in one.trials]


def test_bayes_uses_tpe_and_finds_a_better_rate_than_its_worst_trial():
    result = nn.tune(X, Y, {"lr": space.loguniform(1e-4, 0.5)}, strategy="bayes", trials=12,
                     seed=0, hidden=[8], epochs=10, progress=False)
    assert len(result.trials) == 12
    values = [t.value for t in result.trials if t.state == "complete"]
    assert result.best_value == min(values) < max(values)


def test_every_trial_is_reproducible_from_its_record_and_best_model_is_the_best_trial():
    X_val, y_val = data.moons(30, noise=0.2, seed=1)
    result = nn.tune(X, Y, {"lr": [0.03, 0.1], "dropout": [0.0, 0.2]}, strategy="grid",
                     validation=(X_val, y_val), prune=False, seed=5, **SMALL)
    for trial in result.trials:
        _, history = result.train(trial.number)
        assert history.val_loss[-1] == trial.value  # exactly: same seed, same arithmetic
    measured = nn.evaluate(result.best_model, X_val, y_val, loss="bce_with_logits")
    assert measured["loss"] == pytest.approx(result.best_value, rel=1e-12)
    assert result.best_params == result.best_trial.params


def test_engine_trains_every_trial_and_the_retrained_models():
    scalar = nn.tune(X, Y, {"lr": [0.1, 0.3]}, strategy="grid", seed=2, engine="scalar",
                     **SMALL)
    taped = nn.tune(X, Y, {"lr": [0.1, 0.3]}, strategy="grid", seed=2, engine="tape", **SMALL)
    # the two engines agree (fit's tolerance), so the studies compare
    for one, other in zip(scalar.trials, taped.trials, strict=True):
        assert one.value == pytest.approx(other.value, rel=1e-9)
    assert scalar.train(0)[1].engine == "scalar"
    assert taped.train(0)[1].engine == "tape"


def test_engine_tape_fails_the_trials_it_cannot_train_naming_why_and_a_bad_engine_is_named():
    # batch norm couples a batch's rows: fit(engine="tape") refuses it; the others run
    result = nn.tune(X, Y, {"norm": [None, "batch"]}, strategy="grid", engine="tape", **SMALL)
    states = {trial.params["norm"]: trial for trial in result.trials}
    assert states[None].state == "complete"
    assert states["batch"].state == "failed"
    assert "engine='tape' cannot train this model: batch norm" in states["batch"].reason
    with pytest.raises(ValueError, match="engine must be one of 'auto', 'tape', 'scalar', "
                                         "got 'gpu'"):
        nn.tune(X, Y, {"lr": [0.1]}, engine="gpu", **SMALL)


def test_string_labels_are_classes_and_regression_targets_get_mse():
    labels = np.where(Y == 1, "inner", "outer")
    result = nn.tune(X, labels, {"lr": [0.1]}, strategy="grid", **SMALL)
    assert list(result.classes) == ["inner", "outer"] and result.metric_name == "accuracy"
    Xh, yh = data.house_prices(40, seed=0)
    Xh = (Xh - Xh.mean(0)) / Xh.std(0)
    result = nn.tune(Xh, (yh - yh.mean()) / yh.std(), {"lr": [0.01]}, strategy="grid", **SMALL)
    assert result.classes is None and result.metric_name == "r2"


# -- pruning and failures ----------------------------------------------------------------------


def test_pruning_stops_trials_worse_than_the_median_and_prune_false_stops_none():
    rates = {"lr": space.loguniform(1e-4, 0.3)}
    pruned = nn.tune(X, Y, rates, strategy="random", trials=14, seed=1, hidden=[4], epochs=12,
                     optimizer="sgd", progress=False)
    stopped = [t for t in pruned.trials if t.state == "pruned"]
    assert stopped
    for t in stopped:
        assert t.epochs < 12 and len(t.curve) == t.epochs and "pruned at epoch" in t.reason
        assert t.value == t.curve[-1]
    kept = nn.tune(X, Y, rates, strategy="random", trials=14, seed=1, hidden=[4], epochs=12,
                   optimizer="sgd", prune=False, progress=False)
    assert {t.state for t in kept.trials} == {"complete"}


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_a_diverging_trial_is_recorded_failed_with_its_reason_and_the_search_goes_on():
    Xh, yh = data.house_prices(40, seed=0)  # raw prices: a large rate overflows at once
    result = nn.tune(Xh, yh, {"lr": [10.0, 1e-9]}, strategy="grid", optimizer="sgd",
                     activation="linear", hidden=[4], epochs=10, progress=False)
    states = {t.params["lr"]: t for t in result.trials}
    assert states[10.0].state == "failed" and "FloatingPointError" in states[10.0].reason
    assert "diverged" in states[10.0].reason
    assert states[1e-9].state == "complete" and result.best_params == {"lr": 1e-9}


def test_ctrl_c_keeps_the_finished_trials_and_restores_the_interrupt_handler():
    calls = [0]

    def loss(outputs, targets):  # 2 calls an epoch: the third trial stops in its first
        calls[0] += 1
        if calls[0] == 17:
            raise KeyboardInterrupt
        return nn.mse_loss(outputs, targets)

    handler = signal.getsignal(signal.SIGINT)
    result = nn.tune(X, Y.astype(float), {"lr": [0.01, 0.02, 0.03, 0.04]}, strategy="grid",
                     loss=loss, hidden=[4], epochs=4, progress=False, prune=False)
    assert result.interrupted and "interrupted" in repr(result)
    assert [t.state for t in result.trials] == ["complete", "complete", "failed"]
    assert result.trials[2].reason == "interrupted (Ctrl-C)"
    assert signal.getsignal(signal.SIGINT) is handler


# -- storages and workers ----------------------------------------------------------------------


def test_an_sqlite_study_resumes_by_name_and_refuses_other_settings(tmp_path):
    storage = f"sqlite:///{tmp_path / 'tune.db'}"
    rates = {"lr": space.loguniform(1e-3, 0.3)}
    first = nn.tune(X, Y, rates, strategy="random", trials=3, storage=storage, study="moons",
                    seed=2, **SMALL)
    second = nn.tune(X, Y, rates, strategy="random", trials=3, storage=storage, study="moons",
                     **SMALL)
    assert [t.number for t in second.trials] == list(range(6))
    assert [t.params for t in second.trials[:3]] == [t.params for t in first.trials]
    # Trial k's sampler is seeded by (study seed, k): resuming draws new points.
    assert len({key(t.params) for t in second.trials}) == 6
    with pytest.raises(ValueError, match="study 'moons' .* was made with space"):
        nn.tune(X, Y, {"lr": [0.1]}, strategy="random", storage=storage, study="moons", **SMALL)
    with pytest.raises(ValueError, match="was made with data"):
        nn.tune(X[:50], Y[:50], rates, strategy="random", storage=storage, study="moons",
                **SMALL)
    with pytest.raises(ValueError, match="was made with seed 2"):
        nn.tune(X, Y, rates, strategy="random", storage=storage, study="moons", seed=7,
                **SMALL)


@pytest.mark.slow
def test_a_journal_study_with_two_workers_runs_the_trials_once_each(tmp_path):
    journal = tmp_path / "tune.journal"
    grid = {"lr": [0.01, 0.03, 0.1], "hidden": [[2], [4]]}
    result = nn.tune(X, Y, grid, strategy="grid", trials=50, storage=str(journal), workers=2,
                     seed=0, epochs=3, progress=False)
    assert Counter(t.state for t in result.trials)["failed"] == 0
    ran = Counter(key(t.params) for t in result.trials if t.params)
    assert len(ran) == 6 and set(ran.values()) == {1}
    stored = optuna.load_study(study_name="chainrule", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal))))
    assert len(stored.trials) == 6
    more = nn.tune(X, Y, {"lr": space.loguniform(1e-3, 0.3)}, strategy="random", trials=5,
                   workers=2, seed=0, **SMALL)  # no storage: a temporary journal
    assert sorted(t.number for t in more.trials) == list(range(5))
    assert len({key(t.params) for t in more.trials}) == 5
    assert more.study.trials[0].number == 0  # the study outlives the temporary journal


def test_unreachable_storage_names_the_url_without_its_password():
    url = "postgresql://tuner:s3cret@127.0.0.1:1/studies"
    with pytest.raises(StorageError) as raised:
        nn.tune(X, Y, {"lr": [0.1]}, storage=url, **SMALL)
    message = str(raised.value)
    assert "postgresql://tuner:***@127.0.0.1:1/studies" in message
    assert "s3cret" not in message
    with pytest.raises(ValueError, match="SQLAlchemy URL .* or a file path ending in .journal"):
        nn.tune(X, Y, {"lr": [0.1]}, storage="tune.db", **SMALL)
    with pytest.raises(RuntimeError, match="the folder .* does not exist"):
        nn.tune(X, Y, {"lr": [0.1]}, storage="/no/such/folder/tune.journal", **SMALL)


# -- the result --------------------------------------------------------------------------------


def test_result_table_csv_html_and_plot(tmp_path):
    result = nn.tune(X, Y, {"lr": space.loguniform(1e-3, 0.3), "hidden": [[4], [2, 2]]},
                     strategy="random", trials=6, seed=0, epochs=4, progress=False)
    table = str(result)
    assert table.splitlines()[0].split()[:4] == ["trial", "val_loss", "val_accuracy", "seconds"]
    assert f"best: trial {result.best_trial.number}" in table.splitlines()[-1]
    path = tmp_path / "trials.csv"
    result.to_csv(path)
    rows = list(csv.DictReader(path.open()))
    assert [int(r["number"]) for r in rows] == [t.number for t in result.trials]
    assert {r["state"] for r in rows} <= {"complete", "pruned", "failed"}
    assert all(json.loads(r["hidden"]) in ([4], [2, 2]) for r in rows)
    assert "<table>" in result._repr_html_() and "<script" not in result._repr_html_()
    figure = result.plot()
    assert len(figure.axes) == 3
    assert figure._repr_png_().startswith(b"\x89PNG")


def test_progress_shows_one_bar_for_the_search_and_none_for_the_trials(capsys):
    nn.tune(X, Y, {"lr": [0.05, 0.1]}, strategy="grid", hidden=[4], epochs=3, progress=True)
    err = capsys.readouterr().err
    assert "tune" in err and "2/2" in err
    assert "fit" not in err.replace("tune", "")


def test_workers_need_picklable_arguments_and_a_storage_they_can_open():
    with pytest.raises(TypeError, match="must be picklable"):
        nn.tune(X, Y.astype(float), {"lr": [0.1]}, workers=2,
                loss=lambda outputs, targets: nn.mse_loss(outputs, targets), **SMALL)
    with pytest.raises(TypeError, match="storage as a URL or a journal path"):
        nn.tune(X, Y, {"lr": [0.1]}, storage=optuna.storages.InMemoryStorage(), workers=2,
                **SMALL)
    with pytest.raises(ValueError, match="workers must be a positive int"):
        nn.tune(X, Y, {"lr": [0.1]}, workers=0, **SMALL)


def test_ctrl_c_while_a_trial_is_being_recorded_lets_it_finish_then_stops(monkeypatch):
    import os
    import sys

    recipe = sys.modules["nn._recipe"]
    judged = recipe.final_value
    calls = [0]

    def judge_then_press_ctrl_c(history):  # after fit, before Optuna records the trial
        calls[0] += 1
        if calls[0] == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return judged(history)

    monkeypatch.setattr(recipe, "final_value", judge_then_press_ctrl_c)
    handler = signal.getsignal(signal.SIGINT)
    result = nn.tune(X, Y, {"lr": [0.01, 0.02, 0.03, 0.04]}, strategy="grid", prune=False,
                     **SMALL)
    assert result.interrupted
    assert [t.state for t in result.trials] == ["complete", "complete"]  # recorded, then stop
    assert signal.getsignal(signal.SIGINT) is handler
