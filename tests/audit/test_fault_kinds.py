"""The audit's faults raised inside a stage's own work, and the verdict they lead to.

On the fast tier (eager Celery, fake Redis): a fault raised inside the work reaches the
state through an honest stage, is hidden by a stage that catches everything (and the
cell's verdict says so), fires as a stage that calls nothing returns, and an exception
whose text cannot be read is still written, naming the stage.
"""

from __future__ import annotations

import pytest

from harness.testing.audit.verdict import judge_cell
from harness.testing.chaos.injector import FaultInjector
from harness.testing.runner import JobRunner
from pipeline.store import JobStore
from pipeline.workflow import Workflow
from tests.audit.kinds_app import KINDS, TARGET


@pytest.fixture
def jobstate_app_target() -> str:
    """Function: the app with a calling, a swallowing and a quiet stage."""
    return TARGET


@pytest.fixture
def jobstate_workflow() -> Workflow:
    """Function: that app's workflow."""
    return KINDS


def _run(job_runner: JobRunner) -> tuple[str, dict[str, object]]:
    job_id = job_runner.submit({"n": 3})
    return job_id, job_runner.wait_terminal(job_id, timeout=30)


def test_a_fault_inside_an_honest_stage_reaches_the_state(
    job_runner: JobRunner, fault_injector: FaultInjector
) -> None:
    fault_injector.raise_inside_at("CALLS")
    _, record = _run(job_runner)
    assert record["status"] == "FAILED"
    assert record["error"] == "CALLS: InjectedFault: injected failure inside CALLS"
    assert fault_injector.fired("CALLS") == 1


def test_a_stage_that_catches_everything_hides_it_and_its_cell_says_so(
    job_runner: JobRunner, fault_injector: FaultInjector, state_store: JobStore
) -> None:
    fault_injector.raise_inside_at("SWALLOWS")
    job_id, record = _run(job_runner)
    assert record["status"] == "DONE"  # the bug: the error never reached the state
    assert fault_injector.fired("SWALLOWS") == 1
    cell = judge_cell(state_store, "SWALLOWS", "exception", job_id, fired=1)
    assert cell.verdict == "fail"
    assert cell.reasons == [
        "SWALLOWS's work raised but the job says DONE: the stage swallowed the error, "
        "so it never reached the job's state"
    ]


def test_a_stage_that_calls_nothing_fails_as_it_returns(
    job_runner: JobRunner, fault_injector: FaultInjector
) -> None:
    fault_injector.raise_inside_at("QUIET")
    _, record = _run(job_runner)
    assert record["status"] == "FAILED"
    assert str(record["error"]).startswith("QUIET: InjectedFault")


def test_an_error_whose_text_cannot_be_read_is_still_written(
    job_runner: JobRunner, fault_injector: FaultInjector, state_store: JobStore
) -> None:
    fault_injector.unreadable_error_at("CALLS")
    job_id, record = _run(job_runner)
    assert record["status"] == "FAILED"
    assert str(record["error"]).startswith("CALLS: UnreadableFault")
    cell = judge_cell(state_store, "CALLS", "unreadable-error", job_id, fired=1)
    assert (cell.verdict, cell.ended_by) == ("pass", "stage")


def test_an_honest_cell_passes_and_retries_to_done(
    job_runner: JobRunner, fault_injector: FaultInjector, state_store: JobStore
) -> None:
    fault_injector.raise_inside_at("CALLS")
    job_id, _ = _run(job_runner)

    def retry(job: str) -> dict[str, object]:
        job_runner.retry(job)
        return job_runner.wait_terminal(job, timeout=30)

    cell = judge_cell(state_store, "CALLS", "exception", job_id, fired=1, retry=retry)
    assert (cell.verdict, cell.final_status, cell.ended_by) == ("pass", "FAILED", "stage")
    kinds = [entry["kind"] for entry in cell.evidence[job_id]]
    assert "retry" in kinds
    assert state_store.get_state(job_id)["status"] == "DONE"


def test_a_cell_whose_fault_never_fired_is_red(
    job_runner: JobRunner, state_store: JobStore
) -> None:
    job_id, _ = _run(job_runner)
    cell = judge_cell(state_store, "CALLS", "exception", job_id, fired=0)
    assert cell.verdict == "fail"
    assert cell.reasons == ["the fault never fired: CALLS did not run in this cell"]
