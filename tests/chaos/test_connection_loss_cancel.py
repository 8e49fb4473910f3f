"""Redis restarted mid-stage under Celery 6's cancel-on-connection-loss: no job is stuck.

The harness's own worker runs with ``worker_cancel_long_running_tasks_on_connection_loss``
(Celery 6's default; ``jobstate worker`` keeps Celery 5's). When its broker connection
drops it cancels every late-acknowledged stage it is running: the pool sends the child
SIGTERM, the stage unwinds with ``SystemExit`` and records its error if Redis is back by
then. If Redis is still down, that write fails and the stage's message stays
unacknowledged (it returns only after the visibility timeout): the job is left running,
silent, and the stale sweep is the backstop that ends it. Either way each job ends in a
terminal status with the stage named.
"""

from __future__ import annotations

import pytest

from harness.chaos import StartScenario
from harness.faults import FaultInjector
from harness.runner import JobRunner
from harness.waiting import wait_until
from harness.worker_proc import WorkerProcess
from pipeline.cleanup import mark_stale
from pipeline.store import JobStore
from tests.chaos.apps import URL
from tests.chaos.conftest import STALE_SECONDS

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.prefork,
    pytest.mark.jobstate_celery("prefork"),
    pytest.mark.jobstate_redis("server"),
]

STAGE = "TRANSCRIBING"


def test_stages_cancelled_by_a_lost_connection_end_in_error_never_stuck(
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    chaos_scenario: StartScenario,
    state_store: JobStore,
    celery_worker: WorkerProcess,
) -> None:
    scenario = chaos_scenario(
        "Redis restarted, Celery 6 cancels running stages", "redis-server restart"
    )
    mark = celery_worker.log_size()
    fault_injector.hang_at(STAGE, times=2)
    jobs = [job_runner.submit(URL) for _ in range(2)]
    for job_id in jobs:
        job_runner.wait_for(job_id, STAGE, timeout=60)

    fault_injector.restart_redis()
    wait_until(
        lambda: (
            "cannot be acknowledged after a connection loss"
            in celery_worker.log_since(mark, 100_000)
        ),
        timeout=30,
        what="the worker cancelling its running stages",
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
