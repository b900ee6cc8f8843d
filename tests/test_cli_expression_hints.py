"""Expressions: ``^`` points to ``**``, ``pi`` and ``e`` are constants; ``python -m autograd
--help`` prints help."""

import math
import subprocess
import sys

import pytest
from test_cli import assert_usage_error, run

from autograd import Value
from autograd.expression import ExpressionError, parse


@pytest.mark.parametrize("source", ["x^2", "x ^ y", "(x + 1)^2"])
def test_caret_says_to_use_double_star_for_powers(source):
    with pytest.raises(ExpressionError, match=r"operator \^ is not allowed .*use \*\* for powers"):
        parse(source)


def test_pi_and_e_are_constants_not_variables():
    expr = parse("sin(pi * x) + e ** 2")
    assert expr.variables == ("x",)
    assert expr.evaluate({"x": Value(0.5)}).data == pytest.approx(1 + math.e ** 2)
    assert parse("pi").evaluate({}).data == math.pi


def test_the_command_line_takes_pi_and_refuses_assigning_it(capsys):
    status, out, _ = run(capsys, "explain", "x * pi", "x=2")
    assert status == 0 and "6.28319" in out
    assert_usage_error(*run(capsys, "explain", "x * e", "x=2", "e=3"),
                       "e is the constant 2.718281828459045 in expressions")


def test_caret_on_the_command_line_is_a_usage_error_with_the_hint(capsys):
    assert_usage_error(*run(capsys, "explain", "x^2", "x=2"), "use ** for powers")


def test_python_m_autograd_help_prints_help_and_no_network():
    result = subprocess.run([sys.executable, "-m", "autograd", "--help"], capture_output=True,
                            text=True, check=True)
    assert result.stdout.startswith("usage: python -m autograd")
    assert "forward:" not in result.stdout


def test_python_m_autograd_refuses_unknown_arguments():
    result = subprocess.run([sys.executable, "-m", "autograd", "--epochs", "3"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "unrecognized arguments" in result.stderr


def test_python_m_autograd_still_prints_the_worked_example():
    result = subprocess.run([sys.executable, "-m", "autograd"], capture_output=True, text=True,
                            check=True)
    assert result.stdout.startswith("forward: h1=0.581759")
