"""Redis restarted (AOF) while jobs are mid-stage: nothing is lost, everyone reconnects.

Every stored state survives the restart (each history before it is a prefix of the history
after it); the API server, the test's own store and its sweep, and the worker (its
consumer, its stages' writes and heartbeats, and the sweep sent through the broker as
``jobstate beat`` sends it) reconnect by themselves; then every job completes, each stage
run by the one worker process that was never restarted.

The worker is ``jobstate worker`` as a deployment runs it: with Celery 5's default its
running stages go on through the lost broker connection.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from celery import Celery

from harness.fixtures.chaos import StartScenario
from harness.testing.browser.live_ui import LiveUi
from harness.testing.chaos.injector import FaultInjector
from harness.testing.runner import JobRunner
from pipeline.celery_app import SWEEP_TASK
from pipeline.cleanup import mark_stale
from pipeline.procs.worker_process import DEFAULT_ENTRY, WorkerProcess
from pipeline.store import JobStore
from pipeline.waiting import wait_until
from pipeline.workflow import PRD_WORKFLOW
from tests.chaos.apps import URL
from tests.chaos.conftest import STALE_SECONDS

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.prefork,
    pytest.mark.jobstate_celery("prefork"),
    pytest.mark.jobstate_redis("server"),
]

STAGE = "TRANSCRIBING"


def _stored(store: JobStore, job_id: str) -> dict[str, Any]:
    """The job's record without its liveness stamp (heartbeats go on across the restart)."""
    record = store.get_state(job_id)
    record.pop("heartbeat_at")
    return record


def _heartbeat_ms(store: JobStore, job_id: str) -> int:
    """When the job's last heartbeat reached Redis (Redis time, ms)."""
    return int(store.client.hget(store.keys.state(job_id), "heartbeat_ms") or 0)


@pytest.fixture
def jobstate_worker(jobstate_worker_factory: Callable[..., WorkerProcess]) -> WorkerProcess:
    """Function: ``jobstate worker`` (two children) as a deployment runs it."""
    return jobstate_worker_factory(concurrency=2, entry=DEFAULT_ENTRY)


def test_redis_restarted_mid_stage_keeps_every_state_and_everyone_reconnects(
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    chaos_scenario: StartScenario,
    state_store: JobStore,
    live_ui: LiveUi,
    jobstate_celery_app: Celery,
    jobstate_worker: WorkerProcess,
) -> None:
    chaos_scenario("Redis restarted mid-stage (AOF)", "redis-server restart")
    fault_injector.hang_at(STAGE, times=2)
    running = [job_runner.submit(URL) for _ in range(2)]
    for job_id in running:
        job_runner.wait_for(job_id, STAGE, timeout=60)
    queued = job_runner.submit(URL)  # both children are busy: its first stage waits
    jobs = [*running, queued]
    before = {
        job_id: (_stored(state_store, job_id), state_store.history(job_id)) for job_id in jobs
    }

    fault_injector.restart_redis()
    restarted_ms = state_store.now_ms()

    for job_id in jobs:
        assert (_stored(state_store, job_id), state_store.history(job_id)) == before[job_id]
    with httpx.Client(base_url=live_ui.url, timeout=5) as api:
        for job_id in jobs:  # the API answers from the restarted server, unrestarted
            answer = api.get(f"/api/jobs/{job_id}")
            assert answer.status_code == 200, answer.text
            assert answer.json()["version"] == before[job_id][0]["version"]
    # The held stages' heartbeats reach the restarted server: the sweep leaves them be.
    wait_until(
        lambda: all(_heartbeat_ms(state_store, j) > restarted_ms for j in running),
        timeout=30,
        what="heartbeats after the restart",
    )
    assert mark_stale(state_store, older_than=STALE_SECONDS) == []

    fault_injector.release()
    for job_id in jobs:
        record = job_runner.wait_for(job_id, "COMPLETE", timeout=60)
        trail = record["result"]["trail"]
        assert list(trail) == list(PRD_WORKFLOW.stages)
        assert {step["worker"] for step in trail.values()} == {jobstate_worker.pid}

    # The same worker process, never restarted, takes new work and the sweep beat sends.
    after = job_runner.run(URL, timeout=60)
    assert after["result"]["trail"][STAGE]["worker"] == jobstate_worker.pid
    mark = jobstate_worker.log_size()
    jobstate_celery_app.send_task(SWEEP_TASK)
    wait_until(
        lambda: re.search(
            rf"{re.escape(SWEEP_TASK)}\[[^]]+\] succeeded", jobstate_worker.log_since(mark, 10_000)
        ),
        timeout=30,
        what="the worker running the sweep sent after the restart",
    )


def test_a_worker_with_a_free_child_rides_through_a_restart_mid_stage(
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    chaos_scenario: StartScenario,
    jobstate_celery_app: Celery,
    jobstate_worker: WorkerProcess,
) -> None:
    # One child holds an unacknowledged stage, the other waits on the queue: the case a
    # lost connection used to end the worker in (see pipeline.consumer).
    chaos_scenario("Redis restarted mid-stage, a child free", "redis-server restart")
    fault_injector.hang_at(STAGE)
    job_id = job_runner.submit(URL)
    job_runner.wait_for(job_id, STAGE, timeout=60)

    fault_injector.restart_redis()
    wait_until(
        lambda: jobstate_celery_app.control.ping(destination=[jobstate_worker.node], timeout=0.5),
        timeout=60,
        what="the worker answering after the restart",
    )
    fault_injector.release()

    record = job_runner.wait_for(job_id, "COMPLETE", timeout=60)
    trail = record["result"]["trail"]
    assert {step["worker"] for step in trail.values()} == {jobstate_worker.pid}
    after = job_runner.run(URL, timeout=60)
    assert after["result"]["trail"][STAGE]["worker"] == jobstate_worker.pid
    assert jobstate_worker.running
