"""A worker stopped with SIGTERM mid-stage (warm shutdown), then a new worker: the job completes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.fixtures.chaos import StartScenario
from harness.testing.chaos.injector import FaultInjector
from harness.testing.runner import JobRunner
from pipeline.procs.worker_process import WorkerProcess
from pipeline.waiting import wait_until
from pipeline.workflow import PRD_WORKFLOW
from tests.chaos.apps import URL

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.prefork,
    pytest.mark.jobstate_celery("prefork"),
    pytest.mark.jobstate_redis("server"),
]

STAGE = "TRANSCRIBING"


def test_sigterm_mid_stage_then_a_new_worker_completes_the_job(
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    chaos_scenario: StartScenario,
    jobstate_worker: WorkerProcess,
    jobstate_worker_factory: Callable[..., WorkerProcess],
) -> None:
    """SIGTERM to the worker's main process: it stops taking messages and waits for the
    running stage, which finishes and hands off; the worker exits; the next stage waits
    in the queue, its job still honestly in the stage that finished, until a new worker
    runs the rest. Every stage runs once and the result is complete."""
    scenario = chaos_scenario("warm shutdown (SIGTERM)", f"SIGTERM mid-{STAGE}")
    mark = jobstate_worker.log_size()
    fault_injector.hang_at(STAGE)
    job_id = job_runner.submit(URL)
    job_runner.wait_for(job_id, STAGE, timeout=60)
    fault_injector.terminate_worker()
    wait_until(
        lambda: "Warm shutdown" in jobstate_worker.log_since(mark, lines=100_000),
        timeout=30,
        what="the worker starting its warm shutdown",
    )
    assert jobstate_worker.running  # waiting for the running stage
    assert job_runner.service.get(job_id)["status"] == STAGE
    fault_injector.release()
    assert fault_injector.wait_worker_gone(timeout=30) == 0
    assert job_runner.service.get(job_id)["status"] == STAGE  # handed off, not yet taken

    new = jobstate_worker_factory(concurrency=1)
    scenario.fault("new worker started")
    record = job_runner.wait_for(job_id, "COMPLETE", timeout=60)
    trail = record["result"]["trail"]
    assert [trail[s]["worker"] for s in PRD_WORKFLOW.stages] == [
        jobstate_worker.pid,
        jobstate_worker.pid,
        new.pid,
        new.pid,
    ]
    job_runner.recorder.assert_path(job_id, PRD_WORKFLOW.happy_path())
    assert job_runner.recorder.redeliveries(job_id) == []
