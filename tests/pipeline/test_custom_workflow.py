"""Tracking, store and recorder work for any workflow, not only the media one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import fakeredis
import pytest
from celery import Celery

from harness.testing.recorder import StateRecorder
from pipeline.celery_app import create_app
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.tracking import StageRun, Tracker
from pipeline.workflow import Workflow

FLOW = Workflow(
    name="invoices",
    statuses={
        "NEW": "Queued",
        "PARSE": "Parsing",
        "BOOK": "Booking",
        "DONE": "Booked",
        "FAILED": "Failed",
    },
    initial="NEW",
    terminal=frozenset({"DONE", "FAILED"}),
    error="FAILED",
    transitions={
        "NEW": frozenset({"PARSE"}),
        "PARSE": frozenset({"BOOK"}),
        "BOOK": frozenset({"DONE"}),
    },
    stages=("PARSE", "BOOK"),
)


def _register(tracker: Tracker) -> None:
    def parse(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
        if "fail" in ctx["url"]:
            raise ValueError("unreadable invoice")
        run.progress({"lines": 3})
        ctx["lines"] = 3
        return ctx

    def book(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
        ctx["result"] = {"booked": ctx["lines"]}
        return ctx

    tracker.stage("PARSE", name="invoices.parse")(parse)
    tracker.stage("BOOK", name="invoices.book")(book)


@pytest.fixture
def store() -> JobStore:
    """A store for the invoice workflow on a fresh fake Redis."""
    return JobStore(fakeredis.FakeRedis(), FLOW, Settings(key_prefix="inv"))


@pytest.fixture
def app(store: JobStore) -> Iterator[Celery]:
    """An eager app whose tracked stages follow the invoice workflow."""
    celery = create_app(store.settings, FLOW, register=_register)
    celery.conf.task_always_eager = True
    tracker = Tracker.of(celery)
    tracker.store_factory = lambda: store
    yield celery
    tracker.close()
    celery.close()


def _submit(store: JobStore, app: Celery, url: str) -> str:
    write = store.create(url)
    Tracker.of(app).enqueue({"job_id": write.job_id, "attempt": 1, "url": url})
    return write.job_id


def test_custom_workflow_runs_to_its_own_final_status(store: JobStore, app: Celery) -> None:
    recorder = StateRecorder(store)
    job_id = _submit(store, app, "https://example.com/invoice.pdf")
    recorder.track(job_id)
    record = store.get_state(job_id)
    assert record["status"] == "DONE"
    assert record["message"] == "Booked"
    assert record["result"] == {"booked": 3}
    recorder.assert_path(job_id, ["NEW", "PARSE", "BOOK", "DONE"])
    recorder.assert_all_legal()


def test_custom_workflow_failure_names_the_stage(store: JobStore, app: Celery) -> None:
    job_id = _submit(store, app, "https://example.com/fail.pdf")
    record = store.get_state(job_id)
    assert record["status"] == "FAILED"
    assert record["error"] == "PARSE: ValueError: unreadable invoice"
    store.retry(job_id)
    assert store.get_state(job_id)["status"] == "NEW"


def test_a_stage_outside_the_workflow_is_refused(app: Celery) -> None:
    with pytest.raises(ValueError, match="DOWNLOADING is not a stage of workflow 'invoices'"):
        Tracker.of(app).stage("DOWNLOADING")
