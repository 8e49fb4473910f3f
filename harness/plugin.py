"""pytest-jobstate plugin: every hook (options, markers, header, reports, chaos summary).

The fixtures live by concern in :mod:`harness.fixtures`; this module loads them through
``pytest_plugins`` and imports what its hooks need from them. Nothing imports this module.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest
from celery import Celery

# The fixture modules are imported below, before pytest reads ``pytest_plugins``: mark them
# for assertion rewriting first, or pytest warns that it can no longer rewrite them (an
# error under ``filterwarnings = error``).
pytest.register_assert_rewrite("harness.fixtures")

from harness.config import (
    CONFIG_KEY,
    JobstateConfig,
    add_options,
    get_config,
    marker_value,
    read_config,
)
from harness.fixtures.browser import page_story
from harness.fixtures.chaos import ChaosSummary, judge_after_call
from harness.fixtures.workers import FAILED
from harness.modes import CeleryMode, celery_mode_help, redis_mode_help
from harness.testing.browser.page_view import PageView
from harness.testing.browser.parked_loop import LoopUsers, loop_set_aside, reveal_hidden_loop
from harness.testing.hypothesis_shipped import hypothesis_as_shipped, is_schemathesis_item
from harness.testing.redis.reachable import redis_problem
from harness.testing.workers.app_binding import build_app, load_target, target_tracker
from pipeline.loading import ModuleNotOnPath, load_object
from pipeline.settings import Settings, SettingsError

if TYPE_CHECKING:
    from harness.fixtures.audit.session import AuditRun

pytest_plugins = [
    "harness.fixtures.redis",
    "harness.fixtures.topologies",
    "harness.fixtures.workers",
    "harness.fixtures.browser",
    "harness.fixtures.chaos",
    "harness.fixtures.chaos_workers",
]

MARKERS = (
    f"jobstate_redis(mode): force the Redis backend for one test ({redis_mode_help()})",
    f"jobstate_celery(mode): force the Celery mode for one test ({celery_mode_help()})",
    "jobstate_real: set by the plugin on tests that run on a real worker (their "
    "jobstate_celery marker, else --jobstate-celery): -m 'not jobstate_real' runs the rest",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--jobstate-*`` flags and ``jobstate_*`` ini keys."""
    from harness.fixtures.audit.selection import add_audit_options

    add_options(parser)
    add_audit_options(parser)


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


@pytest.fixture(scope="session")
def jobstate_config(pytestconfig: pytest.Config) -> JobstateConfig:
    """Session: the resolved plugin settings (``cfg["redis"]``, ``cfg.source("redis")``)."""
    return get_config(pytestconfig)


_LOOP_USERS = pytest.StashKey[LoopUsers]()


def _loop_users(config: pytest.Config) -> LoopUsers:
    """The run's record of which fixtures use a parked event loop (one per process)."""
    users = config.stash.get(_LOOP_USERS, None)
    if users is None:
        users = config.stash[_LOOP_USERS] = LoopUsers()
    return users


def _is_async(item: pytest.Item) -> bool:
    function = getattr(item, "obj", None)
    return inspect.iscoroutinefunction(function) or any(
        item.get_closest_marker(name) for name in ("anyio", "asyncio")
    )


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[object], request: pytest.FixtureRequest
) -> Generator[None, object, object]:
    """One of the two gates of :mod:`harness.testing.browser.parked_loop`: a fixture of any
    scope is set up, and later torn down, with the event loop Playwright's sync API parks
    in the main thread shown only if the fixture uses it, so ``asyncio.run`` and
    ``anyio.run`` work in every other fixture after a browser test. Finalizers run
    last-added first: the gate added after setup opens before the fixture's own teardown,
    the one added before setup closes after it."""
    users = _loop_users(request.config)
    gate = contextlib.ExitStack()
    fixturedef.addfinalizer(gate.close)
    try:
        with users.setting_up(fixturedef.argname, fixturedef.argnames):
            return (yield)
    finally:
        if fixturedef.argname in users:
            fixturedef.addfinalizer(reveal_hidden_loop)
        else:
            fixturedef.addfinalizer(lambda: gate.enter_context(loop_set_aside()))


