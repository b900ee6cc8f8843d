"""Shared test set-up: hypothesis profiles and the markers for external programs.

Profiles: ``dev`` (the default, quick, a fresh random search each run),
``ci`` (chosen when CI is set: derandomized so a run cannot flake, no
deadline on shared machines, more examples). A test's own ``@settings``
inherit the profile; in CI, collection stops with the list of any test whose
settings would undo it (``derandomize=False``, a ``deadline``), since such a
test could fail at random. Tests marked ``graphviz`` need the Graphviz ``dot``
program, ``browser`` tests need Chromium and ``postgres`` tests a PostgreSQL
server (``pg_ctl``, which Debian keeps in /usr/lib/postgresql/<version>/bin);
without them they are skipped locally, but in CI a missing program fails the
run instead.
"""

import glob
import os
import shutil

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=200,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=60)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

IN_CI = bool(os.environ.get("CI"))
PROGRAMS = {"graphviz": "dot", "browser": "chromium", "postgres": "pg_ctl"}
# Where a program lives when it is not on PATH (Debian's PostgreSQL server programs).
PROGRAM_FOLDERS = {"pg_ctl": "/usr/lib/postgresql/*/bin"}


def find_program(program: str) -> str | None:
    """The path of ``program``: on PATH, else in its known folders (newest version first)."""
    found = shutil.which(program)
    for folder in sorted(glob.glob(PROGRAM_FOLDERS.get(program, "")), reverse=True):
        found = found or shutil.which(program, path=folder)
    return found


def pytest_configure(config):
    # Registered here rather than in pyproject.toml, whose only mention of the
    # oracle stays its exact pin.
    config.addinivalue_line("markers", "torch: compares with PyTorch (float64) as an oracle")


def unreproducible(function) -> str | None:
    """Why a hypothesis test could fail at random in CI, or None (also for non-hypothesis tests)."""
    chosen = getattr(function, "_hypothesis_internal_use_settings", None)
    if chosen is None:
        return None
    if not chosen.derandomize:
        return "its settings turn derandomize off"
    if chosen.deadline is not None:
        return f"its settings set a deadline ({chosen.deadline}): a timing assertion"
    return None


def pytest_collection_modifyitems(config, items):
    if not IN_CI:
        return
    problems = [
        f"{item.nodeid}: {why}"
        for item in items
        if (why := unreproducible(getattr(item, "obj", None))) is not None
    ]
    if problems:
        raise pytest.UsageError(
            "hypothesis tests that CI could not reproduce (keep the ci profile's "
            "derandomize=True and deadline=None):\n  " + "\n  ".join(problems)
        )


def pytest_runtest_setup(item):
    for marker, program in PROGRAMS.items():
        if item.get_closest_marker(marker) and find_program(program) is None:
            message = f"needs the {program!r} program (make test installs it)"
            if IN_CI:
                pytest.fail(f"{message}; in CI a missing program is a failure")
            pytest.skip(message)


@pytest.fixture(autouse=True)
def no_recording_mode_left_behind():
    """Every test leaves autograd's recording mode as it found it: a scope or no_grad()
    left open (say by a Ctrl-C landing as one opens) would change every later test."""
    import autograd.mode

    before = autograd.mode.current.get()
    yield
    after = autograd.mode.current.get()
    autograd.mode.current.set(before)  # one leak is reported once, not by every later test
    assert after is before, f"the test left autograd's mode changed: {after}"
