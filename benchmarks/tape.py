"""The compiled tape against PyTorch on whole tensors: the demo step, and memory per sample.

    python benchmarks/tape.py [--quick] [--json PATH]

The demo step is benchmarks/run.py's (micrograd's demo.ipynb training step:
MLP(2, [16, 16, 1]) on 100 two-moons points, svm max-margin loss + 1e-4 L2,
forward, backward and an SGD update, from the same initial weights), taken
from run.py itself: its data, weights, model and PyTorch step. On the tape the
forward and backward passes replay ``autograd.trace`` of one sample's hinge
loss over the batch (``Tape.backward_arrays`` on the parameter vector); the
L2 term and the SGD update are numpy on that vector. The run first checks
that the tape computes the same loss and weights as chainrule's scalar step.

numpy's BLAS and torch each run on one thread (the default threading made
numpy's small matrix products ~10x slower on these machines). Times are CPU
times of the process per step, peers taking turns in rounds, garbage
collector on; medians and means are reported (collector pauses hide behind
medians). ``run(quick)`` returns the rows as dicts for ``make bench``.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"  # before numpy is imported, for a standalone run

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import run as demo  # noqa: E402  (benchmarks/run.py: the demo step's definition)
import threadpoolctl  # noqa: E402
import torch  # noqa: E402

import autograd  # noqa: E402


def hinge_tape(model):
    """The tape of one sample's hinge loss, relu(1 - y * score), as run.py's step writes it."""
    return autograd.trace(lambda x0, x1, yi: (1 + -yi * model([x0, x1])).relu(), 0.0, 0.0, 1.0)


class TapeStep:
    """run.py's demo step on the tape: parameters in one vector, numpy SGD on it."""

    def __init__(self, weights):
        self.model = demo.chainrule_model(weights)
        self.tape = hinge_tape(self.model)
        self.params = self.tape.parameter_vector()

    def __call__(self, X, y) -> float:
        columns = list(np.asarray(X, dtype=np.float64).T) + [np.asarray(y, dtype=np.float64)]
        size = len(y)
        params = self.params
        losses, grads, _ = self.tape.backward_arrays(
            columns, seed=np.full(size, 1.0 / size), params=params)
        total = losses.sum() * (1.0 / size) + demo.ALPHA * (params @ params)
        grads += (2.0 * demo.ALPHA) * params
        params -= demo.LEARNING_RATE * grads
        return float(total)

    def write_back(self) -> None:
        for p, x in zip(self.tape.parameters, self.params.tolist(), strict=True):
            p.data = x


def check(weights, X, y) -> float:
    """One step on the tape, on scalars and with PyTorch: the same loss and weights."""
    scalar = demo.chainrule_model(weights)
    expected = demo.chainrule_step(scalar, X, y)
    step = TapeStep(weights)
    loss = step(X, y)
    step.write_back()
    if not math.isclose(loss, expected, rel_tol=1e-12):
        raise RuntimeError(f"the tape computed loss {loss!r}, the scalar engine {expected!r}")
    for a, b in zip(step.model.parameters(), scalar.parameters(), strict=True):
        if not math.isclose(a.data, b.data, rel_tol=1e-9, abs_tol=1e-12):
            raise RuntimeError(f"the tape's updated weight {a.data!r} differs from {b.data!r}")
    torch_loss = demo.torch_tensor_step(demo.torch_tensor_model(weights), X, y)
    if not math.isclose(torch_loss, expected, rel_tol=1e-9):
        raise RuntimeError(f"PyTorch computed loss {torch_loss!r}, the scalar engine {expected!r}")
    return expected


def timed_rounds(jobs: dict, repeats: int, per_round: int) -> dict:
    """name -> per-step CPU times; jobs take turns for ``repeats`` rounds."""
    times = {name: [] for name in jobs}
    for _ in range(repeats):
        for name, job in jobs.items():
            gc.collect()
            for _ in range(per_round):
                start = demo._clock()
                job()
                times[name].append(demo._clock() - start)
    return times


def bench_demo(repeats: int, per_round: int):
    X, y = demo.two_moons()
    weights = demo.initial_weights()
    loss = check(weights, X, y)
    tape_step = TapeStep(weights)
    torch_model = demo.torch_tensor_model(weights)
    jobs = {
        "tape": lambda: tape_step(X, y),
        "PyTorch, whole tensors": lambda: demo.torch_tensor_step(torch_model, X, y),
    }
    return timed_rounds(jobs, repeats, per_round), loss, tape_step.tape


def bytes_per_sample(tape, size: int = 10_000) -> float:
    """Peak bytes tracemalloc sees during one backward_arrays over ``size`` samples, per sample."""
    rng = np.random.default_rng(0)
    columns = [rng.normal(size=size) for _ in range(tape.n_inputs)]
    params = tape.parameter_vector()
    gc.collect()
    tracemalloc.start()
    try:
        tape.backward_arrays(columns, params=params)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / size


def run(quick: bool = False) -> list[dict]:
    """The benchmark's rows: name, median and mean seconds per step, and memory."""
    repeats, per_round = (3, 20) if quick else (7, 100)
    with threadpoolctl.threadpool_limits(1):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            times, loss, tape = bench_demo(repeats, per_round)
        finally:
            torch.set_num_threads(threads)
        memory = bytes_per_sample(tape)
    torch_median = statistics.median(times["PyTorch, whole tensors"])
    rows = []
    for name, ts in times.items():
        median = statistics.median(ts)
        rows.append({
            "benchmark": "demo step: MLP(2, [16, 16, 1]), 100 moons, svm loss + 1e-4 L2, "
                         "fwd + bwd + SGD",
            "name": name,
            "median_s": median,
            "mean_s": statistics.fmean(ts),
            "steps": len(ts),
            "speed_vs_pytorch": torch_median / median,
            "loss": loss,
        })
    rows.append({
        "benchmark": "memory of a tape's backward pass (tracemalloc peak, 10,000 samples)",
        "name": "tape of the demo step's hinge loss",
        "bytes_per_sample": memory,
        "nodes": len(tape),
        "tape": repr(tape),
    })
    return rows


def report(rows: list[dict]) -> str:
    lines = [
        "| demo step: MLP(2, [16, 16, 1]), 100 moons, fwd + bwd + SGD | median | mean "
        "| speed vs PyTorch (medians) |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        if "median_s" in row:
            lines.append(f"| {row['name']} | {row['median_s'] * 1e6:,.0f} µs "
                         f"| {row['mean_s'] * 1e6:,.0f} µs | {row['speed_vs_pytorch']:.2f}x |")
    for row in rows:
        if "bytes_per_sample" in row:
            lines += ["", f"memory per sample of the tape's backward pass: "
                          f"{row['bytes_per_sample']:,.0f} bytes ({row['tape']})"]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    rows = run(quick=args.quick)
    print(report(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
