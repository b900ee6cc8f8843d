"""The README's quickstart and command-line examples do what the README says they do."""

import re
from pathlib import Path

import pytest
from test_cli import run

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def blocks(text: str, language: str = "") -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.M | re.S)


@pytest.mark.graphviz
def test_quickstart_runs_and_prints_the_gradients_it_claims(tmp_path, monkeypatch, capsys):
    (code,) = blocks(section("Quickstart"), "python")
    assert len(code.strip().splitlines()) <= 11
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README quickstart", "exec"), {})
    printed = [float(x) for x in capsys.readouterr().out.split()]
    claimed = [float(x) for x in re.search(r"# (-?[\d.]+) (-?[\d.]+) (-?[\d.]+)", code).groups()]
    assert printed == pytest.approx(claimed, abs=5e-5)
    assert (tmp_path / "neuron.svg").read_text().count("<svg") == 1


def test_explain_table_in_the_readme_is_what_explain_prints(capsys):
    text = section("Command line")
    command = re.search(r"^chainrule explain (\"[^\"]+\") (\S+) (\S+) (\S+)", text, re.M)
    expr, *assignments = command.groups()
    table = next(block for block in blocks(text) if block.startswith("step"))
    status, out, _ = run(capsys, "explain", expr.strip('"'), *assignments)
    assert status == 0
    assert out.startswith(table)
