"""Start a Celery worker or beat for an app (used by the CLI and the test harness)."""

from __future__ import annotations

import os
import sys
from typing import Any

from celery import Celery

from pipeline.loading import load_object
from pipeline.settings import Settings

__all__ = ["load_app", "run_beat", "run_worker"]


def load_app(target: str, settings: Settings | None = None) -> Celery:
    """``module:attribute`` naming a Celery app or a factory ``f(settings) -> Celery``,
    bound to ``settings`` where it sets nothing itself (:func:`bind_app`).

    The current folder is searched first, as ``celery -A`` and ``python -m`` do, so
    ``jobstate worker --app mine:app`` finds ``mine.py`` where it is run.
    """
    from pipeline.celery_app import bind_app

    settings = settings or Settings.from_env()
    _search_current_folder()
    obj: Any = load_object(target, "app")
    app = obj if isinstance(obj, Celery) else obj(settings)
    if not isinstance(app, Celery):
        raise TypeError(f"{target} returned {type(app).__name__}, not a Celery app")
    return bind_app(app, settings)


def _search_current_folder() -> None:
    here = os.getcwd()
    if here not in sys.path and "" not in sys.path:
        sys.path.insert(0, here)


def run_worker(
    app: Celery,
    *,
    pool: str = "prefork",
    concurrency: int = 2,
    queue: str | None = None,
    hostname: str | None = None,
    loglevel: str = "INFO",
) -> None:
    """Run a worker in this process until it is told to stop."""
    argv = [
        "worker",
        f"--pool={pool}",
        f"--concurrency={concurrency}",
        f"--loglevel={loglevel}",
        "--without-gossip",
        "--without-mingle",
    ]
    if queue:
        argv.append(f"--queues={queue}")
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)


def run_beat(app: Celery, *, loglevel: str = "INFO", schedule: str | None = None) -> None:
    """Run Celery beat (schedules the stale sweep) in this process."""
    argv = ["beat", f"--loglevel={loglevel}"]
    if schedule:
        argv.append(f"--schedule={schedule}")
    app.start(argv)
