"""Attacks with bad data and bad arguments: named for what they are, not blamed on the
learning rate, and never a numpy or Python internal error (fit, evaluate, losses,
optimizers, schedules, data sets, module sizes).
"""

import math

import numpy as np
import pytest
from attacks import run_python

import nn
from autograd import Value
from nn import data
from nn._checks import MAX_PARAMETERS, MAX_ROWS, check_parameter_count, numeric_array

X = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [0.5, 0.5]]
Y = [1, 1, 0, 0, 1]


def with_cell(rows, row, column, value):
    rows = [list(r) for r in rows]
    if column is None:
        rows[row] = value
    else:
        rows[row][column] = value
    return rows


BAD_X = {
    "nan": (with_cell(X, 3, 1, math.nan), r"X\[3, 1\] \(row 3, column 1\) is nan"),
    "inf": (with_cell(X, 2, 0, math.inf), r"X\[2, 0\] \(row 2, column 0\) is inf"),
    "-inf": (with_cell(X, 4, 1, -math.inf), r"X\[4, 1\] .* is -inf"),
    "text": (with_cell(X, 1, 0, "abc"), r"X\[1, 0\] .* the text 'abc'"),
    "numeric text": (with_cell(X, 1, 1, "1.5"), r"X\[1, 1\] .* the text '1.5'"),
    "None": (with_cell(X, 2, 1, None), r"X\[2, 1\] .* is None"),
    "ragged": (with_cell(X, 3, None, [1.0, 2.0, 3.0]), r"X\[3\] \(row 3\) has 3 entries"),
    "short": (with_cell(X, 0, None, [1.0]), r"has 1 entries, but|has 2 entries"),
    "scalar row": (with_cell(X, 2, None, 7.0), r"X\[2\] .* single value"),
    "object": (with_cell(X, 4, 0, object()), r"X\[4, 0\] .* is a object"),
    "complex": (np.array(X) + 1j, "complex"),
}


@pytest.mark.parametrize("rows, message", BAD_X.values(), ids=BAD_X.keys())
def test_bad_inputs_are_named_by_array_row_and_column_before_training(rows, message):
    model = nn.MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=message):
        nn.fit(model, rows, Y, loss="bce_with_logits", epochs=2, progress=False)
    assert model.state_dict() == before  # refused before any step


@pytest.mark.parametrize(
    "targets, message",
    [
        ([1, math.nan, 0, 0, 1], r"y\[1\] \(row 1\) is nan"),
        ([1, 1, math.inf, 0, 1], r"y\[2\] .* is inf"),
        ([1, None, 0, 0, 1], r"y\[1\] .* is None"),
        (["a", "b", "a", "b", "a"], r"y\[0\] .* the text 'a'"),
    ],
)
def test_bad_targets_are_named_not_blamed_on_the_learning_rate(targets, message):
    with pytest.raises(ValueError, match=message) as caught:
        nn.fit(nn.MLP(2, [1], seed=0), X, targets, loss="mse", lr=1e-9, epochs=1,
               progress=False)
    assert "learning rate" not in str(caught.value)


def test_bad_validation_arrays_are_named_as_validation_arrays():
    with pytest.raises(ValueError, match=r"X_val\[0, 1\]"):
        nn.fit(nn.MLP(2, [1], seed=0), X, Y, loss="mse", epochs=1, progress=False,
               validation=(with_cell(X, 0, 1, math.nan), Y))
    with pytest.raises(ValueError, match=r"y_val\[2\]"):
        nn.fit(nn.MLP(2, [1], seed=0), X, Y, loss="mse", epochs=1, progress=False,
               validation=(X, [1, 0, math.nan, 0, 1]))


def test_evaluate_names_bad_data_too():
    with pytest.raises(ValueError, match=r"X\[3, 1\]"):
        nn.evaluate(nn.MLP(2, [1], seed=0), with_cell(X, 3, 1, math.nan), Y)
    with pytest.raises(ValueError, match=r"y\[0\]"):
        nn.evaluate(nn.MLP(2, [1], seed=0), X, [None, 1, 0, 0, 1])


def test_many_bad_entries_are_counted():
    rows = np.array(X)
    rows[[1, 2, 4], 0] = np.nan
    with pytest.raises(ValueError, match=r"X\[1, 0\].*and 2 more nan or inf entries"):
        numeric_array(rows, "X")


