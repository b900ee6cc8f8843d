"""Writes chainrule's notebooks from the cells below; with --execute, runs them and saves outputs.

    python notebooks/build.py             # write the .ipynb files (no outputs)
    python notebooks/build.py --execute   # write, run in a kernel, save with outputs

The notebooks are committed with their outputs so they read well on GitHub;
tests/test_notebooks.py executes them again. Each notebook's cells live in a
file of their own, ``notebooks/src/NN_name.py`` (a list ``CELLS`` of ``md``
and ``code`` cells), which writes ``NN_name.ipynb``: plain Python lists are
easy to review and to edit without Jupyter, and adding a notebook is adding a
file.
"""

import argparse
import json
import re
import runpy
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


def md(text):
    return new_markdown_cell(text.strip())


def code(text):
    return new_code_cell(text.strip())


SOURCES = HERE / "src"
# notebook file name -> the source file of its cells, in order
NOTEBOOKS = {path.stem + ".ipynb": path for path in sorted(SOURCES.glob("[0-9][0-9]_*.py"))}


def cells(name: str) -> list:
    """The cells of notebook ``name`` (e.g. ``01_chain_rule_by_hand.ipynb``), from its source."""
    if name not in NOTEBOOKS:
        raise SystemExit(f"no notebook {name!r}: expected one of {', '.join(NOTEBOOKS)}")
    if str(HERE) not in sys.path:  # the sources import md and code from this file
        sys.path.insert(0, str(HERE))
    return runpy.run_path(str(NOTEBOOKS[name]))["CELLS"]


def build(name: str):
    notebook = new_notebook(cells=cells(name))
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index}"  # stable ids: re-running changes only what changed
    notebook.metadata["kernelspec"] = {
        "name": "python3", "display_name": "Python 3", "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


KERNEL_NAME = "chainrule-python"


def execute(notebook, timeout: int = 300):
    """Runs every cell in a fresh kernel started by this very Python (so, the venv's).

    The kernel spec is written to a temporary folder and handed to the kernel
    manager directly: a ``python3`` spec installed for the user (``ipykernel
    install --user``) may name another interpreter, which lacks chainrule.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory(prefix="chainrule-kernel-") as kernels:
        spec = Path(kernels) / KERNEL_NAME
        spec.mkdir()
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (chainrule)",
            "language": "python",
        }))
        manager = AsyncKernelManager(
            kernel_name=KERNEL_NAME, kernel_spec_manager=KernelSpecManager(kernel_dirs=[kernels])
        )
        client = NotebookClient(notebook, km=manager, timeout=timeout, record_timing=False,
                                resources={"metadata": {"path": str(HERE)}})
        client.execute()
    return notebook


# An IPython cell's file (/tmp/ipykernel_15377/3399905348.py): a temporary name of one run.
CELL_FILE = re.compile(r"/[^\s\"']*/ipykernel_\d+/\d+\.py")


def scrubbed(notebook):
    """The notebook with no path of this machine in its outputs: the venv (``sys.prefix``)
    becomes ``<venv>``, the checkout ``<chainrule>``, a cell's temporary file ``<cell>``, so
    that a committed notebook reads the same whoever built it, wherever."""
    places = [(str(Path(sys.prefix).resolve()), "<venv>"), (sys.prefix, "<venv>"),
              (str(HERE.parent), "<chainrule>")]

    def clean(text: str) -> str:
        text = CELL_FILE.sub("<cell>", text)
        for path, name in places:
            text = text.replace(path, name)
        return text

    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = clean(output["text"])
            for kind, value in output.get("data", {}).items():
                if kind.startswith("text/") and isinstance(value, str):
                    output["data"][kind] = clean(value)
            if "traceback" in output:
                output["traceback"] = [clean(line) for line in output["traceback"]]
    return notebook


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--execute", action="store_true", help="run and save outputs")
    parser.add_argument("names", nargs="*", help="notebook file names (default: all)")
    args = parser.parse_args(argv)
    for name in args.names or NOTEBOOKS:
        notebook = build(name)
        if args.execute:
            started = time.perf_counter()
            scrubbed(execute(notebook))  # committed outputs name no path of this machine
            print(f"{name}: executed in {time.perf_counter() - started:.1f} s")
        nbformat.write(notebook, HERE / name)
        print(f"wrote {HERE / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
