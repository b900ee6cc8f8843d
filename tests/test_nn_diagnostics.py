"""Training health: fit's per-layer diagnostics, diagnose's findings, divergence and clipping."""

import math

import numpy as np
import pytest

import nn
import nn.module
import nn.train
from autograd import Value
from nn import MLP, Layer, Neuron, data, diagnose, fit
from nn.diagnostics import (
    DEAD_FRACTION,
    EXPLODING_NORM,
    SATURATED_FRACTION,
    VANISHING_RATIO,
    Diagnosis,
    Finding,
)
from nn.monitor import STATS, LayerStats, divergence_report


def moons(n=40, seed=0):
    X, y = data.moons(n, noise=0.1, seed=seed)
    return data.standardize(X)[0], y


def norm_of(values):
    return math.sqrt(sum(v * v for v in values))


# -- fit(..., diagnostics=True) ------------------------------------------------------------


def test_diagnostics_record_every_statistic_for_every_layer_and_epoch():
    X, y = moons()
    history = fit(MLP(2, [5, 4, 1], activation="tanh", seed=0), X, y, loss="bce_with_logits",
                  epochs=3, batch_size=10, progress=False, diagnostics=True, seed=0)
    assert len(history.diagnostics) == history.epochs == 3
    for record in history.diagnostics:
        assert list(record) == ["layers.0", "layers.1", "layers.2"]
        for stats in record.values():
            assert set(stats) == set(STATS)
    first = history.diagnostics[0]
    assert first["layers.0"]["dead"] is None  # tanh: nothing is dead, some may saturate
    assert 0.0 <= first["layers.0"]["saturated"] <= 1.0
    assert first["layers.2"]["saturated"] is None  # the linear output layer
    assert "diagnostics" not in history.as_dict()  # history.csv keeps its columns


def test_grad_norm_and_update_ratio_are_those_of_the_epochs_last_step():
    X, y = moons(12)
    model = MLP(2, [3, 1], seed=1)
    twin = MLP(2, [3, 1], seed=1)
    history = fit(model, X, y, loss="mse", optimizer=nn.SGD(model.parameters(), lr=0.1),
                  epochs=1, progress=False, diagnostics=True)
    loss = nn.mse_loss(twin.forward_batch(X.tolist()), y)  # the one full-batch step, by hand
    loss.backward()
    stats = history.diagnostics[0]
    for name, layer in zip(["layers.0", "layers.1"], twin.layers, strict=True):
        grads = [p.grad for p in layer.parameters()]
        before = [p.data for p in layer.parameters()]
        assert stats[name]["grad_norm"] == pytest.approx(norm_of(grads), rel=1e-12)
        # plain SGD moves each parameter by lr * grad
        assert stats[name]["update_ratio"] == pytest.approx(
            0.1 * norm_of(grads) / norm_of(before), rel=1e-9)


def test_activation_statistics_cover_every_output_of_the_epoch():
    X, y = moons(12)
    model = MLP(2, [4, 1], activation="relu", seed=2)
    twin = MLP(2, [4, 1], activation="relu", seed=2)
    history = fit(model, X, y, loss="mse", epochs=1, progress=False, diagnostics=True)
    hidden = np.array([[v.data for v in twin.layers[0](row)] for row in X.tolist()])
    stats = history.diagnostics[0]["layers.0"]
    assert stats["activation_mean"] == pytest.approx(hidden.mean(), rel=1e-12)
    assert stats["activation_std"] == pytest.approx(hidden.std(), rel=1e-9)
    assert stats["dead"] == pytest.approx(float((hidden <= 0).all(axis=0).mean()))


