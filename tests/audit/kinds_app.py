"""An app whose three stages meet a fault raised inside their work in three ways.

``CALLS`` lets an error from what it calls reach the tracker; ``SWALLOWS`` catches every
exception and returns; ``QUIET`` calls nothing at all (the fault fires as it returns).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery

from pipeline.celery_app import celery_config
from pipeline.job_input import JobInput
from pipeline.settings import Settings
from pipeline.tracking import StageRun, Tracker
from pipeline.workflow import Workflow

__all__ = ["KINDS", "TARGET", "kinds_app"]

TARGET = "tests.audit.kinds_app:kinds_app"
log = logging.getLogger(__name__)

KINDS = Workflow(
    name="kinds",
    statuses={
        "NEW": "Queued",
        "CALLS": "Calling",
        "SWALLOWS": "Swallowing",
        "QUIET": "Quiet",
        "DONE": "Done",
        "FAILED": "Failed",
    },
    initial="NEW",
    terminal=frozenset({"DONE", "FAILED"}),
    error="FAILED",
    transitions={
        "NEW": frozenset({"CALLS"}),
        "CALLS": frozenset({"SWALLOWS"}),
        "SWALLOWS": frozenset({"QUIET"}),
        "QUIET": frozenset({"DONE"}),
    },
    stages=("CALLS", "SWALLOWS", "QUIET"),
    input=JobInput(required={"n": int}),
)


def _double(n: int) -> int:
    return 2 * n


def _calls(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
    ctx["n"] = _double(ctx["input"]["n"])
    return ctx


def _swallows(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
    try:
        ctx["n"] = _double(ctx["n"])
    except Exception:
        log.exception("doubling failed")  # the mistake the audit exists to catch
    return ctx


def _quiet(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
    ctx["result"] = {"n": ctx["n"]}
    return ctx


def kinds_app(settings: Settings) -> Celery:
    """A new app on ``settings`` with the three stages above."""
    app = Celery("kinds")
    app.conf.update(celery_config(settings))
    tracker = Tracker(app, KINDS)
    tracker.stage("CALLS", name="kinds.calls")(_calls)
    tracker.stage("SWALLOWS", name="kinds.swallows")(_swallows)
    tracker.stage("QUIET", name="kinds.quiet")(_quiet)
    return app
