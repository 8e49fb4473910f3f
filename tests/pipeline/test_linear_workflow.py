"""``Workflow.linear`` builds the same workflow as spelling it out by hand."""

from __future__ import annotations

import pytest

from pipeline.job_input import JobInput
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
