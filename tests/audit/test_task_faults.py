"""Faults at the Celery task level on any task, in a real prefork worker of a plain app.

The app has no tracker: the faults come through Celery's own signals
(:mod:`harness.testing.chaos.task_faults`), and the task log says what Celery knew.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery

from harness.adapter import TaskEvent
from harness.testing.chaos.injector import FaultInjector
from harness.testing.chaos.task_faults import TASK_FAULTS_ENV, read_task_events
from harness.testing.workers.app_binding import AppBinding, settings_conf
from harness.testing.workers.launch import start_process_worker
from pipeline.procs.worker_process import WorkerProcess
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.waiting import wait_until
from tests.audit import plain_app

pytestmark = [pytest.mark.prefork, pytest.mark.jobstate_redis("server")]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def plain(pipeline_settings: Settings) -> Iterator[Celery]:
    """Function: the plain app bound to the test's Redis and queue."""
    binding = AppBinding(plain_app.app, settings_conf(pipeline_settings))
    yield plain_app.app
    binding.restore()


@pytest.fixture
def plain_worker(
    plain: Celery, pipeline_settings: Settings, tmp_path: Path
) -> Iterator[WorkerProcess]:
    """Function: a prefork worker of the plain app with task-level faults on."""
    worker = start_process_worker(
        "tests.audit.plain_app:app",
        pipeline_settings,
        2,
        control=plain,
        log_dir=tmp_path,
        pythonpath=[str(ROOT)],
        extra_env={TASK_FAULTS_ENV: "1"},
    )
    yield worker
    worker.kill()


@pytest.fixture
def injector(state_store: JobStore, plain_worker: WorkerProcess) -> Iterator[FaultInjector]:
    """Function: the fault injector; faults cleared at teardown."""
    made = FaultInjector(state_store, worker=plain_worker)
    yield made
    made.release()


def _marks(client: redis.Redis, key: str) -> set[str]:
    return {m.decode() for m in client.smembers(f"plain:{key}")}


def _logged(store: JobStore, key: str) -> list[TaskEvent]:
    """What the task log holds of the runs that worked on ``key``."""
    events = read_task_events(store.client, store.settings.key_prefix)
    return [e for e in events if key in e.args]


def _events(store: JobStore, key: str) -> list[tuple[str, str]]:
    return [(e.task, e.event) for e in _logged(store, key)]


def test_a_hang_holds_the_task_at_its_hand_off_after_the_send_and_before_its_next_step(
    injector: FaultInjector, state_store: JobStore, redis_client: redis.Redis
) -> None:
    key = uuid.uuid4().hex
    injector.at_task("plain.first", "hang")
    plain_app.first.delay(key)
    wait_until(lambda: "second ran" in _marks(redis_client, key), timeout=30, what="second")
    assert injector.fired_at_task("plain.first") == 1
    assert _marks(redis_client, key) == {"first started", "second ran"}
    injector.release()
    wait_until(
        lambda: "first after its hand-off" in _marks(redis_client, key), timeout=30, what="first"
    )
    wait_until(lambda: ("plain.first", "succeeded") in _events(state_store, key), timeout=30)


def test_an_exception_inside_a_task_fails_it_and_celery_logs_the_failure(
    injector: FaultInjector, state_store: JobStore, redis_client: redis.Redis
) -> None:
    key = uuid.uuid4().hex
    injector.at_task("plain.first", "raise")
    plain_app.first.delay(key)
    wait_until(lambda: ("plain.first", "failed") in _events(state_store, key), timeout=30)
    assert _marks(redis_client, key) == set()  # raised from the first call its work made
    failed = [e for e in _logged(state_store, key) if e.event == "failed"]
    assert failed[0].error.startswith("InjectedFault: injected failure inside plain.first")


def test_a_task_that_catches_everything_catches_the_planted_exception_too(
    injector: FaultInjector, state_store: JobStore, redis_client: redis.Redis
) -> None:
    key = uuid.uuid4().hex
    injector.at_task("plain.swallow", "raise")
    plain_app.swallow.delay(key)
    wait_until(lambda: ("plain.swallow", "succeeded") in _events(state_store, key), timeout=30)
    assert _marks(redis_client, key) == {"swallowed"}
    assert injector.fired_at_task("plain.swallow") == 1


def test_a_child_killed_at_the_hand_off_is_a_failure_its_parent_reports(
    injector: FaultInjector, state_store: JobStore, plain_worker: WorkerProcess
) -> None:
    key = uuid.uuid4().hex
    injector.at_task("plain.second", "kill")
    plain_app.second.delay(key)
    wait_until(lambda: ("plain.second", "failed") in _events(state_store, key), timeout=30)
    events = _logged(state_store, key)
    started = next(e for e in events if e.event == "started")
    failed = next(e for e in events if e.event == "failed")
    assert failed.error.startswith("WorkerLostError")
    assert failed.pid == plain_worker.pid != started.pid  # the parent reported it


def test_a_duplicated_link_of_a_chain_carries_the_rest_of_the_chain_as_a_redelivery_does(
    injector: FaultInjector, state_store: JobStore
) -> None:
    key = uuid.uuid4().hex
    injector.at_task("plain.step", "duplicate")
    (plain_app.step.s(key) | plain_app.second.s()).delay()

    def seconds() -> list[TaskEvent]:
        return [
            e
            for e in _logged(state_store, key)
            if (e.task, e.event) == ("plain.second", "succeeded")
        ]

    wait_until(lambda: len(seconds()) == 2, timeout=30, what="second after each delivery of step")
    steps = [e for e in _logged(state_store, key) if (e.task, e.event) == ("plain.step", "started")]
    assert len({e.task_id for e in steps}) == 1  # the same message, delivered twice
    assert len(steps) == 2
