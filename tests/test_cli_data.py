"""``chainrule data`` and ``chainrule predict``; model files that keep the task, the labels and
the column names; CSV files with class names, semicolons or no header; short usage errors."""

import csv
import json

import numpy as np
import pytest
from test_cli import assert_usage_error, run

import nn
from nn import data
from nn.serialize import ModelInfo, load_info

FAST = ["--epochs", "2", "--hidden", "4", "--no-progress"]


def rows_of(path):
    with open(path, newline="") as file:
        return list(csv.reader(file))


def test_data_writes_house_prices_with_a_header_and_price_last(capsys, tmp_path):
    path = tmp_path / "houses.csv"
    status, out, _ = run(capsys, "data", "house_prices", "-o", str(path))
    assert status == 0 and "houses.csv" in out
    table = rows_of(path)
    assert table[0] == ["size", "bedrooms", "price"]
    assert len(table) == 201  # the 200 points train draws by default
    X, y = data.load_csv(path, target="price")
    expected_X, expected_y = data.house_prices(n=200, seed=0)
    assert np.array_equal(X, expected_X) and np.array_equal(y, expected_y)  # exact round trip


def test_data_writes_iris_with_its_class_names(capsys, tmp_path):
    path = tmp_path / "iris.csv"
    assert run(capsys, "data", "iris", "-o", str(path))[0] == 0
    table = rows_of(path)
    assert table[0][-1] == "species" and len(table[0]) == 5
    assert {row[-1] for row in table[1:]} == {"setosa", "versicolor", "virginica"}


@pytest.mark.parametrize(("name", "header"), [
    ("moons", ["x0", "x1", "label"]),
    ("parity", [*(f"bit{i}" for i in range(8)), "parity"]),
    ("xor", ["x0", "x1", "label"]),
])
def test_data_names_the_columns_from_zero(capsys, tmp_path, name, header):
    path = tmp_path / f"{name}.csv"
    assert run(capsys, "data", name, "-o", str(path), "--samples", "20")[0] == 0
    assert rows_of(path)[0] == header


def test_data_digits_writes_64_pixel_columns(capsys, tmp_path):
    path = tmp_path / "digits.csv"
    assert run(capsys, "data", "digits", "-o", str(path), "--samples", "10")[0] == 0
    header, *table = rows_of(path)
    assert header[0] == "pixel0" and header[-2] == "pixel63" and header[-1] == "digit"
    assert len(table) == 10


@pytest.mark.parametrize(("argv", "reason"), [
    (["data", "moon", "-o", "m.csv"], "did you mean moons?"),
    (["data", "moons"], "the following arguments are required: -o"),
    (["data", "moons", "-o", "m.csv", "--samples", "2"], "--samples must be at least 4"),
    (["data", "moons", "-o", "."], "is a folder"),
])
def test_data_refuses_bad_arguments(capsys, tmp_path, monkeypatch, argv, reason):
    monkeypatch.chdir(tmp_path)
    assert_usage_error(*run(capsys, *argv), reason)


def train(capsys, tmp_path, dataset, *options):
    out = tmp_path / "out"
    status, printed, err = run(capsys, "train", "--dataset", str(dataset), "--out", str(out),
                               *FAST, *options)
    assert status == 0, err
    return out / "model.json", printed


def test_predict_answers_in_the_training_labels(capsys, tmp_path):
    csv_path = tmp_path / "iris.csv"
    run(capsys, "data", "iris", "-o", str(csv_path))
    model, _ = train(capsys, tmp_path, csv_path, "--epochs", "20", "--hidden", "8")
    status, out, _ = run(capsys, "predict", str(model), str(csv_path))
    assert status == 0
    header, *predicted = list(csv.reader(out.splitlines()))
    truth = [row[-1] for row in rows_of(csv_path)[1:]]
    assert header == ["species"] and len(predicted) == 150
    assert {p for (p,) in predicted} <= {"setosa", "versicolor", "virginica"}
    assert np.mean([p == t for (p,), t in zip(predicted, truth, strict=True)]) > 0.7


