"""A search shared through a real PostgreSQL server, as several machines would share it.

The fixture starts Debian's PostgreSQL server in a temporary folder, as an
unprivileged user when the tests run as root (PostgreSQL refuses to run as
root): ``nobody`` owns the folder and runs initdb and pg_ctl through runuser.
The server listens on 127.0.0.1 at a free port, with a password for TCP.
Two separate ``chainrule tune`` processes then work on one study.
"""

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from conftest import find_program

import nn

optuna = pytest.importorskip("optuna")
pytest.importorskip("psycopg")

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
PASSWORD = "tune-test-secret"
UNPRIVILEGED = "nobody"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """The URL (with its password) of a fresh PostgreSQL server; stopped afterwards."""
    pg_ctl = find_program("pg_ctl")
    if pg_ctl is None:
        pytest.skip("needs PostgreSQL's pg_ctl")  # conftest makes this a failure in CI
    programs = Path(pg_ctl).parent
    root = Path(tempfile.mkdtemp(prefix="chainrule-postgres-"))
    prefix = []
    if os.geteuid() == 0:
        user = pwd.getpwnam(UNPRIVILEGED)
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", UNPRIVILEGED, "--"]
    password_file = root / "password"
    password_file.write_text(PASSWORD)
    if prefix:
        os.chown(password_file, user.pw_uid, user.pw_gid)
    data, port = root / "data", free_port()
    environment = {**os.environ, "LC_ALL": "C", "LANG": "C"}

    def as_server_user(*command):
        return subprocess.run([*prefix, *map(str, command)], cwd=root, env=environment,
                              capture_output=True, text=True, timeout=120)

    made = as_server_user(programs / "initdb", "-D", data, "-U", "postgres", "--no-sync",
                          "--auth-local=trust", "--auth-host=scram-sha-256",
                          f"--pwfile={password_file}", "-E", "UTF8")
    assert made.returncode == 0, made.stderr
    started = as_server_user(programs / "pg_ctl", "-D", data, "-l", root / "server.log", "-w",
                             "-t", "60", "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 "
                             "-c fsync=off -c max_connections=40", "start")
    assert started.returncode == 0, started.stderr + (root / "server.log").read_text()
    try:
        yield f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/postgres"
    finally:
        as_server_user(programs / "pg_ctl", "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def chainrule_tune(tmp_path, name, *args):
    return subprocess.Popen(
        [sys.executable, "-m", "viz.cli", "tune", "--epochs", "6", "--hidden", "4",
         "--samples", "60", "--no-progress", "--out", str(tmp_path / name), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish(*processes):
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
        outputs.append(out)
    return outputs


def test_two_processes_share_one_grid_and_run_every_point_exactly_once(postgres, tmp_path):
    space = tmp_path / "grid.json"
    grid = {"lr": {"choice": [0.003, 0.01, 0.03, 0.1]}, "activation": {"choice": ["relu", "tanh"]}}
    space.write_text(json.dumps(grid))
    common = ("--strategy", "grid", "--space", str(space), "--trials", "100",
              "--storage", postgres, "--study", "shared-grid")
    first = chainrule_tune(tmp_path, "one", *common)
    second = chainrule_tune(tmp_path, "two", *common)
    for out in finish(first, second):
        assert "the grid of 8 is complete" in out
        assert PASSWORD not in out
    study = optuna.load_study(study_name="shared-grid", storage=postgres)
    ran = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    points = Counter(json.dumps(t.params, sort_keys=True) for t in ran)
    assert len(points) == 8 and set(points.values()) == {1}  # each combination once
    # A trial started in a race for the last point is recorded without training.
    for t in study.trials:
        if t not in ran:
            assert t.state.name == "FAIL" and "already complete" in t.user_attrs["reason"]
    assert len(ran) == 8


def test_two_random_searches_on_one_study_add_up_without_repeating_points(postgres, tmp_path):
    common = ("--strategy", "random", "--trials", "3", "--storage", postgres,
              "--study", "shared-random", "--seed", "4")
    finish(chainrule_tune(tmp_path, "one", *common), chainrule_tune(tmp_path, "two", *common))
    study = optuna.load_study(study_name="shared-random", storage=postgres)
    assert sorted(t.number for t in study.trials) == list(range(6))
    assert len({json.dumps(t.params, sort_keys=True) for t in study.trials}) == 6


def test_a_wrong_password_names_the_server_but_not_the_password(postgres):
    wrong = postgres.replace(PASSWORD, "not-the-password")
    X, y = nn.data.moons(20, seed=0)
    with pytest.raises(RuntimeError) as raised:
        nn.tune(X, y, {"lr": [0.1]}, storage=wrong, epochs=1, progress=False)
    message = str(raised.value)
    assert "postgresql://postgres:***@127.0.0.1" in message
    assert "not-the-password" not in message and PASSWORD not in message
    assert "password authentication failed" in message
