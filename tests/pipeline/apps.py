"""Celery app factories used by the pipeline tests (importable by worker subprocesses)."""

from __future__ import annotations

from typing import Any

from celery import Celery, current_task

from pipeline.celery_app import create_app
from pipeline.settings import Settings
from pipeline.tracking import StageRun, Tracker


def _probe(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
    """Record, from inside the stage, its Celery id and what the store says right now."""
    record = run.store.get_state(run.job_id)
    seen = ctx.setdefault("seen", {})
    seen[run.status] = {
        "celery_id": current_task.request.id,
        "stored_task_id": record["metadata"]["task_id"],
        "stored_status": record["status"],
        "pid": __import__("os").getpid(),
    }
    if run.status == "GENERATING_SUMMARY":
        ctx["result"] = {"seen": seen}
    return ctx


def register_probe_stages(tracker: Tracker) -> None:
    """Four no-op stages that report what they observed."""
    for status in tracker.workflow.stages:
        tracker.stage(status, name=f"probe.{status.lower()}")(_probe)


def create_probe_app(settings: Settings) -> Celery:
    """The tracked pipeline with probe stages instead of media work."""
    return create_app(settings, register=register_probe_stages)
