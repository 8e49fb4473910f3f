"""A Celery app for the scale tests: four short stages that say which worker ran them.

Importable by worker subprocesses (``tests.scale.apps:create_scale_app``).
"""

from __future__ import annotations

import time
from typing import Any

from celery import Celery, current_task

from pipeline.celery_app import create_app
from pipeline.settings import Settings
from pipeline.tracking import StageRun, Tracker

TARGET = "tests.scale.apps:create_scale_app"
WORK_SECONDS = 0.05
"""How long each stage works: long enough that a killed worker has stages in flight."""


def _work(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
    """Do a little work and note the worker node that ran this stage."""
    time.sleep(WORK_SECONDS)  # the stage's own work, not a wait on anything
    ran = ctx.setdefault("ran_on", {})
    ran[run.status] = str(current_task.request.hostname)
    if run.status == run.store.workflow.stages[-1]:
        ctx["result"] = {"ran_on": ran}
    return ctx


def register_scale_stages(tracker: Tracker) -> None:
    """Register :func:`_work` for every stage of the tracker's workflow."""
    for status in tracker.workflow.stages:
        tracker.stage(status, name=f"scale.{status.lower()}")(_work)


def create_scale_app(settings: Settings) -> Celery:
    """The tracked pipeline with short recorded stages instead of media work."""
    return create_app(settings, register=register_scale_stages)