def _loop_gate(item: pytest.Item) -> contextlib.AbstractContextManager[None]:
    """The other gate: a test runs with the parked loop shown only if a fixture it uses
    needs it (an async test never: Playwright's sync API cannot be used from one)."""
    names = getattr(item, "fixturenames", ())
    if not _is_async(item) and _loop_users(item.config).use(names):
        reveal_hidden_loop()
        return contextlib.nullcontext()
    return loop_set_aside()


def pytest_configure(config: pytest.Config) -> None:
    """Resolve the settings once, declare the markers, quiet known third-party warnings,
    start the chaos summary and, under pytest-playwright, our browser launch options."""
    config.stash[CONFIG_KEY] = read_config(config)
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    for line in THIRD_PARTY_WARNINGS:
        config.addinivalue_line("filterwarnings", line)
    config.pluginmanager.register(_ChaosSummaryHooks(config), "jobstate-chaos-summary")
    if config.getoption("jobstate_audit", False):
        from harness.fixtures.audit.session import start_audit

        config.pluginmanager.register(_AuditHooks(start_audit(config)), "jobstate-audit")
    if not _celery_plugin_active(config):
        from harness.fixtures import deprecated

        config.pluginmanager.register(deprecated, "jobstate-deprecated-fixtures")
    if config.pluginmanager.hasplugin("playwright"):
        # Registered last so it wins over pytest-playwright's own fixture of that name.
        from harness.fixtures import browser_launch

        config.pluginmanager.register(browser_launch, "jobstate-browser-launch")


TARGETS = ("app", "workflow", "web_app", "enqueue")
"""Options naming ``module:attribute`` objects: a typo is one start-up error, not one per test."""


CALLED = {
    "enqueue": "a function enqueue(app, ctx)",
    "web_app": "a factory create_app(service) -> ASGI app",
}
"""The ``module:attribute`` options the plugin calls, and what each must be."""


def _check_app(target: str, obj: Any) -> None:
    """A factory app target is built once and closed: a callable that is no factory
    (``os:system``, a stage function) stops the run here, not every test."""
    if isinstance(obj, Celery):
        return
    app, _ = build_app(target, obj, Settings.from_env())
    tracker = target_tracker(target, app)
    tracker.close()
    app.close()


def _check_targets(cfg: JobstateConfig) -> None:
    """Import every ``module:attribute`` option set on purpose (defaults are ours, and
    importing them would cost every run); a name that does not resolve stops the run."""
    for name in TARGETS:
        if cfg.source(name) == "default" or not cfg[name]:
            continue
        try:
            if name == "app":
                _check_app(cfg[name], load_target(cfg[name], cfg.spelled(name)))
            else:
                obj = load_object(cfg[name], cfg.spelled(name))
                if name in CALLED and not callable(obj):
                    raise ValueError(
                        f"{cfg.spelled(name)}={cfg[name]!r} is a {type(obj).__name__}, "
                        f"not {CALLED[name]}"
                    )
        except SettingsError as exc:  # the app read JOBSTATE_* as it loaded: name it
            raise pytest.UsageError(
                f"{exc} [read from the environment as {cfg.spelled(name)}={cfg[name]} loaded]"
            ) from None
        except ModuleNotOnPath as exc:
            raise pytest.UsageError(
                f"{exc} [set by {cfg.source(name)} as {cfg.spelled(name)}; with pytest: "
                "`pythonpath = .` in its ini file, or `python -m pytest` from that folder]"
            ) from None
        except ValueError as exc:
            raise pytest.UsageError(
                f"{exc} [set by {cfg.source(name)}; fix {cfg.spelled(name)}]"
            ) from None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests that will run on a real worker ``jobstate_real``, so that
    ``-m "not jobstate_real"`` selects the eager ones whatever markers pinned."""
    default = get_config(config)["celery"]
    for item in items:
        if "jobstate_celery_app" not in getattr(item, "fixturenames", ()):
            continue
        mode = marker_value(item, "jobstate_celery") or default
        if mode != CeleryMode.EAGER:
            item.add_marker(pytest.mark.jobstate_real)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop the run with one clear error when the configured Redis cannot serve it (no
    Redis answering at the URL, no ``redis-server`` to start): once, in the process that
    runs the session, not in each xdist worker."""
    config = session.config
    if hasattr(config, "workerinput") or config.option.collectonly:
        return
    problem = redis_problem(get_config(config))
    if problem is not None:
        raise pytest.UsageError(problem)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Stop the run with one clear error when a ``module:attribute`` option does not
    resolve (after collection: the user's modules are importable as the tests see them)."""
    try:
        _check_targets(get_config(session.config))
    except pytest.UsageError as exc:
        pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)