def test_layer_stats_over_several_batches_equal_the_statistics_of_all_of_them():
    rng = np.random.default_rng(0)
    batches = [rng.normal(3.0, 2.0, (n, 4)) for n in (5, 1, 7)]
    batches[1][0, 2] = 10.0  # unit 2 is positive once in the whole epoch
    for b in batches:
        b[:, 2] = np.where(b[:, 2] == 10.0, 10.0, -1.0)
    stats = LayerStats("x", None, [], "relu")
    for batch in batches:
        stats.add([[Value(v) for v in row] for row in batch.tolist()])
    everything = np.vstack(batches)
    result = stats.activations()
    assert result["activation_mean"] == pytest.approx(everything.mean(), rel=1e-12)
    assert result["activation_std"] == pytest.approx(everything.std(), rel=1e-12)
    assert result["dead"] == float((everything <= 0).all(axis=0).mean())
    assert result["saturated"] is None


def test_dead_counts_relu_units_never_positive_during_the_epoch():
    X, y = moons(20)
    model = MLP(2, [8, 1], seed=3)
    for j, neuron in enumerate(model.layers[0].neurons):
        neuron.b.data = -1e3 if j < 3 else 1e3  # 3 of 8 units never fire, 5 always do
    history = fit(model, X, y, loss="mse", lr=1e-6, epochs=2, batch_size=5, progress=False,
                  diagnostics=True, seed=0)
    assert [record["layers.0"]["dead"] for record in history.diagnostics] == [3 / 8, 3 / 8]


@pytest.mark.parametrize(("activation", "bias", "expected"), [
    ("tanh", [5.0, -5.0, 0.0, 0.1], 0.5),  # tanh(5) = 0.99991
    ("sigmoid", [10.0, -10.0, 0.0, 4.0], 0.5),  # sigmoid(4) = 0.982: not in a tail
    ("tanh", [2.0, 2.5, 0.0, 0.0], 0.0),  # tanh(2.5) = 0.987: just short of the tail
])
def test_saturated_is_the_fraction_of_outputs_in_the_flat_tails(activation, bias, expected):
    X, y = moons(10)
    model = MLP(2, [4, 1], activation=activation, seed=0)
    for neuron, b in zip(model.layers[0].neurons, bias, strict=True):
        for w in neuron.w:
            w.data = 0.0  # the output is the bias's activation alone
        neuron.b.data = b
    history = fit(model, X, y, loss="mse", lr=1e-9, epochs=1, progress=False, diagnostics=True)
    assert history.diagnostics[0]["layers.0"]["saturated"] == expected


def test_diagnostics_off_never_watch_and_record_nothing(monkeypatch):
    active = []
    original = nn.module.MLP.forward_batch

    def spy(self, xs):
        active.append(nn.module._watch.get())
        return original(self, xs)

    monkeypatch.setattr(nn.module.MLP, "forward_batch", spy)
    X, y = moons(12)
    history = fit(MLP(2, [3, 1], seed=0), X, y, loss="mse", epochs=2, progress=False)
    assert history.diagnostics == [] and active == [None, None]
    fit(MLP(2, [3, 1], seed=0), X, y, loss="mse", epochs=1, progress=False, diagnostics=True)
    assert active[-1] is not None


def test_a_model_without_containers_is_one_layer_named_by_the_empty_string():
    X, y = moons(10)
    history = fit(Neuron(2, activation="sigmoid", seed=0), X, y, loss="bce", epochs=2,
                  progress=False, diagnostics=True)
    (name,) = history.diagnostics[0]
    stats = history.diagnostics[0][""]
    assert name == "" and stats["grad_norm"] > 0 and stats["saturated"] is not None
    layer = fit(Layer(2, 3, seed=0), X, np.zeros((10, 3)), loss="mse", epochs=1,
                progress=False, diagnostics=True)
    assert layer.diagnostics[0][""]["dead"] is not None


def test_diagnostics_with_batch_norm_cover_the_whole_hidden_layer():
    X, y = moons(12)
    model = MLP(2, [4, 1], norm="batch", seed=0)
    history = fit(model, X, y, loss="mse", epochs=1, batch_size=6, progress=False,
                  diagnostics=True, seed=0)
    assert list(history.diagnostics[0]) == ["layers.0", "layers.1"]
    assert history.diagnostics[0]["layers.0"]["dead"] is not None  # after norm and relu


