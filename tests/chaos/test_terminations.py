"""The task terminations Celery's own smoke suite uses, on a real prefork worker.

``SystemExit`` in a stage, the hard time limit, a child out of memory, a cold shutdown
(SIGQUIT) and a remote ``shutdown`` command. Each job ends in a terminal status with the
stage named, and each test says who wrote that ending: the stage itself, the worker's
parent process, or a new worker after the old one is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from celery import Celery

from harness.fixtures.chaos import ChaosScenario, StartScenario
from harness.testing.chaos.injector import FaultInjector
from harness.testing.runner import JobRunner
from pipeline.procs.worker_process import WorkerProcess
from pipeline.settings import Settings
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
LATER = ["GENERATING_QUOTES", "GENERATING_SUMMARY"]


def _log_after(worker: WorkerProcess, mark: int) -> str:
    """What ``worker`` logged after byte ``mark``."""
    return worker.log_since(mark, lines=100_000)


def _logged(worker: WorkerProcess, mark: int, text: str) -> str | None:
    """What ``worker`` logged after ``mark``, once that contains ``text``."""
    log = _log_after(worker, mark)
    return log if text in log else None


def _ran_by(record: dict[str, Any], stage: str) -> int:
    """The main pid of the worker that ran ``stage`` (from the result's trail)."""
    return int(record["result"]["trail"][stage]["worker"])


def test_system_exit_in_a_stage_is_written_by_the_stage(
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    chaos_scenario: StartScenario,
    jobstate_worker: WorkerProcess,
) -> None:
    """The stage writes the error as ``SystemExit`` unwinds it; the child then exits,
    Celery redelivers the message (late acks) and the redelivery is fenced out by the
    terminal status. The same worker goes on with the next job."""
    chaos_scenario("SystemExit in a stage", f"SystemExit at {STAGE}")
    mark = jobstate_worker.log_size()
    fault_injector.exit_at(STAGE)
    record = job_runner.run(URL, timeout=60)
    assert record["status"] == "ERROR"
    assert record["error"] == f"{STAGE}: SystemExit: injected exit at {STAGE}"
    wait_until(
        lambda: "Worker exited prematurely" in _log_after(jobstate_worker, mark),
        timeout=30,
        what="the worker noticing its child exited",
    )
    after = job_runner.run(URL, timeout=60)
    assert after["status"] == "COMPLETE"
    assert _ran_by(after, STAGE) == jobstate_worker.pid


class TestHardTimeLimit:
    """The hard time limit kills the child; the worker's parent writes the error."""

    @pytest.fixture
    def pipeline_settings(self, pipeline_settings: Settings) -> Settings:
        """Function: a 1 s soft and 2 s hard time limit per stage."""
        return pipeline_settings.with_(stage_soft_time_limit=1, stage_time_limit=2)

    def test_the_hard_time_limit_is_written_by_the_parent(
        self,
        job_runner: JobRunner,
        fault_injector: FaultInjector,
        chaos_scenario: StartScenario,
        jobstate_worker: WorkerProcess,
    ) -> None:
        """The stage swallows its soft limit and blocks on; at the hard limit the pool
        kills the child and Celery reports ``TimeLimitExceeded`` in the parent, whose
        ``task_failure`` handler writes the error naming the stage."""
        chaos_scenario("hard time limit", f"{STAGE} outlasts its 2 s hard limit")
        mark = jobstate_worker.log_size()
        fault_injector.time_out_at(STAGE)
        record = job_runner.run(URL, timeout=60)
        assert record["status"] == "ERROR"
        assert record["error"].startswith(f"{STAGE}: TimeLimitExceeded"), record["error"]
        log = wait_until(
            lambda: _logged(jobstate_worker, mark, "Hard time limit"),
            timeout=30,
            what="the worker logging the hard time limit",
        )
        assert "Soft time limit (1s) exceeded" in log
        assert "Hard time limit (2s) exceeded" in log
        assert job_runner.run(URL, timeout=60)["status"] == "COMPLETE"


def test_a_child_out_of_memory_fails_its_stage_and_celery_ends_the_worker(
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    chaos_scenario: StartScenario,
    jobstate_worker: WorkerProcess,
    jobstate_worker_factory: Callable[..., WorkerProcess],
) -> None:
    """The child lowers its address-space limit and allocates past it: the stage writes
    ``MemoryError`` naming itself. Celery treats a ``MemoryError`` as unrecoverable and
    ends the whole worker; a job sent meanwhile waits and a new worker completes it."""
    scenario: ChaosScenario = chaos_scenario(
        "memory limit exhausted", f"child exhausts RLIMIT_AS at {STAGE}"
    )
    mark = jobstate_worker.log_size()
    fault_injector.exhaust_memory_at(STAGE)
    record = job_runner.run(URL, timeout=60)
    assert record["status"] == "ERROR"
    assert record["error"] == f"{STAGE}: MemoryError"
    fault_injector.wait_worker_gone(timeout=30)
    assert "Unrecoverable error: MemoryError" in _log_after(jobstate_worker, mark)
    waiting = job_runner.submit(URL)
    new = jobstate_worker_factory(concurrency=1)
    scenario.fault("new worker started")
    after = job_runner.wait_terminal(waiting, timeout=60)
    assert after["status"] == "COMPLETE"
    assert _ran_by(after, "DOWNLOADING") == new.pid


def test_a_cold_shutdown_cuts_the_stage_and_the_job_still_ends(
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    chaos_scenario: StartScenario,
    jobstate_worker: WorkerProcess,
    jobstate_worker_factory: Callable[..., WorkerProcess],
) -> None:
    """SIGQUIT: the worker terminates its children at once and puts the unacknowledged
    stage message back on the queue. Either the stage, cut by the signal's
    ``SystemExit``, wrote the error naming itself (then a new worker's redelivery is
    fenced out by the terminal status), or it was cut before it could (then the new
    worker's redelivery runs the stage again, recorded as such, and the job completes).
    """
    scenario: ChaosScenario = chaos_scenario("cold shutdown (SIGQUIT)", f"SIGQUIT mid-{STAGE}")
    mark = jobstate_worker.log_size()
    fault_injector.hang_at(STAGE)
    job_id = job_runner.submit(URL)
    job_runner.wait_for(job_id, STAGE, timeout=60)
    fault_injector.quit_worker()
    fault_injector.wait_worker_gone(timeout=30)
    log = _log_after(jobstate_worker, mark)
    assert "Cold shutdown" in log
    assert "Restoring 1 unacknowledged message(s)" in log
    fault_injector.release()
    new = jobstate_worker_factory(concurrency=1)
    scenario.fault("new worker started")
    record = job_runner.wait_terminal(job_id, timeout=60)
    again = [e["status"] for e in job_runner.recorder.redeliveries(job_id)]
    if record["status"] == "ERROR":
        assert record["error"].startswith(f"{STAGE}: SystemExit"), record["error"]
        wait_until(
            lambda: "fenced out" in _log_after(new, 0),
            timeout=30,
            what="the new worker fencing out the redelivered stage",
        )
        assert again == []
    else:
        assert record["status"] == "COMPLETE"
        assert again == [STAGE]
        assert _ran_by(record, STAGE) == new.pid


def test_a_remote_shutdown_lets_the_stage_finish_and_a_new_worker_goes_on(
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    chaos_scenario: StartScenario,
    jobstate_worker: WorkerProcess,
    jobstate_celery_app: Celery,
    jobstate_worker_factory: Callable[..., WorkerProcess],
) -> None:
    """Celery's remote ``shutdown`` is a warm shutdown: the worker stops taking messages
    and waits for the running stage, which finishes and hands off; the next stage waits
    in the queue until a new worker runs it. The job completes, each stage once."""
    scenario: ChaosScenario = chaos_scenario(
        "remote shutdown command", f"shutdown via Celery control mid-{STAGE}"
    )
    mark = jobstate_worker.log_size()
    fault_injector.hang_at(STAGE)
    job_id = job_runner.submit(URL)
    job_runner.wait_for(job_id, STAGE, timeout=60)
    fault_injector.shutdown_worker(jobstate_celery_app)
    wait_until(
        lambda: "Got shutdown from remote" in _log_after(jobstate_worker, mark),
        timeout=30,
        what="the worker taking the shutdown command",
    )
    assert jobstate_worker.running  # waiting for the stage
    fault_injector.release()
    fault_injector.wait_worker_gone(timeout=30)
    assert job_runner.service.get(job_id)["status"] == STAGE  # handed off, not yet run
    new = jobstate_worker_factory(concurrency=1)
    scenario.fault("new worker started")
    record = job_runner.wait_for(job_id, "COMPLETE", timeout=60)
    assert _ran_by(record, STAGE) == jobstate_worker.pid
    assert [_ran_by(record, s) for s in LATER] == [new.pid, new.pid]
    transitions = [
        e["status"] for e in job_runner.recorder.history(job_id) if e["kind"] == "transition"
    ]
    assert transitions == PRD_WORKFLOW.happy_path()[1:]
