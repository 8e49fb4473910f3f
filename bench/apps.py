"""A bench app with the same four no-op stages, tracked and untracked, and a floor.

The floor is the untracked chain plus one bare Redis round trip (a PING) wherever the
tracker makes one: at submit (the create), at each stage's entry and after the last stage
(the final write). It is what the tracked chain would cost if its writes cost only the
round trips its guarantees need, so the bench can split the tracked chain's overhead into
the round trips and everything else.

Every chain announces completion the same way: ``task_success`` of its last task pushes
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
FLOOR = [f"bench.floor.{i}" for i in range(4)]
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
    """Tracked no-op stages, an untracked chain of four plain no-op tasks, and the floor
    chain (the plain one plus a PING where the tracker makes a round trip)."""
    app = create_app(settings, register=_register)
    client = redis.Redis.from_url(settings.redis_url)

    def make(i: int) -> None:
        @app.task(name=PLAIN[i], ignore_result=True, shared=False)
        def plain(ctx: dict[str, Any]) -> dict[str, Any]:
            if i + 1 < len(PLAIN):
                app.tasks[PLAIN[i + 1]].apply_async(args=[ctx])
            return ctx

    def make_floor(i: int) -> None:
        @app.task(name=FLOOR[i], ignore_result=True, shared=False)
        def floor(ctx: dict[str, Any]) -> dict[str, Any]:
            client.ping()  # the stage's entry write
            if i + 1 < len(FLOOR):
                app.tasks[FLOOR[i + 1]].apply_async(args=(ctx,))
            else:
                client.ping()  # the final write
            return ctx

    for i in range(len(PLAIN)):
        make(i)
        make_floor(i)

    def finished(sender: Any = None, result: Any = None, **_: Any) -> None:
        if getattr(sender, "name", None) in {PLAIN[-1], FLOOR[-1], TRACKED_LAST}:
            client.rpush(DONE_LIST, result["job_id"])

    signals.task_success.connect(finished, weak=False)
    return app