@pytest.mark.parametrize("value", [1, "yes", None])
def test_diagnostics_must_be_a_bool(value):
    with pytest.raises(TypeError, match="diagnostics must be True or False"):
        fit(MLP(2, [1], seed=0), *moons(4), epochs=1, progress=False, diagnostics=value)


# -- clip_grad -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1.0, float("inf"), float("nan"), True, "1"])
def test_clip_grad_must_be_a_positive_number(value):
    with pytest.raises(ValueError, match="clip_grad must be a positive number"):
        fit(MLP(2, [1], seed=0), *moons(4), epochs=1, progress=False, clip_grad=value)


def test_clip_grad_bounds_every_step_and_diagnostics_see_the_gradient_before_clipping():
    X, y = data.house_prices(20, seed=0)  # raw inputs: huge gradients
    model = MLP(2, [4, 1], seed=0)
    norms = []
    original = nn.monitor.clip_grad_norm

    def spy(parameters, max_norm, **kwargs):
        total = original(parameters, max_norm, **kwargs)
        norms.append((total, norm_of([p.grad for p in parameters])))
        return total

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nn.train, "clip_grad_norm", spy)
        history = fit(model, X, (y - y.mean()) / y.std(), loss="mse", lr=0.01, epochs=3,
                      progress=False, clip_grad=1.0, diagnostics=True)
    assert all(after <= 1.0 + 1e-9 for _, after in norms)
    assert norms[-1][0] > 100  # the clip did bite ...
    recorded = history.diagnostics[-1]
    total = norm_of([recorded[name]["grad_norm"] for name in recorded])
    assert total == pytest.approx(norms[-1][0], rel=1e-9)  # ... and diagnostics saw before


def test_clip_grad_norm_takes_a_module_and_refuses_bad_arguments():
    model = MLP(2, [2, 1], seed=0)
    for p in model.parameters():
        p.grad = 3.0
    total = nn.clip_grad_norm(model, 1.0)
    assert total == pytest.approx(3.0 * math.sqrt(model.num_parameters()))
    assert norm_of([p.grad for p in model.parameters()]) == pytest.approx(1.0, rel=1e-5)
    assert nn.clip_grad_norm([], 1.0) == 0.0
    with pytest.raises(ValueError, match="max_norm must be a positive number"):
        nn.clip_grad_norm(model, 0)
    with pytest.raises(ValueError, match="norm_type"):
        nn.clip_grad_norm(model, 1.0, norm_type=-2)
    with pytest.raises(TypeError, match="parameters must be Values"):
        nn.clip_grad_norm([1.0, 2.0], 1.0)
    with pytest.raises(TypeError, match="parameters must be Values"):
        nn.clip_grad_norm(5, 1.0)


def test_clip_grad_norm_spreads_nan_as_torch_unless_asked_to_raise():
    values = [Value(0.0), Value(0.0)]
    values[0].grad, values[1].grad = float("nan"), 1.0
    with pytest.raises(FloatingPointError, match="non-finite|nan"):
        nn.clip_grad_norm(values, 1.0, error_if_nonfinite=True)
    assert values[1].grad == 1.0  # nothing was scaled
    assert math.isnan(nn.clip_grad_norm(values, 1.0))
    assert math.isnan(values[1].grad)


# -- divergence: which layer left the finite range ----------------------------------------


def _overflowing_first_layer():
    """x = 1e308 meets w = 1e-307: a finite output (10) whose weight gradient overflows.

    (Linear, since a relu would hide the -inf weight the update makes: relu(-inf) = 0.)
    """
    model = MLP(1, [1, 1], activation="linear", seed=0)
    model.layers[0].neurons[0].w[0].data = 1e-307
    model.layers[1].neurons[0].w[0].data = 1.0
    return model, np.array([[1e308]]), np.array([0.0])


