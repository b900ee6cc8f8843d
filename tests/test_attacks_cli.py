"""Attacks on ``chainrule train`` and CSV files: usage errors with exit status 2 naming the
file, row and column, never a traceback, a hang or a silent wrong result. Anything that
could run for minutes goes through a subprocess with a timeout (attacks.run_command).
"""

import os

import numpy as np
import pytest
from attacks import run_command
from test_cli import assert_usage_error, run

import nn
from nn import data

FAST = ["--epochs", "2", "--hidden", "4", "--no-progress"]


def usage_error_in_a_subprocess(argv, reason):
    result = run_command(argv, timeout=60)
    assert_usage_error(result.returncode, result.stdout, result.stderr, reason)


@pytest.mark.parametrize(
    "argv, reason",
    [
        (["--seed", "-1"], "--seed must be at least 0"),
        (["--samples", "10000000000"], "--samples must be at most 1,000,000"),
        (["--hidden", "10000000"], "more than 1,000,000"),
        (["--hidden", "4000,4000"], "more than 1,000,000"),
        (["--model", "conv", "--dataset", "digits", "--hidden", "10000000"],
         "more than 1,000,000"),
        (["--model", "rnn", "--dataset", "parity", "--hidden", "100000"], "more than 1,000,000"),
        (["--lr", "inf"], "--lr must be positive"),
        (["--lr", "nan"], "--lr must be positive"),
        (["--validation", "nan"], "--validation must be a fraction"),
    ],
)
def test_a_typo_in_train_is_a_usage_error_at_once(tmp_path, argv, reason):
    usage_error_in_a_subprocess(["train", *FAST, *argv, "--out", str(tmp_path / "out")], reason)
    assert not (tmp_path / "out").exists()


def csv_file(path, text: str | bytes):
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    return path


def test_a_csv_whose_validation_split_leaves_no_rows_is_a_usage_error(capsys, tmp_path):
    path = csv_file(tmp_path / "two.csv", "a,b\n1,0\n2,1\n")
    status, out, err = run(capsys, "train", "--dataset", str(path), "--validation", "0.9",
                           *FAST, "--out", str(tmp_path / "out"))
    assert_usage_error(status, out, err, "leaves no rows to train on")


BAD_CSV = {
    "cell over 131,072 characters": (
        "a,b\n1,2\n" + "1" * 200_000 + ",3\n", "row 3: not valid CSV: a cell longer than 131,072"),
    "1 MB without a delimiter": ("x" * 1_000_000, "row 1: not valid CSV: a cell longer"),
    "latin-1": ("a,b\n1,2\ncaf\xe9,3\n".encode("latin-1"), "row 3: byte 0xe9 is not UTF-8"),
    "binary": (bytes(range(256)) * 4, "a NUL byte: binary data"),
    "blank lines before a bad cell": ("a,b\n\n1,2\n\n\n3,x\n", "row 6, column 'b': 'x'"),
    "blank lines before a short row": ("a,b\n\n\n1\n", "row 4: 1 cells, but the header has 2"),
    "one column": ("a\n1\n2\n", "needs at least two columns"),
    "nan cell": ("a,b\n1,2\nnan,3\n", "row 3, column 'a': 'nan' is not finite"),
    "overflowing cell": ("a,b\n1e999,2\n3,4\n", "row 2, column 'a': '1e999' is not finite"),
}


@pytest.mark.parametrize("text, message", BAD_CSV.values(), ids=BAD_CSV.keys())
def test_a_bad_csv_is_named_by_file_row_and_column(capsys, tmp_path, text, message):
    path = csv_file(tmp_path / "bad.csv", text)
    with pytest.raises(ValueError, match=message) as caught:
        data.load_csv(path)
    assert str(path) in str(caught.value) and len(str(caught.value)) < 500
    status, out, err = run(capsys, "train", "--dataset", str(path), *FAST,
                           "--out", str(tmp_path / "out"))
    assert_usage_error(status, out, err, message)


def test_a_folder_named_like_the_error_is_called_a_folder(capsys, tmp_path):
    folder = tmp_path / "no such CSV file"
    folder.mkdir()
    with pytest.raises(ValueError, match="is a folder, not a CSV file"):
        data.load_csv(folder)
    status, out, err = run(capsys, "train", "--dataset", str(folder), *FAST)
    assert_usage_error(status, out, err, "is a folder, not a CSV file")


def test_a_missing_csv_is_still_no_such_file(capsys, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such CSV file"):
        data.load_csv(tmp_path / "nothere.csv")


def test_a_fifo_or_a_device_as_csv_is_refused_instead_of_blocking(tmp_path):
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "data.csv"
        os.mkfifo(fifo)
        usage_error_in_a_subprocess(["train", "--dataset", str(fifo), *FAST], "FIFO")
    if os.path.exists("/dev/zero"):
        usage_error_in_a_subprocess(["train", "--dataset", "/dev/zero", *FAST], "a device")


def test_a_csv_of_values_near_1e300_trains_on_the_values_not_on_zeros(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.0, 1.0, size=(40, 2))
    rows = "\n".join(f"{a * 1e300},{b * 1e300},{int(a + b > 0)}" for a, b in x.tolist())
    path = csv_file(tmp_path / "huge.csv", "u,v,label\n" + rows + "\n")
    X, y = data.load_csv(path)
    scaled, _, _ = data.standardize(X)
    assert np.all(np.isfinite(scaled)) and scaled.std(axis=0) == pytest.approx([1.0, 1.0])
    out = tmp_path / "out"
    result = run_command(["train", "--dataset", str(path), "--epochs", "30", "--hidden", "8",
                          "--no-progress", "--validation", "0", "--out", str(out)])
    assert result.returncode == 0, result.stderr[-2000:]
    model = nn.MLP.load(out / "model.json")  # folded back to raw units: takes 1e300 inputs
    predictions = [model(list(row)).data > 0 for row in X]
    assert np.mean(np.array(predictions) == (y > 0)) > 0.8  # learned from the values


def test_a_regression_target_near_1e300_stays_finite(tmp_path):
    rows = "\n".join(f"{i},{(i * 0.37 % 1 - 0.5) * 3e300!r}" for i in range(30))
    path = csv_file(tmp_path / "huge_target.csv", "x,y\n" + rows + "\n")
    result = run_command(["train", "--dataset", str(path), *FAST, "--validation", "0",
                          "--out", str(tmp_path / "out")])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "nan" not in result.stdout and "inf" not in result.stdout
    model = nn.MLP.load(tmp_path / "out" / "model.json")
    assert np.isfinite(model([3.0]).data)