def test_predict_reads_yes_no_labels_and_columns_by_name(capsys, tmp_path):
    rng = np.random.default_rng(0)
    points = rng.normal(size=(60, 2))
    rows = [[a, b, "yes" if a + b > 0 else "no"] for a, b in points.tolist()]
    train_csv = tmp_path / "train.csv"
    with open(train_csv, "w", newline="") as file:
        csv.writer(file).writerows([["u", "v", "answer"], *rows])
    model, out = train(capsys, tmp_path, train_csv, "--epochs", "30", "--validation", "0")
    content = json.loads(model.read_text())
    assert content["version"] == 3 and content["task"] == "classification"
    assert content["labels"] == ["no", "yes"] and content["features"] == ["u", "v"]
    assert content["target"] == "answer" and content["loss"] == "bce_with_logits"
    # the columns in another order, an id column, no target: read by name
    new_csv = tmp_path / "new.csv"
    with open(new_csv, "w", newline="") as file:
        csv.writer(file).writerows([["v", "id", "u"], [3.0, 1, 2.0], [-3.0, 2, -2.0]])
    status, out, _ = run(capsys, "predict", str(model), str(new_csv),
                         "-o", str(tmp_path / "p.csv"))
    assert status == 0 and "wrote 2 predictions" in out
    assert rows_of(tmp_path / "p.csv") == [["answer"], ["yes"], ["no"]]


def test_predict_gives_a_regression_in_raw_units(capsys, tmp_path):
    houses = tmp_path / "houses.csv"
    run(capsys, "data", "house_prices", "-o", str(houses))
    model, _ = train(capsys, tmp_path, houses, "--target", "price", "--epochs", "40",
                     "--hidden", "8")
    status, out, _ = run(capsys, "predict", str(model), str(houses))
    assert status == 0
    header, *predicted = out.splitlines()
    truth = data.load_csv(houses)[1]
    assert header == "price"
    error = np.abs(np.array([float(p) for p in predicted]) - truth)
    assert np.median(error) < 0.2 * np.median(truth)  # raw units, not standardised ones


def test_predict_with_mse_on_two_classes_reads_the_output_at_one_half(capsys, tmp_path):
    moons = tmp_path / "moons.csv"
    run(capsys, "data", "moons", "-o", str(moons))
    model, out = train(capsys, tmp_path, moons, "--loss", "mse", "--epochs", "30",
                       "--hidden", "8")
    assert "accuracy" in out and "r2" not in out  # classification data: judged as such
    status, printed, _ = run(capsys, "predict", str(model), str(moons))
    predicted = [int(p) for p in printed.splitlines()[1:]]
    truth = data.load_csv(moons)[1]
    assert status == 0 and np.mean(predicted == truth) > 0.8


def test_predict_with_a_model_saved_from_python_takes_every_column(capsys, tmp_path):
    model = nn.MLP(2, [1], seed=0)
    nn.save(model, tmp_path / "m.json")
    table = tmp_path / "t.csv"
    table.write_text("a,b,c\n1,2,0\n")
    status, out, _ = run(capsys, "predict", str(tmp_path / "m.json"), str(table), "--target", "c")
    assert status == 0
    assert float(out.splitlines()[1]) == pytest.approx(model([1.0, 2.0]).data)


@pytest.mark.parametrize(("files", "reason"), [
    (("nothere.json", "t.csv"), "no such model file"),
    (("t.csv", "t.csv"), "cannot read t.csv"),
    (("m.json", "nothere.csv"), "no such CSV file"),
    (("m.json", "short.csv"), "has no column 'v'"),
])
def test_predict_refuses_bad_files(capsys, tmp_path, monkeypatch, files, reason):
    monkeypatch.chdir(tmp_path)
    nn.save(nn.MLP(2, [1], seed=0), "m.json",
            ModelInfo(task="regression", features=["u", "v"], target="y"))
    (tmp_path / "t.csv").write_text("u,v,y\n1,2,3\n")
    (tmp_path / "short.csv").write_text("u,y\n1,3\n")
    assert_usage_error(*run(capsys, "predict", *files), reason)


def test_model_files_without_info_stay_version_2_and_old_files_load(tmp_path):
    model = nn.MLP(2, [3, 1], seed=1)
    nn.save(model, tmp_path / "plain.json")
    content = json.loads((tmp_path / "plain.json").read_text())
    assert content["version"] == 2 and "task" not in content
    loaded, info = load_info(tmp_path / "plain.json")
    assert info == ModelInfo() and loaded.state_dict() == model.state_dict()
    content["version"] = 1  # a version-1 file of an MLP reads the same way
    (tmp_path / "v1.json").write_text(json.dumps(content))
    assert nn.load(tmp_path / "v1.json").state_dict() == model.state_dict()


def test_model_info_round_trips(tmp_path):
    info = ModelInfo(task="classification", labels=[0, 1.5, "yes"], features=["a"],
                     target="t", loss="cross_entropy")
    nn.save(nn.MLP(1, [3], seed=0), tmp_path / "m.json", info)
    assert load_info(tmp_path / "m.json")[1] == info
    assert nn.load(tmp_path / "m.json").architecture()["nin"] == 1  # load ignores the info