def test_a_diverging_fit_names_the_layer_whose_gradient_overflowed():
    model, X, y = _overflowing_first_layer()
    with pytest.raises(FloatingPointError) as caught:
        fit(model, X, y, loss="mse", lr=0.1, epochs=3, progress=False)
    message = str(caught.value)
    assert "at epoch 2, step 1" in message  # the loss of the step after the bad update
    assert "step before: the gradient left the finite range first in layers.0" in message
    assert "layers.0.neurons.0.w.0 had gradient inf" in message


def test_with_clipping_a_non_finite_gradient_stops_before_the_step():
    model, X, y = _overflowing_first_layer()
    with pytest.raises(FloatingPointError, match=r"epoch 1, step 1.*not applied.*layers\.0"):
        fit(model, X, y, loss="mse", lr=0.1, epochs=3, progress=False, clip_grad=1.0)
    assert all(math.isfinite(p.data) for p in model.parameters())


def test_divergence_report_searches_layers_in_backward_order():
    model = MLP(2, [2, 2, 1], seed=0)
    model.layers[0].neurons[1].w[0].grad = float("inf")
    model.layers[1].neurons[0].b.grad = float("nan")
    report = divergence_report(model)
    assert "first in layers.1 (layers.1.neurons.0.b had gradient nan" in report
    model.zero_grad()
    model.layers[2].neurons[0].w[1].data = float("-inf")
    model.layers[0].neurons[0].b.grad = 1.0
    report = divergence_report(model)
    assert "update of layers.2 left the finite range" in report and "-inf" in report
    model.layers[2].neurons[0].w[1].data = 1e200
    assert "forward pass overflowed" in divergence_report(model)
    assert "layers.2 (|1e+200|)" in divergence_report(model)
    model.zero_grad()
    assert divergence_report(model) == ""  # nothing applied yet: the data, not training


def test_a_micrograd_style_model_is_reported_as_the_model():
    weight = Value(1.0)

    class Model:
        def __call__(self, x):
            return weight * x[0]

        def parameters(self):
            return [weight]

    weight.grad = float("inf")
    assert "first in the model" in divergence_report(Model())


# -- diagnose ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("hidden", [[16, 16], [16] * 6, [32]])
def test_a_healthy_network_raises_no_alarm(seed, hidden):
    X, y = moons(100, seed=seed)
    diagnosis = diagnose(MLP(2, [*hidden, 1], init="he", seed=seed), X, y, loss="bce_with_logits")
    assert diagnosis.healthy, str(diagnosis)
    assert "No findings" in str(diagnosis)


def test_a_deep_sigmoid_network_shows_its_first_layers_vanishing():
    X, y = moons(100)
    model = MLP(2, [16] * 6 + [1], activation="sigmoid", init="xavier", seed=0)
    diagnosis = diagnose(model, X, y, loss="bce_with_logits")
    assert diagnosis.kinds() == {"vanishing"}
    flagged = [f.layer for f in diagnosis.findings]
    assert flagged[0] == "layers.0" and "layers.6" not in flagged and "layers.5" not in flagged
    message = diagnosis.findings[0].message
    assert "gradient norm" in message and "of the largest (layers.6" in message
    assert "ReLU" in message and "init='he'" in message and "norm='batch'" in message
    assert diagnosis.layers["layers.0"]["grad_norm"] < VANISHING_RATIO * max(
        s["grad_norm"] for s in diagnosis.layers.values())
    # the same network with ReLU and He initialisation does not vanish
    healthy = diagnose(MLP(2, [16] * 6 + [1], init="he", seed=0), X, y, loss="bce_with_logits")
    assert "vanishing" not in healthy.kinds()


