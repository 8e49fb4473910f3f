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
from pipeline.consumer import CELERY_CONSUMER, CONSUMER
from pipeline.deprecation import deprecated_alias
from pipeline.settings import Settings
from pipeline.tracking import Tracker
from pipeline.workflow import PRD_WORKFLOW, Workflow

__all__ = ["add_sweep", "app", "bind_app", "celery_config", "create_app", "enqueue"]

SWEEP_TASK = "jobstate.sweep"
SWEEP_EVERY_SECONDS = 30.0
_SWEEP_ENTRY: dict[str, Any] = {
    "task": SWEEP_TASK,
    "schedule": SWEEP_EVERY_SECONDS,
    "options": {"expires": SWEEP_EVERY_SECONDS},
}


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
        "beat_schedule": {"jobstate-sweep": _SWEEP_ENTRY},
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
    if register is None:
        from pipeline.media import register_media_stages

        register = register_media_stages
    register(tracker)
    add_sweep(celery, tracker)
    return celery


def add_sweep(celery: Celery, tracker: Tracker) -> None:
    """Register the stale sweep on ``celery`` and schedule it for beat every 30 s
    (each once: an app that has them keeps its own)."""
    if not celery.conf.get("jobstate_sweep"):
        celery.conf.jobstate_sweep = True  # a flag: asking celery.tasks would finalize the app

        @celery.task(name=SWEEP_TASK, ignore_result=True, shared=False)
        def sweep() -> dict[str, list[str]]:
            """Mark silent running jobs as errors (scheduled by beat)."""
            report = sweep_all(tracker.store())
            return {"stale": report.stale}

    schedule = dict(celery.conf.beat_schedule or {})
    if not any(entry.get("task") == SWEEP_TASK for entry in schedule.values()):
        schedule["jobstate-sweep"] = dict(_SWEEP_ENTRY)
        celery.conf.beat_schedule = schedule


def bind_app(celery: Celery, settings: Settings) -> Celery:
    """Make any tracked app runnable by the ``jobstate`` commands from ``JOBSTATE_*`` alone.

    What the app leaves unset comes from ``settings``: the broker and result backend (an
    app such as the README's ``Celery("mine")`` has none; Celery would try AMQP on
    localhost), the settings its tracker reads. The app's own values win, and its queue is
    its own (``task_default_queue``): ``jobstate worker`` reads it, as Celery's worker
    does. A tracked app that keeps Celery's default consumer gets
    :class:`pipeline.consumer.Consumer` (its workers ride through a Redis restart while a
    stage runs). The stale sweep is added for ``jobstate beat``. Returns ``celery``.
    """
    conf = celery.conf
    missing: dict[str, Any] = {}
    if not conf.broker_url:
        check_celery_urls(settings)
        missing["broker_url"] = settings.broker
    if not conf.result_backend:
        missing["result_backend"] = settings.results
    if not isinstance(conf.get("jobstate_settings"), Settings):
        missing["jobstate_settings"] = settings
    conf.update(missing)
    try:
        tracker = Tracker.of(celery)
    except LookupError:  # a plain Celery app: served as it is
        return celery
    if conf.worker_consumer in (None, CELERY_CONSUMER):
        conf.worker_consumer = CONSUMER
    add_sweep(celery, tracker)
    return celery


def enqueue(celery: Celery, ctx: dict[str, Any]) -> None:
    """Send a job's first stage on ``celery`` (the service layer's enqueue)."""
    Tracker.of(celery).enqueue(ctx)


tracker_of = deprecated_alias(Tracker.of, "pipeline.celery_app.tracker_of", "Tracker.of(app)")

app = create_app()
