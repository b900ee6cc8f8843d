"""``chainrule train``: the files it writes, CSV input with --target, and bad arguments."""

import csv
import json
import random

import pytest
from test_cli import assert_usage_error, run

FAST = ["--epochs", "2", "--hidden", "4", "--samples", "24", "--no-progress"]


def write_csv(path, header, rows):
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.mark.graphviz
def test_train_on_moons_writes_every_file_and_prints_where(capsys, tmp_path):
    out_dir = tmp_path / "out"
    status, out, _ = run(capsys, "train", "--dataset", "moons", "--out", str(out_dir), *FAST)
    assert status == 0
    names = ["model.json", "history.csv", "loss.svg", "network.svg", "decision_boundary.svg",
             "neuron.svg", "training.html"]
    for name in names:
        assert (out_dir / name).stat().st_size > 0, name
        assert str(out_dir / name) in out
    with open(out_dir / "history.csv") as file:
        history = list(csv.DictReader(file))
    assert [row["epoch"] for row in history] == ["1", "2"]
    assert "accuracy" in history[0]
    assert "train" in out and "validation" in out and "accuracy" in out
    assert json.loads((out_dir / "model.json").read_text())  # a JSON model file
    assert "<svg" in (out_dir / "neuron.svg").read_text()
    player = (out_dir / "training.html").read_text()
    assert "chainrulePlayer(" in player and '"totalEpochs":2' in player


def test_snapshots_folded_like_the_model_give_its_outputs_on_raw_inputs():

    import nn
    from viz.cli.train import _folded

    X, y = nn.data.house_prices(30, seed=2)
    Xs, mean, std = nn.data.standardize(X)
    y_mean, y_std = y.mean(), y.std()
    model = nn.MLP(2, [3, 1], seed=0)
    history = nn.fit(model, Xs, (y - y_mean) / y_std, epochs=2, snapshots=True, progress=False)
    raw = _folded(model, history.snapshots, mean, std, y_mean, y_std)
    assert model.state_dict() == history.snapshots[-1]  # left as it was
    for standardised, folded in zip(history.snapshots, raw, strict=True):
        model.load_state_dict(standardised)
        expected = [model(list(r)).data * y_std + y_mean for r in Xs]
        model.load_state_dict(folded)
        assert [model(list(r)).data for r in X] == pytest.approx(expected, rel=1e-9)


@pytest.mark.graphviz
def test_saved_model_loads_and_takes_raw_inputs(capsys, tmp_path):
    import numpy as np

    import nn

    rng = random.Random(3)
    rows = [(x1, x2, 1 if x1 + 100 * x2 > 150 else 0)
            for x1, x2 in ((rng.uniform(0, 100), rng.uniform(0, 2)) for _ in range(40))]
    path = write_csv(tmp_path / "points.csv", ["size", "ratio", "label"], rows)
    out_dir = tmp_path / "out"
    status, out, _ = run(capsys, "train", "--dataset", str(path), "--target", "label",
                         "--out", str(out_dir), "--validation", "0", *FAST)
    assert status == 0
    assert (out_dir / "decision_boundary.svg").exists()  # two input columns
    model = nn.MLP.load(out_dir / "model.json")
    assert model.nin == 2
    # Inputs far outside the standardised range must still give finite outputs.
    output = model([float(v) for v in np.array(rows[0][:2])])
    assert np.isfinite(output.data)


@pytest.mark.graphviz
def test_train_on_csv_regression_target(capsys, tmp_path):
    rng = random.Random(5)
    rows = []
    for _ in range(30):
        size, rooms, age = rng.uniform(50, 200), rng.randint(1, 5), rng.uniform(0, 50)
        rows.append((size, rooms, age, 1000 * size + 5000 * rooms - 200 * age))
    path = write_csv(tmp_path / "houses.csv", ["size", "rooms", "age", "price"], rows)
    out_dir = tmp_path / "out"
    status, out, _ = run(capsys, "train", "--dataset", str(path), "--target", "price",
                         "--out", str(out_dir), *FAST)
    assert status == 0
    assert "regression" in out
    assert not (out_dir / "decision_boundary.svg").exists()  # three inputs: no boundary
    with open(out_dir / "history.csv") as file:
        assert "r2" in next(csv.reader(file))


@pytest.mark.graphviz
def test_regression_on_two_inputs_has_no_decision_boundary(capsys, tmp_path):
    status, out, _ = run(capsys, "train", "--dataset", "house_prices", "--out", str(tmp_path),
                         *FAST)
    assert status == 0
    assert "r2" in out and "standardised" in out
    assert (tmp_path / "network.svg").exists()
    assert not (tmp_path / "decision_boundary.svg").exists()


@pytest.mark.graphviz
def test_three_classes_get_one_output_each_and_cross_entropy(capsys, tmp_path):
    status, out, _ = run(capsys, "train", "--dataset", "blobs", "--out", str(tmp_path), *FAST)
    assert status == 0
    assert "MLP 2-4-3" in out and "cross_entropy" in out
    assert (tmp_path / "decision_boundary.svg").exists()


@pytest.mark.graphviz
def test_bce_gets_a_sigmoid_output(capsys, tmp_path):
    import nn

    status, _, _ = run(capsys, "train", "--loss", "bce", "--out", str(tmp_path), *FAST)
    assert status == 0
    assert nn.MLP.load(tmp_path / "model.json").layers[-1].activation == "sigmoid"


