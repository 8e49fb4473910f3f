"""Build the store, app and service from settings (one place for CLI, UI and demo)."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from celery import Celery

from pipeline.celery_app import create_app, enqueue
from pipeline.connection import redis_client
from pipeline.service import JobService
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.workflow import PRD_WORKFLOW, Workflow

__all__ = ["Runtime", "build_runtime"]


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
