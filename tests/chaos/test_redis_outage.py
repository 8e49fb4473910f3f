"""Redis down for longer than the clients' retries, with jobs in flight.

The failure is loud: the API answers 503 (reads and submits), the worker logs the stage
that could not hand off and the heartbeats it could not write. Nothing pretends: each job
ends in the error status or finishes after recovery, never a silent success and never
stuck running, with the stale sweep as the backstop for a job whose worker could not say
what happened to it.

``jobstate worker`` runs the jobs, as a deployment runs it. Job A's stage ends while Redis
is down: its hand-off and its error both fail to reach Redis, so A is left running
but silent. After recovery either the sweep moves A to the error status naming the
stage, or the worker redelivers A's stage message (put back when its connection dropped)
and the stage runs again to completion, recorded as a redelivery; whichever comes first
wins and the other is fenced out. Job B's stage is still running through the whole
outage; its heartbeats resume and it completes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from harness.fixtures.chaos import StartScenario
from harness.testing.browser.live_ui import LiveUi
from harness.testing.chaos.injector import FaultInjector
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
def jobstate_worker(jobstate_worker_factory: Callable[..., WorkerProcess]) -> WorkerProcess:
    """Function: ``jobstate worker`` (two children) as a deployment runs it."""
    return jobstate_worker_factory(concurrency=2, entry=DEFAULT_ENTRY)


def _hold(settings: Settings, name: str) -> Path:
    path = hold_file(settings.work_dir, name, STAGE)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return path


def _heartbeat_ms(store: JobStore, job_id: str) -> int:
    return int(store.client.hget(store.keys.state(job_id), "heartbeat_ms") or 0)


def _sweep_until_terminal(store: JobStore, job_id: str) -> dict[str, object]:
    """Run the stale sweep until ``job_id`` is terminal (swept, or finished on its own)."""

    def ended() -> dict[str, object] | None:
        mark_stale(store, older_than=STALE_SECONDS)
        record = store.get_state(job_id)
        return record if record["status"] in store.workflow.terminal else None

    return wait_until(ended, timeout=60, interval=0.2, what=f"job {job_id} ending")


def test_a_long_redis_outage_is_loud_and_no_job_stays_running(
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    chaos_scenario: StartScenario,
    state_store: JobStore,
    pipeline_settings: Settings,
    live_ui: LiveUi,
    jobstate_worker: WorkerProcess,
) -> None:
    scenario = chaos_scenario(
        "Redis down longer than retries", ["redis-server stopped", "a stage ends meanwhile"]
    )
    held = {name: _hold(pipeline_settings, name) for name in ("a", "b")}
    job_a, job_b = (job_runner.submit(hold_url(name)) for name in ("a", "b"))
    for job_id in (job_a, job_b):
        job_runner.wait_for(job_id, STAGE, timeout=60)
    mark = jobstate_worker.log_size()

    fault_injector.stop_redis()
    try:
        with httpx.Client(base_url=live_ui.url, timeout=10) as api:
            assert api.get(f"/api/jobs/{job_a}").status_code == 503
            refused = api.post("/api/jobs", json={"url": hold_url("c")})
            assert refused.status_code == 503, refused.text
        held["a"].unlink()  # A's stage ends now: nothing it writes can reach Redis
        loud = ("raised unexpected", f"heartbeat for {job_b} failed")
        wait_until(
            lambda: all(line in jobstate_worker.log_since(mark, 100_000) for line in loud),
            timeout=30,
            what="the worker logging the failed hand-off and the failed heartbeats",
        )
    finally:
        fault_injector.start_redis()
    recovered_ms = state_store.now_ms()

    # B's stage never stopped: its heartbeats reach Redis again, so the sweep spares it.
    wait_until(
        lambda: _heartbeat_ms(state_store, job_b) > recovered_ms,
        timeout=30,
        what="job B's heartbeat after recovery",
    )
    record_a = _sweep_until_terminal(state_store, job_a)
    again = [e["status"] for e in job_runner.recorder.redeliveries(job_a)]
    scenario.figure("job whose stage ended in the outage", f"{record_a['status']}")
    if record_a["status"] == "ERROR":
        assert str(record_a["error"]).startswith("stale:"), record_a["error"]
        assert STAGE in str(record_a["error"])
    else:
        assert record_a["status"] == "COMPLETE"
        assert again == [STAGE]
        assert isinstance(record_a["result"], dict)
        assert list(record_a["result"]["trail"]) == list(PRD_WORKFLOW.stages)

    held["b"].unlink()
    record_b = job_runner.wait_for(job_b, "COMPLETE", timeout=60)
    assert list(record_b["result"]["trail"]) == list(PRD_WORKFLOW.stages)
    assert [j["job_id"] for j in job_runner.service.list()] == [job_b, job_a]
