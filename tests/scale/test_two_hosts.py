"""Two worker processes, standing for two hosts, share one queue on RabbitMQ; one dies.

100 jobs are shared between them; when about half have finished, one worker is killed
whole (SIGKILL to parent and children, as a machine dies). RabbitMQ hands its
unacknowledged stages to the other worker (late acks), fencing keeps duplicates harmless,
and every job ends terminal.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from celery import Celery

from harness.testing.recorder import StateRecorder
from harness.testing.runner import JobRunner
from pipeline.procs.worker_process import WorkerProcess
from pipeline.service import JobService
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.waiting import wait_until
from tests.scale.conftest import URL, Stopwatch

AMQP = os.environ.get("JOBSTATE_EXTERNAL_AMQP", "amqp://guest:guest@127.0.0.1:5672//")
JOBS = 100

pytestmark = [
    pytest.mark.scale,
    pytest.mark.jobstate_redis("server"),
    pytest.mark.jobstate_celery("prefork"),
]


@pytest.fixture
def pipeline_settings(pipeline_settings: Settings) -> Settings:
    """RabbitMQ as the broker; the test's own queue name (results stay on Redis)."""
    return pipeline_settings.with_(broker_url=AMQP, result_url=pipeline_settings.redis_url)


@pytest.fixture
def rabbit_queue(jobstate_celery_app: Celery, pipeline_settings: Settings) -> Iterator[str]:
    """Function: the test's queue name; the queue is deleted from RabbitMQ afterwards."""
    yield pipeline_settings.queue
    with jobstate_celery_app.connection_for_write() as conn:
        conn.default_channel.queue_delete(pipeline_settings.queue)


def _finished(store: JobStore, ids: list[str], terminal: frozenset[str]) -> int:
    return sum(store.get_state(j)["status"] in terminal for j in ids)


def test_a_hundred_jobs_survive_losing_one_of_two_hosts(
    job_service: JobService,
    state_recorder: StateRecorder,
    jobstate_worker_factory: Callable[..., WorkerProcess],
    jobstate_celery_app: Celery,
    rabbit_queue: str,
    report: Callable[[str], None],
) -> None:
    assert jobstate_celery_app.conf.broker_url.startswith("amqp://")
    host_a, host_b = jobstate_worker_factory(2), jobstate_worker_factory(2)
    runner = JobRunner(job_service, state_recorder, timeout=180)
    store, terminal = job_service.store, runner.terminal
    clock = Stopwatch()
    ids = [runner.submit(URL) for _ in range(JOBS)]
    wait_until(
        lambda: _finished(store, ids, terminal) >= JOBS // 2, timeout=180, what="half the jobs"
    )
    done_at_kill = _finished(store, ids, terminal)
    host_a.kill()
    killed_at = clock.lap("killed")
    records = [runner.wait_terminal(job_id) for job_id in ids]
    clock.lap("all terminal")
    assert not host_a.running
    assert host_b.running
    # A stage lost with host A runs again on host B (one redelivery is within the cap).
    assert {r["status"] for r in records} == {"COMPLETE"}
    ran_on = [set(r["result"]["ran_on"].values()) for r in records if r["result"]]
    nodes = set().union(*ran_on)
    assert len(nodes) == 2, f"both hosts should have run stages, saw {nodes}"
    rerun = [j for j in ids if any(e["kind"] == "redelivered" for e in store.history(j))]
    state_recorder.assert_all_legal()
    state_recorder.assert_nothing_stuck()
    report(
        f"two hosts on RabbitMQ: {JOBS} jobs, host A killed after {killed_at:.2f}s with "
        f"{done_at_kill} finished; all {JOBS} COMPLETE after {clock.laps['all terminal']:.2f}s; "
        f"stages ran on {len(nodes)} hosts; {len(rerun)} jobs had a stage redelivered"
    )
