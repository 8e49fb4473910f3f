"""The app the audit's redelivery test runs, importable by worker subprocesses.

``redelivering_app`` is the reference pipeline's ``create_app`` (its Celery
configuration: late acks, JSON, time limits) with one mistake the settings check flags:
the broker's ``visibility_timeout`` (:data:`VISIBILITY_SECONDS`) is far shorter than the
stages' hard time limit. kombu's unacknowledged-message scan is made to run every
:data:`RESTORE_EVERY_SECONDS` (its default is about 100 s), so the redelivery shows within
a test. Its unacked keys are its own: the scan touches no other test's messages.

Every stage writes ``<job>.<STATUS>.<delivery>.started`` and ``...ended`` marks in the
work folder (:func:`mark`); a stage waits while :func:`hold_file` of its status and
delivery exists (at most :data:`HOLD_LIMIT_SECONDS`), whatever the store says about
it, so the test decides when the first run ends.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from celery import Celery

from pipeline.celery_app import create_app
from pipeline.settings import Settings
from pipeline.tracking import StageRun, Tracker

__all__ = [
    "HOLD_LIMIT_SECONDS",
    "RESTORE_EVERY_SECONDS",
    "TARGET",
    "VISIBILITY_SECONDS",
    "hold_file",
    "mark",
    "redelivering_app",
]

TARGET = "tests.audit.apps:redelivering_app"
VISIBILITY_SECONDS = 3
RESTORE_EVERY_SECONDS = 0.5
HOLD_LIMIT_SECONDS = 60.0
_KEYS = "jobstate-audit-redelivery"


def hold_file(work_dir: str, status: str, delivery: int) -> Path:
    """While this file exists, delivery ``delivery`` of ``status`` keeps running."""
    return Path(work_dir) / f"hold.{status}.{delivery}"


def mark(work_dir: str, job_id: str, status: str, delivery: int, event: str) -> Path:
    """The file a stage run writes as it ``started`` or ``ended``."""
    return Path(work_dir) / f"{job_id}.{status}.{delivery}.{event}"


def _stage(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
    """Mark the start, wait on the hold file, mark the end, pass the context on."""
    folder = run.settings.work_dir
    Path(folder).mkdir(parents=True, exist_ok=True)
    mark(folder, run.job_id, run.status, run.delivery, "started").touch()
    hold = hold_file(folder, run.status, run.delivery)
    deadline = time.monotonic() + HOLD_LIMIT_SECONDS
    while hold.exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # the test ends the hold; the store being fenced does not
    mark(folder, run.job_id, run.status, run.delivery, "ended").touch()
    ctx["result"] = {"delivery": run.delivery}
    return ctx


def _register(tracker: Tracker) -> None:
    for status in tracker.workflow.stages:
        tracker.stage(status, name=f"audit.{status.lower()}")(_stage)


def redelivering_app(settings: Settings) -> Celery:
    """``create_app`` with the stages above and a visibility timeout shorter than a stage."""
    app = create_app(settings, register=_register)
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "visibility_timeout": VISIBILITY_SECONDS,
        "unacked_restore_interval": RESTORE_EVERY_SECONDS,
        "unacked_restore_throttle": 1,  # scan on every call, not every tenth
        "unacked_key": f"{_KEYS}:unacked",
        "unacked_index_key": f"{_KEYS}:unacked_index",
        "unacked_mutex_key": f"{_KEYS}:unacked_mutex",
    }
    return app
