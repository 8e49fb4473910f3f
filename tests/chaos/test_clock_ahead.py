"""A worker whose clock runs ten minutes ahead: ordering and staleness stay right.

The worker starts under libfaketime with its wall clock ten minutes ahead (its own
trail proves it). Every time the store keeps comes from Redis ``TIME``, so the job's
history stays in order and within the real time of the run, the sweep leaves the job
alone while its heartbeat runs, and calls it stale as soon as the heartbeat has been
silent for the threshold after the worker dies: not ten minutes late.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.fixtures.chaos import StartScenario
from harness.testing.chaos.injector import FaultInjector
from harness.testing.runner import JobRunner
from pipeline.cleanup import mark_stale
from pipeline.procs.worker_process import DEFAULT_ENTRY, WorkerProcess
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.waiting import wait_until
from tests.chaos.apps import URL, hold_file, hold_url
from tests.chaos.conftest import STALE_SECONDS

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.prefork,
    pytest.mark.jobstate_celery("prefork"),
    pytest.mark.jobstate_redis("server"),
]

AHEAD = 600.0
STAGE = "TRANSCRIBING"


@pytest.fixture
def jobstate_worker(jobstate_worker_factory: Callable[..., WorkerProcess]) -> WorkerProcess:
    """Function: ``jobstate worker`` (one child) with its wall clock ten minutes ahead."""
    return jobstate_worker_factory(concurrency=1, clock_ahead=AHEAD, entry=DEFAULT_ENTRY)


def _hash_ms(store: JobStore, job_id: str, field: str) -> int:
    return int(store.client.hget(store.keys.state(job_id), field) or 0)


def _hold(settings: Settings, name: str) -> Path:
    path = hold_file(settings.work_dir, name, STAGE)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return path


def test_a_worker_clock_ahead_changes_no_order_and_no_staleness(
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    chaos_scenario: StartScenario,
    state_store: JobStore,
    pipeline_settings: Settings,
) -> None:
    chaos_scenario("worker clock 10 minutes ahead", "libfaketime +600 s")
    start_ms = state_store.now_ms()
    done = job_runner.run(URL, timeout=60)
    end_ms = state_store.now_ms()
    assert done["status"] == "COMPLETE"
    for step in done["result"]["trail"].values():  # the fault took: the worker's clock is ahead
        assert step["clock"] - time.time() > AHEAD - 60
    stamps = [e["ms"] for e in state_store.history(done["job_id"])]
    assert stamps == sorted(stamps)
    assert start_ms <= stamps[0] <= stamps[-1] <= end_ms

    held = _hold(pipeline_settings, "clock")
    job_id = job_runner.submit(hold_url("clock"))
    job_runner.wait_for(job_id, STAGE, timeout=60)
    first = _hash_ms(state_store, job_id, "heartbeat_ms")
    wait_until(
        lambda: _hash_ms(state_store, job_id, "heartbeat_ms") > first,
        timeout=30,
        what="a heartbeat from the worker",
    )
    assert _hash_ms(state_store, job_id, "heartbeat_ms") <= state_store.now_ms()
    assert mark_stale(state_store, older_than=STALE_SECONDS) == []

    fault_injector.kill_worker()
    held.unlink()
    last_beat = _hash_ms(state_store, job_id, "heartbeat_ms")
    swept = wait_until(
        lambda: mark_stale(state_store, older_than=STALE_SECONDS),
        timeout=30,
        interval=0.1,
        what="the sweep calling the silent job stale",
    )
    swept_ms = state_store.now_ms()
    assert swept == [job_id]
    # Stale after the threshold of Redis time, never ten minutes off either way.
    assert STALE_SECONDS * 1000 <= swept_ms - last_beat < (STALE_SECONDS + 60) * 1000
    record = state_store.get_state(job_id)
    assert record["status"] == "ERROR"
    assert STAGE in record["error"]
    assert [j["job_id"] for j in job_runner.service.list()] == [job_id, done["job_id"]]
