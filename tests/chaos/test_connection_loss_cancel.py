"""Redis restarted mid-stage under Celery 6's cancel-on-connection-loss: no job is stuck.

The app sets ``worker_cancel_long_running_tasks_on_connection_loss`` (Celery 6's default;
the reference app and Celery 5 leave it off), and the fixture worker runs the app's own
setting. When its broker connection drops the worker cancels every late-acknowledged
stage it is running: the pool sends the child SIGTERM, the stage unwinds with
``SystemExit`` and records its error if Redis is back by then. If Redis is still down,
that write fails and the stage's message stays unacknowledged (it returns only after the
visibility timeout): the job is left running, silent, and the stale sweep is the backstop
that ends it. Either way each job ends in a terminal status with the stage named, and the
worker itself goes on.
"""

from __future__ import annotations

import pytest
from celery import Celery

from harness.fixtures.chaos import StartScenario
from harness.testing.chaos.injector import FaultInjector
from harness.testing.runner import JobRunner
from pipeline.cleanup import mark_stale
from pipeline.procs.worker_process import WorkerProcess
from pipeline.store import JobStore
from pipeline.waiting import wait_until
from tests.chaos.apps import CANCELLING_TARGET, URL
from tests.chaos.conftest import STALE_SECONDS

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.prefork,
    pytest.mark.jobstate_celery("prefork"),
    pytest.mark.jobstate_redis("server"),
]

STAGE = "TRANSCRIBING"


@pytest.fixture
def jobstate_app_target() -> str:
    """Function: the chaos app with Celery 6's connection-loss default."""
    return CANCELLING_TARGET


def test_stages_cancelled_by_a_lost_connection_end_in_error_never_stuck(
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    chaos_scenario: StartScenario,
    state_store: JobStore,
    jobstate_celery_app: Celery,
    jobstate_worker: WorkerProcess,
) -> None:
    scenario = chaos_scenario(
        "Redis restarted, Celery 6 cancels running stages", "redis-server restart"
    )
    fault_injector.hang_at(STAGE, times=2)
    jobs = [job_runner.submit(URL) for _ in range(2)]
    for job_id in jobs:
        job_runner.wait_for(job_id, STAGE, timeout=60)

    fault_injector.restart_redis()
    # The worker cancels its running stages before it reconnects; it answers once it has.
    wait_until(
        lambda: jobstate_celery_app.control.ping(destination=[jobstate_worker.node], timeout=0.5),
        timeout=60,
        what="the worker answering after Redis came back",
    )
    fault_injector.release()

    def all_ended() -> bool:
        mark_stale(state_store, older_than=STALE_SECONDS)
        statuses = [state_store.get_state(j)["status"] for j in jobs]
        return all(s in state_store.workflow.terminal for s in statuses)

    wait_until(all_ended, timeout=60, interval=0.2, what="every held job ending")
    swept = 0
    for job_id in jobs:
        record = state_store.get_state(job_id)
        if record["status"] == "COMPLETE":  # put back and run again after all
            assert [e["status"] for e in job_runner.recorder.redeliveries(job_id)] == [STAGE]
            continue
        assert record["status"] == "ERROR"
        assert STAGE in record["error"], record["error"]
        swept += record["error"].startswith("stale:")
    scenario.figure("jobs the sweep ended", swept)
    assert jobstate_worker.running
