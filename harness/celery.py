"""Celery fixtures: an app bound to the test's Redis, a real worker, a runner, a recorder.

Mode comes from ``--jobstate-celery`` (env ``JOBSTATE_CELERY``, ini ``jobstate_celery``)
or ``@pytest.mark.jobstate_celery("prefork")``: ``eager`` runs stages inline (fast, an
emulation), ``thread`` runs a real worker in a thread, ``prefork`` a real worker
subprocess with a prefork pool, the setup users run in production.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import celery.contrib.testing.tasks  # noqa: F401 - registers celery.ping for the ping check
import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from celery.result import allow_join_result

from harness.faults import FaultInjector
from harness.loading import load_object
from harness.plugin import get_config, marker_value
from harness.recorder import StateRecorder
from harness.runner import JobRunner
from harness.worker_proc import WorkerProcess
from pipeline.assets import sample_path
from pipeline.sample_server import SampleServer
from pipeline.service import JobService
from pipeline.settings import Settings
from pipeline.store import JobStore

__all__ = [
    "celery_app",
    "celery_mode",
    "celery_worker",
    "celery_worker_concurrency",
    "fault_injector",
    "job_runner",
    "job_service",
    "jobstate_app_target",
    "media_server",
    "pipeline_settings",
    "prefork_worker_factory",
    "state_recorder",
]

MODES = ("eager", "thread", "prefork")


@pytest.fixture
def celery_mode(request: pytest.FixtureRequest) -> str:
    """Function: the Celery mode of this test (marker, else CLI > env > ini > ``eager``)."""
    mode = marker_value(request, "jobstate_celery") or get_config(request.config)["celery"]
    if mode not in MODES:
        raise pytest.UsageError(f"jobstate_celery mode {mode!r} is not one of {MODES}")
    return mode


@pytest.fixture
def pipeline_settings(jobstate_settings: Settings, tmp_path: Path) -> Settings:
    """Function: settings for the pipeline under test, bound to the test's Redis.

    Work files go to ``tmp_path``; local hosts are allowed for downloads; heartbeats are
    fast so a lost worker shows quickly. Override this fixture to change any of it.
    """
    return jobstate_settings.with_(
        work_dir=str(tmp_path / "work"),
        allow_hosts=("127.0.0.1", "localhost"),
        heartbeat_seconds=0.5,
        stale_after_seconds=30,
        stage_soft_time_limit=60,
        stage_time_limit=90,
        download_timeout_seconds=30.0,
    )


def _build_app(target: str, settings: Settings) -> Celery:
    obj = load_object(target, "jobstate_app")
    if isinstance(obj, Celery):
        obj.conf.update(
            broker_url=settings.broker,
            result_backend=settings.redis_url,
            task_default_queue=settings.queue,
            jobstate_settings=settings,
        )
        return obj
    app = obj(settings)
    if not isinstance(app, Celery):
        raise pytest.UsageError(f"jobstate_app {target} returned {type(app).__name__}")
    return app


@pytest.fixture
def jobstate_app_target(request: pytest.FixtureRequest) -> str:
    """Function: ``module:attribute`` of the Celery app (or factory) under test.

    Defaults to the ``jobstate_app`` option; override this fixture in a test module to
    run another app there (worker subprocesses import the same target).
    """
    return get_config(request.config)["app"]


@pytest.fixture
def celery_app(
    jobstate_app_target: str,
    celery_mode: str,
    pipeline_settings: Settings,
    state_store: JobStore,
    redis_backend: Any,
) -> Iterator[Celery]:
    """Function: the Celery app under test (ini ``jobstate_app``), bound to the test's Redis.

    In ``eager`` mode tasks run inline; in ``thread`` mode the worker shares this app and
    the test's Redis client; ``prefork`` needs a Redis other processes can reach.
    Teardown disconnects the app's signal handlers and closes its connections.
    """
    if celery_mode != "eager" and redis_backend.url is None:
        raise pytest.UsageError(
            f"--jobstate-celery={celery_mode} needs a Redis other processes can reach: "
            "use --jobstate-redis=fake-tcp, server or a redis:// URL "
            "(or mark the test @pytest.mark.jobstate_redis('server'))"
        )
    app = _build_app(jobstate_app_target, pipeline_settings)
    app.conf.jobstate_faults = True
    if celery_mode == "eager":
        app.conf.update(task_always_eager=True, task_eager_propagates=False)
    tracker = app.conf.get("jobstate_tracker")
    if tracker is not None and celery_mode != "prefork":
        tracker.store_factory = lambda: state_store
    yield app
    if tracker is not None:
        tracker.close()
    app.close()


@pytest.fixture
def celery_worker_concurrency() -> int:
    """Function: pool size of the worker (override to change it; at least 2 by default)."""
    return 2


@pytest.fixture
def prefork_worker_factory(
    jobstate_app_target: str, celery_app: Celery, pipeline_settings: Settings, tmp_path: Path
) -> Iterator[Callable[..., WorkerProcess]]:
    """Function: start extra prefork workers: ``factory(concurrency=4) -> WorkerProcess``.

    Each is pinged before use and stopped (SIGTERM, then SIGKILL) at teardown.
    """
    target = jobstate_app_target
    with ExitStack() as stack:

        def start(concurrency: int = 2) -> WorkerProcess:
            worker = WorkerProcess(
                target, pipeline_settings, concurrency=concurrency, log_dir=tmp_path
            )
            stack.callback(worker.stop)
            return worker.start(celery_app)

        yield start


@pytest.fixture
def celery_worker(
    celery_mode: str,
    celery_app: Celery,
    celery_worker_concurrency: int,
    prefork_worker_factory: Callable[..., WorkerProcess],
    request: pytest.FixtureRequest,
) -> Iterator[Any]:
    """Function: a running worker for the test's mode, pinged before use.

    Yields ``None`` in eager mode, celery's embedded ``WorkController`` in thread mode,
    a :class:`WorkerProcess` (prefork pool) in prefork mode. Stopped with a hard timeout.
    """
    if celery_mode == "eager":
        yield None
        return
    if celery_mode == "prefork":
        worker = prefork_worker_factory(celery_worker_concurrency)
        yield worker
        if request.node.stash.get(_FAILED, False):
            print(f"--- worker log ---\n{worker.log_tail()}")
        return
    with start_worker(
        celery_app,
        pool="threads",
        concurrency=celery_worker_concurrency,
        perform_ping_check=False,
        shutdown_timeout=30.0,
        loglevel="WARNING",
    ) as embedded:
        with allow_join_result():
            celery_app.tasks["celery.ping"].delay().get(timeout=20)
        yield embedded


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def job_service(
    request: pytest.FixtureRequest, celery_app: Celery, state_store: JobStore
) -> JobService:
    """Function: the service layer (submit, retry, clear, get, list) on the app under test."""
    enqueue = load_object(get_config(request.config)["enqueue"], "jobstate_enqueue")
    return JobService(state_store, lambda ctx: enqueue(celery_app, ctx))


@pytest.fixture
def state_recorder(state_store: JobStore) -> Iterator[StateRecorder]:
    """Function: records every transition of every job; its timeline joins failed reports.

    Assertions: ``assert_path(job_id, [...])``, ``assert_all_legal()``,
    ``assert_nothing_stuck()``; ``timeline()`` for a readable history.
    """
    recorder = StateRecorder(state_store).start()
    yield recorder
    recorder.stop()


@pytest.fixture
def job_runner(
    request: pytest.FixtureRequest,
    job_service: JobService,
    state_recorder: StateRecorder,
    celery_worker: Any,
) -> JobRunner:
    """Function: submits jobs through the service and waits for statuses (any mode).

    ``submit(url)``, ``wait_for(job_id, status, timeout)``, ``run(url)``; a timeout fails
    with the job's recorded history. The worker for the test's mode is already running.
    """
    timeout = float(get_config(request.config)["timeout"])
    return JobRunner(job_service, state_recorder, timeout)


@pytest.fixture
def fault_injector(
    state_store: JobStore, redis_backend: Any, celery_worker: Any
) -> Iterator[FaultInjector]:
    """Function: fail, hang or kill at a stage; stop, start or restart the test's Redis.

    Hung stages are released and faults cleared at teardown.
    """
    worker = celery_worker if isinstance(celery_worker, WorkerProcess) else None
    injector = FaultInjector(state_store, redis_backend.server, worker)
    yield injector
    try:
        if redis_backend.server is not None and not redis_backend.server.running:
            redis_backend.server.start()
        injector.release()
    except Exception as exc:
        print(f"fault_injector teardown: {exc}")


@pytest.fixture(scope="session")
def media_server() -> Iterator[SampleServer]:
    """Session: a local HTTP server serving the bundled speech sample (``.url``)."""
    with SampleServer(sample_path()) as server:
        yield server


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember failures so worker fixtures can print their logs at teardown."""
    report = yield
    if report.failed:
        item.stash[_FAILED] = True
    return report
