"""Every ```python block of README.md runs on its own, and every `chainrule` command in it works.

Each Python block runs in a fresh interpreter in an empty folder, with nothing from the
blocks before it: a block that needs a name defines it. The commands run in the order the
README gives them, in one temporary folder (so ``chainrule data house_prices -o houses.csv``
makes the file the next ``train`` reads). To keep the suite bounded, a command's
``--epochs`` and ``--trials`` are capped at 2 and a built-in data set's ``--samples`` at 60
(added when the command gives none): the README promises no number for these commands,
only that they run and write their files. Commands with
placeholders (``NAME``, ``FILE.csv``, a ``PASSWORD``) and bare mentions (``chainrule train``)
are not commands to run.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CAPPED = {"--epochs": 2, "--trials": 2, "--samples": 60}
PLACEHOLDER = re.compile(r"\b(NAME|FILE|MODEL|DATA|EXPR|PASSWORD|URL|N)\b")


def python_blocks() -> list[tuple[int, str]]:
    """(line, code) of every ```python block."""
    return [(README.count("\n", 0, match.start()) + 1, match.group(1))
            for match in re.finditer(r"^```python\n(.*?)^```", README, re.M | re.S)]


def commands() -> list[str]:
    """Every chainrule command of the README in order: lines of plain ``` blocks and inline
    `chainrule ...` spans with arguments, comments cut, placeholders left out."""
    fence = re.compile(r"^```(\w*)\n(.*?)^```\n", re.M | re.S)
    lines = [line for match in fence.finditer(README) if not match.group(1)
             for line in match.group(2).splitlines()]
    prose = fence.sub("", README)
    lines += [" ".join(span.split()) for span in re.findall(r"`(chainrule [^`]+)`", prose)]
    found = []
    for line in lines:
        if not line.startswith("chainrule ") or line.startswith(("chainrule train:",)):
            continue  # an error message quoted in the text is not a command
        words = shlex.split(line, comments=True)
        if (len(words) < 3 and "--help" not in words) or PLACEHOLDER.search(line):
            continue
        found.append(shlex.join(words))
    return found


def capped(words: list[str]) -> list[str]:
    from viz.cli.train import DATASETS

    words = list(words)
    training = words[1] in ("train", "tune") and "--help" not in words
    dataset = words[words.index("--dataset") + 1] if "--dataset" in words else "moons"
    added = {"--epochs": training, "--trials": training and words[1] == "tune",
             "--samples": training and dataset in DATASETS}
    for option, most in CAPPED.items():
        if option in words:
            k = words.index(option) + 1
            words[k] = str(min(int(words[k]), most))
        elif added[option]:
            words += [option, str(most)]
    return words


def test_capping_keeps_the_command_and_lowers_only_the_sizes():
    assert capped(["chainrule", "train", "--dataset", "moons", "--epochs", "60"]) == [
        "chainrule", "train", "--dataset", "moons", "--epochs", "2", "--samples", "60"]
    assert capped(["chainrule", "train", "--dataset", "houses.csv"]) == [
        "chainrule", "train", "--dataset", "houses.csv", "--epochs", "2"]
    assert capped(["chainrule", "tune", "--dataset", "moons"]) == [
        "chainrule", "tune", "--dataset", "moons", "--epochs", "2", "--trials", "2",
        "--samples", "60"]
    assert capped(["chainrule", "data", "iris", "-o", "iris.csv"]) == [
        "chainrule", "data", "iris", "-o", "iris.csv"]


def environment() -> dict:
    return {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}


def test_the_readme_has_the_blocks_and_commands_this_test_runs():
    assert len(python_blocks()) >= 10
    listed = commands()
    assert "chainrule data house_prices -o houses.csv" in listed
    assert any(command.startswith("chainrule predict") for command in listed)
    assert "chainrule explain -- '-x * y' x=2 y=3" in listed
    assert not any("PASSWORD" in command for command in listed)


@pytest.mark.slow
@pytest.mark.graphviz
@pytest.mark.parametrize(("line", "code"), python_blocks(),
                         ids=[f"line {line}" for line, _ in python_blocks()])
def test_every_python_block_runs_on_its_own(tmp_path, line, code):
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=environment(),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"README line {line}:\n{result.stderr[-3000:]}"


@pytest.mark.slow
@pytest.mark.graphviz
def test_every_chainrule_command_runs(tmp_path):
    for command in commands():
        words = capped(shlex.split(command))
        result = subprocess.run([sys.executable, "-m", "viz.cli", *words[1:], *(
            ["--no-progress"] if words[1] in ("train", "tune") else [])],
            cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"{shlex.join(words)}:\n{result.stderr[-3000:]}"
        assert "Traceback" not in result.stderr
