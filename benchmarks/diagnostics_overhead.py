"""What ``fit(..., diagnostics=True)`` costs, and that it costs nothing when off.

Three runs of micrograd's demo network (MLP(2, [16, 16, 1]) on 100 moons,
hinge loss, SGD) from the same weights for the same epochs, full-batch and
with mini-batches of 10: the hand-written loop of ``fit_overhead.py``, fit
with diagnostics off (the default) and fit with diagnostics on. Runs are
interleaved, so load on a shared machine hits all alike; times are CPU
seconds of the process, medians and bests of ``--repeats`` rounds, and
Python call counts (cProfile) measure the work independently of the load.
Run: ``.venv/bin/python benchmarks/diagnostics_overhead.py``.
"""

from __future__ import annotations

import argparse
import statistics
import time

from fit_overhead import python_calls, raw_loop, timed, with_fit


def with_diagnostics(model, X, y, epochs: int, batch_size: int, lr: float) -> None:
    history = with_fit(model, X, y, epochs, batch_size, lr, diagnostics=True)
    assert len(history.diagnostics) == epochs  # the work being measured was done


RUNS = {"raw loop": raw_loop, "fit": with_fit, "fit, diagnostics": with_diagnostics}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    for batch_size in (100, 10):
        seconds = {name: [] for name in RUNS}
        for _ in range(args.repeats):
            for name, run in RUNS.items():
                # CPU time of the process: less disturbed by other jobs than wall time
                seconds[name].append(timed(run, args.epochs, batch_size, time.process_time))
        calls = {name: python_calls(run, args.epochs, batch_size) for name, run in RUNS.items()}
        median = {name: statistics.median(times) for name, times in seconds.items()}
        best = {name: min(times) for name, times in seconds.items()}
        print(f"batch {batch_size:>3}, {args.epochs} epochs:")
        for name in RUNS:
            print(f"  {name:<17} median {median[name]:.3f} s, best {best[name]:.3f} s, "
                  f"{calls[name]} Python calls")
        for name, base in (("fit", "raw loop"), ("fit, diagnostics", "fit")):
            print(f"  {name} over {base}: median {100 * (median[name] / median[base] - 1):+.1f}%, "
                  f"best {100 * (best[name] / best[base] - 1):+.1f}%, "
                  f"calls {100 * (calls[name] / calls[base] - 1):+.1f}%")


if __name__ == "__main__":
    main()
