"""The strategies generate what they promise, for any workflow."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from harness import strategies as hs
from pipeline import validation as v
from pipeline.errors import ValidationError
from pipeline.workflow import PRD_WORKFLOW, Workflow
from tests.property.workflows import REVIEW, TINY

ALL = [PRD_WORKFLOW, REVIEW, TINY]


@pytest.mark.parametrize("wf", ALL, ids=lambda w: w.name)
@given(data=st.data())
def test_legal_sequences_are_legal_paths(wf: Workflow, data: st.DataObject) -> None:
    steps = data.draw(hs.legal_sequences(wf))
    assert hs.first_illegal(wf, steps) is None
    assert wf.is_legal_path(hs.as_path(wf, steps))


@pytest.mark.parametrize("wf", ALL, ids=lambda w: w.name)
@given(data=st.data())
def test_legal_sequences_without_retries_stop_at_terminal(
    wf: Workflow, data: st.DataObject
) -> None:
    steps = data.draw(hs.legal_sequences(wf, retries=False))
    assert all(step.kind == "transition" for step in steps)
    assert all(step.status not in wf.terminal for step in steps[:-1])


@pytest.mark.parametrize("wf", ALL, ids=lambda w: w.name)
@given(data=st.data())
def test_illegal_sequences_contain_an_illegal_step(wf: Workflow, data: st.DataObject) -> None:
    steps = data.draw(hs.illegal_sequences(wf))
    index = hs.first_illegal(wf, steps)
    assert index is not None
    assert not wf.is_legal_path(hs.as_path(wf, steps))
    assert wf.is_legal_path(hs.as_path(wf, steps[:index]))


@pytest.mark.parametrize("wf", ALL, ids=lambda w: w.name)
@given(data=st.data())
def test_status_strategies_stay_in_their_set(wf: Workflow, data: st.DataObject) -> None:
    assert data.draw(hs.statuses(wf)) in wf.statuses
    assert data.draw(hs.running_statuses(wf)) in wf.running
    assert data.draw(hs.terminal_statuses(wf)) in wf.terminal


@given(hs.metadata())
def test_metadata_is_valid(meta: dict[str, str | None]) -> None:
    checked = v.check_metadata(meta)
    assert checked["url"] == meta["url"]


@given(hs.job_ids())
def test_job_ids_are_valid(job_id: str) -> None:
    assert v.check_job_id(job_id) == job_id


@given(hs.invalid_job_ids())
def test_invalid_job_ids_are_refused(job_id: object) -> None:
    with pytest.raises(ValidationError):
        v.check_job_id(job_id)


@given(hs.error_texts())
def test_error_texts_survive_cleaning(text: str) -> None:
    assert v.clean_text(text, "error", v.MAX_ERROR)


@given(hs.hostile_text())
def test_cleaned_hostile_text_has_no_control_characters(text: str) -> None:
    cleaned = v.clean_text(text, "message", v.MAX_MESSAGE)
    assert len(cleaned) <= v.MAX_MESSAGE
    assert not any(unicodedata.category(ch).startswith("C") for ch in cleaned)


def test_hostile_text_covers_the_classics() -> None:
    joined = "".join(hs.HOSTILE_SAMPLES)
    for needle in ("<img src=x onerror=", "</script><script>", "javascript:", "\x00", "\u202e"):
        assert needle in joined
    assert max(len(s) for s in hs.HOSTILE_SAMPLES) >= 100_000


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (v.check_job_id, "job1\n"),
        (v.check_task_id, "task-1\n"),
        (v.check_space_id, "space\n"),
    ],
)
def test_a_final_newline_is_refused(check: Any, value: str) -> None:
    with pytest.raises(ValidationError):
        check(value)


def _first_bad(wf: Workflow, steps: list[hs.Step]) -> tuple[str, str, str]:
    """(status it was taken from, kind, status) of the first illegal step."""
    index = hs.first_illegal(wf, steps)
    assert index is not None
    before = hs.as_path(wf, steps[:index])
    return (before[-1] if before else wf.initial), steps[index].kind, steps[index].status


@pytest.mark.parametrize("wf", ALL, ids=lambda w: w.name)
def test_illegal_sequences_reach_both_kinds_of_forbidden_step(wf: Workflow) -> None:
    """A store's property test probes what the strategy can draw: a retry from a status
    other than the error status, and a transition the table forbids, are both drawn."""
    budget = settings(max_examples=5000, database=None, deadline=None)
    retry = find(
        hs.illegal_sequences(wf),
        lambda s: _first_bad(wf, s)[1] == "retry" and _first_bad(wf, s)[0] != wf.error,
        settings=budget,
    )
    assert _first_bad(wf, retry)[2] == wf.initial
    moved = find(
        hs.illegal_sequences(wf), lambda s: _first_bad(wf, s)[1] == "transition", settings=budget
    )
    source, _, target = _first_bad(wf, moved)
    assert not wf.allowed(source, target)
