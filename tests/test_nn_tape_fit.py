"""fit on the compiled tape gives the scalar engine's History and parameters (1e-9).

Each case trains two copies of one model, ``engine="tape"`` and
``engine="scalar"``, and compares every History column and every parameter.
"""

import math
import random

import numpy as np
import pytest

import autograd
import nn
from nn import MLP, data, fit

RTOL = 1e-9


def _same(a, b, what):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape, what
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-12, err_msg=what)


def both(make_model, X, y, trained=slice(None), **kwargs):
    """(tape run, scalar run): each a (History, model) from the same starting model; the
    gradients of the ``trained`` parameters are compared too."""
    runs = []
    for engine in ("tape", "scalar"):
        model = make_model()
        kwargs_here = dict(kwargs)
        if "optimizer" in kwargs and callable(kwargs["optimizer"]):
            kwargs_here["optimizer"] = kwargs["optimizer"](model.parameters())
        history = fit(model, X, y, progress=False, engine=engine, **kwargs_here)
        runs.append((history, model))
    (tape, tape_model), (scalar, scalar_model) = runs
    assert tape.engine == "tape" and scalar.engine == "scalar"
    assert tape.engine_reason is None and scalar.engine_reason is None
    for column in ("loss", "metric", "val_loss", "val_metric"):
        _same(getattr(tape, column), getattr(scalar, column), column)
    assert tape.best_epoch == scalar.best_epoch
    assert tape.stopped_early == scalar.stopped_early
    assert len(tape.snapshots) == len(scalar.snapshots)
    for ours, theirs in zip(tape.snapshots, scalar.snapshots, strict=True):
        assert list(ours) == list(theirs)
        _same(list(ours.values()), list(theirs.values()), "snapshot")
    _same([p.data for p in tape_model.parameters()],
          [p.data for p in scalar_model.parameters()], "parameters")
    _same([p.grad for p in tape_model.parameters()[trained]],
          [p.grad for p in scalar_model.parameters()[trained]], "gradients")
    return runs


def moons():
    return data.moons(40, noise=0.2, seed=0)


@pytest.mark.parametrize("loss", ["hinge", "bce_with_logits", "mse"])
def test_one_output_losses_train_alike_on_tape_and_scalars(loss):
    X, y = moons()
    both(lambda: MLP(2, [6, 1], seed=0), X, y, loss=loss, optimizer="adam", epochs=4,
         batch_size=16, seed=0)


def test_bce_on_sigmoid_outputs_trains_alike():
    X, y = moons()
    both(lambda: MLP(2, [6, 1], output_activation="sigmoid", seed=0), X, y, loss="bce",
         lr=0.1, epochs=4, seed=0)


def test_cross_entropy_with_class_indices_trains_alike():
    X, y = data.spiral(60, classes=3, seed=0)
    both(lambda: MLP(2, [8, 3], activation="tanh", seed=0), X, y,
         loss="cross_entropy", optimizer="adam", epochs=3, batch_size=16, seed=0)


def test_multi_output_regression_trains_alike():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    Y = np.stack([X[:, 0] * X[:, 1], np.sin(X[:, 2])], axis=1)
    both(lambda: MLP(3, [5, 2], activation="sigmoid", seed=1), X, Y, loss="mse",
         optimizer="sgd", lr=0.1, epochs=3, batch_size=8, seed=0)


