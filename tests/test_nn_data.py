"""Data sets, CSV loading, splitting and batching."""

import numpy as np
import pytest

from nn import data

GENERATED = sorted(set(data.DATASETS) - set(data.BUNDLED))


@pytest.mark.parametrize("name", GENERATED)
def test_data_sets_have_documented_shapes_and_are_seedable(name):
    make = data.DATASETS[name]
    X, y = make() if name == "xor" else make(seed=3)
    assert X.ndim == 2 and X.dtype == float and len(X) == len(y)
    assert np.all(np.isfinite(X))
    if name != "xor":
        X2, y2 = make(seed=3)
        assert np.array_equal(X, X2) and np.array_equal(y, y2)
        assert not np.array_equal(X, make(seed=4)[0])
    if name not in ("house_prices", "sine_waves"):
        assert y.dtype.kind == "i"


BUNDLED_SHAPES = {"digits": (1797, 64, 10), "iris": (150, 4, 3), "wine": (178, 13, 3),
                  "breast_cancer": (569, 30, 2)}


@pytest.mark.parametrize("name", data.BUNDLED)
def test_bundled_data_sets_are_scikit_learns_copies(name):
    X, y = data.DATASETS[name]()
    rows, features, classes = BUNDLED_SHAPES[name]
    assert X.shape == (rows, features) and X.dtype == float and np.all(np.isfinite(X))
    assert y.dtype.kind == "i" and sorted(set(y.tolist())) == list(range(classes))


def test_digits_as_images_have_shape_n_1_8_8_in_the_same_order():
    X, y = data.digits()
    images, labels = data.digits(images=True)
    assert images.shape == (1797, 1, 8, 8) and np.array_equal(labels, y)
    assert np.array_equal(images[5, 0, 2], X[5, 16:24])  # row 2 of image 5
    assert X.min() == 0.0 and X.max() == 16.0


def test_bundled_data_sets_without_scikit_learn_say_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        data.iris()


def test_parity_labels_count_the_ones():
    X, y = data.parity(300, length=8, seed=1)
    assert X.shape == (300, 8) and set(np.unique(X)) == {0.0, 1.0}
    assert np.array_equal(y, X.sum(axis=1).astype(int) % 2)
    assert 0.4 < y.mean() < 0.6


def test_sine_waves_target_is_the_next_sample_of_each_wave():
    X, y = data.sine_waves(50, length=12, seed=2)
    assert X.shape == (50, 12) and y.shape == (50,)
    assert np.all(np.abs(X) <= 1.0)
    # a sine wave obeys s(t+1) = 2 cos(f) s(t) - s(t-1); recover f from the samples
    two_cos = (X[:, 2] + X[:, 0]) / X[:, 1]
    predicted = two_cos * X[:, -1] - X[:, -2]
    usable = np.abs(X[:, 1]) > 0.1
    np.testing.assert_allclose(predicted[usable], y[usable], atol=1e-9)


@pytest.mark.parametrize("make", [data.parity, data.sine_waves])
def test_sequence_sizes_are_checked(make):
    with pytest.raises(ValueError, match="length must be a positive int"):
        make(10, length=0)


def test_classification_sets_have_balanced_labels():
    assert np.bincount(data.moons(101, seed=0)[1]).tolist() == [50, 51]
    assert np.bincount(data.circles(100, seed=0)[1]).tolist() == [50, 50]
    assert np.bincount(data.blobs(100, centers=3, seed=0)[1]).tolist() == [34, 33, 33]
    assert np.bincount(data.spiral(90, classes=3, seed=0)[1]).tolist() == [30, 30, 30]


def test_global_numpy_seed_is_used_without_a_seed():
    np.random.seed(5)
    first = data.moons(20)
    np.random.seed(5)
    assert np.array_equal(first[0], data.moons(20)[0])


def test_house_prices_grow_with_size():
    X, y = data.house_prices(300, seed=0)
    assert X.shape == (300, 2)
    assert np.corrcoef(X[:, 0], y)[0, 1] > 0.9
    assert set(np.unique(X[:, 1])) <= {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}


def test_standardize_gives_zero_mean_unit_spread():
    X, _ = data.house_prices(50, seed=1)
    scaled, mean, std = data.standardize(X)
    assert np.allclose(scaled.mean(axis=0), 0) and np.allclose(scaled.std(axis=0), 1)
    again, _, _ = data.standardize(X, mean, std)
    assert np.array_equal(again, scaled)


def test_load_csv_reads_features_and_target(tmp_path):
    path = tmp_path / "houses.csv"
    path.write_text("size,price,bedrooms\n50,100,1\n80,150.5,2\n")
    X, y = data.load_csv(path, target="price")
    assert X.tolist() == [[50.0, 1.0], [80.0, 2.0]] and y.tolist() == [100.0, 150.5]
    X, y = data.load_csv(path)
    assert y.tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    ("text", "target", "message"),
    [
        ("a,b\n1,2\n3,x\n", "b", r"row 3, column 'b': 'x' is not a number"),
        ("a,b\n1,2\n", "c", r"no column 'c'; columns are a, b"),
        ("a,b\n1,2\n3\n", None, r"row 3: 1 cells, but the header has 2"),
        ("", None, "is empty"),
        ("a,b\n", None, "no data rows"),
        ("a,b\n1,\n", None, r"row 2, column 'b': '' is not a number"),
    ],
)
def test_load_csv_errors_name_row_and_column(tmp_path, text, target, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        data.load_csv(path, target=target)


def test_load_csv_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.csv"):
        data.load_csv(tmp_path / "nothere.csv")


def test_train_test_split_partitions_rows():
    X = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.3, seed=0)
    assert len(X_test) == 3 and len(X_train) == 7
    assert sorted(y_train.tolist() + y_test.tolist()) == list(range(10))
    assert np.array_equal(X_test[:, 0] // 2, y_test)  # rows stay paired
    with pytest.raises(ValueError, match="test_size"):
        data.train_test_split(X, y, test_size=1.5)


def test_batches_cover_every_row_once():
    X, y = np.arange(14).reshape(7, 2), np.arange(7)
    chunks = list(data.batches(X, y, batch_size=3, seed=1))
    assert [len(yb) for _, yb in chunks] == [3, 3, 1]
    assert sorted(np.concatenate([yb for _, yb in chunks]).tolist()) == list(range(7))
    ordered = list(data.batches(X, y, batch_size=3, shuffle=False))
    assert ordered[0][1].tolist() == [0, 1, 2]
