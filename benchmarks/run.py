"""chainrule against its peers, side by side in one run: ``make bench``.

    python benchmarks/run.py [--quick] [--repeats N] [--json PATH]

Peers: micrograd 0.1.0 (the engine chainrule's API comes from), PyTorch with
one 0-d float64 tensor per number (the same scalar graph, built by PyTorch) and,
for the demo step, PyTorch on whole tensors (what scalar engines are not).
Every peer computes the same numbers from the same initial weights; the run
checks that they agree before it reports any time. The garbage collector is on,
as users run it. Times are CPU times of the process (the machine may be
shared), medians and means over rounds in which the peers take turns (the
garbage collector's pauses hide behind medians); the ratios are what to read.
numpy's BLAS and PyTorch run on one thread.

Benchmarks:

* demo step: micrograd's demo.ipynb training step, MLP(2, [16, 16, 1]) on 100
  two-moons points, svm max-margin loss + 1e-4 L2, one full-batch forward,
  backward and SGD update (chainrule's on the path ``nn.fit`` runs,
  ``ScalarEngine.train_step``, and written out by hand);
* tiny graph: the BurTorch paper's (arXiv 2503.13795) graph on fresh leaves,
  a = -41, b = 2, c = a + b, d = a * b + b**3, e = c - d, f = e**2, g = f / 2,
  backward, repeated 100,000 times;
* memory: bytes held per node after backward (tracemalloc), on the demo graph;
* throughput: a mixed graph (every micrograd op, summed as a balanced tree)
  and a 1,000,000-operation chain.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # one BLAS thread, set before numpy loads

import argparse  # noqa: E402
import contextlib  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import micrograd  # noqa: E402
import micrograd.engine  # noqa: E402
import micrograd.nn  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import autograd  # noqa: E402
from autograd import Value  # noqa: E402
from nn import MLP, data  # noqa: E402
from nn.losses import hinge_loss  # noqa: E402
from nn.train import ScalarEngine  # noqa: E402

F64 = torch.float64
SEED = 1337
LEARNING_RATE = 1.0  # micrograd's demo schedule starts at 1.0
ALPHA = 1e-4  # L2 weight of micrograd's demo


# -- data and initial weights --------------------------------------------------------


def two_moons(n: int = 100, noise: float = 0.1, seed: int = SEED):
    """nn.data's two moons with micrograd's labels -1/+1, as plain Python floats."""
    X, y = data.moons(n, noise=noise, seed=seed)
    return X.tolist(), (2.0 * y - 1.0).tolist()  # every peer gets the same Python numbers


def initial_weights(sizes=(2, 16, 16, 1), seed: int = SEED):
    """Per layer, per neuron ``(w, b)``: micrograd's uniform(-1, 1) draw, bias 0."""
    rng = random.Random(seed)
    return [
        [([rng.uniform(-1, 1) for _ in range(nin)], 0.0) for _ in range(nout)]
        for nin, nout in zip(sizes, sizes[1:], strict=False)
    ]


def load_weights(parameters, weights) -> None:
    """Copies ``weights`` into parameters listed as micrograd lists them (w..., b per neuron)."""
    flat = [x for layer in weights for w, b in layer for x in (*w, b)]
    if len(flat) != len(parameters):
        raise ValueError(f"model has {len(parameters)} parameters, weights have {len(flat)}")
    for p, x in zip(parameters, flat, strict=True):
        p.data = x


# -- the demo step, once per peer -------------------------------------------------------


def chainrule_model(weights):
    """nn.MLP, whose neurons compute autograd.dot(w, x) + b, with the shared weights."""
    model = MLP(2, [16, 16, 1])
    load_weights(model.parameters(), weights)
    return model


def chainrule_step(model, X, y):
    """One training step on the path ``nn.fit`` runs: ScalarEngine.train_step, then SGD.

    The same numbers as micrograd's step: hinge_loss is the mean of
    ``relu(1 - y * score)`` (a fused sum node) and l2 adds ``alpha * sum(p * p)``.
    """
    params = model.parameters()
    step = ScalarEngine(model, hinge_loss, params, l2=ALPHA).train_step(X, y)
    for p in params:
        p.data -= LEARNING_RATE * p.grad
    return step.loss