def test_unstandardised_inputs_explode_and_saturate():
    X, y = data.house_prices(60, seed=0)
    exploding = diagnose(MLP(2, [16, 16, 1], init="he", seed=0), X, y, loss="mse")
    assert "exploding" in exploding.kinds()
    finding = next(f for f in exploding.findings if f.kind == "exploding")
    assert f"above {EXPLODING_NORM:g}" in finding.message
    assert "clip_grad" in finding.message and "smaller learning rate" in finding.message
    assert "standardize" in finding.message
    ys = (y - y.mean()) / y.std()
    saturated = diagnose(MLP(2, [16, 1], activation="tanh", seed=0), X, ys, loss="mse")
    finding = next(f for f in saturated.findings if f.kind == "saturated")
    assert finding.layer == "layers.0" and "|tanh| > 0.99" in finding.message
    assert saturated.layers["layers.0"]["saturated"] >= SATURATED_FRACTION


def test_dead_relu_units_are_found():
    X, y = moons(50)
    model = MLP(2, [16, 16, 1], init="he", seed=0)
    for neuron in model.layers[1].neurons[:12]:
        neuron.b.data = -50.0
    diagnosis = diagnose(model, X, y, loss="bce_with_logits")
    (finding,) = [f for f in diagnosis.findings if f.kind == "dead"]
    assert finding.layer == "layers.1" and "75% of its relu units" in finding.message
    assert diagnosis.layers["layers.1"]["dead"] == 0.75 >= DEAD_FRACTION
    assert "init='he'" in finding.message and "leaky_relu" in finding.message


def test_a_nan_loss_is_an_exploding_finding_without_gradients():
    X, y = moons(10)
    model = MLP(2, [4, 1], seed=0)
    # a model that diverged (an inf in X is bad data, and named as such: see below)
    model.layers[0].neurons[0].w[0].data = np.nan
    diagnosis = diagnose(model, X, y, loss="mse")
    assert diagnosis.findings[0].kind == "exploding" and "the loss is nan" in str(diagnosis)
    assert all(s["grad_norm"] is None for s in diagnosis.layers.values())


def test_diagnose_names_bad_data_instead_of_diagnosing_it():
    X, y = moons(10)
    X[3, 0] = np.inf
    with pytest.raises(ValueError, match=r"X\[3, 0\] \(row 3, column 0\) is inf"):
        diagnose(MLP(2, [4, 1], seed=0), X, y, loss="mse")


def test_diagnose_leaves_the_model_as_it_was():
    X, y = moons(20)
    model = MLP(2, [4, 4, 1], norm="batch", dropout=0.0, seed=0)
    for p in model.parameters():
        p.grad = 0.25
    model.eval()
    state = model.state_dict()
    diagnose(model, X, y, loss="bce_with_logits")
    assert model.state_dict() == state  # running statistics included
    assert all(p.grad == 0.25 for p in model.parameters())
    assert model.training is False and model.layers[0].norm.training is False


def test_diagnosis_reads_as_text_and_as_html():
    X, y = moons(30)
    diagnosis = diagnose(MLP(2, [8] * 5 + [1], activation="sigmoid", init="xavier", seed=0),
                         X, y, loss="bce_with_logits")
    text = str(diagnosis)
    assert text.startswith("Diagnosis of MLP(2, [8, 8, 8, 8, 8, 1]) on 30 samples")
    assert "grad norm" in text and "layers.0" in text and "finding" in text
    page = diagnosis._repr_html_()
    assert page.count("<tr") == 1 + 6 and "<b>vanishing</b>" in page
    assert "vanishing layers.0" in repr(diagnosis)
    finding = Finding("dead", "layers.1", "<script>alert(1)</script>")
    shown = Diagnosis([finding], {}, 0.5, 3)._repr_html_()
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert str(finding) == "dead in layers.1: <script>alert(1)</script>"


def test_diagnose_refuses_bad_arguments_as_fit_does():
    model = MLP(2, [2, 1], seed=0)
    with pytest.raises(ValueError, match="unknown loss"):
        diagnose(model, *moons(5), loss="nope")
    with pytest.raises(ValueError, match="has 5 rows but y has 4"):
        diagnose(model, moons(5)[0], np.zeros(4))
    with pytest.raises(ValueError, match="expects 2 inputs, got 3"):
        diagnose(model, np.zeros((4, 3)), np.zeros(4))