BAD_INFO = {
    "unknown task": ({"task": "clustering"}, "'task' must be one of classification, regression"),
    "repeated labels": ({"task": "classification", "labels": ["a", "a"]}, "must be distinct"),
    "labels of a regression": ({"task": "regression", "labels": [0, 1]}, "are for a classif"),
    "nan label": ({"task": "classification", "labels": [float("nan"), 1]},
                  "finite numbers|NaN is not a valid number"),
    "empty label": ({"task": "classification", "labels": ["", "b"]}, "strings of 1 to"),
    "bool label": ({"task": "classification", "labels": [True, False]}, "finite numbers"),
    "labels not a list": ({"task": "classification", "labels": "ab"}, "must be a list"),
    "features not names": ({"features": [1, 2]}, "'features' must be a list of column names"),
    "target not a name": ({"target": 3}, "'target' must be a name"),
}


@pytest.mark.parametrize(("fields", "reason"), BAD_INFO.values(), ids=BAD_INFO.keys())
def test_bad_info_in_a_model_file_is_refused_with_the_reason(tmp_path, fields, reason):
    nn.save(nn.MLP(2, [1], seed=0), tmp_path / "m.json")
    content = json.loads((tmp_path / "m.json").read_text())
    content.update(version=3, **fields)
    (tmp_path / "m.json").write_text(json.dumps(content))
    with pytest.raises(ValueError, match=reason):
        nn.load(tmp_path / "m.json")
    with pytest.raises(ValueError, match=reason):
        ModelInfo(**fields)


def test_info_fields_in_a_version_2_file_are_unexpected(tmp_path):
    nn.save(nn.MLP(2, [1], seed=0), tmp_path / "m.json")
    content = json.loads((tmp_path / "m.json").read_text())
    content["task"] = "regression"
    (tmp_path / "m.json").write_text(json.dumps(content))
    with pytest.raises(ValueError, match=r"unexpected fields \['task'\]"):
        nn.load(tmp_path / "m.json")


# -- CSV files: class names, delimiters, a missing header ------------------------------------


