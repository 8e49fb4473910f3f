"""Shared test settings for the project's own suite (fixtures come from the plugin)."""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from typing import Any

import pytest

from tests.project_modules import put_back_libraries

TIER_MARKERS = ("integration", "prefork", "ui", "chaos", "external", "scale", "security")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``backend_free`` the tests whose verdict ``--jobstate-redis`` cannot change.

    A test that uses no ``redis_backend`` (directly or through another fixture) and no
    tier marker runs the same whatever backend the run names: pure unit tests, and the
    plugin tests whose inner pytest runs start from a clean environment. The integration
    tier re-runs the fast tier on a real redis-server and leaves these out.
    """
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "redis_backend" in names:
            continue
        if any(item.get_closest_marker(m) for m in TIER_MARKERS):
            continue
        item.add_marker(pytest.mark.backend_free)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, Any, Any]:
    """The ``pytester`` fixture's teardown drops every module imported during the test;
    the library ones among them go back, so the next test imports no second copy of them
    (:mod:`tests.project_modules`)."""
    pytester = getattr(item, "funcargs", {}).get("pytester")
    if not isinstance(pytester, pytest.Pytester):
        return (yield)
    present = dict(sys.modules)
    try:
        return (yield)
    finally:
        put_back_libraries(present, pytester.path)


@pytest.fixture(autouse=True)
def _inner_runs_load_a_users_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Function: pytest runs started by a test (pytester, a user's project) leave out the
    plugins only this suite uses (schemathesis, pytest-redis): a user of the plugin has
    neither, and each costs every inner run a second of imports."""
    current = os.environ.get("PYTEST_ADDOPTS", "")
    monkeypatch.setenv("PYTEST_ADDOPTS", f"{current} -p no:schemathesis -p no:pytest_redis")