def test_good_data_of_every_numeric_kind_passes_unchanged():
    for array in (np.array(X), np.array(X, dtype=np.float32), np.array([[1, 2], [3, 4]]),
                  np.array([True, False]), [[Value(1.0), 2.0]]):
        checked = numeric_array(array, "X")
        assert np.array_equal(checked, np.asarray(array, dtype=float))
    assert numeric_array(np.array([1, 2, 3]), "y").dtype.kind == "i"  # class indices stay ints


# -- losses -------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [1.5, -0.1, math.inf, -math.inf])
def test_binary_cross_entropy_refuses_probabilities_outside_0_1_as_pytorch(p):
    with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\].*bce_with_logits"):
        nn.binary_cross_entropy(Value(p), 1.0)


def test_binary_cross_entropy_lets_nan_through_so_fit_names_the_divergence():
    assert math.isnan(nn.binary_cross_entropy(Value(math.nan), 1.0).data)


@pytest.mark.parametrize(
    "model",
    [nn.MLP(2, [3, 1], seed=0), nn.MLP(2, [1], output_activation="relu", seed=0),
     nn.Neuron(2, activation="tanh", seed=0), nn.Layer(2, 1, activation="linear", seed=0)],
    ids=["linear MLP", "relu MLP", "tanh neuron", "linear layer"],
)
def test_fit_bce_on_an_output_that_is_no_probability_suggests_bce_with_logits(model):
    with pytest.raises(ValueError, match="use loss='bce_with_logits'"):
        nn.fit(model, X, Y, loss="bce", epochs=1, progress=False)
    with pytest.raises(ValueError, match="use loss='bce_with_logits'"):
        nn.evaluate(model, X, Y, loss="bce")


def test_fit_bce_on_a_sigmoid_output_trains():
    model = nn.MLP(2, [3, 1], output_activation="sigmoid", seed=0)
    history = nn.fit(model, X, Y, loss="bce", epochs=2, progress=False)
    assert history.epochs == 2


def test_cross_entropy_on_a_one_output_model_says_the_model_has_one_output():
    with pytest.raises(ValueError, match="the model has one output"):
        nn.fit(nn.MLP(2, [3, 1], seed=0), X, Y, loss="cross_entropy", epochs=1, progress=False)
    with pytest.raises(ValueError, match="the model has one output"):
        nn.cross_entropy([Value(0.3), Value(-1.0)], [0, 1])


@pytest.mark.parametrize("target", [math.inf, -math.inf, math.nan, 1.5, True, "1"])
def test_cross_entropy_refuses_a_target_that_is_no_class_index_with_a_value_error(target):
    with pytest.raises(ValueError, match="class index"):
        nn.cross_entropy([Value(0.3), Value(-1.0)], target)


# -- optimizers, schedules, penalties -----------------------------------------------------


@pytest.mark.parametrize("lr", [-5, math.nan, math.inf, "0.1", True])
def test_fit_checks_lr_even_for_a_ready_made_optimizer(lr):
    model = nn.MLP(2, [1], seed=0)
    optimizer = nn.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="lr must be a finite number >= 0"):
        nn.fit(model, X, Y, loss="mse", optimizer=optimizer, lr=lr, epochs=1, progress=False)
    with pytest.raises(ValueError, match="lr must be"):
        optimizer.lr = lr
    assert optimizer.lr == 0.1


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: nn.linear_decay(0.1, 0.0, 0), "linear_decay's steps"),
        (lambda: nn.cosine_decay(0.1, 0), "cosine_decay's steps"),
        (lambda: nn.step_decay(0.1, 0), "step_decay's step_size"),
        (lambda: nn.step_decay(0.1, 10, gamma=1.5), "gamma"),
        (lambda: nn.exponential_decay(0.1, math.nan), "gamma"),
        (lambda: nn.linear_decay(-0.1, 0.0, 10), "start"),
        (lambda: nn.cosine_decay(0.1, 10, min_lr=math.inf), "min_lr"),
    ],
)
def test_schedules_check_their_arguments_when_built(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    "options, message",
    [
        ({"dampening": math.nan}, "dampening"),
        ({"dampening": 2.0}, "dampening"),
        ({"momentum": math.inf}, "momentum"),
        ({"weight_decay": -1.0}, "weight_decay"),
    ],
)
def test_sgd_checks_its_numbers(options, message):
    with pytest.raises(ValueError, match=message):
        nn.SGD(nn.MLP(2, [1], seed=0).parameters(), lr=0.1, **options)