OPTIMIZERS = {
    "sgd": lambda p: nn.SGD(p, lr=0.1),
    "momentum": lambda p: nn.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "nesterov": lambda p: nn.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda p: nn.Adam(p, lr=0.02, weight_decay=1e-3),
    "adamw": lambda p: nn.AdamW(p, lr=0.02),
    "schedule": lambda p: nn.SGD(p, lr=0.1, schedule=nn.optim.linear_decay(0.1, 0.01, 5)),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_trains_alike(name):
    X, y = moons()
    both(lambda: MLP(2, [6, 1], seed=0), X, y, loss="hinge", optimizer=OPTIMIZERS[name],
         epochs=3, batch_size=16, seed=0)


@pytest.mark.parametrize("batch_size", [None, 1, 7, 16])
def test_full_stochastic_and_ragged_batches_train_alike(batch_size):
    X, y = moons()  # 40 rows: batches of 7 leave a last batch of 5
    both(lambda: MLP(2, [5, 1], seed=0), X, y, loss="bce_with_logits", lr=0.1, epochs=2,
         batch_size=batch_size, seed=3)


def test_dropout_draws_the_same_masks_on_tape_and_scalars():
    X, y = moons()
    tape, scalar = both(lambda: MLP(2, [8, 8, 1], dropout=0.3, seed=0), X, y, loss="hinge",
                        optimizer="adam", epochs=3, batch_size=16, seed=0)
    assert tape[1]._rng.getstate() == scalar[1]._rng.getstate()  # as many draws on both


def test_a_dropout_module_in_a_sequential_trains_alike():
    X, y = moons()

    def make():
        return nn.Sequential(nn.Layer(2, 6, seed=0), nn.Dropout(0.4, seed=1),
                             nn.Layer(6, 1, activation="linear", seed=2))

    both(make, X, y, loss="hinge", lr=0.1, epochs=3, batch_size=8, seed=0)


@pytest.mark.parametrize("penalty", [{"l1": 1e-3}, {"l2": 1e-2}, {"l1": 1e-3, "l2": 1e-3}])
def test_l1_and_l2_penalties_train_alike(penalty):
    X, y = moons()
    both(lambda: MLP(2, [6, 1], seed=0), X, y, loss="hinge", lr=0.1, epochs=3,
         batch_size=16, seed=0, **penalty)


def test_early_stopping_validation_snapshots_and_clipping_train_alike():
    X, y = moons()
    tape, _ = both(lambda: MLP(2, [6, 1], seed=0), X, y, loss="hinge", lr=0.5, epochs=30,
                   validation=0.25, early_stopping=1, snapshots=True, clip_grad=0.5, seed=0)
    assert tape[0].stopped_early


def test_a_callback_sees_the_epochs_parameters_and_may_change_them():
    X, y = moons()
    seen = {}
    for engine in ("tape", "scalar"):
        model = MLP(2, [4, 1], seed=0)

        def halve(epoch, history, model=model):
            seen.setdefault(history.engine, []).append([p.data for p in model.parameters()])
            for p in model.parameters():
                p.data *= 0.5

        fit(model, X, y, loss="hinge", lr=0.1, epochs=3, progress=False, engine=engine,
            callbacks=[halve])
    _same(seen["tape"], seen["scalar"], "parameters seen by the callback")


def test_ctrl_c_keeps_the_last_completed_step_on_the_tape(monkeypatch):
    X, y = moons()
    from nn.tape_engine import TapeEngine
    from nn.train import ScalarEngine

    models = {}
    for engine, cls in (("tape", TapeEngine), ("scalar", ScalarEngine)):
        calls = []
        original = cls.step

        def step(self, optimizer, calls=calls, original=original):
            if len(calls) == 5:
                raise KeyboardInterrupt
            calls.append(1)
            original(self, optimizer)

        monkeypatch.setattr(cls, "step", step)
        model = MLP(2, [4, 1], seed=0)
        history = fit(model, X, y, loss="hinge", lr=0.1, epochs=4, batch_size=16,
                      progress=False, engine=engine, seed=0)
        assert history.interrupted and history.epochs == 1
        models[engine] = model
    _same([p.data for p in models["tape"].parameters()],
          [p.data for p in models["scalar"].parameters()], "parameters after Ctrl-C")
    assert all(p.grad == 0.0 for p in models["tape"].parameters())


def test_a_diverging_loss_on_the_tape_names_epoch_and_step_as_on_scalars():
    X, y = moons()
    messages = []
    for engine in ("tape", "scalar"):
        model = MLP(2, [6, 1], seed=0)
        with pytest.raises(FloatingPointError) as raised:
            fit(model, X * 1e155, y, loss="mse", lr=1.0, epochs=3, progress=False,
                engine=engine)
        messages.append(str(raised.value))
    assert messages[0] == messages[1]


# -- what auto decides ------------------------------------------------------------------------


class Branching(nn.Module):
    """A model whose forward reads a number to choose its graph: it cannot trace."""

    def __init__(self):
        self.layer = nn.Layer(2, 1, activation="linear", seed=0)

    def parameters(self):
        return self.layer.parameters()

    def __call__(self, x):
        out = self.layer(x)
        if out.data > 0:  # BRANCH-LINE
            return out * 2.0
        return out


def _branch_line() -> int:
    with open(__file__) as f:
        return next(i for i, line in enumerate(f, 1) if "# BRANCH-LINE" in line)


def test_auto_falls_back_to_scalars_with_the_reason_for_a_model_that_reads_data():
    X, y = moons()
    history = fit(Branching(), X, y, loss="hinge", epochs=2, progress=False)
    assert history.engine == "scalar"
    assert "does not trace" in history.engine_reason
    assert f"{__file__.rsplit('/', 1)[-1]}:{_branch_line()}" in history.engine_reason


def test_engine_tape_raises_trace_error_naming_the_users_line():
    X, y = moons()
    with pytest.raises(autograd.TraceError) as raised:
        fit(Branching(), X, y, loss="hinge", epochs=2, progress=False, engine="tape")
    assert f"{__file__.rsplit('/', 1)[-1]}:{_branch_line()}" in str(raised.value)


class Noisy(nn.Module):
    """Adds fresh noise per sample: a tape would bake one draw in as a constant."""

    def __init__(self):
        self.layer = nn.Layer(2, 1, activation="linear", seed=0)
        self.rng = random.Random(0)

    def parameters(self):
        return self.layer.parameters()

    def __call__(self, x):
        return self.layer(x) * (1.0 + self.rng.gauss(0.0, 0.5))


def test_auto_falls_back_when_the_first_steps_gradients_disagree():
    X, y = moons()
    history = fit(Noisy(), X, y, loss="hinge", epochs=1, progress=False)
    assert history.engine == "scalar"
    assert "first-step" in history.engine_reason and "not trusted" in history.engine_reason
    with pytest.raises(ValueError, match="engine='tape' cannot train this model: the tape's"):
        fit(Noisy(), X, y, loss="hinge", epochs=1, progress=False, engine="tape")


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"diagnostics": True}, "diagnostics=True"),
    ({"loss": lambda outputs, targets: nn.mse_loss(outputs, targets)}, "callable"),
])
def test_auto_names_why_it_keeps_to_scalars(kwargs, reason):
    X, y = moons()
    kwargs = {"loss": "hinge", **kwargs}
    history = fit(MLP(2, [4, 1], seed=0), X, y, epochs=1, progress=False, **kwargs)
    assert history.engine == "scalar" and reason in history.engine_reason
    with pytest.raises(ValueError, match=f"engine='tape' cannot train this model: .*{reason}"):
        fit(MLP(2, [4, 1], seed=0), X, y, epochs=1, progress=False, engine="tape", **kwargs)


