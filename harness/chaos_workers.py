"""Fixtures for workers a chaos test owns: behind a relay it can cut, or with a wrong clock.

The pooled ``celery_worker`` suits most faults; these are for the ones it cannot take:
a worker whose only way to Redis is a :class:`~harness.relay.TcpRelay` the test holds
(``redis_relay``), or a worker started with extra environment (a clock ahead). A test
module that wants such a worker as its ``celery_worker`` overrides that fixture with
one built from ``chaos_worker_factory``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from celery import Celery

from harness.faults import clock_ahead_entry, clock_ahead_env
from harness.real_workers import WORKER_ENTRY
from harness.relay import TcpRelay
from pipeline.procs.worker_process import WorkerProcess
from pipeline.settings import Settings

__all__ = ["chaos_worker_factory", "redis_relay", "relayed_url"]

StartWorker = Callable[..., WorkerProcess]


def relayed_url(url: str, relay: TcpRelay) -> str:
    """``url`` with its host and port replaced by the relay's (credentials, db kept)."""
    parts = urlsplit(url)
    auth = parts.netloc.rpartition("@")[0]
    netloc = f"{auth}@" if auth else ""
    return urlunsplit(parts._replace(netloc=f"{netloc}{relay.host}:{relay.port}"))


@pytest.fixture
def redis_relay(redis_backend: Any) -> Iterator[TcpRelay]:
    """Function: a :class:`~harness.relay.TcpRelay` in front of the test's redis-server.

    ``relayed_url(settings.redis_url, redis_relay)`` is the URL through it. Needs a real
    server (``@pytest.mark.jobstate_redis("server")``). Teardown closes every relayed
    connection and the listener.
    """
    server = getattr(redis_backend, "server", None)
    if server is None:
        raise pytest.UsageError(
            "redis_relay needs a real redis-server: mark the test "
            "@pytest.mark.jobstate_redis('server')"
        )
    with TcpRelay((server.host, server.port)) as relay:
        yield relay


@pytest.fixture
def chaos_worker_factory(
    jobstate_app_target: str,
    celery_app: Celery,
    pipeline_settings: Settings,
    tmp_path: Path,
    jobstate_import_path: tuple[str, ...],
) -> Iterator[StartWorker]:
    """Function: start prefork workers of the test's own:
    ``start(concurrency=1, *, redis_url=None, env=None, entry=WORKER_ENTRY,
    clock_ahead=0)``.

    Each consumes the test's queue with the test's settings, but reaches Redis at
    ``redis_url`` when given (store, broker and results: e.g. through ``redis_relay``)
    and runs with ``env`` added to its environment; ``clock_ahead`` seconds puts its
    wall clock ahead (libfaketime, :func:`harness.faults.clock_ahead_env`). ``entry`` is
    the ``python -m`` command:
    the harness's worker by default, ``pipeline.procs.worker_process.DEFAULT_ENTRY`` for
    ``jobstate worker`` exactly as a deployment runs it. Each is started, pinged, and
    killed at teardown; its log is ``worker.log_path``.
    """
    with ExitStack() as stack:

        def start(
            concurrency: int = 1,
            *,
            redis_url: str | None = None,
            env: Mapping[str, str] | None = None,
            entry: Sequence[str] = WORKER_ENTRY,
            clock_ahead: float = 0,
        ) -> WorkerProcess:
            settings = pipeline_settings
            if clock_ahead:
                env = {**(env or {}), **clock_ahead_env(clock_ahead)}
                entry = clock_ahead_entry(entry)
            if redis_url is not None:
                settings = settings.with_(redis_url=redis_url, broker_url="", result_url="")
            worker = WorkerProcess(
                jobstate_app_target,
                settings,
                concurrency=concurrency,
                log_dir=tmp_path,
                entry=entry,
                pythonpath=jobstate_import_path,
                extra_env=env,
            )
            stack.callback(worker.kill)
            return worker.start(celery_app)

        yield start
