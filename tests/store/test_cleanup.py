"""Index-driven cleanup: stale jobs to the error status, old errors purged, old completed
jobs archived. Jobs are made old by real Redis time passing between two groups."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.batch import Batch
from pipeline.cleanup import (
    BATCH,
    SweepReport,
    archive_completed,
    mark_stale,
    purge_errors,
    sweep_all,
)
from pipeline.errors import JobNotFound, ValidationError
from pipeline.store import JobStore, Sweep
from pipeline.workflow import Workflow
from tests.store.conftest import URL, age_between, new_job, time_gap, ttl


def _jobs(store: JobStore, prefix: str, statuses: list[str]) -> list[str]:
    return [new_job(store, s, job_id=f"{prefix}-{n}") for n, s in enumerate(statuses)]


def test_mark_stale_fails_only_silent_running_jobs(store: JobStore, wf: Workflow) -> None:
    happy = wf.happy_path()
    old_running = _jobs(store, "old", happy[:-1])
    old_done = _jobs(store, "done", [happy[-1], wf.error])
    heartbeating = _jobs(store, "beat", [happy[1]])
    before, after = time_gap(store.client)
    store.heartbeat(heartbeating[0])
    fresh = _jobs(store, "new", happy[:-1])
    stale = mark_stale(store, older_than=age_between(store.client, before, after))
    assert sorted(stale) == sorted(old_running)
    for job_id in old_running:
        record = store.get_state(job_id)
        assert record["status"] == wf.error
        assert record["error"].startswith("stale: no heartbeat or progress")
        assert store.history(job_id)[-1]["kind"] == "stale"
        assert store.client.zscore(store.keys.running, job_id) is None
        assert store.client.zscore(store.keys.errored, job_id) is not None
    for job_id in [*fresh, *heartbeating]:
        assert store.get_state(job_id)["status"] != wf.error
    assert [store.get_state(j)["version"] for j in old_done] == [
        len(store.history(j)) for j in old_done
    ]
    assert mark_stale(store, older_than=age_between(store.client, before, after)) == []


def test_a_lagging_index_never_fails_a_live_job(store: JobStore, wf: Workflow) -> None:
    job_id = new_job(store, wf.happy_path()[1])
    # As if the index update after a heartbeat had not landed yet (cluster mode lag).
    store.client.zadd(store.keys.running, {job_id: 0})
    assert mark_stale(store, older_than=60) == []
    assert store.get_state(job_id)["status"] == wf.happy_path()[1]


def test_a_job_alive_only_by_its_heartbeat_is_not_stale_whatever_the_index_says(
    store: JobStore, wf: Workflow
) -> None:
    """A long stage reports no progress, only beats: its last change is old, its last
    beat fresh. Even with the index lagging behind the beat, the sweep leaves it."""
    running = wf.happy_path()[1]
    job_id = new_job(store, running)
    before, after = time_gap(store.client)  # the job's last change is now old
    store.heartbeat(job_id)  # alive: a beat after the gap, no progress
    store.client.zadd(store.keys.running, {job_id: 0})  # the index has not seen the beat
    assert mark_stale(store, older_than=age_between(store.client, before, after)) == []
    assert store.get_state(job_id)["status"] == running


def test_the_default_sweep_waits_the_stale_threshold_not_a_heartbeat(
    store: JobStore, wf: Workflow
) -> None:
    """With no age given the sweep uses JOBSTATE_STALE_AFTER_SECONDS (here its least, 1 s,
    twice a 0.5 s heartbeat): the error it writes names the threshold it used."""
    quick = JobStore(
        store.client, wf, store.settings.with_(stale_after_seconds=1, heartbeat_seconds=0.5)
    )
    job_id = new_job(quick, wf.happy_path()[1])
    time_gap(quick.client, ms=1100)  # silent for longer than both
    assert mark_stale(quick) == [job_id]
    error = quick.get_state(job_id)["error"]
    assert error.startswith("stale: no heartbeat or progress for 1s "), error


def test_sweeps_drop_index_entries_of_vanished_jobs(store: JobStore, wf: Workflow) -> None:
    ghosts = {
        store.keys.running: "gone-run",
        store.keys.errored: "gone-err",
        store.keys.completed: "gone-done",
    }
    for index, job_id in ghosts.items():
        store.client.zadd(index, {job_id: 0})
    assert mark_stale(store, older_than=1) == []
    assert purge_errors(store, older_than=1) == []
    assert archive_completed(store, older_than=1) == []
    for index, job_id in ghosts.items():
        assert store.client.zscore(index, job_id) is None


def test_purge_errors_deletes_only_old_errors(store: JobStore, wf: Workflow) -> None:
    happy = wf.happy_path()
    old_errors = _jobs(store, "old-err", [wf.error, wf.error])
    old_done = _jobs(store, "old-done", [happy[-1]])
    before, after = time_gap(store.client)
    new_errors = _jobs(store, "new-err", [wf.error])
    purged = purge_errors(store, older_than=age_between(store.client, before, after))
    assert sorted(purged) == sorted(old_errors)
    for job_id in old_errors:
        assert store.find_state(job_id) is None
        assert store.history(job_id) == []
        for index in store.keys.indexes():
            assert store.client.zscore(index, job_id) is None
    assert [store.get_state(j)["status"] for j in [*new_errors, *old_done]] == [wf.error, happy[-1]]
    listed = {r["job_id"] for r in store.list_jobs()}
    assert listed == {*new_errors, *old_done}


def test_archive_moves_old_completed_jobs_out_of_the_live_set(
    store: JobStore, wf: Workflow
) -> None:
    happy = wf.happy_path()
    old = _jobs(store, "old", [happy[-1], happy[-1], wf.error, happy[1]])
    records = {j: store.get_state(j) for j in old[:2]}
    histories = {j: store.history(j) for j in old[:2]}
    before, after = time_gap(store.client)
    new = _jobs(store, "new", [happy[-1]])
    archived = archive_completed(
        store, older_than=age_between(store.client, before, after), ttl=3600
    )
    assert sorted(archived) == sorted(old[:2])
    for job_id in archived:
        with pytest.raises(JobNotFound):
            store.get_state(job_id)
        assert store.get_archived(job_id) == records[job_id]
        assert store.history(job_id, archived=True) == histories[job_id]
        assert 3590 <= ttl(store.client, store.keys.archived(job_id)) <= 3600
        assert 3590 <= ttl(store.client, store.keys.archived_history(job_id)) <= 3600
        assert store.client.zscore(store.keys.completed, job_id) is None
    assert {r["job_id"] for r in store.list_jobs()} == {*old[2:], *new}
    if not store.settings.cluster:
        archive_index = store.client.zrange(store.keys.archive, 0, -1)
        assert sorted(x.decode() for x in archive_index) == sorted(old[:2])


def test_archive_without_ttl_keeps_forever(store: JobStore, wf: Workflow) -> None:
    job_id = new_job(store, wf.happy_path()[-1])
    before, after = time_gap(store.client)
    new_job(store, wf.happy_path()[-1])
    assert archive_completed(store, age_between(store.client, before, after), ttl=0) == [job_id]
    assert ttl(store.client, store.keys.archived(job_id)) == -1


def test_sweep_all_runs_each_sweep_with_a_threshold(store: JobStore, wf: Workflow) -> None:
    happy = wf.happy_path()
    running, errored, done = _jobs(store, "old", [happy[1], wf.error, happy[-1]])
    before, after = time_gap(store.client)
    only_stale = sweep_all(store, stale_after=age_between(store.client, before, after))
    assert only_stale == SweepReport(stale=[running])
    age = age_between(store.client, before, after)
    report = sweep_all(store, stale_after=age, purge_after=age, archive_after=age)
    assert report == SweepReport(stale=[], purged=[errored], archived=[done])
    assert store.get_state(running)["status"] == wf.error  # freshly failed: not purged


def test_a_sweep_goes_through_every_page_of_candidates(
    state_store: JobStore, jobstate_workflow: Workflow
) -> None:
    stage = jobstate_workflow.happy_path()[1]
    batch = Batch(state_store)
    stale = [f"stale-{n}" for n in range(2 * BATCH + 50)]
    for job_id in stale:
        batch.create(URL, job_id=job_id)
        batch.set_state(job_id, stage)
    batch.flush()
    before, after = time_gap(state_store.client, ms=2000)  # longer than the sweep takes, loaded
    lagging = [new_job(state_store, stage, job_id=f"live-{n}") for n in range(BATCH + 10)]
    # Live jobs whose index entry still says "idle since forever" come first in the index.
    state_store.client.zadd(state_store.keys.running, dict.fromkeys(lagging, 0))
    marked = mark_stale(state_store, older_than=age_between(state_store.client, before, after))
    assert sorted(marked) == sorted(stale)
    assert all(state_store.get_state(j)["status"] == stage for j in lagging)


BAD_AGES = st.sampled_from([math.nan, math.inf, -math.inf, True, "60"]) | st.floats(max_value=-1e-9)
SWEEP_DOORS: dict[str, Callable[[JobStore, Any], object]] = {
    "mark_stale": lambda store, age: mark_stale(store, older_than=age),
    "purge_errors": purge_errors,
    "archive_completed": archive_completed,
    "sweep_all(stale_after)": lambda store, age: sweep_all(store, stale_after=age),
    "sweep_all(purge_after)": lambda store, age: sweep_all(store, purge_after=age),
    "sweep_all(archive_after)": lambda store, age: sweep_all(store, archive_after=age),
    "store.sweep": lambda store, age: store.sweep(Sweep.MARK_STALE, "some-job", age, "stale"),
    "archive ttl": lambda store, age: archive_completed(store, 0, ttl=age),
}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(age=BAD_AGES, door=st.sampled_from(sorted(SWEEP_DOORS)))
def test_an_age_no_sweep_can_use_is_refused_and_no_job_moves(
    store: JobStore, wf: Workflow, age: Any, door: str
) -> None:
    # Slip: a negative age matched every job (a sweep failing running jobs, purging every
    # error) and nan failed half-way with Python's own words.
    happy = wf.happy_path()
    jobs = _jobs(store, f"kept-{uuid.uuid4().hex[:8]}", [happy[1], wf.error, happy[-1]])
    before = [store.get_state(j) for j in jobs]
    with pytest.raises(ValidationError) as refused:
        SWEEP_DOORS[door](store, age)
    assert refused.value.field in {"older_than", "ttl"}
    assert [store.get_state(j) for j in jobs] == before


def test_an_age_of_zero_is_a_sweep_of_everything_due_now(store: JobStore, wf: Workflow) -> None:
    job_id = new_job(store, wf.happy_path()[1])
    time_gap(store.client)
    assert mark_stale(store, older_than=0) == [job_id]
