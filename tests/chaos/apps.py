"""The app the chaos scenarios run, importable by worker subprocesses.

``chaos_app`` is the reference pipeline's ``create_app`` (its workflow and its Celery
configuration: JSON only, late acks, time limits, the sweep task) with small stages
whose behaviour comes from the job URL's path:

- ``/ok``: each stage returns at once;
- ``/work/<ms>``: each stage works for ``<ms>`` milliseconds (it stops early when the
  job moves on without it, as a real stage's heartbeat tells it to);
- ``/hold/<name>``: each stage waits while the file ``<name>.<STATUS>.hold`` exists in
  the work folder (:func:`hold_file`), for at most a minute: a hold the test controls
  without Redis, so it can end a stage while Redis is down.

Every stage adds an entry to the trail that becomes the job's result: the main pid of
the worker that ran it, its Celery task id and that worker's own wall clock.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from celery import Celery

from pipeline.celery_app import create_app
from pipeline.settings import Settings
from pipeline.tracking import StageRun, Tracker

__all__ = [
    "CANCELLING_TARGET",
    "HOLD_LIMIT_SECONDS",
    "TARGET",
    "URL",
    "cancelling_chaos_app",
    "chaos_app",
    "hold_file",
    "hold_url",
    "work_url",
]

TARGET = "tests.chaos.apps:chaos_app"
CANCELLING_TARGET = "tests.chaos.apps:cancelling_chaos_app"
URL = "http://127.0.0.1:9/ok"
HOLD_LIMIT_SECONDS = 60.0


def hold_url(name: str) -> str:
    """A job URL whose stages wait on ``name``'s hold files."""
    return f"http://127.0.0.1:9/hold/{name}"


def hold_file(work_dir: str, name: str, status: str) -> Path:
    """The file that holds ``status`` of the job ``hold_url(name)`` while it exists."""
    return Path(work_dir) / f"{name}.{status}.hold"


def work_url(ms: int) -> str:
    """A job URL whose stages each work for ``ms`` milliseconds."""
    return f"http://127.0.0.1:9/work/{ms}"


def _stage(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
    """Work as the job URL asks, then add this stage to the trail."""
    parts = urlsplit(str(ctx.get("url", ""))).path.strip("/").split("/")
    if parts[0] == "work" and len(parts) == 2 and parts[1].isdigit():
        run.stop.wait(int(parts[1]) / 1000)  # the stage's work, cut short if fenced out
    if parts[0] == "hold" and len(parts) == 2:
        hold = hold_file(run.settings.work_dir, parts[1], run.status)
        deadline = time.monotonic() + HOLD_LIMIT_SECONDS
        while hold.exists() and time.monotonic() < deadline and not run.stop.wait(0.05):
            pass
    trail = ctx.setdefault("trail", {})
    trail[run.status] = {"worker": os.getppid(), "task": run.task_id, "clock": time.time()}
    ctx["result"] = {"url": ctx.get("url"), "trail": trail}
    return ctx


def _register(tracker: Tracker) -> None:
    for status in tracker.workflow.stages:
        tracker.stage(status, name=f"chaos.{status.lower()}")(_stage)


def chaos_app(settings: Settings) -> Celery:
    """``create_app`` with the stages above."""
    return create_app(settings, register=_register)


def cancelling_chaos_app(settings: Settings) -> Celery:
    """:func:`chaos_app` with Celery 6's default for a lost broker connection: the worker
    cancels the late-acknowledged stages it is running
    (``worker_cancel_long_running_tasks_on_connection_loss``)."""
    app = chaos_app(settings)
    app.conf.worker_cancel_long_running_tasks_on_connection_loss = True
    return app
