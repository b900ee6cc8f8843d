"""Every module the test suite imports is installed by ``make test`` (the test extra).

A fresh machine has only what the repo installs: a test importing a package that only
``make bench`` installs (micrograd once) fails CI at collection. The test reads every
``import`` of tests/*.py and checks each third-party module comes from the product's
dependencies or the ``test`` extra, directly or as one of their own requirements.
"""

import ast
import importlib.metadata as metadata
import re
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+ (on 3.10 this check is skipped)

ROOT = Path(__file__).resolve().parents[1]
# the project, the tests' helpers and notebooks/build.py (which the tests put on sys.path)
OURS = {"autograd", "nn", "viz", "attacks", "conftest", "notebooks", "benchmarks", "build"}


def imported_modules() -> set[str]:
    names = set()
    for path in (ROOT / "tests").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names and name not in OURS
            and not name.startswith("test_")}


def requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def installed_by_make_test() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    todo = [requirement_name(r) for r in wanted]
    closure = set()
    while todo:
        name = todo.pop()
        if name in closure:
            continue
        closure.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo.extend(requirement_name(r) for r in requires if "extra ==" not in r)
    return closure


def test_every_module_the_tests_import_is_installed_by_the_test_extra():
    distributions = metadata.packages_distributions()
    allowed = installed_by_make_test()
    missing = {}
    for module in sorted(imported_modules()):
        names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if not names & allowed:
            missing[module] = sorted(names)
    assert not missing, f"imported by tests but not installed by `make test`: {missing}"
