"""Many jobs at once on a real 4-child prefork worker: every path legal, none stuck."""

from __future__ import annotations

import pytest

from harness.testing.recorder import StateRecorder
from harness.testing.runner import JobRunner
from pipeline.sample_server import SampleServer
from tests.pipeline.conftest import HAPPY

pytestmark = [
    pytest.mark.prefork,
    pytest.mark.jobstate_celery("prefork"),
    pytest.mark.jobstate_redis("server"),
]

JOBS = 50


@pytest.fixture
def jobstate_worker_concurrency() -> int:
    """Four pool children."""
    return 4


def test_fifty_jobs_on_four_children(
    job_runner: JobRunner,
    state_recorder: StateRecorder,
    media_server: SampleServer,
    jobstate_worker: object,
) -> None:
    assert len(jobstate_worker.child_pids()) == 4  # type: ignore[attr-defined]
    ids = [job_runner.submit(media_server.url, space_id=f"load-{i}") for i in range(JOBS)]
    for job_id in ids:
        assert job_runner.wait_for(job_id, "COMPLETE", timeout=300)["attempt"] == 1
    state_recorder.assert_all_legal()
    state_recorder.assert_nothing_stuck()
    for job_id in ids:
        state_recorder.assert_path(job_id, HAPPY)
    pids = {e["task_id"] for j in ids for e in state_recorder.history(j) if e["task_id"]}
    assert len(pids) == JOBS * 4  # one Celery task per stage per job
