"""The app the chaos scenarios run, importable by worker subprocesses.

``chaos_app`` is the reference pipeline's ``create_app`` (its workflow and its Celery
configuration: JSON only, late acks, time limits, the sweep task) with small stages
whose behaviour comes from the job URL's path:

- ``/ok``: each stage returns at once;
- ``/work/<ms>``: each stage works for ``<ms>`` milliseconds (it stops early when the
  job moves on without it, as a real stage's heartbeat tells it to).

Every stage adds an entry to the trail that becomes the job's result: the main pid of
the worker that ran it, its Celery task id and that worker's own wall clock.
"""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import urlsplit

from celery import Celery

from pipeline.celery_app import create_app
from pipeline.settings import Settings
from pipeline.tracking import StageRun, Tracker

__all__ = ["TARGET", "URL", "chaos_app", "work_url"]

TARGET = "tests.chaos.apps:chaos_app"
URL = "http://127.0.0.1:9/ok"


def work_url(ms: int) -> str:
    """A job URL whose stages each work for ``ms`` milliseconds."""
    return f"http://127.0.0.1:9/work/{ms}"


def _stage(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
    """Work as the job URL asks, then add this stage to the trail."""
    parts = urlsplit(str(ctx.get("url", ""))).path.strip("/").split("/")
    if parts[0] == "work" and len(parts) == 2 and parts[1].isdigit():
        run.stop.wait(int(parts[1]) / 1000)  # the stage's work, cut short if fenced out
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