def test_load_csv_reads_class_names_in_the_target(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,answer\n1,2, yes\n3,4,no\n")
    X, y = data.load_csv(path)
    assert X.tolist() == [[1, 2], [3, 4]] and y.tolist() == ["yes", "no"]


def test_load_csv_refuses_a_target_of_numbers_and_names(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n3,yes\n")
    with pytest.raises(ValueError, match=r"row 3, column 'b': 'yes' is not a number \(class"):
        data.load_csv(path)


def test_load_csv_refuses_names_in_a_feature_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\nred,1\n")
    with pytest.raises(ValueError, match=r"row 2, column 'a': 'red' is not a number$"):
        data.load_csv(path)


@pytest.mark.parametrize("text", ["1,2,0\n3,4,1\n", "0.5,1e3,yes\n1,2,no\n"])
def test_a_csv_without_a_header_is_refused_clearly(capsys, tmp_path, text):
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match="row 1: .* are numbers, not column names: the file "
                                         "needs a header row"):
        data.load_csv(path)
    assert_usage_error(*run(capsys, "train", "--dataset", str(path), *FAST,
                            "--out", str(tmp_path / "o")), "needs a header row")


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_load_csv_finds_the_delimiter_in_the_header(tmp_path, delimiter):
    path = tmp_path / "t.csv"
    path.write_text(delimiter.join(["a", "b", "c"]) + "\n" + delimiter.join("123") + "\n")
    X, y = data.load_csv(path)
    assert X.tolist() == [[1, 2]] and y.tolist() == [3]


def test_train_takes_a_semicolon_file_and_a_delimiter_option(capsys, tmp_path):
    rows = "\n".join(f"{i};{i % 3};{i % 2}" for i in range(30))
    path = tmp_path / "semi.csv"
    path.write_text("a;b;c\n" + rows + "\n")
    train(capsys, tmp_path, path)
    train(capsys, tmp_path, path, "--delimiter", ";")
    assert_usage_error(*run(capsys, "train", "--dataset", str(path), "--delimiter", ";;", *FAST),
                       "--delimiter must be one character")
    assert_usage_error(*run(capsys, "train", "--dataset", "moons", "--delimiter", ";", *FAST),
                       "--delimiter is for CSV files")


def test_too_many_class_names_is_a_usage_error(capsys, tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("a,id\n" + "".join(f"{i},row{i}\n" for i in range(150)))
    assert_usage_error(*run(capsys, "train", "--dataset", str(path), *FAST),
                       "150 distinct names; a classifier takes at most 100")


# -- usage errors: one short line, not the option list ----------------------------------------


@pytest.mark.parametrize(("argv", "reason"), [
    (["train", "--dataset", "moon"], "did you mean moons?"),
    (["train", "--dataset", "sprial"], "did you mean spiral?"),
    (["train", "--loss", "mose"], "invalid choice: 'mose'"),
    (["graph"], "the following arguments are required: EXPR"),
])
def test_usage_errors_are_two_lines_without_the_option_list(capsys, argv, reason):
    status, out, err = run(capsys, *argv)
    assert_usage_error(status, out, err, reason)
    usage, error = err.strip().splitlines()
    assert usage.startswith(f"usage: chainrule {argv[0]} [options]")
    assert "--help lists the options" in usage and "--epochs" not in usage


def test_hidden_none_is_a_model_without_hidden_layers(capsys, tmp_path):
    for hidden in ("", "none"):
        _, out = train(capsys, tmp_path, "moons", "--hidden", hidden, "--samples", "24")
        assert "an MLP 2-1 (no hidden layer: a linear model)" in out


def test_xor_is_learned_with_its_four_points_and_no_validation_split(capsys, tmp_path):
    status, out, _ = run(capsys, "train", "--dataset", "xor", "--no-progress",
                         "--out", str(tmp_path / "xor"))
    assert status == 0
    assert "validation" not in out
    train_row = next(line for line in out.splitlines() if line.startswith("train "))
    assert train_row.split()[-1] == "100.0%"


def test_train_without_dot_warns_first_and_writes_the_rest(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    status, out, err = run(capsys, "train", "--dataset", "moons", "--samples", "24", *FAST,
                           "--out", str(tmp_path / "o"))
    assert status == 0
    assert err.startswith("warning: Graphviz's dot program is not installed")
    for name in ("model.json", "history.csv", "loss.svg", "decision_boundary.svg"):
        assert (tmp_path / "o" / name).exists()
    for name in ("network.svg", "neuron.svg", "training.html"):
        assert not (tmp_path / "o" / name).exists()
    assert "accuracy" in out  # the metrics are printed


def test_help_lists_data_and_predict(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0 and "data" in out and "predict" in out


@pytest.mark.parametrize(("dataset", "model"), [("digits", "conv"), ("parity", "rnn")])
def test_predict_takes_conv_and_rnn_models(capsys, tmp_path, dataset, model):
    table = tmp_path / f"{dataset}.csv"
    run(capsys, "data", dataset, "-o", str(table), "--samples", "30")
    saved, _ = train(capsys, tmp_path, table, "--model", model, "--epochs", "1")
    status, out, err = run(capsys, "predict", str(saved), str(table))
    assert status == 0, err
    header, *predicted = out.splitlines()
    labels = {str(label) for label in json.loads(saved.read_text())["labels"]}
    assert len(predicted) == 30 and set(predicted) <= labels


def test_predict_refuses_rows_that_do_not_fit_the_model(capsys, tmp_path):
    nn.save(nn.MLP(2, [1], seed=0), tmp_path / "m.json")
    (tmp_path / "wide.csv").write_text("a,b,c,d\n1,2,3,4\n")
    assert_usage_error(*run(capsys, "predict", str(tmp_path / "m.json"),
                            str(tmp_path / "wide.csv")), "do not fit")


def test_predict_refuses_labels_that_do_not_fit_the_outputs(capsys, tmp_path):
    info = ModelInfo(task="classification", labels=["a", "b", "c"], features=["u", "v"])
    nn.save(nn.MLP(2, [4], seed=0), tmp_path / "m.json", info)
    (tmp_path / "t.csv").write_text("u,v,y\n1,2,0\n")
    assert_usage_error(*run(capsys, "predict", str(tmp_path / "m.json"), str(tmp_path / "t.csv")),
                       "3 labels for a model of 4 outputs")


def test_predict_of_a_header_only_file_is_a_usage_error(capsys, tmp_path):
    nn.save(nn.MLP(2, [1], seed=0), tmp_path / "m.json")
    (tmp_path / "t.csv").write_text("a,b,c\n")
    assert_usage_error(*run(capsys, "predict", str(tmp_path / "m.json"), str(tmp_path / "t.csv"),
                            "--target", "c"), "no data rows")


def test_data_into_a_missing_folder_is_a_usage_error(capsys, tmp_path):
    assert_usage_error(*run(capsys, "data", "moons", "-o", str(tmp_path / "no" / "m.csv")),
                       "does not exist")


def test_tune_without_dot_warns_first_and_writes_the_rest(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    status, out, err = run(capsys, "tune", "--dataset", "moons", "--samples", "30", "--epochs",
                           "1", "--trials", "1", "--no-progress", "--out", str(tmp_path / "t"))
    assert status == 0
    assert err.startswith("warning: Graphviz's dot program is not installed")
    assert (tmp_path / "t" / "model.json").exists()
    assert not (tmp_path / "t" / "training.html").exists()
