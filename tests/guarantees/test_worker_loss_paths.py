"""Worker loss on real prefork workers, both ways Celery reports it, for both kinds of app.

With late acks (the tracker's default) a child killed mid-stage has its message requeued
and Celery sends no ``task_failure``: the stage runs again, the redelivery is in the job's
history, and the job completes. Without them Celery sends ``task_failure`` with
``WorkerLostError`` in the parent, which must write the error status naming the stage.
A stage that raises ``SystemExit`` or cannot describe its error still ends in error.
"""

from __future__ import annotations

import pytest

from harness.testing.chaos.injector import FaultInjector
from harness.testing.recorder import StateRecorder
from harness.testing.runner import JobRunner
from pipeline.workflow import PRD_WORKFLOW, Workflow
from tests.guarantees.apps import FLOW
from tests.guarantees.test_error_propagation import BASE, PRD, README, App

pytestmark = [
    pytest.mark.prefork,
    pytest.mark.jobstate_celery("prefork"),
    pytest.mark.jobstate_redis("server"),
    pytest.mark.usefixtures("jobstate_worker"),
]

README_NO_REDELIVERY = App("tests.guarantees.apps:readme_app_no_redelivery", FLOW)
PRD_NO_REDELIVERY = App("tests.guarantees.apps:prd_app_no_redelivery", PRD_WORKFLOW)


@pytest.fixture
def app_case(request: pytest.FixtureRequest) -> App:
    """Function: the app under test, chosen by indirect parametrisation."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def jobstate_app_target(app_case: App) -> str:
    """Function: the app target of this case (worker subprocesses import it too)."""
    return app_case.target


@pytest.fixture
def jobstate_workflow(app_case: App) -> Workflow:
    """Function: the workflow of this case's app."""
    return app_case.workflow


@pytest.mark.parametrize("app_case", [README, PRD], ids=["readme-app", "create-app"], indirect=True)
def test_a_child_killed_mid_stage_is_redelivered_and_the_job_completes(
    app_case: App,
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    state_recorder: StateRecorder,
) -> None:
    fault_injector.kill_child_at(app_case.first, times=1)
    job_id = job_runner.submit(BASE + "ok")
    record = job_runner.wait_terminal(job_id, timeout=90)
    assert record["status"] == app_case.done, state_recorder.timeline()
    again = state_recorder.redeliveries(job_id)
    assert [e["status"] for e in again] == [app_case.first], state_recorder.timeline()
    assert "delivery 2" in again[0]["message"]
    state_recorder.assert_path(job_id, app_case.workflow.happy_path())
    state_recorder.assert_all_legal()


@pytest.mark.parametrize(
    "app_case",
    [README_NO_REDELIVERY, PRD_NO_REDELIVERY],
    ids=["readme-app", "create-app"],
    indirect=True,
)
def test_without_late_acks_a_lost_child_is_written_as_an_error_by_the_parent(
    app_case: App,
    job_runner: JobRunner,
    fault_injector: FaultInjector,
    state_recorder: StateRecorder,
) -> None:
    fault_injector.kill_child_at(app_case.first, times=1)
    job_id = job_runner.submit(BASE + "ok")
    record = job_runner.wait_terminal(job_id, timeout=60)
    assert record["status"] == app_case.workflow.error, state_recorder.timeline()
    assert record["error"].startswith(f"{app_case.first}: WorkerLostError"), record["error"]
    assert state_recorder.redeliveries(job_id) == []
    wf = app_case.workflow
    state_recorder.assert_path(job_id, [wf.initial, app_case.first, wf.error])
    state_recorder.assert_all_legal()


@pytest.mark.parametrize("app_case", [README, PRD], ids=["readme-app", "create-app"], indirect=True)
@pytest.mark.parametrize(("path", "name"), [("raise-badstr", "BadStr"), ("exit", "SystemExit")])
def test_a_stage_that_cannot_describe_itself_or_exits_ends_in_error(
    app_case: App,
    job_runner: JobRunner,
    state_recorder: StateRecorder,
    path: str,
    name: str,
) -> None:
    job_id = job_runner.submit(BASE + path)
    record = job_runner.wait_terminal(job_id, timeout=60)
    assert record["status"] == app_case.workflow.error, state_recorder.timeline()
    assert record["error"].startswith(f"{app_case.first}: {name}"), record["error"]
    state_recorder.assert_all_legal()
