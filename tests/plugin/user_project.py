"""A small project of another team, written into a pytester folder as its authors would.

Its app is a plain Celery *instance* with a tracker, as the README shows, configured for
its own (unreachable) broker: the plugin must bind it to each test's Redis and put it back.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import _state as celery_state

from tests.project_modules import SharedModulesKept

APP = """
import os

from celery import Celery

from pipeline import Workflow
from pipeline.tracking import Tracker

app = Celery("mine", broker="redis://127.0.0.1:9/0")
app.conf.task_default_queue = "mine-production"
flow = Workflow.linear(
    "mine",
    initial=("NEW", "Queued"),
    stages={"WORK": "Working"},
    done=("DONE", "Done"),
    error=("FAILED", "Failed"),
)
tracker = Tracker(app, flow)


@tracker.stage("WORK")
def work(ctx, run):
    run.progress({"percent": 50})
    ctx["result"] = {
        "answer": 42,
        "prefix": run.settings.key_prefix,
        "root": str(run.root),
        "pid": os.getpid(),
    }
    return ctx


@app.task(name="mine.add")
def add(a, b):
    return a + b
"""

REVERSED_ORDER = """
def pytest_collection_modifyitems(items):
    items.reverse()
"""
"""A ``conftest.py`` that runs the project's tests last to first: a verdict must not hang
on the order the tests are written in."""

PRODUCTION_BROKER = "redis://127.0.0.1:9/0"
PRODUCTION_QUEUE = "mine-production"


def clear_jobstate_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``JOBSTATE_*`` setting of the outer run leaks into the inner one."""
    for name in list(os.environ):
        if name.startswith("JOBSTATE_"):
            monkeypatch.delenv(name)


def write_module(root: Path, dotted: str, source: str) -> Path:
    """Write ``source`` as module ``dotted`` under ``root`` (packages made as needed)."""
    *packages, name = dotted.split(".")
    folder = root
    for package in packages:
        folder = folder / package
        folder.mkdir(exist_ok=True)
        (folder / "__init__.py").touch()
    path = folder / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    return path


def write_project(pytester: pytest.Pytester, ini: str = "") -> None:
    """The app as ``mine`` and a ``pytest.ini`` naming it (plus ``ini`` lines)."""
    write_module(pytester.path, "mine", APP)
    pytester.makeini(f"[pytest]\njobstate_app = mine:app\n{ini}")


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """pytest in a subprocess, quiet, without the cache and benchmark plugins.

    A fresh process sees what a user's run sees: import-time warnings, entry-point
    loading, one real worker or browser per process. Use it for those.
    """
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:benchmark", *args)


IN_PROCESS = ("-p", "no:cacheprovider", "-p", "no:benchmark", "-p", "no:playwright")
"""An in-process run leaves out pytest-playwright: its soft-assertion scope is one per
process, and the outer test already holds it. Runs that need a browser use :func:`run`."""


def run_here(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """pytest in this process: for eager runs on fake Redis (no real worker, no browser).

    Pytester restores ``sys.modules`` after the run, so the user's project is imported
    afresh each time; a run costs milliseconds instead of a new interpreter's imports.
    Every other module the run imported first is kept
    (:class:`tests.project_modules.SharedModulesKept`).
    """
    kept = SharedModulesKept(pytester.path)
    with celery_state_kept():
        try:
            return pytester.runpytest_inprocess(*IN_PROCESS, *args, plugins=[kept])
        finally:
            kept.put_back()


@contextlib.contextmanager
def celery_state_kept() -> Iterator[None]:
    """Put Celery's process-wide state back as it was: the user's ``@app.task`` tasks are
    shared (registered on every app made later in the process), and the last app made is
    the current and default one; none of it may reach the outer suite's apps."""
    finalizers = set(celery_state._on_app_finalizers)
    default, current = celery_state.default_app, celery_state._tls.current_app
    try:
        yield
    finally:
        celery_state._on_app_finalizers.clear()
        celery_state._on_app_finalizers.update(finalizers)
        celery_state.set_default_app(default)
        celery_state._set_current_app(current)
