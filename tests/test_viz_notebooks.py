"""The committed notebooks show their pictures when opened without running them.

JupyterLab's untrusted mode refuses SVG and scripts, and GitHub's preview shows
no pictures inside HTML; both show a PNG. So every graph and every stepper in a
committed notebook carries a PNG in its output beside the SVG or the HTML.
"""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def rich_outputs(path):
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        for output in cell.get("outputs", []):
            if output.get("output_type") in ("display_data", "execute_result"):
                yield output["data"]


def text(value):
    return "".join(value) if isinstance(value, list) else value


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_graphs_and_steppers_carry_a_png(path):
    for data in rich_outputs(path):
        if "image/svg+xml" in data:
            assert "image/png" in data, "a graph without its PNG"
            assert "max-width:100%" in text(data["image/svg+xml"])  # fits the width
        if "crs-nojs" in text(data.get("text/html", "")):
            assert "image/png" in data, "a stepper without its static picture"
