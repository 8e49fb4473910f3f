"""A bench app with the same four no-op stages, tracked and untracked.

Both chains announce completion the same way: ``task_success`` of their last task pushes
the job id to one list, which the bench waits on with BLPOP (no polling).
"""

from __future__ import annotations

from typing import Any

import redis
from celery import Celery, signals

from pipeline.celery_app import create_app
from pipeline.settings import Settings
from pipeline.tracking import StageRun, Tracker
from pipeline.workflow import PRD_WORKFLOW

PLAIN = [f"bench.plain.{i}" for i in range(4)]
TRACKED_STAGES = list(PRD_WORKFLOW.stages)
"""The tracked chain's stages, in order (each task is ``bench.tracked.<stage>``)."""
TRACKED_LAST = f"bench.tracked.{TRACKED_STAGES[-1].lower()}"
DONE_LIST = "bench:done"


def _noop(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
    if run.status == "GENERATING_SUMMARY":
        ctx["result"] = {"ok": True}
    return ctx


def _register(tracker: Tracker) -> None:
    for status in tracker.workflow.stages:
        tracker.stage(status, name=f"bench.tracked.{status.lower()}")(_noop)


def create_bench_app(settings: Settings) -> Celery:
    """Tracked no-op stages plus an untracked chain of four plain no-op tasks."""
    app = create_app(settings, register=_register)
    client = redis.Redis.from_url(settings.redis_url)

    def make(i: int) -> None:
        @app.task(name=PLAIN[i], ignore_result=True, shared=False)
        def plain(ctx: dict[str, Any]) -> dict[str, Any]:
            if i + 1 < len(PLAIN):
                app.tasks[PLAIN[i + 1]].apply_async(args=[ctx])
            return ctx

    for i in range(len(PLAIN)):
        make(i)

    def finished(sender: Any = None, result: Any = None, **_: Any) -> None:
        if getattr(sender, "name", None) in {PLAIN[-1], TRACKED_LAST}:
            client.rpush(DONE_LIST, result["job_id"])

    signals.task_success.connect(finished, weak=False)
    return app
