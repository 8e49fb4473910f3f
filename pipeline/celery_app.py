"""The Celery app of the reference pipeline, configured for honest state.

``celery -A pipeline.celery_app worker`` (or ``jobstate worker``) runs it; the app reads
:class:`Settings` from ``JOBSTATE_*`` variables. :func:`create_app` builds a fresh one
for given settings (the test harness uses it to bind an app to a test's Redis).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Celery

from pipeline.cleanup import sweep_all
from pipeline.connection import check_celery_urls
from pipeline.consumer import CONSUMER
from pipeline.settings import Settings
from pipeline.tracking import Tracker
from pipeline.workflow import PRD_WORKFLOW, Workflow

__all__ = ["app", "celery_config", "create_app", "enqueue", "tracker_of"]

SWEEP_TASK = "jobstate.sweep"
SWEEP_EVERY_SECONDS = 30.0


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings: JSON only, late acks, one message at a time, bounded stages."""
    check_celery_urls(settings)
    visibility = max(3600, settings.stage_time_limit * 2)
    return {
        "broker_url": settings.broker,
        "result_backend": settings.results,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "event_serializer": "json",
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "broker_transport_options": {"visibility_timeout": visibility},
        "result_backend_transport_options": {"visibility_timeout": visibility},
        "task_soft_time_limit": settings.stage_soft_time_limit,
        "task_time_limit": settings.stage_time_limit,
        "task_default_queue": settings.queue,
        "result_expires": 3600,
        "worker_hijack_root_logger": False,
        "broker_connection_retry_on_startup": True,
        # Survives a broker restart while late-acknowledged stages run (pipeline.consumer).
        "worker_consumer": CONSUMER,
        "beat_schedule": {
            "jobstate-sweep": {
                "task": SWEEP_TASK,
                "schedule": SWEEP_EVERY_SECONDS,
                "options": {"expires": SWEEP_EVERY_SECONDS},
            },
        },
        "jobstate_settings": settings,
    }


def create_app(
    settings: Settings | None = None,
    workflow: Workflow = PRD_WORKFLOW,
    register: Callable[[Tracker], None] | None = None,
) -> Celery:
    """A new app with tracked stages (default: the media pipeline) and the sweep task."""
    settings = settings or Settings.from_env()
    celery = Celery("jobstate", set_as_current=False)
    celery.conf.update(celery_config(settings))
    tracker = Tracker(celery, workflow)
    celery.conf.jobstate_tracker = tracker
    if register is None:
        from pipeline.media import register_media_stages

        register = register_media_stages
    register(tracker)

    @celery.task(name=SWEEP_TASK, ignore_result=True, shared=False)
    def sweep() -> dict[str, list[str]]:
        """Mark silent running jobs as errors (scheduled by beat)."""
        report = sweep_all(tracker.store())
        return {"stale": report.stale}

    return celery


def tracker_of(celery: Celery) -> Tracker:
    """The :class:`Tracker` made on ``celery`` (same as :meth:`Tracker.of`)."""
    return Tracker.of(celery)


def enqueue(celery: Celery, ctx: dict[str, Any]) -> None:
    """Send a job's first stage on ``celery`` (the service layer's enqueue)."""
    tracker_of(celery).enqueue(ctx)


app = create_app()
