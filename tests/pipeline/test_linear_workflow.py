"""``Workflow.linear`` builds the same workflow as spelling it out by hand."""

from __future__ import annotations

import pytest

from harness.testing.recorder import StateRecorder
from pipeline.job_input import JobInput
from pipeline.store import JobStore
from pipeline.workflow import PRD_WORKFLOW, Workflow


def test_linear_equals_the_hand_spelled_workflow() -> None:
    by_hand = Workflow(
        name="mine",
        statuses={"NEW": "Queued", "WORK": "Working", "FAILED": "Failed", "DONE": "Done"},
        initial="NEW",
        terminal=frozenset({"DONE", "FAILED"}),
        error="FAILED",
        transitions={"NEW": {"WORK"}, "WORK": {"DONE"}},
        stages=("WORK",),
    )
    linear = Workflow.linear(
        "mine",
        initial=("NEW", "Queued"),
        stages={"WORK": "Working"},
        done=("DONE", "Done"),
        error=("FAILED", "Failed"),
    )
    assert linear == by_hand


def test_stages_run_in_the_given_order() -> None:
    wf = Workflow.linear("abc", stages={"A": "a", "B": "b", "C": "c"}, input=JobInput())
    assert wf.happy_path() == ["INIT", "A", "B", "C", "COMPLETE"]
    assert wf.allowed("A", "B")
    assert not wf.allowed("A", "C")
    assert wf.allowed("B", "ERROR")


def test_the_prd_workflow_is_linear() -> None:
    assert PRD_WORKFLOW.happy_path() == [
        "INIT",
        "DOWNLOADING",
        "TRANSCRIBING",
        "GENERATING_QUOTES",
        "GENERATING_SUMMARY",
        "COMPLETE",
    ]


def test_a_stage_named_like_a_fixed_status_is_refused() -> None:
    with pytest.raises(ValueError, match="terminal status DONE has exits"):
        Workflow.linear("bad", stages={"DONE": "x"}, done=("DONE", "Done"))


def test_a_recorded_path_of_statuses_is_checked_as_it_comes() -> None:
    wf = PRD_WORKFLOW
    assert wf.is_legal_path(wf.happy_path())
    assert wf.is_legal_path(["INIT", "DOWNLOADING", "ERROR", "INIT", "DOWNLOADING"])
    assert not wf.is_legal_path(["INIT", "TRANSCRIBING"])
    assert not wf.is_legal_path(["DOWNLOADING"])


def test_a_step_of_another_shape_names_both_shapes() -> None:
    with pytest.raises(TypeError, match=r"a status or a \(kind, status\) pair, not \('a',\)"):
        PRD_WORKFLOW.is_legal_path([("a",)])  # type: ignore[list-item]


def test_the_recorders_path_and_steps_both_fit_is_legal_path(
    state_store: JobStore, state_recorder: StateRecorder, jobstate_workflow: Workflow
) -> None:
    wf = jobstate_workflow
    job_id = state_store.create("https://media.example.com/a.mp3").job_id
    state_store.set_state(job_id, wf.stages[0])
    state_store.progress(job_id, {"percent": 5})
    assert wf.is_legal_path(state_recorder.path(job_id))
    assert wf.is_legal_path(state_recorder.steps(job_id))
    assert state_recorder.steps(job_id)[-1] == ("progress", wf.stages[0])
