"""Celery fixtures: an app bound to the test's Redis, a real worker, a runner, a recorder.

Mode comes from ``--jobstate-celery`` (env ``JOBSTATE_CELERY``, ini ``jobstate_celery``)
or ``@pytest.mark.jobstate_celery("prefork")``: ``eager`` runs stages inline (fast, an
emulation), ``thread`` runs a real worker in a thread, ``prefork`` a real worker
subprocess with a prefork pool, the setup users run in production.

The app is ``jobstate_app``: a Celery instance (bound to the test's Redis for the test,
and put back as it was afterwards) or a factory ``f(settings)``. Real workers are kept
for the session and lent to one test at a time (:mod:`harness.worker_pool`): each test
still has its own key prefix, queue, stage folder, faults and recorder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from harness import scope
from harness.app_binding import (
    AppBinding,
    AppTargetError,
    build_app,
    load_target,
    settings_conf,
    target_tracker,
)
from harness.faults import FaultInjector
from harness.import_path import session_import_path
from harness.modes import CeleryMode
from harness.plugin import get_config, marker_value
from harness.real_workers import WORKER_ENTRY, start_process_worker, start_thread_worker
from harness.recorder import StateRecorder
from harness.runner import JobRunner
from harness.worker_pool import PoolWorker, WorkerPool
from harness.workflow_option import check_workflow
from pipeline.assets import sample_path
from pipeline.faults import fault_hook
from pipeline.loading import load_object
from pipeline.procs.worker_process import WorkerProcess
from pipeline.sample_server import SampleServer
from pipeline.service import JobService
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.tracking import add_stage_hook, remove_stage_hook
from pipeline.workflow import Workflow

__all__ = [
    "celery_app",
    "celery_mode",
    "celery_worker",
    "celery_worker_concurrency",
    "fault_injector",
    "job_runner",
    "job_service",
    "jobstate_app_target",
    "jobstate_import_path",
    "jobstate_workers",
    "media_server",
    "pipeline_settings",
    "prefork_worker_factory",
    "state_recorder",
]

MODES = tuple(CeleryMode)
KEEP_WORKERS = 2


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

    Work files go to ``tmp_path``; downloads may reach every port of the local host
    (``127.0.0.1:*``, ``localhost:*``) so local media servers work; heartbeats are fast so a
    lost worker shows quickly. Override this fixture to change any of it.
    """
    return jobstate_settings.with_(
        work_dir=str(tmp_path / "work"),
        allow_hosts=("127.0.0.1:*", "localhost:*"),
        heartbeat_seconds=0.5,
        stale_after_seconds=30,
        stage_soft_time_limit=60,
        stage_time_limit=90,
        download_timeout_seconds=30.0,
    )


@pytest.fixture
def jobstate_app_target(request: pytest.FixtureRequest) -> str:
    """Function: ``module:attribute`` of the Celery app (or factory) under test.

    Defaults to the ``jobstate_app`` option; override this fixture in a test module to
    run another app there (worker subprocesses import the same target).
    """
    return get_config(request.config)["app"]


@pytest.fixture(scope="session")
def jobstate_import_path(pytestconfig: pytest.Config) -> tuple[str, ...]:
    """Session: folders put first on a worker subprocess's ``PYTHONPATH``.

    The rootdir, the ``pythonpath`` ini entries and the project folders on this session's
    ``sys.path``, so a worker imports the app as the tests do. Nothing to tear down.
    """
    return session_import_path(pytestconfig)


@pytest.fixture(scope="session")
def jobstate_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerPool]:
    """Session: the real workers kept between tests (:class:`~harness.worker_pool.WorkerPool`).

    ``celery_worker`` borrows from it; at most two idle workers are kept (least recently
    used ends first). Prefork workers log to a session temp folder (``pool.log_dir``).
    Teardown ends every worker.
    """
    pool = WorkerPool(keep=KEEP_WORKERS, log_dir=tmp_path_factory.mktemp("jobstate-workers"))
    yield pool
    pool.close()


def _load_app(target: str, settings: Settings) -> tuple[Celery, bool]:
    try:
        return build_app(target, load_target(target), settings)
    except (AppTargetError, ValueError) as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.fixture
