"""pytest-jobstate plugin: options, markers, header and report hooks.

Public fixtures live by concern in :mod:`harness.redis`, :mod:`harness.celery` and
:mod:`harness.ui`; this module only wires them in.
"""

from __future__ import annotations

import inspect
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from harness.config import JobstateConfig, add_options, read_config
from harness.modes import celery_mode_help, redis_mode_help
from harness.parked_loop import loop_set_aside

pytest_plugins = [
    "harness.redis",
    "harness.topologies",
    "harness.celery",
    "harness.ui",
    "harness.chaos",
    "harness.chaos_workers",
]

CONFIG_KEY = pytest.StashKey[JobstateConfig]()

MARKERS = (
    f"jobstate_redis(mode): force the Redis backend for one test ({redis_mode_help()})",
    f"jobstate_celery(mode): force the Celery mode for one test ({celery_mode_help()})",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--jobstate-*`` flags and ``jobstate_*`` ini keys."""
    add_options(parser)


THIRD_PARTY_WARNINGS = (
    # Celery's Redis result backend stores results with redis-py's deprecated setex().
    "ignore:Call to deprecated setex:DeprecationWarning:celery\\.backends\\.redis",
    # pytest-playwright's base_url fallback is a session fixture on a plugin instance.
    "ignore:Session-scoped fixtures defined as instance methods are deprecated\\.\n"
    "Instance attributes set in the 'base_url' fixture:pytest.PytestRemovedIn10Warning",
    # A thread worker's consumer warns at each lost broker connection unless the app sets
    # worker_cancel_long_running_tasks_on_connection_loss: raised, it would stop the worker.
    "ignore:\\s*In Celery 5\\.1 we introduced an optional breaking change:"
    "celery.exceptions.CPendingDeprecationWarning",
)
"""Warnings our fixtures would make other libraries raise in a user's run, one message each.

Added after the user's own ``filterwarnings`` (later entries win), so a suite with
``filterwarnings = error`` stays green; every other warning still reaches the user.
"""


def pytest_configure(config: pytest.Config) -> None:
    """Resolve the settings once, declare the markers, quiet known third-party warnings."""
    config.stash[CONFIG_KEY] = read_config(config)
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    for line in THIRD_PARTY_WARNINGS:
        config.addinivalue_line("filterwarnings", line)


def pytest_report_header(config: pytest.Config) -> str:
    """Show each setting and where it came from."""
    return config.stash[CONFIG_KEY].header()


def get_config(config: pytest.Config) -> JobstateConfig:
    """The resolved :class:`JobstateConfig` of this run."""
    return config.stash[CONFIG_KEY]


@pytest.fixture(scope="session")
def jobstate_config(pytestconfig: pytest.Config) -> JobstateConfig:
    """Session: the resolved plugin settings (``cfg["redis"]``, ``cfg.source("redis")``)."""
    return get_config(pytestconfig)


def marker_value(node: pytest.Item | pytest.FixtureRequest, name: str) -> str | None:
    """The argument of marker ``name`` on the requesting test, if any."""
    item = node.node if isinstance(node, pytest.FixtureRequest) else node
    mark = item.get_closest_marker(name)
    if mark is None:
        return None
    if not mark.args or not isinstance(mark.args[0], str):
        raise pytest.UsageError(f"@pytest.mark.{name} needs one string argument")
    return mark.args[0]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, Any]:
    """Attach the state recorder's timeline to the report of a failed test."""
    report = yield
    if report.failed and call.when in {"call", "setup"}:
        funcargs: dict[str, Any] = getattr(item, "funcargs", {})
        recorder = funcargs.get("state_recorder")
        if recorder is not None:
            report.sections.append(("jobstate timeline", recorder.timeline()))
    return report


def _is_async(item: pytest.Item) -> bool:
    function = getattr(item, "obj", None)
    return inspect.iscoroutinefunction(function) or any(
        item.get_closest_marker(name) for name in ("anyio", "asyncio")
    )


@pytest.fixture(autouse=True)
def _jobstate_async_beside_browsers(request: pytest.FixtureRequest) -> Iterator[None]:
    """Function (internal): an async test runs the same after a browser test as before one.

    Autouse fixtures are set up first and torn down last of a test's function-scoped
    fixtures, so the async fixtures and the test itself see no parked Playwright loop
    (:mod:`harness.parked_loop`), and the session's browser is torn down with its loop
    in place.
    """
    if not _is_async(request.node):
        yield
        return
    with loop_set_aside():
        yield
