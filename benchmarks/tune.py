"""The wall time of a hyperparameter search: ``nn.tune`` with one worker and with two.

    python benchmarks/tune.py [--trials 20] [--epochs 60] [--runs 3] [--json PATH]

The README's measurement: a TPE search of 20 trials on two moons (200
points, 160 to train on, 40 to validate), an MLP 2-16-16-1 trained for 60
epochs in mini-batches of 32 in every trial, the learning rate and the
activation searched. Pruning is off so every trial trains all its epochs and
both settings do the same work; each setting runs ``--runs`` times in turns
(1 worker, 2 workers, 1, 2, ...), and every time is printed, since the
machine may be shared. Wall time is what a user waits for; two workers are
two processes, so they can use two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")  # numpy's BLAS on one thread (workers inherit it)

import nn  # noqa: E402
from nn import space  # noqa: E402

SPACE = {"lr": space.loguniform(1e-3, 0.3), "activation": ["relu", "tanh"]}


def search(workers: int, trials: int, epochs: int) -> tuple[float, float]:
    """(wall seconds, best validation loss) of one search."""
    X, y = nn.data.moons(200, noise=0.2, seed=0)
    started = time.perf_counter()
    result = nn.tune(X, y, SPACE, strategy="bayes", trials=trials, workers=workers,
                     prune=False, seed=0, progress=False, hidden=[16, 16], epochs=epochs,
                     batch_size=32)
    seconds = time.perf_counter() - started
    if len(result.trials) != trials or any(t.state != "complete" for t in result.trials):
        raise RuntimeError(f"expected {trials} complete trials, got {result!r}")
    return seconds, result.best_value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    times = {1: [], 2: []}
    for run in range(args.runs):
        for workers in (1, 2):
            seconds, best = search(workers, args.trials, args.epochs)
            times[workers].append(seconds)
            print(f"run {run + 1}, {workers} worker{'s' * (workers > 1)}: {seconds:6.1f} s "
                  f"(best validation loss {best:.4f})", flush=True)
    print(f"\n{args.trials}-trial TPE search on moons, {args.epochs} epochs each, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")
    for workers, values in times.items():
        print(f"  {workers} worker{'s' * (workers > 1)}: "
              f"{', '.join(f'{v:.1f}' for v in values)} s "
              f"(median {statistics.median(values):.1f}, mean {statistics.fmean(values):.1f})")
    ratios = [one / two for one, two in zip(times[1], times[2], strict=True)]
    print(f"  1 worker / 2 workers: {', '.join(f'{r:.2f}' for r in ratios)} "
          f"(median {statistics.median(ratios):.2f})")
    if args.json:
        Path(args.json).write_text(json.dumps({"trials": args.trials, "epochs": args.epochs,
                                               "seconds": times, "ratios": ratios}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
