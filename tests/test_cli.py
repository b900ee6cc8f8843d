"""The chainrule command line: graph, step, explain, and how it refuses bad arguments."""

import subprocess
import sys

import pytest

from autograd import Value
from viz.cli import main
from viz.cli.expressions import explain_rows


def run(capsys, *argv):
    """(exit status, stdout, stderr) of main(argv), usage errors included."""
    try:
        status = main(list(argv))
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_usage_error(status, out, err, reason):
    assert status == 2
    assert err.startswith("usage: chainrule")
    assert "Traceback" not in err + out
    last = err.strip().splitlines()[-1]  # the reason: one line after the usage
    assert last.startswith("chainrule ") and ": error: " in last
    assert reason in last


def test_help_lists_every_command(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0
    for command in ("train", "graph", "step", "explain"):
        assert command in out


def test_version_prints_the_package_version(capsys):
    from autograd import __version__

    status, out, _ = run(capsys, "--version")
    assert status == 0
    assert out.strip() == f"chainrule {__version__}"


def test_no_command_is_a_usage_error(capsys):
    status, _, err = run(capsys)
    assert status == 2
    assert "usage: chainrule" in err


def test_explain_prints_one_row_per_chain_rule_step(capsys):
    status, out, _ = run(capsys, "explain", "a * b + a", "a=2", "b=-3")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["step", "node", "upstream", "child", "local", "added", "child",
                                "grad"]
    # (a*b + a): the + step feeds the product and a; the * step feeds a and b
    rows = [line.split() for line in lines[1:5]]
    assert [row[0] for row in rows] == ["1", "1", "2", "2"]
    assert rows[1][-4:] == ["a", "1", "1", "1"]
    assert rows[2][-4:] == ["a", "-3", "-3", "-2"]  # a's running total: 1 + (-3)
    assert rows[3][-4:] == ["b", "2", "2", "2"]
    assert "value: -4" in out
    assert out.splitlines()[-2].split() == ["a", "2", "-2"]


def test_explain_of_a_single_leaf_says_there_are_no_steps(capsys):
    status, out, _ = run(capsys, "explain", "x", "x=3")
    assert status == 0
    assert "no chain-rule steps" in out
    assert out.splitlines()[-1].split() == ["x", "3", "1"]


def test_explain_rows_match_backward():
    x, w, b = Value(0.5, label="x"), Value(-1.2, label="w"), Value(0.3, label="b")
    out = (x * w + b).tanh()
    rows = explain_rows(out)
    totals = {row[3]: row[6] for row in rows}
    for row in rows:
        assert row[5] == pytest.approx(row[2] * row[4])  # added = upstream * local
    x2, w2, b2 = Value(0.5), Value(-1.2), Value(0.3)
    (x2 * w2 + b2).tanh().backward()
    assert totals["x"] == pytest.approx(x2.grad) == pytest.approx(x.grad)
    assert totals["w"] == pytest.approx(w2.grad)
    assert totals["b"] == pytest.approx(b2.grad)


def test_expression_starting_with_minus_goes_after_double_dash(capsys):
    status, out, _ = run(capsys, "explain", "--", "-x * y", "x=2", "y=3")
    assert status == 0
    assert out.splitlines()[-2].split() == ["x", "2", "-3"]


HOSTILE = {
    "__import__('os').system('touch pwned')": "attribute access",
    "__import__('os')": "unknown function __import__",
    "x.__class__": "attribute access",
    "(lambda: 1)()": "only the functions",
    "lambda x: x": "lambdas are not allowed",
    "[a for a in range(9)]": "comprehensions are not allowed",
    "{a for a in x}": "comprehensions are not allowed",
    "open('pwned', 'w')": "unknown function open",
    "9**9**9": "must be finite",
    "2 ** 100000 + x": "must be finite",
    "x ** (10 ** 10 ** 10)": "must be finite",
    "x +": "invalid syntax",
    "+" * 300 + "x": "nested more than 200 levels",
}


@pytest.mark.parametrize("command", ["explain", "graph", "step"])
@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_expression_exits_2_with_a_reason_and_runs_nothing(
    capsys, tmp_path, monkeypatch, command, source
):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, command, source, "x=1")
    assert_usage_error(status, out, err, HOSTILE[source])
    assert list(tmp_path.iterdir()) == []  # no pwned file, no picture


