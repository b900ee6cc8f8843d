"""Attacks: Ctrl-C at every point of an optimizer step, of fit, and of ``chainrule train``.

Interrupts are real SIGINTs raised at the n-th traced line event
(``attacks.interrupt_at``), for every n the code reaches, so each test walks
every place a user's Ctrl-C can land.
"""

import copy
import re
import signal
import threading

import numpy as np
import pytest
from attacks import interrupt_at, popen_python, run_python

import autograd
import nn
from nn._interrupts import deferred_interrupts

OURS = ("nn/train.py", "nn/tape_engine.py", "nn/optim.py", "nn/_interrupts.py")


@pytest.fixture(autouse=True)
def pythons_sigint_handler():
    """Ctrl-C raises KeyboardInterrupt here even when pytest runs in a background job."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def injected(action, target: int, watched=None):
    """(what action returned or None, how many events were seen, whether Ctrl-C escaped)."""
    result, escaped, seen = None, False, [0]
    try:
        with interrupt_at(target, watched) as seen:
            result = action()
        for _ in range(3):  # bytecode boundaries for a signal still pending
            pass
    except KeyboardInterrupt:
        escaped = True
    return result, seen[0], escaped


def optimizer_state(optimizer) -> dict:
    state = {name: copy.deepcopy(value) for name, value in vars(optimizer).items()
             if name not in ("params", "schedule")}
    state["data"] = [p.data for p in optimizer.params]
    return state


OPTIMIZERS = {
    "sgd momentum nesterov decay": lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9, nesterov=True,
                                                     weight_decay=0.01),
    "sgd schedule": lambda ps: nn.SGD(ps, lr=0.1, schedule=nn.linear_decay(0.1, 0.01, 10)),
    "adam": lambda ps: nn.Adam(ps, lr=0.01, weight_decay=0.01),
    "adamw": lambda ps: nn.AdamW(ps, lr=0.01),
}


@pytest.mark.parametrize("make", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_ctrl_c_anywhere_in_a_step_leaves_the_last_completed_step(make):
    model = nn.MLP(2, [4, 4, 1], seed=0)  # 33 parameters, as in the issue
    grads = [0.1 * (i % 7 - 3) for i in range(len(model.parameters()))]

    def fresh():
        optimizer = make(nn.MLP(2, [4, 4, 1], seed=0).parameters())
        for _ in range(2):  # some momentum / moments already
            for p, g in zip(optimizer.params, grads, strict=True):
                p.grad = g
            optimizer.step()
        return optimizer

    clean = fresh()
    before = optimizer_state(clean)
    clean.step()
    after = optimizer_state(clean)
    assert before["data"] != after["data"]
    outcomes = set()
    target = 0
    while True:
        target += 1
        optimizer = fresh()
        _, seen, escaped = injected(optimizer.step, target)
        state = optimizer_state(optimizer)
        assert state in (before, after), f"Ctrl-C at line event {target} split the step"
        outcomes.add((escaped, "after" if state == after else "before"))
        if seen < target:  # the step ended before the target: every point was tried
            break
    # Ctrl-C landed before the update (nothing applied) and during the update (all applied)
    assert {(True, "before"), (True, "after")} <= outcomes


def test_deferred_interrupts_hold_ctrl_c_until_the_block_ends():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with deferred_interrupts():
            signal.raise_signal(signal.SIGINT)
            done.append("rest of the block")
    assert done == ["rest of the block"]


def test_deferred_interrupts_nest_and_hand_the_interrupt_outwards():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with deferred_interrupts():
            with deferred_interrupts():
                signal.raise_signal(signal.SIGINT)
            done.append("outer block")
    assert done == ["outer block"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_deferred_interrupts_outside_the_main_thread_just_run_the_block():
    ran = []

    def work():
        with deferred_interrupts():
            ran.append(True)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=30)
    assert ran == [True]


# -- fit --------------------------------------------------------------------------------------

X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
Y = np.array([1, 1, 0, 0])


class RecordingSGD(nn.SGD):
    """SGD that keeps the parameters after every completed step (the reference trajectory)."""

    def __init__(self, params, **options):
        super().__init__(params, **options)
        self.trajectory = [[p.data for p in self.params]]

    def step(self):
        super().step()
        self.trajectory.append([p.data for p in self.params])


def among(parameters, trajectory) -> bool:
    """parameters equal one point of the trajectory (1e-12 relative)."""
    return any(np.allclose(parameters, point, rtol=1e-12, atol=1e-15) for point in trajectory)


def train(optimizer_class=nn.SGD, box=None):
    model = nn.MLP(2, [2, 1], seed=0)
    if box is not None:
        box["model"] = model
    optimizer = optimizer_class(model.parameters(), lr=0.1, momentum=0.9)
    history = nn.fit(model, X, Y, loss="bce_with_logits", optimizer=optimizer, epochs=2,
                     validation=(X, Y), progress=False, seed=0, snapshots=True)
    return model, optimizer, history


def test_ctrl_c_anywhere_in_fit_keeps_equal_columns_and_a_completed_step():
    _, reference, full = train(RecordingSGD)
    trajectory = reference.trajectory
    assert full.epochs == 2 and len(trajectory) == 3
    watched_passes = [
        (lambda name: name.endswith(OURS), 1),  # every line of fit, its engines, optimizer, guard
        (None, 41),  # and every 41st line anywhere (engine, losses, metric, signal, numpy)
    ]
    escapes = returns = 0
    for watched, stride in watched_passes:
        target = 0
        while True:
            target += stride
            box = {}

            def action(box=box):
                return train(box=box)[2]

            history, seen, escaped = injected(action, target, watched)
            model = box.get("model")
            parameters = None if model is None else [p.data for p in model.parameters()]
            if history is not None:
                returns += 1
                columns = [history.loss, history.metric, history.val_loss, history.val_metric,
                           history.seconds]
                assert {len(column) for column in columns} == {history.epochs}, target
                assert len(history.snapshots) == history.epochs + 1, target
                # one step per epoch (full batch): the parameters are those after the last
                # recorded epoch, or after the step of the epoch Ctrl-C cut short
                # (fit trains on the tape: its sums round in numpy's order, so "the same
                # parameters" is 1e-12 relative, far below one step's change)
                assert among(parameters, trajectory[history.epochs : history.epochs + 2]), target
                assert history.interrupted or (
                    history.epochs == 2 and among(parameters, trajectory[2:]))
            elif escaped:
                escapes += 1
                # only before training began (building the model, fit's argument checks)
                # or after it ended (the first bytecodes of fit's tidy-up), never mid-way
                assert parameters is None or among(parameters, [trajectory[0], trajectory[-1]]), \
                    target
            if seen < target:
                break
    # Ctrl-C landed everywhere, inside fit and around it (on the tape an epoch runs fewer
    # lines of these files than on scalars; an interrupt during the tape's first-step
    # check, before training, escapes as one during fit's argument checks does)
    assert returns > 500 and escapes > 0


# -- chainrule train ---------------------------------------------------------------------------

CTRL_C_AFTER = """
import os, signal, sys
import autograd
import nn
real_fit = nn.fit
def fit(*args, callbacks=(), **options):
    def ctrl_c(epoch, history):
        if epoch == int(sys.argv[1]):
            os.kill(os.getpid(), signal.SIGINT)
    return real_fit(*args, callbacks=(*callbacks, ctrl_c), **options)
