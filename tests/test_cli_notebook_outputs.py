"""Notebook outputs: fit's progress bar is one line in a kernel without ipywidgets, and the
committed notebooks hold no path of the machine that built them."""

import io
import sys
from pathlib import Path

import pytest

import nn
from nn import data

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
sys.path.insert(0, str(NOTEBOOKS))
try:
    import build
finally:
    sys.path.remove(str(NOTEBOOKS))


def test_fit_in_a_kernel_without_widgets_prints_one_line():
    from importlib.util import find_spec

    if find_spec("ipywidgets") is not None:
        pytest.skip("with ipywidgets the bar is a widget")
    cell = nbformat.v4.new_code_cell(
        "import nn\nfrom nn import data\nX, y = data.xor()\n"
        "history = nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, loss='bce_with_logits', epochs=30)"
    )
    notebook = build.execute(nbformat.v4.new_notebook(cells=[cell]))
    (output,) = notebook.cells[0].outputs
    assert output["name"] == "stderr"
    assert output["text"].count("\n") == 1 and "\r" not in output["text"]
    assert output["text"].startswith("fit: 100%") and "30/30" in output["text"]


def test_the_one_line_bar_writes_its_final_line_once(monkeypatch):
    monkeypatch.setattr(nn.train, "_in_jupyter", lambda: True)
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)  # no ipywidgets
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    bar = nn.train._progress_bar(5, True)
    for _ in range(5):
        bar.update(1)
    bar.close()
    bar.close()
    assert stream.getvalue().count("\n") == 1 and stream.getvalue().startswith("fit: 100%")


def test_outside_jupyter_the_bar_is_tqdms_text_bar(monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    X, y = data.xor()
    nn.fit(nn.MLP(2, [2, 1], seed=0), X, y, loss="bce_with_logits", epochs=3)
    assert "\r" in stream.getvalue()  # redrawn in place, as a terminal shows it


def test_scrubbed_replaces_the_venv_the_checkout_and_the_cell_file():
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output(
        "stream", name="stdout",
        text=f"created at /tmp/ipykernel_15377/3399905348.py:5\n"
             f"called from {sys.prefix}/lib/site.py\nsaved to {build.HERE.parent}/out\n")]
    text = build.scrubbed(nbformat.v4.new_notebook(cells=[cell])).cells[0].outputs[0]["text"]
    assert text == "created at <cell>:5\ncalled from <venv>/lib/site.py\nsaved to <chainrule>/out\n"


def test_notebook_04_holds_no_path_of_the_machine_it_was_built_on():
    text = (NOTEBOOKS / "04_gradient_checks.ipynb").read_text(encoding="utf-8")
    for fragment in ("site-packages", "/work/", "/home/", "/root/", "ipykernel_", "/tmp/"):
        assert fragment not in text
    assert "node created at <cell>:5" in text
