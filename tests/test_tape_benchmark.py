"""benchmarks/tape.py times the same step as benchmarks/run.py's demo, on the tape (no timing)."""

import importlib.util
import os
from pathlib import Path

import pytest

TAPE_PY = Path(__file__).resolve().parents[1] / "benchmarks" / "tape.py"


@pytest.fixture(scope="module")
def bench():
    pytest.importorskip("micrograd")  # run.py's peers: the bench extra
    environment = dict(os.environ)
    spec = importlib.util.spec_from_file_location("chainrule_tape_benchmark", TAPE_PY)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    finally:  # the benchmark pins BLAS to one thread for its own process only
        os.environ.clear()
        os.environ.update(environment)
    return module


def test_the_tape_step_computes_the_scalar_steps_loss_and_weights(bench):
    X, y = bench.demo.two_moons()
    loss = bench.check(bench.demo.initial_weights(), X, y)  # raises on any disagreement
    assert loss > 0


def test_memory_per_sample_is_measured_and_bounded_by_the_tapes_slots(bench):
    step = bench.TapeStep(bench.demo.initial_weights())
    measured = bench.bytes_per_sample(step.tape, size=2_000)
    assert step.tape.bytes_per_sample <= measured < 20 * step.tape.bytes_per_sample