def _celery_plugin_active(config: pytest.Config) -> bool:
    """Whether Celery's own pytest fixtures (``celery_app``, ``celery_worker``) are loaded."""
    return any(config.pluginmanager.hasplugin(n) for n in ("celery", "celery.contrib.pytest"))


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Show each setting and where it came from (and what the audit runs on instead)."""
    lines = [get_config(config).header()]
    if config.getoption("jobstate_audit", False):
        lines.append(
            "jobstate audit: its cells run on a redis-server the plugin starts and on prefork "
            "workers, whatever redis= and celery= say"
        )
    return lines


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """Run the test on Hypothesis as it ships (another plugin's process-wide tuning of
    its printer and buffer left out: :mod:`harness.testing.hypothesis_shipped`) and behind
    the event-loop gate (:func:`_loop_gate`), then judge its chaos scenario once its body
    returns; fail it if anything is off."""
    shipped = contextlib.nullcontext() if is_schemathesis_item(item) else hypothesis_as_shipped()
    try:
        with shipped, _loop_gate(item):
            result = yield
    except BaseException:
        judge_after_call(item, failed=True)
        raise
    judge_after_call(item, failed=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, Any]:
    """On failure: mark the item (worker fixtures print their logs at teardown), and add
    the state recorder's timeline and what each page showed to the report."""
    report = yield
    if not report.failed:
        return report
    item.stash[FAILED] = True
    funcargs: dict[str, Any] = getattr(item, "funcargs", {})
    recorder = funcargs.get("state_recorder")
    if recorder is not None and call.when in {"call", "setup"}:
        report.sections.append(("jobstate timeline", recorder.timeline()))
    if call.when == "call":
        for view in funcargs.values():
            if isinstance(view, PageView):
                report.sections.append(("jobstate page", page_story(view)))
    return report


AUDIT_MODULES = frozenset({"harness.fixtures.audit.cells", "harness.fixtures.audit.foreign_cells"})
"""The audit's test modules, whose cells are parametrized by the audit's selection."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The audit's cells: one per selected stage and fault."""
    if metafunc.module.__name__ in AUDIT_MODULES:
        from harness.fixtures.audit.cells import parametrize_cells

        parametrize_cells(metafunc)


class _AuditHooks:
    """The audit's run: its cells come with the reports, its report card ends the run."""

    def __init__(self, run: AuditRun) -> None:
        self.run = run

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Remember each cell's stage and fault; drop tests left with no cell."""
        self.run.collected(items)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Take the cell, findings or machine result a report carries."""
        self.run.took(report)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Print the report card and write it to ``test-results/``."""
        self.run.write(terminalreporter)


class _ChaosSummaryHooks:
    """The run's chaos table: rows come with the reports, the table ends the run."""

    def __init__(self, config: pytest.Config) -> None:
        self.summary = ChaosSummary(config)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Collect rows from call reports (pytest-xdist sends them to the controller)."""
        self.summary.add(report)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Print the table and write it to ``test-results/`` (never on an xdist worker)."""
        self.summary.write(terminalreporter)
