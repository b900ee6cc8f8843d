"""An MLP(64, [32, 10]) on the 1,797 digits: fit on the compiled tape against PyTorch and scalars.

    .venv/bin/python benchmarks/digits.py [--quick] [--rounds N] [--json PATH]

Softmax cross-entropy, SGD (lr 0.1), pixels / 16, the same initial weights
on every side (PyTorch's copy is ``nn.to_torch(model)``, float64, whole
tensors), the same shuffled order of rows. One epoch is timed full-batch
(one step of 1,797 rows) and in mini-batches of 32 (57 steps, the last one
ragged):

* ``tape steps``: ``nn.tape_engine.TapeEngine.train_step`` and ``step`` per
  batch, then ``sync`` (the parameters written back to the Values) - the
  work of PyTorch's loop (``zero_grad``, forward, loss, ``backward``,
  ``step``);
* ``fit(engine="tape")``: one whole ``fit`` epoch: tracing, the first-step
  check against the scalar engine, the accuracy, the History;
* ``torch``: the loop above on float64 tensors;
* ``scalar``: ``fit(engine="scalar")`` for one epoch (slow: fewer rounds).

Before timing, the run checks that the tape and PyTorch give the same loss
on the same weights (1e-9 relative) and the same weights after a step.

numpy's BLAS and torch each run on one thread (set before numpy is imported;
the default threading made numpy's small matrix products ~10x slower on these
machines). Times are CPU times of this process, peers taking turns in each
round, garbage collector on; medians and means are reported (collector pauses
hide behind medians). ``run(quick)`` returns the rows as dicts for ``make bench``.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"  # before numpy is imported, for a standalone run

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import threadpoolctl  # noqa: E402
import torch  # noqa: E402

import nn  # noqa: E402
from nn.tape_engine import TapeEngine  # noqa: E402

LR = 0.1
BATCHES = {"full batch": None, "batches of 32": 32}


def data():
    X, y = nn.data.digits()
    return X / 16.0, y


def model():
    return nn.MLP(64, [32, 10], seed=0)


def order(n: int) -> np.ndarray:
    return np.random.default_rng(0).permutation(n)


def batches(n: int, size: int | None) -> list[np.ndarray]:
    rows = order(n)
    size = n if size is None else size
    return [rows[i:i + size] for i in range(0, n, size)]


def tape_epoch(X, y, size) -> float:
    """One epoch of TapeEngine steps from fresh weights; the CPU seconds."""
    net = model()
    optimizer = nn.SGD(net.parameters(), lr=LR)
    engine = TapeEngine(net, "cross_entropy", optimizer.params)
    engine.train_step(X[:2], y[:2])  # the trace, outside the timing (fit's row shows it)
    engine.sync()
    started = time.process_time()
    for batch in batches(len(X), size):
        engine.train_step(X[batch], y[batch])
        engine.step(optimizer)
    engine.sync()
    return time.process_time() - started


def fit_epoch(X, y, size, engine: str) -> float:
    net = model()
    started = time.process_time()
    nn.fit(net, X, y, loss="cross_entropy", optimizer=nn.SGD(net.parameters(), lr=LR),
           epochs=1, batch_size=size, progress=False, seed=0, engine=engine)
    return time.process_time() - started


def torch_epoch(X, y, size) -> float:
    net = nn.to_torch(model())
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y, dtype=torch.long)
    index = [torch.tensor(batch) for batch in batches(len(X), size)]
    started = time.process_time()
    for batch in index:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(Xt[batch]), yt[batch])
        loss.backward()
        optimizer.step()
    return time.process_time() - started


def check(X, y) -> float:
    """The tape's loss and weights after one full-batch step equal PyTorch's; the loss."""
    net = model()
    converted = nn.to_torch(net)
    optimizer = nn.SGD(net.parameters(), lr=LR)
    engine = TapeEngine(net, "cross_entropy", optimizer.params)
    loss = engine.train_step(X, y).loss
    engine.step(optimizer)
    engine.sync()
    torch_optimizer = torch.optim.SGD(converted.parameters(), lr=LR)
    expected = torch.nn.functional.cross_entropy(
        converted(torch.tensor(X, dtype=torch.float64)), torch.tensor(y, dtype=torch.long))
    expected.backward()
    torch_optimizer.step()
    if abs(loss - expected.item()) > 1e-9 * abs(expected.item()):
        raise AssertionError(f"the tape's loss {loss!r} is not PyTorch's {expected.item()!r}")
    stepped = nn.to_torch(net)
    for ours, theirs in zip(stepped.parameters(), converted.parameters(), strict=True):
        if not torch.allclose(ours, theirs, rtol=1e-9, atol=1e-12):
            raise AssertionError("the tape's weights after a step differ from PyTorch's")
    return loss


def _summary(name: str, times: list[float], torch_times: list[float] | None) -> dict:
    row = {"name": name, "rounds": len(times),
           "median_ms": 1e3 * statistics.median(times), "mean_ms": 1e3 * statistics.mean(times)}
    if torch_times is not None:
        row["vs_torch_median"] = statistics.median(torch_times) / statistics.median(times)
        row["vs_torch_mean"] = statistics.mean(torch_times) / statistics.mean(times)
    return row


def run(quick: bool = False, rounds: int | None = None) -> list[dict]:
    """The rows: per batching, the tape's steps, fit on the tape, PyTorch and the scalar engine."""
    torch.set_num_threads(1)
    rows = []
    with threadpoolctl.threadpool_limits(1):
        X, y = data()
        loss = check(X, y)
        rounds = rounds or (3 if quick else 7)
        for label, size in BATCHES.items():
            times = {"tape steps": [], "fit(engine='tape')": [], "torch": []}
            for _ in range(rounds):  # peers take turns
                times["tape steps"].append(tape_epoch(X, y, size))
                times["fit(engine='tape')"].append(fit_epoch(X, y, size, "tape"))
                times["torch"].append(torch_epoch(X, y, size))
            scalar = [fit_epoch(X, y, size, "scalar") for _ in range(1 if quick else 3)]
            for name, measured in times.items():
                reference = None if name == "torch" else times["torch"]
                rows.append({"epoch": label, **_summary(name, measured, reference)})
            rows.append({"epoch": label, **_summary("fit(engine='scalar')", scalar,
                                                    times["torch"])})
        rows.append({"name": "checked loss (tape = PyTorch, 1e-9)", "loss": loss})
    return rows


def _table(rows: list[dict]) -> str:
    lines = [f"{'epoch':<15}{'':<24}{'median ms':>11}{'mean ms':>11}"
             f"{'torch/this (median)':>21}{'(mean)':>8}"]
    for row in rows:
        if "epoch" not in row:
            lines.append(f"{row['name']}: {row['loss']:.12g}")
            continue
        ratio = (f"{row['vs_torch_median']:>21.2f}{row['vs_torch_mean']:>8.2f}"
                 if "vs_torch_median" in row else f"{'':>29}")
        lines.append(f"{row['epoch']:<15}{row['name']:<24}{row['median_ms']:>11.2f}"
                     f"{row['mean_ms']:>11.2f}{ratio}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds, 1 scalar epoch")
    parser.add_argument("--rounds", type=int, help="rounds of the fast peers (default 7)")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    rows = run(quick=args.quick, rounds=args.rounds)
    print(_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
