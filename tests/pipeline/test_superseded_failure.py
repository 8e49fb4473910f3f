"""A stage run a newer delivery superseded may fail as it likes: the job stays with the
newer delivery. Its own error write is fenced (``by``); so must be the one Celery's
``task_failure`` signal makes for the same exception, which the tracker also handles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery

from pipeline.service import job_context
from pipeline.store import JobStore
from pipeline.tracking import StageRun, Tracker
from pipeline.workflow import Workflow

FLOW = Workflow.linear("superseded", stages={"WORK": "Working", "NEXT": "Next"})


@pytest.fixture
def store(state_store: JobStore) -> JobStore:
    """Function: a store on the test's Redis for :data:`FLOW`."""
    return JobStore(state_store.client, FLOW, state_store.settings)


@pytest.fixture
def tracker(store: JobStore) -> Iterator[Tracker]:
    """Function: a tracker whose WORK stage lets a second delivery in, then raises."""
    app = Celery("superseded", set_as_current=False)
    tracker = Tracker(app, FLOW, store_factory=lambda: store)

    @tracker.stage("WORK", name="superseded.work")
    def work(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
        if run.delivery == 1:
            # The message comes back (its child seemed lost) and delivery 2 enters.
            run.store.set_state(run.job_id, "WORK", attempt=run.attempt, max_runs=3)
            raise RuntimeError("delivery 1 fails late")
        return ctx

    @tracker.stage("NEXT", name="superseded.next")
    def after(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
        return ctx

    yield tracker
    tracker.close()
    app.close()


def test_a_superseded_runs_failure_leaves_the_job_to_the_newer_delivery(
    store: JobStore, tracker: Tracker
) -> None:
    job_id = store.create("https://example.com/a.mp3").job_id
    result = tracker.tasks["WORK"].apply(args=[job_context(store.get_state(job_id))])
    assert result.state == "FAILURE"  # delivery 1 failed, as Celery saw it
    record = store.get_state(job_id)
    assert (record["status"], record["error"]) == ("WORK", None), record
    kinds = [(e["kind"], e["status"]) for e in store.history(job_id)]
    assert kinds[-1] == ("duplicate", "WORK"), kinds  # its error write, refused and recorded
    assert ("transition", "ERROR") not in kinds


def test_a_current_runs_failure_is_written_once(store: JobStore, tracker: Tracker) -> None:
    job_id = store.create("https://example.com/a.mp3").job_id
    store.set_state(job_id, "WORK", attempt=1, max_runs=3)  # delivery 1 of WORK entered
    ctx = job_context(store.get_state(job_id))
    result = tracker.tasks["WORK"].apply(args=[ctx])  # delivery 2: it does not raise
    assert result.state == "SUCCESS"