@pytest.mark.parametrize("name", ["l1", "l2"])
@pytest.mark.parametrize("value", [-0.1, math.nan, math.inf])
def test_fit_refuses_penalties_that_are_not_finite_non_negative(name, value):
    with pytest.raises(ValueError, match=f"{name} must be a finite number >= 0"):
        nn.fit(nn.MLP(2, [1], seed=0), X, Y, loss="mse", epochs=1, progress=False,
               **{name: value})


def test_a_schedule_returning_a_bad_rate_is_named_at_its_step():
    model = nn.MLP(2, [1], seed=0)
    optimizer = nn.SGD(model.parameters(), lr=0.1, schedule=lambda k: 0.1 - 0.1 * k)
    optimizer.step()
    optimizer.step()
    with pytest.raises(ValueError, match=r"schedule\(2\) must be"):
        optimizer.step()


# -- data sets and module sizes -----------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [lambda: data.moons(10, noise=math.nan), lambda: data.circles(10, noise=-1.0),
     lambda: data.spiral(10, noise=math.inf), lambda: data.house_prices(10, noise=math.nan),
     lambda: data.blobs(10, std=math.nan)],
    ids=["moons", "circles", "spiral", "house_prices", "blobs"],
)
def test_nan_noise_is_refused_by_name(make):
    with pytest.raises(ValueError, match="(noise|std) must be a finite number >= 0"):
        make()


def test_a_data_set_of_ten_billion_rows_is_refused_at_once():
    with pytest.raises(ValueError, match=f"at most {MAX_ROWS:,}"):
        data.moons(10_000_000_000)


def test_a_negative_seed_is_named():
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        data.moons(10, seed=-1)


def test_standardize_keeps_values_near_the_float_limits_finite_and_spread():
    column = np.array([1e300, -1.2e300, 1.7e308, -1.7e308, 3e299])
    scaled, mean, std = data.standardize(column.reshape(-1, 1))
    assert np.all(np.isfinite(scaled)) and np.isfinite(mean).all() and np.isfinite(std).all()
    assert scaled.std() == pytest.approx(1.0) and abs(scaled.mean()) < 1e-12


def test_standardize_gives_the_same_numbers_as_the_plain_formula_in_the_usual_range():
    rows = np.random.default_rng(0).normal(size=(40, 3)) * [1.0, 300.0, 1e-4] + [5, -2, 0]
    scaled, mean, std = data.standardize(rows)
    assert np.array_equal(mean, rows.mean(axis=0)) and np.array_equal(std, rows.std(axis=0))
    assert np.array_equal(scaled, (rows - rows.mean(axis=0)) / rows.std(axis=0))


HUGE_MODELS = {
    "MLP(2, [10**7])": "nn.MLP(2, [10**7])",
    "Layer(10**6, 10**6)": "nn.Layer(10**6, 10**6)",
    "Neuron(10**7)": "nn.Neuron(10**7)",
    "MLP(1, [1] * 10**6)": "nn.MLP(1, [1] * 10**6)",
    "Conv2d(1, 10**7, 3)": "nn.Conv2d(1, 10**7, 3)",
    "RNN(1, 10**5)": "nn.RNN(1, 10**5)",
}


@pytest.mark.parametrize("expression", HUGE_MODELS.values(), ids=HUGE_MODELS.keys())
def test_a_typo_sized_module_is_refused_before_anything_is_built(expression):
    # 60-90 s and 6 GB for MLP(2, [10**7]) before the limit; the timeout fails a regression
    result = run_python(
        f"import nn\ntry:\n    {expression}\nexcept ValueError as error:\n    print(error)",
        timeout=60,
    )
    assert f"more than {MAX_PARAMETERS:,}" in result.stdout, result.stderr[-1000:]


def test_the_limit_itself_is_allowed():
    assert check_parameter_count(MAX_PARAMETERS, "a module") == MAX_PARAMETERS
    with pytest.raises(ValueError, match="a module would have 1,000,001 parameters"):
        check_parameter_count(MAX_PARAMETERS + 1, "a module")
