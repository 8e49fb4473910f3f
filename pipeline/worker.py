"""Start a Celery worker or beat for an app (used by the CLI and the test harness)."""

from __future__ import annotations

from typing import Any

from celery import Celery

from pipeline.settings import Settings

__all__ = ["load_app", "run_beat", "run_worker"]


def load_app(target: str, settings: Settings | None = None) -> Celery:
    """``module:attribute`` naming a Celery app or a factory ``f(settings) -> Celery``."""
    import importlib

    module_name, _, attr = target.partition(":")
    if not attr:
        raise ValueError(f"app {target!r} must look like 'package.module:attribute'")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if isinstance(obj, Celery):
        return obj
    app = obj(settings or Settings.from_env())
    if not isinstance(app, Celery):
        raise TypeError(f"{target} returned {type(app).__name__}, not a Celery app")
    return app


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
