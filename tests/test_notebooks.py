"""The notebooks: each runs top to bottom in a fresh kernel, and is committed with its outputs.

Kernels run the interpreter running the tests (under ``make test``, the
venv's Python), whatever kernel specs are installed for the user: see
``notebooks/build.py``'s ``execute``, which these tests use, and
``test_kernel_runs_this_python``.
"""

import copy
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))
sys.path.insert(0, str(NOTEBOOKS))
try:
    import build  # notebooks/build.py: the notebooks' source and how to execute them
finally:
    sys.path.remove(str(NOTEBOOKS))
execute = build.execute


def test_every_notebook_source_has_its_notebook_numbered_in_order():
    assert NAMES == list(build.NOTEBOOKS)
    assert [name[:3] for name in NAMES] == [f"{k:02d}_" for k in range(1, len(NAMES) + 1)]


def test_kernel_runs_this_python_even_with_other_kernel_specs_installed(tmp_path, monkeypatch):
    # A user's own python3 (and even a same-named) kernel spec, naming another interpreter.
    for name in ("python3", build.KERNEL_NAME):
        spec = tmp_path / "kernels" / name
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(
            '{"argv": ["/nonexistent/python", "-m", "ipykernel_launcher", "-f", '
            '"{connection_file}"], "display_name": "elsewhere", "language": "python"}'
        )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
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
    committed = nbformat.read(NOTEBOOKS / name, as_version=4)
    expected = build.build(name)
    assert [(c.cell_type, c.source) for c in committed.cells] == [
        (c.cell_type, c.source) for c in expected.cells
    ], f"{name} differs from notebooks/build.py: run python notebooks/build.py --execute {name}"