def test_batch_norm_falls_back_with_the_reason():
    X, y = moons()
    history = fit(MLP(2, [4, 1], norm="batch", seed=0), X, y, loss="hinge", epochs=1,
                  batch_size=8, progress=False)
    assert history.engine == "scalar" and "batch norm" in history.engine_reason


def test_a_built_in_loss_passed_as_a_function_still_trains_on_the_tape():
    X, y = moons()
    history = fit(MLP(2, [4, 1], seed=0), X, y, loss=nn.hinge_loss, epochs=1, progress=False)
    assert history.engine == "tape"


def test_engine_must_be_auto_tape_or_scalar():
    X, y = moons()
    with pytest.raises(ValueError, match="engine must be one of 'auto', 'tape', 'scalar'"):
        fit(MLP(2, [4, 1], seed=0), X, y, epochs=1, progress=False, engine="gpu")


def test_a_micrograd_style_model_trains_on_the_tape():
    X, y = moons()
    layer = nn.Layer(2, 1, activation="linear", seed=0)

    class Plain:  # a callable with parameters(), no Module
        def __call__(self, x):
            return layer(x)

        def parameters(self):
            return layer.parameters()

    history = fit(Plain(), X, y, loss="hinge", epochs=2, progress=False, validation=0.25)
    assert history.engine == "tape" and len(history.val_loss) == 2


def test_evaluate_on_the_tape_equals_the_scalar_engine():
    X, y = moons()
    model = MLP(2, [6, 1], dropout=0.2, seed=0)
    tape = nn.evaluate(model, X, y, loss="hinge")
    scalar = nn.evaluate(model, X, y, loss="hinge", engine="scalar")
    assert tape.keys() == scalar.keys()
    _same(list(tape.values()), list(scalar.values()), "evaluate")
    assert math.isfinite(tape["loss"])


def test_bad_targets_on_the_tape_raise_the_scalar_engines_errors():
    X, y = data.blobs(30, seed=0)
    bad = y.astype(float).copy()
    bad[-1] = 7  # outside the classes, in the last batch only
    with pytest.raises(ValueError, match="target 7 is outside the"):
        fit(MLP(2, [4, int(y.max()) + 1], seed=0), X, bad, loss="cross_entropy", epochs=1,
            batch_size=10, progress=False, engine="tape")


def test_the_decision_boundarys_grid_is_evaluated_on_a_tape_with_the_scalar_numbers():
    from nn.tape_engine import outputs

    model = MLP(2, [6, 6, 3], dropout=0.5, seed=0)  # eval mode: no dropout on the grid
    grid = np.random.default_rng(0).normal(size=(50, 2))
    for _ in range(2):
        model.eval()
        expected = [[v.data for v in model(list(row))] for row in grid]
        model.train()
        _same(outputs(model, grid), expected, "grid outputs")
    assert model.training  # the mode is put back


