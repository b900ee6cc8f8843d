"""Attacks on the pictures, the expression parser and the test suite's own reproducibility."""

import conftest
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd import Value
from autograd.expression import MAX_DEPTH, parse
from viz import draw_dot, draw_network, plot_decision_boundary
from viz.stepper import Stepper

LONE_SURROGATE = "\ud800"


def surrogate_graph() -> Value:
    x = Value(2.0, label=f"x{LONE_SURROGATE}")
    y = x * x
    y.label = "out \udfff"
    y.backward()
    return y


def test_a_lone_surrogate_label_is_shown_as_its_escape_in_the_dot_source():
    source = draw_dot(surrogate_graph()).source
    source.encode("utf-8")  # the text Graphviz receives is valid UTF-8
    assert "\\\\ud800" in source  # the escape, shown literally


@pytest.mark.graphviz
def test_a_lone_surrogate_label_renders_to_svg(tmp_path):
    from viz import render

    path = render(surrogate_graph(), tmp_path / "graph.svg")
    assert "\\ud800" in path.read_text(encoding="utf-8")


@pytest.mark.graphviz
def test_a_lone_surrogate_label_goes_through_the_stepper_page(tmp_path):
    page = Stepper(surrogate_graph()).save(tmp_path / "steps.html")
    assert "\\ud800" in page.read_text(encoding="utf-8")  # JSON's escape of the same string


@pytest.mark.graphviz
def test_a_lone_surrogate_input_name_draws_in_the_network_diagram():
    from viz.graph import render_svg

    svg = render_svg(draw_network(nn.MLP(2, [2, 1], seed=0), input_names=[LONE_SURROGATE, "b"]))
    assert "\\ud800" in svg


@pytest.mark.parametrize("precision", [True, False, -1, 18, 2.5, "4", None])
def test_precision_is_an_int_from_0_to_17(precision):
    with pytest.raises(ValueError, match="precision must be an int from 0 to 17"):
        draw_dot(surrogate_graph(), precision=precision)
    with pytest.raises(ValueError, match="precision must be an int from 0 to 17"):
        draw_network(nn.MLP(2, [1], seed=0), precision=precision)


def test_precision_at_its_limits_draws():
    for precision in (0, 17):
        assert "data" in draw_dot(surrogate_graph(), precision=precision).source


@pytest.mark.parametrize("resolution", [20_000, 1001, 1, True, 50.0])
def test_decision_boundary_resolution_is_bounded_before_any_allocation(resolution):
    X, y = nn.data.moons(10, seed=0)
    with pytest.raises(ValueError, match="resolution must be an int from 2 to 1000"):
        plot_decision_boundary(nn.MLP(2, [1], seed=0), X, y, resolution=resolution)


def test_decision_boundary_names_bad_data():
    X, y = nn.data.moons(10, seed=0)
    X[4, 1] = np.nan
    with pytest.raises(ValueError, match=r"X\[4, 1\]"):
        plot_decision_boundary(nn.MLP(2, [1], seed=0), X, y)


# -- the expression parser: length is not depth ---------------------------------------------


def test_a_flat_sum_of_201_terms_is_one_level_deep():
    expr = parse(" + ".join(["x"] * 201))
    assert expr.evaluate({"x": Value(1.0)}).data == 201.0


def test_a_flat_sum_of_many_terms_draws_in_the_command_line(capsys):
    from test_cli import run

    status, out, err = run(capsys, "explain", " + ".join(["x"] * (MAX_DEPTH + 1)), "x=1")
    assert status == 0, err
    assert "Traceback" not in out + err


def test_deep_nesting_is_still_refused():
    with pytest.raises(ValueError, match=f"nested more than {MAX_DEPTH} levels"):
        parse("x * exp(" * 120 + "x" + ")" * 120)  # 240 levels in 120 parentheses


# -- hypothesis in CI ------------------------------------------------------------------------


def test_ci_refuses_a_hypothesis_test_that_turns_derandomize_off():
    ci = settings.get_profile("ci")

    @settings(ci, derandomize=False)
    @given(st.integers())
    def random_search(x):
        pass

    @settings(ci, deadline=200)
    @given(st.integers())
    def timed(x):
        pass

    @settings(ci, max_examples=5)
    @given(st.integers())
    def reproducible(x):
        pass

    assert "derandomize off" in conftest.unreproducible(random_search)
    assert "deadline" in conftest.unreproducible(timed)
    assert conftest.unreproducible(reproducible) is None
    assert conftest.unreproducible(test_ci_refuses_a_hypothesis_test_that_turns_derandomize_off) \
        is None  # not a hypothesis test


def test_the_ci_profile_is_derandomized_and_local_runs_search_at_random():
    assert settings.get_profile("ci").derandomize is True
    assert settings.get_profile("ci").database is None
    if not conftest.IN_CI:  # a fresh random search on every local run
        assert settings.default.derandomize is False
    else:
        assert settings.default.derandomize is True
