"""What keeps a stage's own code from running when it must not, and stops it when the job
moves on: the redelivery cap at entry, and the heartbeat that finds the run fenced out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from pipeline.service import job_context
from pipeline.store import JobStore
from pipeline.tracking import Heartbeat, StageRun, Tracker
from pipeline.waiting import wait_until
from pipeline.workflow import Workflow

FLOW = Workflow.linear("guards", stages={"WORK": "Working", "NEXT": "Next"})
CAP = 2


@pytest.fixture
def store(state_store: JobStore) -> JobStore:
    """Function: a store on the test's Redis for :data:`FLOW`."""
    return JobStore(state_store.client, FLOW, state_store.settings.with_(max_stage_runs=CAP))


@pytest.fixture
def calls() -> list[int]:
    """Function: the deliveries the WORK stage's own code ran for."""
    return []


@pytest.fixture
def tracker(store: JobStore, calls: list[int]) -> Iterator[Tracker]:
    """Function: a tracker (redelivery cap :data:`CAP`) whose WORK stage notes each run."""
    app = Celery("guards", set_as_current=False)
    app.conf.jobstate_settings = store.settings
    tracker = Tracker(app, FLOW, store_factory=lambda: store)

    @tracker.stage("WORK", name="guards.work")
    def work(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
        calls.append(run.delivery)
        raise RuntimeError("the test only counts runs")

    yield tracker
    tracker.close()
    app.close()


def test_the_delivery_past_the_cap_never_runs_the_stage(
    store: JobStore, tracker: Tracker, calls: list[int]
) -> None:
    job_id = store.create("https://example.com/a.mp3").job_id
    for _ in range(CAP):  # deliveries 1..CAP entered (their children lost)
        store.set_state(job_id, "WORK", attempt=1, max_runs=CAP)
    result = tracker.tasks["WORK"].apply(args=[job_context(store.get_state(job_id))])
    assert result.state == "IGNORED"
    assert calls == []
    record = store.get_state(job_id)
    assert record["status"] == FLOW.error
    assert record["error"] == f"WORK: gave up after {CAP} deliveries (worker lost?)"


@pytest.mark.parametrize("move", ["retry", "clear"])
def test_a_heartbeat_that_finds_the_run_fenced_out_stops_it(
    store: JobStore, tmp_path: Path, move: str
) -> None:
    job_id = store.create("https://example.com/a.mp3").job_id
    store.set_state(job_id, "WORK", attempt=1)
    run = StageRun(store, job_id, 1, "WORK", "task-1", store.settings, tmp_path)
    with Heartbeat(run, interval=0.05):
        if move == "retry":
            store.fail(job_id, "boom", attempt=1, stage="WORK")
            store.retry(job_id)  # attempt 2: this run is stale
        else:
            store.clear_state(job_id)
        wait_until(run.stop.is_set, timeout=5, interval=0.01, what="the run told to stop")
