"""Strategy-driven properties of the store, on any workflow."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from harness import strategies as hs
from harness.machines import StoreFactory
from pipeline import validation as v
from pipeline.errors import InvalidTransition, ValidationError
from pipeline.redaction import redact, redact_text
from pipeline.store import JobStore
from pipeline.workflow import PRD_WORKFLOW, Workflow
from tests.property.workflows import REVIEW, TINY

URL = "https://media.example.com/a.mp3"
ALL = [PRD_WORKFLOW, REVIEW, TINY]


def apply(store: JobStore, job_id: str, step: hs.Step) -> None:
    """Apply one generated step through the public API."""
    if step.kind == "retry":
        store.retry(job_id)
    else:
        error = "boom" if step.status == store.workflow.error else None
        store.set_state(job_id, step.status, error=error)


def state_of(store: JobStore, job_id: str) -> tuple[Any, Any]:
    """The record and history, to compare before/after a refused write."""
    return store.get_state(job_id), store.history(job_id)


@pytest.mark.parametrize("wf", ALL, ids=lambda w: w.name)
@given(data=st.data())
def test_a_legal_sequence_is_applied_and_recorded(
    store_factory: StoreFactory, wf: Workflow, data: st.DataObject
) -> None:
    steps = data.draw(hs.legal_sequences(wf), label="steps")
    store = store_factory(wf)
    job_id = store.create(URL).job_id
    for step in steps:
        apply(store, job_id, step)
    record, history = state_of(store, job_id)
    assert record["status"] == (steps[-1].status if steps else wf.initial)
    assert record["version"] == 1 + len(steps)
    assert record["attempt"] == 1 + sum(step.kind == "retry" for step in steps)
    assert [(e["kind"], e["status"]) for e in history] == hs.as_path(wf, steps)
    assert [e["version"] for e in history] == list(range(1, len(steps) + 2))


@pytest.mark.parametrize("wf", ALL, ids=lambda w: w.name)
@given(data=st.data())
def test_the_first_illegal_step_is_refused_and_changes_nothing(
    store_factory: StoreFactory, wf: Workflow, data: st.DataObject
) -> None:
    steps = data.draw(hs.illegal_sequences(wf), label="steps")
    index = hs.first_illegal(wf, steps)
    assert index is not None
    store = store_factory(wf)
    job_id = store.create(URL).job_id
    for step in steps[:index]:
        apply(store, job_id, step)
    before = state_of(store, job_id)
    with pytest.raises(InvalidTransition):
        apply(store, job_id, steps[index])
    assert state_of(store, job_id) == before


@given(message=hs.hostile_text(), error=hs.error_texts())
@example(message="see https://u:pw@host/x", error="token=abc123 leaked")
def test_hostile_text_is_stored_as_clean_text(
    store_factory: StoreFactory, jobstate_workflow: Workflow, message: str, error: str
) -> None:
    store = store_factory(jobstate_workflow)
    job_id = store.create(URL, message=message).job_id
    store.fail(job_id, error)
    record = store.get_state(job_id)
    history = store.history(job_id)
    # Reads show text through the one redaction (hostile text may look like a secret).
    expected_message = v.clean_text(message, "message", v.MAX_MESSAGE)
    assert history[0]["message"] == redact_text(
        expected_message or jobstate_workflow.message(jobstate_workflow.initial),
        store.redactor,
    )
    assert record["error"] == redact_text(v.clean_text(error, "error", v.MAX_ERROR), store.redactor)
    for text in (record["error"], history[0]["message"]):
        assert not any(unicodedata.category(ch).startswith("C") for ch in text)


@given(meta=hs.metadata(), job_id=hs.job_ids())
def test_metadata_round_trips(
    store_factory: StoreFactory,
    jobstate_workflow: Workflow,
    meta: dict[str, Any],
    job_id: str,
) -> None:
    store = store_factory(jobstate_workflow)
    store.create(meta["url"], job_id=job_id, space_id=meta["space_id"], task_id=meta["task_id"])
    assert store.get_state(job_id, reveal_credentials=True)["metadata"] == meta
    shown = {**meta, "url": redact_text(meta["url"], store.redactor)}
    assert store.get_state(job_id)["metadata"] == shown


@given(value=hs.progress_values())
@example(value={"CREDENTIAL": False})
def test_progress_round_trips_as_json(
    store_factory: StoreFactory, jobstate_workflow: Workflow, value: Any
) -> None:
    store = store_factory(jobstate_workflow)
    job_id = store.create(URL).job_id
    store.progress(job_id, value)
    # Stored as given; every read shows it through the one redaction (a key such as
    # "CREDENTIAL" is masked), whatever the generator happens to draw.
    assert store.get_state(job_id, reveal_credentials=True)["progress"] == value
    assert store.get_state(job_id)["progress"] == redact(value, store.redactor)


@given(job_id=hs.invalid_job_ids())
def test_invalid_job_ids_are_refused_before_any_write(
    store_factory: StoreFactory, jobstate_workflow: Workflow, job_id: Any
) -> None:
    store = store_factory(jobstate_workflow)
    with pytest.raises(ValidationError) as caught:
        store.create(URL, job_id=job_id)
    assert caught.value.field == "job_id"
    assert list(store.client.scan_iter(match=f"{store.settings.key_prefix}:*")) == []
