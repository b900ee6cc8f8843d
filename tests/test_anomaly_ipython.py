"""AnomalyError in IPython and Jupyter: the user's frames and the message, no IPython frames."""

import pytest

from autograd import AnomalyError, Value, detect_anomaly


def raised_anomaly():
    with detect_anomaly():
        x = Value(0.0, label="x")
        y = x.sqrt()
        try:
            y.backward()
        except AnomalyError as error:
            return error
    raise AssertionError("sqrt at 0 did not raise")


def test_render_traceback_shows_user_frames_and_the_message_only():
    lines = raised_anomaly()._render_traceback_()
    text = "\n".join(lines)
    assert lines[-1].startswith("AnomalyError: ") and "sqrt" in lines[-1]
    assert "test_anomaly_ipython.py" in text  # where the user called backward()
    assert "autograd" + "/" not in text.replace("\\", "/").rsplit("AnomalyError:", 1)[0]
    assert "IPython" not in text and "interactiveshell" not in text


def test_ipython_shows_no_ipython_frames(capsys):
    shell_module = pytest.importorskip("IPython.core.interactiveshell")
    shell = shell_module.InteractiveShell.instance()
    shell.run_cell(
        "from autograd import Value, detect_anomaly\n"
        "with detect_anomaly():\n"
        "    Value(0.0, label='x').sqrt().backward()\n"
    )
    out = capsys.readouterr()
    shown = out.out + out.err
    assert "AnomalyError: " in shown
    # neither the traceback nor the creation site names IPython's run_code, run_ast_nodes...
    assert "interactiveshell.py" not in shown and "site-packages" not in shown
    assert "node created at <ipython-input" in shown