@pytest.mark.parametrize("norm", [None, "batch", "layer"])
def test_scaling_folded_into_the_model_gives_the_same_outputs(norm):
    import numpy as np

    import nn
    from viz.cli.train import _fold_scaling

    X = np.array([[120.0, 3.0], [80.0, 1.0], [200.0, 5.0]])
    x_mean, x_std = X.mean(axis=0), X.std(axis=0)
    y_mean, y_std = 250_000.0, 40_000.0
    model = nn.MLP(2, [3, 1], activation="tanh", seed=1, norm=norm)
    if norm == "batch":  # running statistics away from 0 and 1, then evaluation
        model.forward_batch([[0.5, -1.0], [2.0, 1.0], [-1.0, 0.0]])
        model.eval()
    scaled = [model([float(v) for v in (row - x_mean) / x_std]).data * y_std + y_mean
              for row in X]
    _fold_scaling(model, x_mean, x_std, y_mean, y_std)
    raw = [model([float(v) for v in row]).data for row in X]
    assert raw == pytest.approx(scaled, rel=1e-9)


@pytest.mark.parametrize(
    "argv, reason",
    [
        (["--dataset", "mnist"], "unknown dataset 'mnist'"),
        (["--dataset", "missing.csv"], "no such CSV file"),
        (["--hidden", "16,x"], "--hidden must be comma-separated layer sizes"),
        (["--hidden", "16,0"], "--hidden sizes must be at least 1"),
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--lr", "-1"], "--lr must be positive"),
        (["--validation", "1.5"], "--validation must be a fraction"),
        (["--dataset", "moons", "--target", "y"], "--target is for CSV files"),
        (["--activation", "softmax"], "invalid choice"),
        (["--epochs", "ten"], "invalid int value"),
        (["--dataset", "blobs", "--loss", "bce"], "handles two classes, but blobs has 3"),
        (["--dataset", "house_prices", "--loss", "hinge"], "needs class labels"),
        (["--norm", "group"], "invalid choice"),
        (["--norm", "batch", "--batch-size", "1", *FAST],
         "--norm batch needs batches of at least 2"),
        (["--norm", "batch", "--samples", "26", "--batch-size", "4", "--validation", "0.2",
          "--epochs", "1", "--no-progress"], "leaves a batch of one training row"),
    ],
)
def test_bad_train_arguments_are_usage_errors(capsys, tmp_path, monkeypatch, argv, reason):
    monkeypatch.chdir(tmp_path)
    assert_usage_error(*run(capsys, "train", *argv), reason)
    assert not (tmp_path / "out").exists()


def test_out_naming_a_file_is_a_usage_error(capsys, tmp_path):
    (tmp_path / "taken").write_text("")
    argv = ["train", "--out", str(tmp_path / "taken"), *FAST]
    assert_usage_error(*run(capsys, *argv), "is a file; expected a folder")


def test_csv_without_the_target_column_is_a_usage_error(capsys, tmp_path):
    path = write_csv(tmp_path / "data.csv", ["a", "b"], [(1, 2), (3, 4)])
    status, out, err = run(capsys, "train", "--dataset", str(path), "--target", "label",
                           "--out", str(tmp_path / "out"))
    assert_usage_error(status, out, err, "cannot read")
    assert "label" in err


@pytest.mark.graphviz
def test_the_make_demo_command_runs(capsys, tmp_path):
    from pathlib import Path

    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    recipe = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    (command,) = [line.strip() for line in recipe.splitlines() if "chainrule train" in line]
    argv = command.split("chainrule ", 1)[1].replace("$(OUT)", str(tmp_path)).split()
    # the demo's own arguments, then a short run: later options win in argparse
    status, out, _ = run(capsys, *argv, "--epochs", "1", "--samples", "24", "--no-progress")
    assert status == 0
    assert "MLP 2-16-16-1" in out
    assert (tmp_path / "decision_boundary.svg").exists()


@pytest.mark.graphviz
def test_diagnostics_write_the_gradient_flow_and_print_the_diagnosis(capsys, tmp_path):
    out_dir = tmp_path / "out"
    status, out, _ = run(capsys, "train", "--dataset", "moons", "--out", str(out_dir),
                         "--diagnostics", *FAST)
    assert status == 0
    assert (out_dir / "gradient_flow.svg").read_text().count("<svg") == 1
    assert str(out_dir / "gradient_flow.svg") in out
    assert "Diagnosis of MLP(2, [4, 1]) on 24 samples" in out
    assert "layers.0" in out and ("No findings" in out or "finding" in out)


@pytest.mark.graphviz
def test_without_diagnostics_there_is_no_gradient_flow(capsys, tmp_path):
    status, out, _ = run(capsys, "train", "--out", str(tmp_path), *FAST)
    assert status == 0 and not (tmp_path / "gradient_flow.svg").exists()
    assert "Diagnosis" not in out


@pytest.mark.graphviz
@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_norm_trains_a_normalised_model_that_loads_and_takes_raw_inputs(capsys, tmp_path, norm):
    import numpy as np

    import nn

    status, out, _ = run(capsys, "train", "--dataset", "house_prices", "--norm", norm,
                         "--out", str(tmp_path), *FAST)
    assert status == 0 and f"relu, {norm} norm" in out
    model = nn.MLP.load(tmp_path / "model.json")
    assert model.norm == norm
    X, _ = nn.data.house_prices(24, seed=0)
    model.eval()
    assert all(np.isfinite(model(list(row)).data) for row in X.tolist())
