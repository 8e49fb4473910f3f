"""One-line slips of the kinds this project exists to catch, each with the test that sees it.

- Updates inconsistent between processes: a prefork child never heartbeats (the heartbeat
  thread started in the parent, which a fork does not copy; the ``Heartbeat`` context
  dropped from the stage path), so a healthy long stage is swept to the error status.
- Transitions lost at hand-offs: a stage's additions to the job context (its artifacts)
  not handed to the next stage (``_hand_off`` sending the input context, not the output).
- The UI not showing the stored state: the API's ``failed``/``terminal`` flags computed
  from the reference pipeline's literal status names instead of the job's workflow.
- Errors not propagated: covered by ``test_error_propagation`` and ``test_worker_loss_paths``.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from harness.testing.recorder import StateRecorder
from harness.testing.runner import JobRunner
from pipeline.cleanup import mark_stale
from pipeline.service import JobService
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.waiting import wait_until
from pipeline.workflow import PRD_WORKFLOW, Workflow
from tests.asgi import AppClient
from tests.guarantees.apps import FLOW
from tests.guarantees.test_error_propagation import BASE

PREFORK = [
    pytest.mark.prefork,
    pytest.mark.jobstate_celery("prefork"),
    pytest.mark.jobstate_redis("server"),
    pytest.mark.usefixtures("jobstate_worker"),
]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class TestAcrossProcesses:
    """A stage running in a prefork child keeps its job alive from that child."""

    pytestmark = PREFORK

    @pytest.fixture
    def jobstate_app_target(self) -> str:
        """Function: the README-style app."""
        return "tests.guarantees.apps:readme_app"

    @pytest.fixture
    def jobstate_workflow(self) -> Workflow:
        """Function: the README-style app's workflow."""
        return FLOW

    def test_a_long_stage_in_a_child_heartbeats_and_is_not_swept(
        self,
        job_runner: JobRunner,
        state_store: JobStore,
        pipeline_settings: Settings,
        state_recorder: StateRecorder,
    ) -> None:
        hold = f"{pipeline_settings.key_prefix}:hold"
        state_store.client.set(hold, "1")
        job_id = job_runner.submit(BASE + "wait")
        entered = job_runner.wait_for(job_id, "WORK", timeout=30)

        def alive_for(seconds: float) -> bool:
            record = state_store.get_state(job_id)
            beat = _at(record["heartbeat_at"]) - _at(entered["updated_at"])
            return record["status"] == "WORK" and beat.total_seconds() >= seconds

        # Heartbeats every 0.5 s from the child: the last one is 2.5 s after entry...
        wait_until(lambda: alive_for(2.5), timeout=20, what="heartbeats from the child")
        # ...so a sweep for jobs silent for 2 s finds nothing, though the stage began earlier.
        assert mark_stale(state_store, older_than=2) == []
        state_store.client.delete(hold)
        assert job_runner.wait_for(job_id, "DONE", timeout=30)["result"]["ran"] == "WORK"
        state_recorder.assert_path(job_id, FLOW.happy_path())


class TestHandOff:
    """What a stage adds to the context reaches every later stage on real workers."""

    pytestmark = PREFORK

    @pytest.fixture
    def jobstate_app_target(self) -> str:
        """Function: ``create_app`` with behaving stages."""
        return "tests.guarantees.apps:prd_app"

    def test_every_stage_sees_the_artifacts_of_the_ones_before(
        self, job_runner: JobRunner, state_recorder: StateRecorder
    ) -> None:
        job_id = job_runner.submit(BASE + "ok")
        record = job_runner.wait_for(job_id, "COMPLETE", timeout=60)
        trail = record["result"]["trail"]
        assert list(trail) == list(PRD_WORKFLOW.stages)
        ran = {
            e["status"]: e["task_id"]
            for e in state_recorder.history(job_id)
            if e["status"] in PRD_WORKFLOW.stages
        }
        assert trail == ran  # each stage's own Celery task, as the history recorded it


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_api_flags_follow_the_jobs_workflow_not_the_reference_names(
    redis_backend: object, anyio_backend: str
) -> None:
    from harness.testing.redis.backend import RedisBackend
    from ui.app import create_app

    assert isinstance(redis_backend, RedisBackend)
    store = redis_backend.store(FLOW)
    app = create_app(JobService(store, lambda ctx: None))
    job_id = store.create("https://media.example/a.mp3").job_id
    store.set_state(job_id, "WORK", attempt=1)
    store.fail(job_id, "boom", attempt=1, stage="WORK")
    async with AppClient(app) as client:
        shown = (await client.get(f"/api/jobs/{job_id}")).json()
    assert (shown["status"], shown["failed"], shown["terminal"]) == ("FAILED", True, True)
    assert shown["error"] == "WORK: boom"