@pytest.mark.parametrize(
    "argv, reason",
    [
        (["explain", "x + y", "x=1"], "no value for y"),
        (["explain", "x + y"], "no value for x, y"),
        (["explain", "x", "x=1", "z=2"], "z is not a variable of the expression"),
        (["explain", "x", "x=1", "x=2"], "x is given twice"),
        (["explain", "x", "x=abc"], "the value of x must be a number"),
        (["explain", "x", "x"], "expected name=value"),
        (["explain", "x", "=1"], "expected name=value"),
        (["graph", "x", "x=1", "-o", "graph.txt"], "-o must end in .svg, .png, .pdf or .dot"),
        (["graph", "x", "x=1", "-o", "missing/graph.svg"], "the folder missing does not exist"),
        (["step", "x", "x=1", "-o", "missing/steps.html"], "the folder missing does not exist"),
        (["graph", "x", "x=1", "--max-nodes", "0"], "--max-nodes must be at least 1, got 0"),
    ],
)
def test_bad_variable_values_are_usage_errors(capsys, tmp_path, monkeypatch, argv, reason):
    monkeypatch.chdir(tmp_path)
    assert_usage_error(*run(capsys, *argv), reason)


def test_hostile_input_through_the_console_script_has_no_traceback(tmp_path):
    # The real process: exit status, stderr and no hang (timeout) as a user sees them.
    result = subprocess.run(
        [sys.executable, "-m", "viz.cli", "graph", "9**9**9 + __import__('os')", "-o",
         str(tmp_path / "g.svg")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("chainrule graph: error: EXPR:")
    assert not (tmp_path / "g.svg").exists()


@pytest.mark.graphviz
def test_graph_writes_svg_and_prints_gradients(capsys, tmp_path):
    path = tmp_path / "graph.svg"
    status, out, _ = run(capsys, "graph", "x * y + sin(x)", "x=2", "y=3", "-o", str(path))
    assert status == 0
    svg = path.read_text()
    assert svg.lstrip().startswith(("<?xml", "<svg", "<!DOCTYPE"))
    assert "<title>n0</title>" in svg
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:4]}
    assert float(rows["x"][1]) == pytest.approx(3.0 + __import__("math").cos(2.0), rel=1e-5)
    assert float(rows["y"][1]) == pytest.approx(2.0)
    assert f"wrote {path}" in out


@pytest.mark.graphviz
def test_graph_writes_dot_source_by_suffix(capsys, tmp_path):
    path = tmp_path / "graph.dot"
    status, _, _ = run(capsys, "graph", "a + a", "a=1.5", "-o", str(path))
    assert status == 0
    assert "digraph" in path.read_text()


@pytest.mark.graphviz
def test_step_writes_self_contained_html(capsys, tmp_path):
    path = tmp_path / "steps.html"
    status, out, _ = run(capsys, "step", "tanh(x * w + b)", "x=0.5", "w=-1.2", "b=0.3",
                         "-o", str(path))
    assert status == 0
    html = path.read_text()
    assert "<html" in html.lower()
    assert "chainruleStepper(" in html and "data:image/svg+xml;base64," in html
    assert f"wrote {path}" in out
    # the printed gradients are those of backward, not the zeros of untouched leaves
    assert out.splitlines()[-4].split() == ["x", "0.5", "-1.09816"]


def balanced_sum(levels: int) -> str:
    """(x*y)+(x*y) doubled `levels` times: 2**levels products, shallow nesting."""
    source = "x * y"
    for _ in range(levels):
        source = f"({source}) + ({source})"
    return source


@pytest.mark.graphviz
@pytest.mark.parametrize("command", ["graph", "step"])
def test_too_large_a_graph_is_a_usage_error_naming_max_nodes(capsys, tmp_path, command):
    path = tmp_path / ("g.svg" if command == "graph" else "s.html")
    argv = [command, balanced_sum(6), "x=1", "y=2", "-o", str(path), "--max-nodes", "100"]
    assert_usage_error(*run(capsys, *argv), "pass --max-nodes")
    assert not path.exists()
    status, _, _ = run(capsys, *argv[:-1], "200")
    assert status == 0 and path.exists()


def test_missing_graphviz_program_exits_1_with_install_hint(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot program on PATH
    status, out, err = run(capsys, "graph", "x * 2", "x=1", "-o", str(tmp_path / "g.svg"))
    assert status == 1
    assert err.startswith("chainrule graph: ") and "apt-get install graphviz" in err
    assert not (tmp_path / "g.svg").exists()
    assert "Traceback" not in err + out


def test_the_parser_offers_exactly_what_nn_has():
    import nn
    from nn import data, losses, optim
    from viz.cli import train as cli

    assert set(cli.DATASETS) == set(data.DATASETS)
    assert cli.BUNDLED == data.BUNDLED
    assert set(cli.LOSSES) == set(losses.LOSSES)
    assert set(cli.ACTIVATIONS) == set(nn.ACTIVATIONS) - {"linear"}
    assert set(cli.OPTIMIZERS) == set(optim.OPTIMIZERS) | {"momentum"}
    assert set(cli.NORMS) == set(nn.NORMS)
