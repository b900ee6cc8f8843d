"""``chainrule tune``: the files it writes, shared studies, Ctrl-C, and bad arguments."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from test_cli import assert_usage_error, run

pytest.importorskip("optuna")

FAST = ["--epochs", "3", "--hidden", "4", "--samples", "40", "--no-progress"]


def space_file(tmp_path, space):
    path = tmp_path / "space.json"
    path.write_text(json.dumps(space))
    return str(path)


def trials_csv(folder):
    with open(folder / "trials.csv", newline="") as file:
        return list(csv.DictReader(file))


@pytest.mark.graphviz
def test_tune_prints_the_best_trials_and_writes_trials_model_and_plots(capsys, tmp_path):
    out_dir = tmp_path / "tuned"
    space = space_file(tmp_path, {"lr": {"loguniform": [0.001, 0.3]},
                                  "hidden": {"choice": [[4], [2, 2]]}})
    status, out, _ = run(capsys, "tune", "--space", space, "--trials", "4", "--strategy",
                         "random", "--out", str(out_dir), "--lr", "99", *FAST)
    assert status == 0
    assert "random search, 4 trials, study 'chainrule' in memory" in out
    assert "trial  val_loss  val_accuracy" in out and "4 trials (" in out
    rows = trials_csv(out_dir)
    assert len(rows) == 4 and {row["state"] for row in rows} <= {"complete", "pruned"}
    assert len({row["lr"] for row in rows}) == 4  # the space wins over --lr 99
    for name in ("search.svg", "model.json", "history.csv", "loss.svg", "decision_boundary.svg",
                 "training.html"):
        assert (out_dir / name).stat().st_size > 0, name
        assert str(out_dir / name) in out
    import nn

    best = min((row for row in rows if row["state"] == "complete"),
               key=lambda row: float(row["value"]))
    assert nn.MLP.load(out_dir / "model.json").nouts == [*json.loads(best["hidden"]), 1]


def test_help_lists_tune_and_its_options(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0 and "tune" in out
    status, out, _ = run(capsys, "tune", "--help")
    for option in ("--strategy", "--trials", "--space", "--storage", "--study", "--workers",
                   "--dataset", "--hidden", "--epochs", "--out"):
        assert option in out


@pytest.mark.parametrize(
    ("space", "reason"),
    [
        (None, "no such file"),
        ("{not json", "is not JSON"),
        ([1, 2], "must hold a JSON object"),
        ({"learning_rate": [0.1]}, "unknown parameter 'learning_rate'"),
        ({"lr": {"choice": []}}, "at least one value"),
        ({"lr": {"uniform": [0.5, 0.1]}}, "low < high"),
        ({"lr": {"loguniform": [0.001, 0.3]}}, "'lr' is loguniform"),  # under --strategy grid
    ],
)
def test_bad_space_is_a_usage_error_naming_it(capsys, tmp_path, space, reason):
    if space is None:
        path = str(tmp_path / "missing.json")
    elif isinstance(space, str):
        path = tmp_path / "space.json"
        path.write_text(space)
    else:
        path = space_file(tmp_path, space)
    status, out, err = run(capsys, "tune", "--space", str(path), "--strategy", "grid",
                           "--out", str(tmp_path / "o"), *FAST)
    assert_usage_error(status, out, err, reason)


def test_bad_search_options_are_usage_errors(capsys, tmp_path):
    for args, reason in ((["--trials", "0"], "--trials must be at least 1"),
                         (["--workers", "0"], "--workers must be at least 1"),
                         (["--validation", "0"], "--validation must be above 0"),
                         (["--strategy", "annealing"], "invalid choice: 'annealing'")):
        status, out, err = run(capsys, "tune", *args, *FAST)
        assert_usage_error(status, out, err, reason)


def test_engine_tape_fails_a_batch_norm_trial_naming_why(capsys, tmp_path):
    space = space_file(tmp_path, {"norm": {"choice": [None, "batch"]}})
    status, out, _ = run(capsys, "tune", "--space", space, "--strategy", "grid",
                         "--engine", "tape", "--out", str(tmp_path / "o"), *FAST)
    assert status == 0
    rows = {row["norm"]: row for row in trials_csv(tmp_path / "o")}
    assert rows["batch"]["state"] == "failed"
    assert "engine='tape' cannot train this model" in rows["batch"]["reason"]
    assert rows[""]["state"] == "complete"  # norm None: an empty cell


def test_unreachable_storage_fails_naming_the_url_without_its_password(capsys, tmp_path):
    status, out, err = run(capsys, "tune", "--storage", "postgresql://me:hunter2@127.0.0.1:1/db",
                           "--out", str(tmp_path / "o"), *FAST)
    assert status == 1
    assert "postgresql://me:***@127.0.0.1:1/db" in err and "hunter2" not in err + out
    assert "Traceback" not in err


def chainrule(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "viz.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def journal_trials(path):
    import optuna

    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
    try:
        return optuna.load_study(study_name="chainrule", storage=storage).trials
    except KeyError:  # not created yet
        return []


@pytest.mark.slow
def test_ctrl_c_keeps_the_finished_trials_and_exits_130(tmp_path):
    journal = tmp_path / "study.journal"
    space = space_file(tmp_path, {"lr": {"loguniform": [0.001, 0.3]}})
    process = chainrule("tune", "--space", space, "--trials", "200", "--workers", "2",
                        "--storage", str(journal), "--epochs", "40", "--hidden", "4",
                        "--samples", "60", "--no-progress", "--out", str(tmp_path / "o"),
                        start_new_session=True)  # its own process group, as a terminal's job
    try:
        deadline = time.monotonic() + 240
        while not any(t.state.name == "COMPLETE" for t in journal_trials(journal)):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted: the finished trials are kept" in out
    rows = trials_csv(tmp_path / "o")
    assert "complete" in {row["state"] for row in rows}
    stored = Counter(t.state.name for t in journal_trials(journal))
    assert stored["RUNNING"] == 0 and stored["COMPLETE"] >= 1  # nothing left half-done
    assert sum(stored.values()) < 200