def chainrule_user_step(model, X, y):
    """The same step written out by hand, as a chainrule user may write it."""
    params = model.parameters()
    scores = [model(x) for x in X]
    losses = [(1 + -yi * score).relu() for yi, score in zip(y, scores, strict=True)]
    data_loss = autograd.sum(losses) * (1.0 / len(losses))
    total = data_loss + ALPHA * autograd.sum([p * p for p in params])
    for p in params:
        p.grad = 0.0
    total.backward()
    for p in params:
        p.data -= LEARNING_RATE * p.grad
    return total.data


@contextlib.contextmanager
def _micrograd_nn_on(value_class):
    """micrograd.nn's own classes, building their weights from ``value_class``."""
    original = micrograd.nn.Value
    micrograd.nn.Value = value_class
    try:
        yield micrograd.nn
    finally:
        micrograd.nn.Value = original


def micrograd_model(weights, value_class=micrograd.engine.Value):
    with _micrograd_nn_on(value_class) as mnn:
        random.seed(SEED)
        model = mnn.MLP(2, [16, 16, 1])
    load_weights(model.parameters(), weights)
    return model


def micrograd_step(model, X, y, value_class=micrograd.engine.Value):
    """micrograd's demo.ipynb step, verbatim but for plain-float data."""
    inputs = [list(map(value_class, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in model.parameters())
    total_loss = data_loss + reg_loss
    model.zero_grad()
    total_loss.backward()
    for p in model.parameters():
        p.data -= LEARNING_RATE * p.grad
    return total_loss.data


def torch_scalar_model(weights):
    return [
        [
            (
                [torch.tensor(w, dtype=F64, requires_grad=True) for w in ws],
                torch.tensor(b, dtype=F64, requires_grad=True),
            )
            for ws, b in layer
        ]
        for layer in weights
    ]


def torch_scalar_step(model, X, y):
    """The micrograd step with one 0-d float64 tensor per number."""
    params = [p for layer in model for ws, b in layer for p in (*ws, b)]
    last = len(model) - 1
    scores = []
    for xrow in X:
        x = [torch.tensor(v, dtype=F64) for v in xrow]
        for i, layer in enumerate(model):
            acts = [sum((wi * xi for wi, xi in zip(ws, x, strict=True)), b) for ws, b in layer]
            x = acts if i == last else [torch.relu(a) for a in acts]
        scores.append(x[0])
    losses = [torch.relu(1 + -yi * s) for yi, s in zip(y, scores, strict=True)]
    total = sum(losses) * (1.0 / len(losses)) + ALPHA * sum(p * p for p in params)
    return _torch_sgd(total, params)


def _torch_sgd(total, params) -> float:
    """Backward from ``total`` and one SGD update of ``params``; returns the loss."""
    for p in params:
        p.grad = None
    total.backward()
    with torch.no_grad():
        for p in params:
            p -= LEARNING_RATE * p.grad
    return total.item()


def torch_tensor_model(weights):
    return [
        (
            torch.tensor([w for w, _ in layer], dtype=F64, requires_grad=True),
            torch.tensor([b for _, b in layer], dtype=F64, requires_grad=True),
        )
        for layer in weights
    ]


def torch_tensor_step(model, X, y):
    """The same step on whole tensors: three matrix products."""
    h = torch.as_tensor(X, dtype=F64)
    for i, (W, b) in enumerate(model):
        h = h @ W.T + b
        if i != len(model) - 1:
            h = torch.relu(h)
    target = torch.as_tensor(y, dtype=F64)
    params = [p for pair in model for p in pair]
    total = torch.relu(1 - target * h[:, 0]).mean() + ALPHA * sum((p * p).sum() for p in params)
    return _torch_sgd(total, params)


def demo_peers(weights):
    """name -> (model, step): every peer of the demo step, from the same weights."""
    return {
        "chainrule": (chainrule_model(weights), chainrule_step),  # fit's path
        "chainrule, the step written by hand": (chainrule_model(weights), chainrule_user_step),
        "chainrule running micrograd's code": (
            micrograd_model(weights, Value),
            lambda m, X, y: micrograd_step(m, X, y, Value),
        ),
        "micrograd 0.1.0": (micrograd_model(weights), micrograd_step),
        "PyTorch, 0-d tensor per number": (torch_scalar_model(weights), torch_scalar_step),
        "PyTorch, whole tensors": (torch_tensor_model(weights), torch_tensor_step),
    }


# -- the BurTorch tiny graph ---------------------------------------------------------------


def tiny_graph(make_leaf, iterations: int):
    """BurTorch's graph on fresh leaves, ``iterations`` times; returns the last (a.grad, b.grad)."""
    for _ in range(iterations):
        a = make_leaf(-41.0)
        b = make_leaf(2.0)
        c = a + b
        d = a * b + b**3
        e = c - d
        f = e**2
        g = f / 2.0
        g.backward()
    return float(a.grad), float(b.grad)


def _torch_leaf(x):
    return torch.tensor(x, dtype=F64, requires_grad=True)


TINY_PEERS = {
    "chainrule": (Value, 1),
    "micrograd 0.1.0": (micrograd.engine.Value, 1),
    "PyTorch, 0-d tensor per number": (_torch_leaf, 20),  # 20x fewer iterations: it is slow
}


# -- graphs for memory and throughput ------------------------------------------------------


def _tree_sum(values):
    """Pairwise sum, so the graph stays shallow (micrograd's backward recurses)."""
    while len(values) > 1:
        values = [values[i] + values[i + 1] if i + 1 < len(values) else values[i]
                  for i in range(0, len(values), 2)]
    return values[0]


def mixed_graph(make_leaf, blocks: int):
    """``blocks`` blocks of 12 operations of every micrograd op (+ - * / ** neg relu)."""
    x, y = make_leaf(0.5), make_leaf(-1.5)
    outs = []
    for i in range(blocks):
        k = make_leaf(0.001 * i)
        t = x * k + y
        u = (t - x) / (y**2 + 1.0)
        v = (-u).relu() + u * u
        outs.append(v * t - k)
    return x, y, _tree_sum(outs)


def chain(make_leaf, length: int):
    """``length`` operations one after another: x -> x * 1.0000001 + 0 ... (alternating)."""
    x = make_leaf(0.5)
    out = x
    for i in range(length):
        out = out * 0.9999999 if i % 2 else out + 1e-7
    return x, out


def count_nodes(root) -> int:
    """Distinct nodes reachable from root through ``_prev`` (iterative, any engine)."""
    seen = {id(root)}
    stack = [root]
    while stack:
        for child in stack.pop()._prev:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return len(seen)


# -- measuring ------------------------------------------------------------------------------


# CPU time of this process, not wall time: the machine these numbers come from
# is shared, and other people's jobs stretch wall time at random.
_clock = time.process_time


def _time(fn) -> float:
    start = _clock()
    fn()
    return _clock() - start


def rounds(jobs: dict, repeats: int, per_round: int = 1) -> dict:
    """name -> (median, mean) seconds of a job; jobs take turns for ``repeats`` rounds.

    In each round a job runs ``per_round`` times in a row, as a training loop
    runs it, with the garbage collector on; a full collection before its turn
    keeps the garbage of the previous job (micrograd's reference cycles) from
    being collected on the next job's time.
    """
    times = {name: [] for name in jobs}
    for _ in range(repeats):
        for name, job in jobs.items():
            gc.collect()
            times[name] += [_time(job) for _ in range(per_round)]
    return {name: (statistics.median(ts), statistics.mean(ts)) for name, ts in times.items()}


def bench_demo(repeats: int, X, y):
    weights = initial_weights()
    peers = demo_peers(weights)
    # One checked step each: every peer must compute the same loss and weights.
    losses = {name: step(model, X, y) for name, (model, step) in peers.items()}
    reference = losses["micrograd 0.1.0"]
    for name, loss in losses.items():
        if not math.isclose(loss, reference, rel_tol=1e-9):
            raise RuntimeError(f"{name} computed loss {loss!r}, micrograd {reference!r}")
    jobs = {name: (lambda m=model, s=step: s(m, X, y)) for name, (model, step) in peers.items()}
    return rounds(jobs, repeats, per_round=3), reference


TINY_SLICES = 4  # each round's iterations in this many turns (see bench_tiny)


def bench_tiny(iterations: int, repeats: int):
    """name -> (median, mean) seconds per iteration of the tiny graph.

    Each of the ``repeats`` rounds runs the ``iterations`` in TINY_SLICES turns
    per peer, the peers alternating: a job of a second or more would otherwise
    meet the shared machine in a different state from its peer's job, which
    moved the ratio by 10-20 % from run to run.
    """
    answers = {name: tiny_graph(leaf, 1) for name, (leaf, _) in TINY_PEERS.items()}
    if len(set(answers.values())) != 1:
        raise RuntimeError(f"peers disagree on the tiny graph's gradients: {answers}")
    per_turn = {name: iterations // TINY_SLICES // slower
                for name, (_, slower) in TINY_PEERS.items()}
    jobs = {
        name: (lambda leaf=leaf, n=per_turn[name]: tiny_graph(leaf, n))
        for name, (leaf, _) in TINY_PEERS.items()
    }
    seconds = rounds(jobs, repeats * TINY_SLICES)
    return {name: tuple(t / per_turn[name] for t in seconds[name]) for name in seconds}


def held_bytes(build) -> tuple[int, int]:
    """(bytes still allocated once ``build()``'s graph is built and backward ran, nodes)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        root = build()
        root.backward()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    return held, count_nodes(root)


def bench_memory(X, y):
    """name -> (bytes held, nodes) for the demo step's loss graph and a mixed graph."""
    weights = initial_weights()

    def chainrule_graph():
        model = chainrule_model(weights)
        scores = [model(x) for x in X]
        losses = [(1 + -yi * s).relu() for yi, s in zip(y, scores, strict=True)]
        reg = ALPHA * autograd.sum([p * p for p in model.parameters()])
        return autograd.sum(losses) * (1.0 / len(losses)) + reg

    def micrograd_graph(value_class):
        model = micrograd_model(weights, value_class)
        scores = [model(list(map(value_class, x))) for x in X]
        losses = [(1 + -yi * s).relu() for yi, s in zip(y, scores, strict=True)]
        reg = ALPHA * sum(p * p for p in model.parameters())
        return sum(losses) * (1.0 / len(losses)) + reg

    return {
        "demo graph: chainrule": held_bytes(chainrule_graph),
        "demo graph: chainrule running micrograd's code": held_bytes(
            lambda: micrograd_graph(Value)
        ),
        "demo graph: micrograd 0.1.0": held_bytes(
            lambda: micrograd_graph(micrograd.engine.Value)
        ),
        "mixed graph: chainrule": held_bytes(lambda: mixed_graph(Value, 1000)[2]),
        "mixed graph: micrograd 0.1.0": held_bytes(
            lambda: mixed_graph(micrograd.engine.Value, 1000)[2]
        ),
    }


def bench_throughput(blocks: int, chain_length: int, repeats: int):
    """Operations per second forward and backward on the mixed graph and on a chain."""
    results = {}
    mixed_peers = {
        "chainrule": Value,
        "micrograd 0.1.0": micrograd.engine.Value,
        "PyTorch, 0-d tensor per number": _torch_leaf,
    }
    ops = 13 * blocks - 1  # 12 per block, blocks - 1 to sum them
    for name, leaf in mixed_peers.items():
        forward, backward = [], []
        for _ in range(repeats):
            gc.collect()
            start = _clock()
            _, _, root = mixed_graph(leaf, blocks)
            middle = _clock()
            root.backward()
            end = _clock()
            forward.append(middle - start)
            backward.append(end - middle)
        results[("mixed", name)] = (statistics.median(forward), statistics.median(backward), ops)
    for name, leaf, length in (
        ("chainrule", Value, chain_length),
        ("PyTorch, 0-d tensor per number", _torch_leaf, chain_length // 10),
    ):
        gc.collect()
        start = _clock()
        x, root = chain(leaf, length)
        middle = _clock()
        root.backward()
        end = _clock()
        results[("chain", name)] = (middle - start, end - middle, length)
        del x, root
    try:  # micrograd's backward recurses once per node of depth
        chain(micrograd.engine.Value, 2_000)[1].backward()
        results[("chain", "micrograd 0.1.0")] = "ran"
    except RecursionError:
        results[("chain", "micrograd 0.1.0")] = "RecursionError at 2,000 operations"
    return results


# -- report ------------------------------------------------------------------------------------


def _ms(seconds):
    return f"{seconds * 1e3:,.1f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:,.1f} µs"


def _timing_rows(timings: dict) -> list[str]:
    """Table rows: median, mean and both ratios to micrograd's for each peer."""
    base_median, base_mean = timings["micrograd 0.1.0"]
    return [
        f"| {name} | {_ms(median)} | {_ms(mean)} | {base_median / median:.2f}x "
        f"| {base_mean / mean:.2f}x |"
        for name, (median, mean) in timings.items()
    ]


def report(results, args) -> str:
    lines = [
        f"chainrule benchmarks ({'quick' if args.quick else 'full'}; {args.repeats} rounds; "
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"micrograd 0.1.0, gc on, CPU time, one thread)",
        "",
        "| demo step: MLP(2, [16, 16, 1]), 100 moons, fwd + bwd + SGD | median / step "
        "| mean | micrograd / this (median) | (mean) |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += _timing_rows(results["demo"])
    lines += [
        "",
        f"| BurTorch tiny graph, {args.tiny:,} iterations per round in {TINY_SLICES} turns "
        "| median / iteration "
        "| mean | micrograd / this (median) | (mean) |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += _timing_rows(results["tiny"])
    lines += [
        "",
        "| memory held after backward | nodes | MB | bytes / node |",
        "|---|---:|---:|---:|",
    ]
    for name, (held, nodes) in results["memory"].items():
        lines.append(f"| {name} | {nodes:,} | {held / 1e6:.1f} | {held / nodes:,.0f} |")
    lines += [
        "",
        "| throughput | ops | forward ops/s | backward ops/s |",
        "|---|---:|---:|---:|",
    ]
    for (graph, name), row in results["throughput"].items():
        label = f"{graph}: {name}"
        if isinstance(row, str):
            lines.append(f"| {label} | | {row} | |")
        else:
            forward, backward, ops = row
            lines.append(f"| {label} | {ops:,} | {ops / forward:,.0f} | {ops / backward:,.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10x fewer iterations (a smoke run)")
    parser.add_argument("--repeats", type=int, default=5, help="repeats per timing (median)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    args.tiny = 100_000 // scale
    # One thread, like every other peer: the machine is shared and the scalar
    # graphs cannot use more; whole-tensor PyTorch on 100 points gains little.
    torch.set_num_threads(1)
    if not gc.isenabled():
        gc.enable()
    # Importing PyTorch leaves ~160,000 objects that a chainrule or micrograd
    # user's process does not have; freezing them keeps every full collection
    # from scanning them, for all peers alike.
    gc.collect()
    gc.freeze()
    X, y = two_moons()
    results = {}
    results["demo"], results["demo_loss"] = bench_demo(args.repeats, X, y)
    results["tiny"] = bench_tiny(args.tiny, args.repeats)
    results["memory"] = bench_memory(X, y)
    results["throughput"] = bench_throughput(5_000 // scale, 1_000_000 // scale, args.repeats)
    print(report(results, args))
    if args.json:
        serial = dict(results)
        serial["throughput"] = {" / ".join(k): v for k, v in results["throughput"].items()}
        args.json.write_text(json.dumps(serial, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
