"""nn.MLPClassifier / MLPRegressor: scikit-learn's estimator checks and the tools built on them."""

import numpy as np
import pytest

import nn
from nn import data

sklearn = pytest.importorskip("sklearn")
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

# Small and quick, yet enough to pass the checks that ask for a decent fit.
CHECKED = [
    nn.MLPClassifier(hidden=(4,), epochs=15, lr=0.1, seed=0),
    nn.MLPRegressor(hidden=(4,), epochs=20, lr=0.1, seed=0),
]


@parametrize_with_checks(CHECKED)
def test_passes_scikit_learns_estimator_checks(estimator, check):
    check(estimator)


def test_string_and_integer_labels_come_back_as_given():
    X, y = data.moons(60, noise=0.1, seed=0)
    for labels in (np.where(y == 1, "yes", "no"), y + 10, np.array(["a", "b", "c"])[y + (y > 0)]):
        model = nn.MLPClassifier(hidden=(8,), epochs=50, lr=0.05, seed=0).fit(X, labels)
        assert list(model.classes_) == sorted(set(labels.tolist()))
        predicted = model.predict(X)
        assert predicted.dtype == labels.dtype and set(predicted) <= set(labels)
        assert model.score(X, labels) > 0.8
        assert model.predict_proba(X).shape == (60, len(model.classes_))
        assert np.allclose(model.predict_proba(X).sum(axis=1), 1.0)


def test_grid_search_cross_validation_and_pipelines_work():
    X, y = data.moons(60, noise=0.2, seed=1)
    search = GridSearchCV(nn.MLPClassifier(hidden=(4,), epochs=15, seed=0),
                          {"lr": [0.001, 0.1]}, cv=3)
    search.fit(X, y)
    assert search.best_params_ == {"lr": 0.1}  # 0.001 barely moves in 15 epochs
    scores = cross_val_score(nn.MLPClassifier(hidden=(4,), epochs=15, lr=0.1, seed=0), X, y,
                             cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.7
    Xh, yh = data.house_prices(40, seed=0)
    pipeline = make_pipeline(StandardScaler(), nn.MLPRegressor(hidden=(4,), epochs=60, lr=0.05,
                                                               seed=0))
    yh = (yh - yh.mean()) / yh.std()
    assert pipeline.fit(Xh, yh).score(Xh, yh) > 0.8


def test_bad_arguments_are_named_at_fit():
    X, y = data.moons(20, seed=0)
    with pytest.raises(ValueError, match="lr=-1"):
        nn.MLPClassifier(lr=-1).fit(X, y)
    with pytest.raises(ValueError, match="activation='swish'"):
        nn.MLPRegressor(activation="swish").fit(X, y.astype(float))
    with pytest.raises(ValueError, match="at least two classes"):
        nn.MLPClassifier(epochs=1).fit(X, np.zeros(20, dtype=int))


def test_same_seed_fits_the_same_model():
    X, y = data.moons(40, noise=0.2, seed=2)
    one = nn.MLPClassifier(hidden=(4,), epochs=10, seed=3).fit(X, y)
    two = nn.MLPClassifier(hidden=(4,), epochs=10, seed=3).fit(X, y)
    assert one.model_.state_dict() == two.model_.state_dict()
    assert one.history_.loss == two.history_.loss
