"""The benchmark compares like with like: every peer computes the same numbers.

``make bench`` times chainrule against micrograd and PyTorch; these tests run
one step of each peer (no timing) so that the benchmark cannot drift into
measuring different computations.
"""

import importlib.util
from pathlib import Path

import pytest

RUN_PY = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("chainrule_benchmarks", RUN_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_moons_is_seeded_and_balanced(bench):
    X, y = bench.two_moons()
    assert len(X) == 100 and all(len(row) == 2 for row in X)
    assert sorted(set(y)) == [-1.0, 1.0] and y.count(1.0) == 50
    assert bench.two_moons() == (X, y)


@pytest.mark.torch
def test_every_demo_peer_computes_the_same_loss_and_update(bench):
    X, y = bench.two_moons(n=20)
    weights = bench.initial_weights()
    peers = bench.demo_peers(weights)
    losses = {name: step(model, X, y) for name, (model, step) in peers.items()}
    reference = losses["micrograd 0.1.0"]
    for name, loss in losses.items():
        assert loss == pytest.approx(reference, rel=1e-9), name
    # and the same updated weights, in micrograd's parameter order
    ours = [p.data for p in peers["chainrule"][0].parameters()]
    theirs = [p.data for p in peers["micrograd 0.1.0"][0].parameters()]
    assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12)


@pytest.mark.torch
def test_tiny_graph_gradients_agree_across_peers(bench):
    answers = {name: bench.tiny_graph(leaf, 2) for name, (leaf, _) in bench.TINY_PEERS.items()}
    assert set(answers.values()) == {(-35.0, 1050.0)}  # by hand: e = 35, dg/da = -e, dg/db = 30e


def test_mixed_graph_and_chain_build_and_differentiate(bench):
    from autograd import Value

    x, y, root = bench.mixed_graph(Value, 10)
    assert bench.count_nodes(root) > 100
    root.backward()
    assert x.grad != 0.0 and y.grad != 0.0
    x, root = bench.chain(Value, 1000)
    root.backward()
    assert x.grad == pytest.approx(0.9999999**500, rel=1e-12)
