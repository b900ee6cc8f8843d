"""`make demo` installs the product only, `make test` adds the test tools; the system programs
each one needs (tools/system-deps.sh demo|test)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def dry_run(target: str, venv: Path) -> list[str]:
    """The commands `make TARGET` would run with VENV=venv (make -n: nothing is run)."""
    result = subprocess.run(["make", "-n", target, f"VENV={venv}"], cwd=ROOT, text=True,
                            capture_output=True, check=True)
    return result.stdout.splitlines()


def installs(lines: list[str]) -> list[str]:
    """What each `pip install -e` in the commands installs ('.' or '.[test]' ...)."""
    return [re.search(r"install --quiet -e '?([^' ]+)'?", line).group(1)
            for line in lines if "install --quiet -e" in line]


def fresh_venv(tmp_path: Path, *stamps: str) -> Path:
    """A folder that make takes for a created venv, with the given install stamps."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    for stamp in stamps:
        (venv / f".installed-{stamp}").touch()
    later = (ROOT / "pyproject.toml").stat().st_mtime + 10  # stamps newer than pyproject
    for path in venv.rglob("*"):
        os.utime(path, (later, later))
    return venv


def test_make_demo_installs_the_product_without_test_tools(tmp_path):
    lines = dry_run("demo", tmp_path / "none")
    assert installs(lines) == ["."]
    text = "\n".join(lines)
    for tool in ("torch", "playwright", "micrograd", "hypothesis", "[test", "[bench"):
        assert tool not in text
    assert "system-deps.sh demo" in text
    assert "chainrule train --dataset moons" in text


def test_make_test_installs_the_test_extra_and_the_test_programs(tmp_path):
    lines = dry_run("test", tmp_path / "none")
    assert installs(lines) == [".[test]"]
    assert any("system-deps.sh test" in line for line in lines)
    assert any("pytest" in line for line in lines)


def test_make_test_after_make_demo_installs_the_test_extra(tmp_path):
    venv = fresh_venv(tmp_path, "demo")
    assert installs(dry_run("test", venv)) == [".[test]"]
    assert installs(dry_run("demo", venv)) == []  # the demo's stamp is up to date


def test_make_demo_after_make_test_installs_nothing(tmp_path):
    venv = fresh_venv(tmp_path, "demo", "test")
    assert installs(dry_run("demo", venv)) == []
    assert installs(dry_run("test", venv)) == []


def test_make_bench_adds_the_benchmark_peer(tmp_path):
    assert installs(dry_run("bench", fresh_venv(tmp_path, "demo", "test"))) == [".[test,bench]"]


def test_pyproject_keeps_test_and_bench_tools_out_of_the_product():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    product = " ".join(project["dependencies"])
    for tool in ("torch", "playwright", "micrograd", "hypothesis", "pytest"):
        assert tool not in product
    extras = project["optional-dependencies"]
    assert any(d.startswith("torch==") for d in extras["test"])
    assert any(d.startswith("micrograd==") for d in extras["bench"])


def system_deps(tmp_path, purpose: str, programs: list[str], ci: bool, *extra: str):
    """Runs tools/system-deps.sh --check with only ``programs`` (fake ones) on PATH."""
    bin_ = tmp_path / "bin"
    bin_.mkdir(exist_ok=True)
    for tool in ("bash", "id", "cat"):
        (bin_ / tool).symlink_to(shutil.which(tool))
    for program in programs:
        (bin_ / program).write_text("#!/bin/sh\n")
        (bin_ / program).chmod(0o755)
    env = {"PATH": str(bin_), "PG_GLOB": str(tmp_path / "no-postgres" / "pg_ctl")}
    if ci:
        env["CI"] = "true"
    return subprocess.run([str(bin_ / "bash"), str(ROOT / "tools/system-deps.sh"), purpose,
                           "--check", *extra], env=env, text=True, capture_output=True)


def test_system_deps_demo_needs_only_graphviz(tmp_path):
    result = system_deps(tmp_path, "demo", ["dot"], ci=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_system_deps_demo_says_how_to_install_graphviz(tmp_path):
    result = system_deps(tmp_path, "demo", [], ci=False)
    assert result.returncode == 0
    assert "apt-get install -y graphviz" in result.stderr
    assert "chromium" not in result.stderr


def test_system_deps_test_in_ci_fails_on_a_missing_browser_or_database(tmp_path):
    result = system_deps(tmp_path, "test", ["dot"], ci=True)
    assert result.returncode == 1
    assert "chromium postgresql" in result.stderr
    assert "CI is set: a missing program is a failure" in result.stderr


def test_system_deps_test_passes_with_every_program(tmp_path):
    result = system_deps(tmp_path, "test", ["dot", "chromium", "pg_ctl"], ci=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("argv", [[], ["bench"], ["demo", "--force"]])
def test_system_deps_refuses_unknown_arguments(tmp_path, argv):
    result = subprocess.run(["bash", str(ROOT / "tools/system-deps.sh"), *argv],
                            text=True, capture_output=True)
    assert result.returncode == 2
    assert "usage: tools/system-deps.sh demo|test" in result.stderr


README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_says_how_to_use_the_venv_right_under_the_two_commands():
    start = README.index("make test")
    following = README[start:start + 600]
    assert ".venv/bin/chainrule --help" in following
    assert "source .venv/bin/activate" in following


def test_readme_warns_that_every_import_name_is_also_on_pypi():
    section = README[README.index("## The import names"):]
    for name in ("autograd", "nn", "viz"):
        assert f"pip install {name}" in section
