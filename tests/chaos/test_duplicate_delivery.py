"""Duplicate delivery on real prefork workers: one stage message delivered twice at once.

A broker redelivers a message whose visibility timeout ran out while the stage still runs,
and a publisher may send a message twice. Both deliveries run; the store lets the newest
one go on and refuses the older one's hand-off (or result), so the rest of the chain runs
once, the job completes once, the result is the surviving delivery's, and the history shows
the redelivery and the refusal.
"""

from __future__ import annotations

from collections import Counter

import pytest

from harness.fixtures.chaos import StartScenario
from harness.testing.recorder import StateRecorder
from harness.testing.runner import JobRunner
from pipeline.workflow import PRD_WORKFLOW
from tests.guarantees.test_error_propagation import BASE

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.prefork,
    pytest.mark.jobstate_celery("prefork"),
    pytest.mark.jobstate_redis("server"),
    pytest.mark.usefixtures("jobstate_worker"),
]


@pytest.fixture
def jobstate_app_target() -> str:
    """Function: ``create_app`` with stages that can deliver themselves twice."""
    return "tests.guarantees.apps:prd_app"


@pytest.mark.parametrize("stage", ["TRANSCRIBING", "GENERATING_SUMMARY"], ids=["middle", "last"])
def test_a_stage_delivered_twice_at_once_completes_once(
    job_runner: JobRunner,
    state_recorder: StateRecorder,
    chaos_scenario: StartScenario,
    stage: str,
) -> None:
    chaos_scenario(f"duplicate delivery ({stage})", f"{stage} message delivered twice at once")
    job_id = job_runner.submit(BASE + f"dup-{stage}")
    record = job_runner.wait_for(job_id, "COMPLETE", timeout=60)
    history = state_recorder.history(job_id)
    timeline = state_recorder.timeline()
    moves = Counter(e["status"] for e in history if e["kind"] == "transition")
    assert moves == Counter(PRD_WORKFLOW.happy_path()[1:]), timeline  # each status once
    again = [e["status"] for e in history if e["kind"] == "redelivered"]
    refused = [e for e in history if e["kind"] == "duplicate"]
    assert again == [stage], timeline
    assert [e["status"] for e in refused] == [stage], timeline
    assert "superseded" in refused[0]["message"]
    if stage == PRD_WORKFLOW.stages[-1]:
        assert record["result"]["delivery"] == 2  # the surviving delivery's result
    assert record["result"]["ran"] == PRD_WORKFLOW.stages[-1]
    state_recorder.assert_path(job_id, PRD_WORKFLOW.happy_path())
    state_recorder.assert_all_legal()