def test_findings_of_a_fit_record_use_the_same_thresholds():
    X, y = moons(30)
    history = fit(MLP(2, [8] * 5 + [1], activation="sigmoid", init="xavier", seed=0), X, y,
                  loss="bce_with_logits", epochs=1, progress=False, diagnostics=True)
    found = nn.diagnostics.findings(history.diagnostics[-1])
    assert {f.kind for f in found} == {"vanishing"} and found[0].layer == "layers.0"


def test_huge_gradients_give_inf_statistics_never_an_overflow_error():
    values = [Value(0.0), Value(0.0)]
    values[0].grad, values[1].grad = 1e200, 1.0
    assert nn.clip_grad_norm(values, 1.0, norm_type=3.0) == math.inf
    model = MLP(1, [1], activation="linear", seed=0)
    model.layers[0].neurons[0].w[0].data = 1e-300
    history = fit(model, np.array([[1e300]]), np.array([1e10]), loss="mse", lr=1e10, epochs=1,
                  progress=False, diagnostics=True)  # the update overflows to -inf
    assert history.diagnostics[0]["layers.0"]["update_ratio"] == math.inf


def test_a_forward_overflow_is_traced_to_the_first_layer_whose_outputs_left_the_finite_range():
    model = MLP(1, [1, 1, 1], activation="linear", norm="batch", seed=0)
    model.layers[0].neurons[0].w[0].data = 1.0
    model.layers[1].neurons[0].w[0].data = 1e200  # its outputs overflow on the rerun below
    model.layers[0].norm.weight[0].data = 1e200
    model.layers[2].neurons[0].b.grad = 1.0  # some step has been applied
    state = model.state_dict()
    report = divergence_report(model, rows=[[1.0], [3.0]])
    assert "forward pass overflowed, first in the outputs of layers.1" in report
    assert model.state_dict() == state  # the rerun moved no running statistic
    with pytest.raises(FloatingPointError, match="first in the outputs of layers.1"):
        fit(model, np.array([[1.0], [3.0]]), np.array([0.0, 1.0]), loss="mse", lr=0.1,
            epochs=1, progress=False)


def test_ctrl_c_with_diagnostics_keeps_columns_and_records_aligned():
    X, y = moons(12)
    calls = []

    def interrupting_loss(outputs, targets):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return nn.mse_loss(outputs, targets)

    history = fit(MLP(2, [3, 1], seed=0), X, y, loss=interrupting_loss, epochs=5, batch_size=6,
                  progress=False, diagnostics=True, seed=0)
    assert history.interrupted and history.epochs == 2 == len(history.diagnostics)
    assert nn.module._watch.get() is None  # the watch ended with the interrupted step


def test_a_micrograd_style_model_gets_diagnostics_and_a_diagnosis():
    weights = [Value(0.5), Value(-0.25)]

    class Model:
        def __call__(self, x):
            return (weights[0] * x[0] + weights[1] * x[1]).tanh()

        def parameters(self):
            return weights

    X, y = moons(10)
    history = fit(Model(), X, y, loss="mse", epochs=2, progress=False, diagnostics=True)
    stats = history.diagnostics[-1][""]
    assert stats["grad_norm"] > 0 and stats["activation_std"] > 0 and stats["dead"] is None
    for w in weights:
        w.grad = 0.0
    nn.mse_loss([Model()(row) for row in X.tolist()], y).backward()  # the pass, by hand
    by_hand = norm_of([w.grad for w in weights])
    for w in weights:
        w.grad = 7.0
    diagnosis = diagnose(Model(), X, y, loss="mse")
    assert str(diagnosis).startswith("Diagnosis of Model on 10 samples")
    assert diagnosis.layers[""]["grad_norm"] == pytest.approx(by_hand, rel=1e-12)
    assert [w.grad for w in weights] == [7.0, 7.0]  # restored afterwards
