"""Build the store, app and service from settings (one place for CLI, UI and demo)."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from celery import Celery

from pipeline.celery_app import create_app, enqueue
from pipeline.connection import redis_client
from pipeline.service import JobService
from pipeline.settings import Settings, SettingsError
from pipeline.store import JobStore
from pipeline.workflow import PRD_WORKFLOW, Workflow

__all__ = ["Runtime", "app_at", "build_runtime", "runtime_for"]


@dataclass
class Runtime:
    """The pieces a front end needs."""

    settings: Settings
    client: redis.Redis
    store: JobStore
    app: Celery
    service: JobService

    def close(self) -> None:
        """Close connections."""
        self.app.close()
        self.client.close()


def build_runtime(
    settings: Settings | None = None, workflow: Workflow = PRD_WORKFLOW, app: Celery | None = None
) -> Runtime:
    """Connect to Redis (short timeouts so an outage is reported, not waited out)."""
    settings = settings or Settings.from_env()
    client = redis_client(
        settings, socket_timeout=2.0, socket_connect_timeout=2.0, health_check_interval=30
    )
    store = JobStore(client, workflow, settings)
    celery = app or create_app(settings, workflow)
    service = JobService(store, lambda ctx: enqueue(celery, ctx))
    return Runtime(settings, client, store, celery, service)


def runtime_for(
    app_target: str | None, settings: Settings | None = None, *, named: str | None = None
) -> Runtime:
    """The runtime of the media pipeline, or of the Celery app at ``app_target``
    (``module:attribute``, an app or a factory ``f(settings)``, tracked by jobstate).

    Raises :class:`ValueError` naming the target when it cannot be loaded, as ``named``
    (default ``--app <target>``; ``JOBSTATE_APP=<target>`` when it came from there).
    """
    settings = settings or Settings.from_env()
    if app_target is None:
        return build_runtime(settings)
    from pipeline.tracking import Tracker

    named = named or f"--app {app_target}"
    app = app_at(app_target, settings, named=named)
    try:
        workflow = Tracker.of(app).workflow
    except LookupError as exc:
        raise ValueError(f"{named}: {exc}") from exc
    return build_runtime(settings, workflow, app)


def app_at(app_target: str, settings: Settings, *, named: str | None = None) -> Celery:
    """The Celery app at ``app_target`` (an app or a factory ``f(settings)``), bound to
    ``settings``: what cannot be loaded is a ``ValueError`` reading ``<named>: why``
    (``named`` defaults to ``--app <target>``), the one form every command reports; a
    ``JOBSTATE_*`` value the app cannot use stays the ``SettingsError`` naming it."""
    from pipeline.worker import load_app

    try:
        return load_app(app_target, settings)
    except SettingsError:
        raise
    except (ImportError, AttributeError, TypeError, ValueError) as exc:
        raise ValueError(f"{named or f'--app {app_target}'}: {exc}") from exc
