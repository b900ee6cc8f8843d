"""The notebooks: each runs top to bottom in a fresh kernel, and is committed with its outputs.

Kernels are started by nbclient under the name ``python3``; jupyter_client
replaces the kernel spec's ``python`` with the interpreter running the tests,
so under ``make test`` the notebooks run on the venv's Python
(``test_kernel_runs_this_python`` checks it).
"""

import copy
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))
CELL_TIMEOUT = 300


def execute(notebook):
    client = nbclient.NotebookClient(
        notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return notebook


def test_the_five_notebooks_are_there():
    assert [name[:3] for name in NAMES] == ["01_", "02_", "03_", "04_", "05_"]


def test_kernel_runs_this_python():
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import sys, autograd; print(sys.prefix)")]
    )
    execute(notebook)
    assert notebook.cells[0].outputs[0]["text"].strip() == sys.prefix


@pytest.mark.slow
@pytest.mark.graphviz
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_without_errors(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    execute(copy.deepcopy(notebook))  # CellExecutionError names the failing cell


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_with_outputs_and_no_errors(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells
    for index, cell in enumerate(code_cells):
        assert cell.execution_count is not None, f"code cell {index} of {name} was not executed"
        assert not [out for out in cell.outputs if out.output_type == "error"], (
            f"code cell {index} of {name} has an error output"
        )
    assert sum(bool(cell.outputs) for cell in code_cells) >= len(code_cells) // 2


@pytest.mark.parametrize("name", NAMES)
def test_notebook_matches_its_source_in_build_py(name):
    sys.path.insert(0, str(NOTEBOOKS))
    try:
        import build
    finally:
        sys.path.remove(str(NOTEBOOKS))
    committed = nbformat.read(NOTEBOOKS / name, as_version=4)
    expected = build.build(name)
    assert [(c.cell_type, c.source) for c in committed.cells] == [
        (c.cell_type, c.source) for c in expected.cells
    ], f"{name} differs from notebooks/build.py: run python notebooks/build.py --execute {name}"
