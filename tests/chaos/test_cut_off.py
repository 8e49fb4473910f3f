"""A worker cut off from Redis mid-stage: swept, retried elsewhere, its late writes fenced.

The first worker reaches Redis only through a TCP relay. Mid-stage the relay stops
passing bytes (neither side sees the connection drop: a stalled network). Its heartbeat
goes silent, the sweep moves the job to the error status, a retry runs on a second worker
and completes. When the relay lets the first worker's bytes through again, everything it
wrote meanwhile arrives late and is fenced out by the job's attempt: its heartbeat, and
the hand-off to the next stage, whose run is refused as a stale attempt. The completed
record is untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.fixtures.chaos import StartScenario
from harness.fixtures.chaos_workers import relayed_url
from harness.testing.chaos.injector import FaultInjector
from harness.testing.chaos.relay import TcpRelay
from harness.testing.runner import JobRunner
from pipeline.cleanup import mark_stale
from pipeline.procs.worker_process import DEFAULT_ENTRY, WorkerProcess
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.waiting import wait_until
from pipeline.workflow import PRD_WORKFLOW
from tests.chaos.apps import hold_file, hold_url
from tests.chaos.conftest import STALE_SECONDS

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.prefork,
    pytest.mark.jobstate_celery("prefork"),
    pytest.mark.jobstate_redis("server"),
]

STAGE = "TRANSCRIBING"


@pytest.fixture
def jobstate_worker(
    jobstate_worker_factory: Callable[..., WorkerProcess],
    redis_relay: TcpRelay,
    pipeline_settings: Settings,
) -> WorkerProcess:
    """Function: ``jobstate worker`` (one child) whose only way to Redis is the relay."""
    url = relayed_url(pipeline_settings.redis_url, redis_relay)
    return jobstate_worker_factory(concurrency=1, redis_url=url, entry=DEFAULT_ENTRY)


def _hold(settings: Settings, name: str) -> Path:
    path = hold_file(settings.work_dir, name, STAGE)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return path


def test_a_worker_cut_off_mid_stage_is_swept_retried_elsewhere_and_fenced_out(
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    chaos_scenario: StartScenario,
    state_store: JobStore,
    pipeline_settings: Settings,
    redis_relay: TcpRelay,
    jobstate_worker: WorkerProcess,
    jobstate_worker_factory: Callable[..., WorkerProcess],
) -> None:
    scenario = chaos_scenario("worker cut off from Redis mid-stage", "relay holds all traffic")
    held = _hold(pipeline_settings, "cut")
    job_id = job_runner.submit(hold_url("cut"))
    job_runner.wait_for(job_id, STAGE, timeout=60)

    fault_injector.cut_off(redis_relay)
    swept = wait_until(
        lambda: mark_stale(state_store, older_than=STALE_SECONDS),
        timeout=30,
        interval=0.2,
        what="the sweep noticing the silent job",
    )
    assert swept == [job_id]
    record = state_store.get_state(job_id)
    assert record["status"] == "ERROR"
    assert STAGE in record["error"]
    held.unlink()  # the cut-off stage finishes now; nothing it writes gets through yet

    job_runner.retry(job_id)
    scenario.fault("retry on a second worker")
    second = jobstate_worker_factory(concurrency=1, entry=DEFAULT_ENTRY)
    done = job_runner.wait_for(job_id, "COMPLETE", timeout=60, attempt=2)
    trail = done["result"]["trail"]
    assert {step["worker"] for step in trail.values()} == {second.pid}
    history = state_store.history(job_id)

    fault_injector.reconnect(redis_relay)
    wait_until(
        lambda: any(
            "attempt 1 is stale" in worker.log_since(0, 100_000)
            for worker in (jobstate_worker, second)
        ),
        timeout=30,
        what="the cut-off worker's late writes being fenced out",
    )
    assert state_store.get_state(job_id) == done
    assert state_store.history(job_id) == history
    retried = next(i for i, e in enumerate(history) if e["kind"] == "retry")
    assert {e["attempt"] for e in history[retried:]} == {2}
    assert [e["status"] for e in history[retried + 1 :]] == PRD_WORKFLOW.happy_path()[1:]