nn.fit = fit
if sys.argv[1] == "0":  # Ctrl-C inside the first epoch: at its first optimizer step
    for name in ("step", "step_arrays"):  # on scalars, or on the tape's parameter vector
        def first_step(self, *arrays, step=getattr(nn.optim.Optimizer, name)):
            os.kill(os.getpid(), signal.SIGINT)
            return step(self, *arrays)
        setattr(nn.optim.Optimizer, name, first_step)
from viz.cli import main
sys.exit(main(sys.argv[2:]))
"""

TRAIN = ["train", "--epochs", "50", "--hidden", "4", "--samples", "40", "--no-progress"]


@pytest.mark.graphviz
@pytest.mark.parametrize("epochs", [0, 2])
def test_ctrl_c_during_train_writes_what_it_can_says_so_and_exits_130(tmp_path, epochs):
    out = tmp_path / "out"
    result = run_python(CTRL_C_AFTER, str(epochs), *TRAIN, "--out", str(out))
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert f"interrupted after {epochs} epochs" in result.stdout
    rows = (out / "history.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + epochs  # the header and one row per completed epoch
    assert nn.load(out / "model.json").nin == 2
    assert (out / "network.svg").exists() and (out / "neuron.svg").exists()
    assert (out / "loss.svg").exists() == (epochs > 0)  # no loss to plot before an epoch


@pytest.mark.graphviz
def test_a_real_ctrl_c_from_outside_stops_train_with_status_130(tmp_path):
    code = "import sys; from viz.cli import main; sys.exit(main(sys.argv[1:]))"
    process = popen_python(code, "train", "--epochs", "100000", "--hidden", "8",
                           "--samples", "100", "--out", str(tmp_path / "out"))
    try:
        first = process.stdout.readline()  # "training an MLP ...", printed just before fit
        assert first.startswith("training"), first
        threading.Event().wait(3.0)  # some epochs go by (how many does not matter)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert "Traceback" not in out + err
    match = re.search(r"interrupted after (\d+) epochs?", out)
    assert match, out
    rows = (tmp_path / "out" / "history.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + int(match.group(1))


def test_ctrl_c_outside_training_exits_130_without_a_traceback():
    code = """
import os, signal, sys
import viz.cli.expressions as E
def parse(source):
    os.kill(os.getpid(), signal.SIGINT)
    return real(source)
real, E.parse = E.parse, parse
from viz.cli import main
sys.exit(main(["explain", "x * y", "x=1", "y=2"]))
"""
    result = run_python(code)
    assert result.returncode == 130
    assert "Traceback" not in result.stderr
    assert "chainrule explain: interrupted" in result.stderr


@pytest.mark.parametrize("engine", ["scalar", "auto"])
def test_ctrl_c_as_a_loss_scope_closes_leaves_no_scope_behind(engine):
    """Every line of nn/losses.py (a scope's ``with`` line runs again as it closes): after
    fit returns or Ctrl-C escapes it, nodes carry the caller's scope, not a loss's."""
    outer = autograd.mode.current.get()
    landed = 0
    for target in range(1, 400, 3):
        def action():
            model = nn.MLP(2, [2, 1], seed=0)
            return nn.fit(model, X, Y, loss="bce_with_logits", epochs=1, progress=False,
                          seed=0, validation=(X, Y), engine=engine)

        history, seen, escaped = injected(action, target, lambda name: name.endswith(
            "nn/losses.py"))
        landed += history is not None and history.interrupted
        assert autograd.mode.current.get() is outer, (target, escaped)
        assert autograd.Value(1.0).scope is None, (target, escaped)
        if seen < target:
            break
    assert landed > 5 or engine == "auto"  # on the tape losses run while tracing, before training
