"""A bench app with the same four no-op stages, tracked and untracked."""

from __future__ import annotations

from typing import Any

import redis
from celery import Celery

from pipeline.celery_app import create_app
from pipeline.settings import Settings
from pipeline.tracking import StageRun, Tracker

PLAIN = [f"bench.plain.{i}" for i in range(4)]


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
            else:
                sec, usec = client.time()
                client.set(f"bench:done:{ctx['job_id']}", int(sec) * 1000 + int(usec) // 1000)
            return ctx

    for i in range(len(PLAIN)):
        make(i)
    return app
