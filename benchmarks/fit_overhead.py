"""The overhead of ``nn.fit()`` over a hand-written engine loop doing the same work.

Both train micrograd's demo network (MLP(2, [16, 16, 1]) on 100 moons, hinge
loss, SGD) from the same weights for the same number of epochs, full-batch
and with mini-batches of 10; fit runs with its metric (accuracy) on and
progress=False. Run: ``.venv/bin/python benchmarks/fit_overhead.py``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time

import nn


def raw_loop(model, X, y, epochs: int, batch_size: int, lr: float) -> None:
    """The loop a user writes by hand: forward, mean hinge loss, zero_grad, backward, step."""
    rows, targets = X.tolist(), (y * 2 - 1).tolist()
    optimizer = nn.SGD(model.parameters(), lr=lr)
    for _ in range(epochs):
        for start in range(0, len(rows), batch_size):
            batch = range(start, min(start + batch_size, len(rows)))
            loss = nn.hinge_loss([model(rows[i]) for i in batch], [targets[i] for i in batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def with_fit(model, X, y, epochs: int, batch_size: int, lr: float, **options):
    """The same training through nn.fit (``options``: more of fit's arguments)."""
    return nn.fit(
        model,
        X,
        y,
        loss="hinge",
        optimizer=nn.SGD(model.parameters(), lr=lr),
        epochs=epochs,
        batch_size=batch_size,
        progress=False,
        seed=0,
        **options,
    )


def timed(run, epochs: int, batch_size: int, clock=time.perf_counter) -> float:
    """Seconds of one run by ``clock`` (wall time by default), from the same weights."""
    X, y = nn.data.moons(100, noise=0.1, seed=1337)
    model = nn.MLP(2, [16, 16, 1], seed=1337)
    started = clock()
    run(model, X, y, epochs, batch_size, 0.05)
    return clock() - started


def python_calls(run, epochs: int, batch_size: int) -> int:
    """Python function calls made by a run: a load-independent measure of work."""
    X, y = nn.data.moons(100, noise=0.1, seed=1337)
    model = nn.MLP(2, [16, 16, 1], seed=1337)
    profile = cProfile.Profile()
    profile.runcall(run, model, X, y, epochs, batch_size, 0.05)
    return pstats.Stats(profile).total_calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    for batch_size in (100, 10):
        raw, fitted = [], []
        for _ in range(args.repeats):  # interleaved, so load on a shared machine hits both alike
            raw.append(timed(raw_loop, args.epochs, batch_size))
            fitted.append(timed(with_fit, args.epochs, batch_size))
        print(
            f"batch {batch_size:>3}, {args.epochs} epochs: raw loop best {min(raw):.3f} s "
            f"(median {statistics.median(raw):.3f}), fit best {min(fitted):.3f} s "
            f"(median {statistics.median(fitted):.3f}): "
            f"overhead {100 * (min(fitted) / min(raw) - 1):+.1f}% (best), "
            f"{100 * (statistics.median(fitted) / statistics.median(raw) - 1):+.1f}% (median)"
        )
        raw_calls = python_calls(raw_loop, args.epochs, batch_size)
        fit_calls = python_calls(with_fit, args.epochs, batch_size)
        print(
            f"           Python calls: raw loop {raw_calls}, fit {fit_calls} "
            f"({100 * (fit_calls / raw_calls - 1):+.1f}%)"
        )


if __name__ == "__main__":
    main()