def test_chainrule_train_passes_engine_through_and_refuses_an_impossible_tape(tmp_path, capsys):
    from viz.cli import main

    with pytest.raises(SystemExit) as raised:
        main(["train", "--dataset", "moons", "--epochs", "1", "--out", str(tmp_path),
              "--no-progress", "--engine", "tape", "--diagnostics"])
    assert raised.value.code == 2
    assert "--engine tape: engine='tape' cannot train this model: diagnostics" in \
        capsys.readouterr().err


@pytest.mark.parametrize("loss", ["bce_with_logits", "hinge"])
def test_bad_labels_in_a_later_batch_raise_the_scalar_engines_message_on_the_tape(loss):
    X, y = moons()
    y = y.astype(float)
    y[-1] = 2.0  # past the rows the first-step check runs on both engines
    messages = []
    for engine in ("tape", "scalar"):
        with pytest.raises(ValueError) as raised:
            fit(MLP(2, [4, 1], seed=0), X, y, loss=loss, epochs=1, batch_size=10,
                progress=False, engine=engine, seed=0)
        messages.append(str(raised.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("engine", [None, 3, "Tape", ""])
def test_a_wrong_engine_is_a_value_error_naming_the_choices(engine):
    X, y = moons()
    with pytest.raises(ValueError, match="engine must be one of 'auto', 'tape', 'scalar'"):
        fit(MLP(2, [4, 1], seed=0), X, y, epochs=1, progress=False, engine=engine)
    with pytest.raises(ValueError, match="engine must be one of"):
        nn.evaluate(MLP(2, [4, 1], seed=0), X, y, engine=engine)


def test_an_optimizer_that_overrides_step_keeps_to_scalars_with_the_reason():
    class Counting(nn.SGD):
        steps_seen = 0

        def step(self):
            Counting.steps_seen += 1
            super().step()

    X, y = moons()
    model = MLP(2, [4, 1], seed=0)
    history = fit(model, X, y, loss="hinge", optimizer=Counting(model.parameters(), lr=0.1),
                  epochs=2, progress=False)
    assert history.engine == "scalar" and "Counting changes the scalar step" in \
        history.engine_reason
    assert Counting.steps_seen == 2


def test_training_some_parameters_only_keeps_the_others_on_both_engines():
    X, y = moons()
    (_, tape), _ = both(lambda: MLP(2, [5, 1], seed=0), X, y, loss="hinge", epochs=3,
                        batch_size=16, seed=0, trained=slice(-6, None),
                        optimizer=lambda params: nn.Adam(params[-6:], lr=0.05))  # output layer
    # the untrained parameters' .grad: the scalar engine's backward adds into it at every
    # step (nothing zeroes it); the tape leaves it alone
    assert all(p.grad == 0.0 for p in tape.parameters()[:-6])


def test_a_convolutional_net_trains_alike_on_tape_and_scalars():
    X, y = data.digits(images=True)
    X, y = X[:24] / 16.0, y[:24]

    def make():
        return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, seed=0), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Layer(32, 10, activation="linear", seed=0))

    both(make, X, y, loss="cross_entropy", optimizer="adam", epochs=2, batch_size=10, seed=0)


def test_an_rnn_trains_alike_on_tape_and_scalars():
    X, y = data.parity(24, 5, seed=0)

    def make():
        return nn.Sequential(nn.RNN(1, 3, seed=0), nn.LastStep(),
                             nn.Layer(3, 2, activation="linear", seed=0))

    both(make, X, y, loss="cross_entropy", optimizer="sgd", lr=0.1, epochs=2, batch_size=8,
         seed=0)


def test_a_custom_metric_gets_lists_of_floats_on_the_tape_as_on_scalars():
    X, y = data.spiral(30, classes=3, seed=0)
    seen = {}

    def first_logit(outputs, targets):
        seen.setdefault("types", set()).update({type(outputs), type(outputs[0]),
                                                type(outputs[0][0])})
        return sum(o[0] for o in outputs) / len(outputs)

    runs = both(lambda: MLP(2, [4, 3], seed=0), X, y, loss="cross_entropy", epochs=2,
                metric=first_logit, validation=0.2, seed=0)
    assert seen["types"] == {list, float}
    assert runs[0][0].metric_name == "first_logit"


def test_an_interrupt_while_tracing_leaves_no_dropout_hook_behind():
    from nn.module import _dropout_masks
    from nn.tape_engine import trace_model

    class Interrupted(nn.Module):
        def __call__(self, x):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        trace_model(Interrupted(), (2,), [])
    assert _dropout_masks.get() is None
    dropped = nn.Dropout(0.5, seed=0)([autograd.Value(1.0)] * 20)  # draws again
    assert {v.data for v in dropped} <= {0.0, 2.0}
