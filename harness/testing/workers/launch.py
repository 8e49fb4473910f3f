"""Start the real workers the pool lends to tests: a thread or a prefork subprocess.

Each consumes only a queue of its own until a lease adds a test's queue, and serves the
scope each task carries (:mod:`harness.testing.workers.scoping`). No pytest here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from celery import Celery

from harness.testing.chaos.injector import clock_ahead_entry, clock_ahead_env
from harness.testing.workers import scoping as scope
from harness.testing.workers.app_binding import (
    AppBinding,
    build_app,
    load_target,
    settings_conf,
    worker_conf,
)
from harness.testing.workers.thread_worker import ThreadWorker
from pipeline.procs.worker_process import WorkerProcess
from pipeline.settings import Settings
from pipeline.tracking import Tracker

__all__ = ["WORKER_ENTRY", "home_queue", "start_process_worker", "start_thread_worker"]

WORKER_ENTRY = ("harness.testing.workers.worker_main",)
"""``python -m`` entry of the harness's worker subprocess."""


def home_queue() -> str:
    """A queue no test sends to: what a pooled worker consumes between tests."""
    return f"jobstate-worker-{uuid.uuid4().hex[:12]}-home"


def start_thread_worker(target: str, settings: Settings, concurrency: int) -> ThreadWorker:
    """A thread worker for ``target``'s app (a factory's own, or the instance itself).

    An instance keeps the broker and queue the running test bound it to; a factory's
    app is bound to ``settings``. Closing the worker undoes what this changed.
    """
    app, owned = build_app(target, load_target(target), settings)
    options = worker_conf(app, settings)
    if not owned:  # the test's own binding of the instance sets the rest
        options = {k: v for k, v in options.items() if k not in settings_conf(settings)}
    binding = AppBinding(app, options)
    unserve = scope.serve_scopes(app, settings)
    worker = ThreadWorker(app, concurrency=concurrency, queue=home_queue())
    worker.cleanups += [binding.restore, unserve]
    if owned:
        worker.cleanups += [Tracker.of(app).close, app.close]
    try:
        return worker.start()
    except BaseException:
        worker.close()
        raise


def start_process_worker(
    target: str,
    settings: Settings,
    concurrency: int,
    *,
    control: Celery,
    log_dir: Path,
    pythonpath: Sequence[str],
    entry: Sequence[str] = WORKER_ENTRY,
    extra_env: Mapping[str, str] | None = None,
    redis_url: str | None = None,
    clock_ahead: float = 0,
) -> WorkerProcess:
    """The one way the harness starts a prefork worker subprocess; started and pinged
    through ``control``. The caller ends it (:meth:`WorkerProcess.kill` for a quick end).

    ``entry`` is the ``python -m`` command (the harness's worker by default,
    ``pipeline.procs.worker_process.DEFAULT_ENTRY`` for ``jobstate worker``);
    ``redis_url`` sends store, broker and results elsewhere (e.g. through a relay);
    ``clock_ahead`` seconds puts the worker's wall clock ahead (libfaketime).
    """
    env = dict(extra_env or {})
    if clock_ahead:
        env.update(clock_ahead_env(clock_ahead))
        entry = clock_ahead_entry(entry)
    if redis_url is not None:
        settings = settings.with_(redis_url=redis_url, broker_url="", result_url="")
    worker = WorkerProcess(
        target,
        settings,
        concurrency=concurrency,
        log_dir=log_dir,
        entry=entry,
        pythonpath=pythonpath,
        extra_env=env,
    )
    return worker.start(control)