def celery_app(
    request: pytest.FixtureRequest,
    jobstate_app_target: str,
    celery_mode: str,
    pipeline_settings: Settings,
    jobstate_workflow: Workflow,
    state_store: JobStore,
    redis_backend: Any,
) -> Iterator[Celery]:
    """Function: the Celery app under test (``jobstate_app``), bound to the test's Redis.

    A factory's app is new; an instance is bound for the test (broker, result backend,
    queue, settings) and every setting is put back at teardown. In ``eager`` mode tasks
    run inline; ``thread`` and ``prefork`` need a Redis other processes can reach. The
    app's tracker must track ``jobstate_workflow`` (a usage error names both if not).
    Teardown closes what the test opened (a factory's app and its signal handlers).
    """
    if celery_mode != CeleryMode.EAGER and redis_backend.url is None:
        raise pytest.UsageError(
            f"--jobstate-celery={celery_mode} needs a Redis other processes can reach: "
            "use --jobstate-redis=fake-tcp, server or a redis:// URL "
            "(or mark the test @pytest.mark.jobstate_redis('server'))"
        )
    app, owned = _load_app(jobstate_app_target, pipeline_settings)
    with ExitStack() as stack:
        if owned:
            stack.callback(app.close)
        try:
            tracker = target_tracker(jobstate_app_target, app)
        except AppTargetError as exc:
            raise pytest.UsageError(str(exc)) from None
        if owned:
            stack.callback(tracker.close)
        check_workflow(request.config, jobstate_workflow, tracker.workflow, jobstate_app_target)
        eager = celery_mode == CeleryMode.EAGER
        changes = {**settings_conf(pipeline_settings), "task_always_eager": eager}
        if eager:
            changes["task_eager_propagates"] = False
        stack.callback(AppBinding(app, changes).restore)
        stack.callback(scope.serve_scopes(app, pipeline_settings))
        scope.activate(pipeline_settings, state_store)
        stack.callback(scope.deactivate)
        add_stage_hook(fault_hook)  # in-process stages (eager, thread) honour fault plans
        stack.callback(remove_stage_hook, fault_hook)
        yield app


@pytest.fixture
def celery_worker_concurrency() -> int:
    """Function: pool size of the worker (override to change it; at least 2 by default)."""
    return 2


@pytest.fixture
def prefork_worker_factory(
    jobstate_app_target: str,
    celery_app: Celery,
    pipeline_settings: Settings,
    tmp_path: Path,
    jobstate_import_path: tuple[str, ...],
) -> Iterator[Callable[..., WorkerProcess]]:
    """Function: start extra prefork workers: ``factory(concurrency=4) -> WorkerProcess``.

    Each consumes the test's queue, is pinged before use and killed at teardown.
    """
    target = jobstate_app_target
    with ExitStack() as stack:

        def start(concurrency: int = 2) -> WorkerProcess:
            worker = WorkerProcess(
                target,
                pipeline_settings,
                concurrency=concurrency,
                log_dir=tmp_path,
                entry=WORKER_ENTRY,
                pythonpath=jobstate_import_path,
            )
            stack.callback(worker.kill)
            return worker.start(celery_app)

        yield start


@pytest.fixture
def celery_worker(
    request: pytest.FixtureRequest,
    celery_mode: str,
    celery_app: Celery,
    celery_worker_concurrency: int,
    pipeline_settings: Settings,
    jobstate_app_target: str,
    jobstate_workers: WorkerPool,
    jobstate_import_path: tuple[str, ...],
) -> Iterator[Any]:
    """Function: a running worker for the test's mode, consuming the test's own queue.

    Yields ``None`` in eager mode, a :class:`~harness.thread_worker.ThreadWorker` in
    thread mode, a :class:`WorkerProcess` (prefork pool) in prefork mode. Workers are
    borrowed from ``jobstate_workers`` and given back at teardown (the test's queue is
    taken away); one that died, or that a failed test left in doubt, is killed instead.
    A Redis restart or outage during the test is no reason: the workers' consumer
    (:class:`pipeline.consumer.Consumer`) reconnects with running stages kept, and a kept
    worker answers the next lease before it is lent again. A failed test's report shows
    the prefork worker's log.
    """
    if celery_mode == CeleryMode.EAGER:
        yield None
        return
    target, concurrency = jobstate_app_target, celery_worker_concurrency
    key = (celery_mode, target, concurrency, scope.shared_key(pipeline_settings))

    def make() -> PoolWorker:
        if celery_mode == CeleryMode.THREAD:
            return start_thread_worker(target, pipeline_settings, concurrency)
        return start_process_worker(
            target,
            pipeline_settings,
            concurrency,
            control=celery_app,
            log_dir=jobstate_workers.log_dir or Path.cwd(),
            pythonpath=jobstate_import_path,
        )

    lease = jobstate_workers.lease(
        key, make, pipeline_settings.queue, celery_app, exclusive=celery_mode == CeleryMode.THREAD
    )
    worker = lease.worker
    mark = worker.log_size() if isinstance(worker, WorkerProcess) else 0
    try:
        yield worker
    finally:
        failed = request.node.stash.get(_FAILED, False)
        if failed and isinstance(worker, WorkerProcess):
            print(f"--- worker log ---\n{worker.log_since(mark)}")
        lease.release(discard=failed)


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

    ``submit(job_input)``, ``wait_for(job_id, status, timeout)``, ``run(job_input)`` (the
    workflow's input object, or the media pipeline's URL); a timeout fails
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
