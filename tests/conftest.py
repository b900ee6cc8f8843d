"""Shared test set-up: hypothesis profiles and the markers for external programs.

Profiles: ``dev`` (the default, quick), ``ci`` (chosen when CI is set:
derandomized so a run cannot flake, no deadline on shared machines, more
examples). Tests marked ``graphviz`` need the Graphviz ``dot`` program and
``browser`` tests need Chromium; without them they are skipped locally, but in
CI a missing program fails the run instead.
"""

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
PROGRAMS = {"graphviz": "dot", "browser": "chromium"}


def pytest_configure(config):
    # Registered here rather than in pyproject.toml, whose only mention of the
    # oracle stays its exact pin.
    config.addinivalue_line("markers", "torch: compares with PyTorch (float64) as an oracle")


def pytest_runtest_setup(item):
    for marker, program in PROGRAMS.items():
        if item.get_closest_marker(marker) and shutil.which(program) is None:
            message = f"needs the {program!r} program (make test installs it)"
            if IN_CI:
                pytest.fail(f"{message}; in CI a missing program is a failure")
            pytest.skip(message)
