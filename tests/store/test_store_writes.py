"""Every write of the store: create, transitions, fencing, progress, heartbeat, retry, clear."""

from __future__ import annotations

import pytest

from pipeline.batch import Batch
from pipeline.errors import InvalidTransition, JobExists, JobNotFound, StaleAttempt
from pipeline.store import JobStore, Sweep
from pipeline.workflow import Workflow
from tests.store.conftest import URL, new_job, snapshot, time_gap, walk


def raw(store: JobStore, job_id: str) -> dict[bytes, bytes]:
    """The job's hash as stored."""
    result: dict[bytes, bytes] = store.client.hgetall(store.keys.state(job_id))
    return result


# -- create ---------------------------------------------------------------------------------


def test_create_starts_in_the_initial_status(store: JobStore, wf: Workflow) -> None:
    write = store.create(URL, job_id="job-1", space_id="space-9", task_id="t-1", message="hi")
    record = store.get_state("job-1")
    assert (write.version, write.attempt, write.status) == (1, 1, wf.initial)
    assert record["status"] == wf.initial
    assert record["message"] == "hi"
    assert record["metadata"] == {"url": URL, "space_id": "space-9", "task_id": "t-1"}
    assert record["error"] is None
    assert record["created_at"] == record["updated_at"] == record["heartbeat_at"]


def test_create_without_an_id_picks_a_fresh_one(store: JobStore) -> None:
    first, second = store.create(URL), store.create(URL)
    assert first.job_id != second.job_id
    assert store.get_state(first.job_id)["job_id"] == first.job_id


def test_create_uses_the_default_message(store: JobStore, wf: Workflow) -> None:
    job_id = store.create(URL).job_id
    assert store.get_state(job_id)["message"] == wf.message(wf.initial)


def test_duplicate_id_is_refused_and_the_job_kept(store: JobStore, wf: Workflow) -> None:
    job_id = new_job(store, wf.happy_path()[1], job_id="dup")
    before = snapshot(store.client, store.settings.key_prefix)
    with pytest.raises(JobExists):
        store.create("https://other.example.org/x.mp3", job_id=job_id)
    assert snapshot(store.client, store.settings.key_prefix) == before


# -- transitions ----------------------------------------------------------------------------


def test_each_happy_transition_bumps_the_version_once(store: JobStore, wf: Workflow) -> None:
    job_id = new_job(store)
    for version, status in enumerate(wf.happy_path()[1:], start=2):
        write = store.set_state(job_id, status, attempt=1)
        record = store.get_state(job_id)
        assert (write.version, write.status) == (version, status)
        assert (record["version"], record["status"]) == (version, status)
        assert record["message"] == wf.message(status)


def test_every_allowed_edge_is_accepted(store: JobStore, wf: Workflow) -> None:
    for source in sorted(wf.running):
        for target in sorted(wf.allowed_from(source)):
            job_id = new_job(store, source)
            error = "boom" if target == wf.error else None
            assert store.set_state(job_id, target, error=error).status == target
            assert store.get_state(job_id)["status"] == target


def test_forbidden_edges_raise_and_change_nothing(store: JobStore, wf: Workflow) -> None:
    for source in sorted(wf.statuses):
        job_id = new_job(store, source)
        for target in sorted(set(wf.statuses) - wf.allowed_from(source)):
            before = snapshot(store.client, store.settings.key_prefix)
            with pytest.raises(InvalidTransition) as caught:
                store.set_state(job_id, target, error="boom")
            assert (caught.value.current, caught.value.requested) == (source, target)
            assert snapshot(store.client, store.settings.key_prefix) == before


def test_skipping_a_stage_is_refused(store: JobStore, wf: Workflow) -> None:
    happy = wf.happy_path()
    job_id = new_job(store)
    with pytest.raises(InvalidTransition):
        store.set_state(job_id, happy[2])
    assert store.get_state(job_id)["status"] == wf.initial


def test_set_state_carries_message_task_progress_and_result(store: JobStore, wf: Workflow) -> None:
    happy = wf.happy_path()
    job_id = new_job(store, happy[-2])
    store.set_state(
        job_id,
        happy[-1],
        message="all done",
        task_id="task-9",
        progress={"pct": 100},
        result={"quotes": ["a"], "summary": "s"},
    )
    record = store.get_state(job_id)
    assert record["message"] == "all done"
    assert record["metadata"]["task_id"] == "task-9"
    assert record["progress"] == {"pct": 100}
    assert record["result"] == {"quotes": ["a"], "summary": "s"}


def test_fail_records_the_stage_and_error(store: JobStore, wf: Workflow) -> None:
    stage = wf.happy_path()[1]
    job_id = new_job(store, stage)
    write = store.fail(job_id, "disk full", attempt=1, stage=stage)
    record = store.get_state(job_id)
    assert write.status == record["status"] == wf.error
    assert record["error"] == f"{stage}: disk full"
    assert record["message"] == wf.message(wf.error)


def test_an_unknown_job_is_not_found(store: JobStore, wf: Workflow) -> None:
    for write in (
        lambda: store.set_state("ghost", wf.happy_path()[1]),
        lambda: store.progress("ghost", 1),
        lambda: store.heartbeat("ghost"),
        lambda: store.retry("ghost"),
        lambda: store.fail("ghost", "x"),
    ):
        with pytest.raises(JobNotFound):
            write()
    assert snapshot(store.client, store.settings.key_prefix) == {}


# -- terminal statuses and late writes --------------------------------------------------------


@pytest.mark.parametrize("end", ["done", "error"])
def test_late_writes_after_a_terminal_status_are_refused(
    store: JobStore, wf: Workflow, end: str
) -> None:
    happy = wf.happy_path()
    job_id = new_job(store, happy[-1] if end == "done" else wf.error)
    before = snapshot(store.client, store.settings.key_prefix)
    for late in (
        lambda: store.set_state(job_id, happy[1], attempt=1),
        lambda: store.set_state(job_id, happy[-1], attempt=1),
        lambda: store.progress(job_id, {"pct": 50}, attempt=1),
        lambda: store.heartbeat(job_id, attempt=1),
        lambda: store.fail(job_id, "late crash", attempt=1),
    ):
        with pytest.raises(InvalidTransition):
            late()
    assert snapshot(store.client, store.settings.key_prefix) == before


# -- fencing --------------------------------------------------------------------------------


def test_a_retried_job_fences_off_the_old_attempt(store: JobStore, wf: Workflow) -> None:
    stage = wf.happy_path()[1]
    job_id = new_job(store, wf.error)
    assert store.retry(job_id, attempt=1).attempt == 2
    before = snapshot(store.client, store.settings.key_prefix)
    for stale in (
        lambda: store.set_state(job_id, stage, attempt=1),
        lambda: store.progress(job_id, 10, attempt=1),
        lambda: store.heartbeat(job_id, attempt=1),
        lambda: store.fail(job_id, "old worker", attempt=1),
        lambda: store.retry(job_id, attempt=1),
    ):
        with pytest.raises(StaleAttempt) as caught:
            stale()
        assert (caught.value.attempt, caught.value.current) == (1, 2)
    assert snapshot(store.client, store.settings.key_prefix) == before
    assert store.set_state(job_id, stage, attempt=2).status == stage


def test_a_future_attempt_is_also_stale(store: JobStore, wf: Workflow) -> None:
    job_id = new_job(store)
    with pytest.raises(StaleAttempt):
        store.set_state(job_id, wf.happy_path()[1], attempt=7)
    assert store.get_state(job_id)["version"] == 1


def test_attempt_zero_is_an_unfenced_operator_write(store: JobStore, wf: Workflow) -> None:
    job_id = new_job(store, wf.error)
    store.retry(job_id)
    assert store.set_state(job_id, wf.happy_path()[1], attempt=0).attempt == 2


# -- progress and heartbeat -------------------------------------------------------------------


def test_progress_bumps_version_and_keeps_status(store: JobStore, wf: Workflow) -> None:
    stage = wf.happy_path()[1]
    job_id = new_job(store, stage)
    write = store.progress(job_id, {"bytes": 512}, attempt=1, status=stage, message="half")
    record = store.get_state(job_id)
    assert (write.version, write.status) == (3, stage)
    assert (record["progress"], record["message"], record["status"]) == (
        {"bytes": 512},
        "half",
        stage,
    )
    assert store.history(job_id)[-1]["kind"] == "progress"


def test_progress_without_message_keeps_the_message(store: JobStore, wf: Workflow) -> None:
    stage = wf.happy_path()[1]
    job_id = new_job(store, stage)
    store.progress(job_id, 1)
    assert store.get_state(job_id)["message"] == wf.message(stage)


def test_progress_for_another_status_is_refused(store: JobStore, wf: Workflow) -> None:
    happy = wf.happy_path()
    job_id = new_job(store, happy[1])
    before = snapshot(store.client, store.settings.key_prefix)
    with pytest.raises(InvalidTransition):
        store.progress(job_id, {"pct": 5}, attempt=1, status=happy[2])
    with pytest.raises(InvalidTransition):
        store.heartbeat(job_id, attempt=1, status=happy[2])
    assert snapshot(store.client, store.settings.key_prefix) == before


def test_a_transition_resets_progress(store: JobStore, wf: Workflow) -> None:
    happy = wf.happy_path()
    job_id = new_job(store, happy[1])
    store.progress(job_id, {"pct": 90})
    store.set_state(job_id, happy[2])
    assert store.get_state(job_id)["progress"] is None


def test_heartbeat_moves_only_the_heartbeat(store: JobStore, wf: Workflow) -> None:
    stage = wf.happy_path()[1]
    job_id = new_job(store, stage)
    before = raw(store, job_id)
    history = store.history(job_id)
    write = store.heartbeat(job_id, attempt=1, status=stage)
    after = raw(store, job_id)
    assert write.version == int(after[b"version"]) == int(before[b"version"])
    assert int(after[b"heartbeat_ms"]) >= int(before[b"heartbeat_ms"])
    assert {k: v for k, v in after.items() if k != b"heartbeat_ms"} == {
        k: v for k, v in before.items() if k != b"heartbeat_ms"
    }
    assert store.history(job_id) == history


# -- retry ----------------------------------------------------------------------------------


def test_retry_starts_a_clean_new_attempt(store: JobStore, wf: Workflow) -> None:
    job_id = new_job(store, wf.happy_path()[1])
    store.progress(job_id, {"pct": 40})
    store.fail(job_id, "network down")
    write = store.retry(job_id, attempt=1, message="trying again")
    record = store.get_state(job_id)
    assert (write.status, write.attempt) == (wf.initial, 2)
    assert record["status"] == wf.initial
    assert (record["attempt"], record["message"], record["error"]) == (2, "trying again", None)
    assert record["progress"] is None
    assert store.history(job_id)[-1]["kind"] == "retry"


@pytest.mark.parametrize("where", ["initial", "running", "done"])
def test_retry_is_only_allowed_from_the_error_status(
    store: JobStore, wf: Workflow, where: str
) -> None:
    happy = wf.happy_path()
    status = {"initial": happy[0], "running": happy[1], "done": happy[-1]}[where]
    job_id = new_job(store, status)
    before = snapshot(store.client, store.settings.key_prefix)
    with pytest.raises(InvalidTransition):
        store.retry(job_id)
    assert snapshot(store.client, store.settings.key_prefix) == before


def test_a_retried_job_can_finish(store: JobStore, wf: Workflow) -> None:
    happy = wf.happy_path()
    job_id = new_job(store, wf.error)
    store.retry(job_id)
    walk(store, job_id, happy[1:], attempt=2)
    record = store.get_state(job_id)
    assert (record["status"], record["attempt"]) == (happy[-1], 2)


# -- redelivered stages -----------------------------------------------------------------------


def test_a_redelivered_stage_counts_runs_then_gives_up(store: JobStore, wf: Workflow) -> None:
    stage = wf.happy_path()[1]
    job_id = new_job(store, stage)
    second = store.set_state(job_id, stage, attempt=1, max_runs=2, task_id="again")
    assert (second.reruns, second.version, second.status) == (2, 3, stage)
    assert store.get_state(job_id)["metadata"]["task_id"] == "again"
    # The redelivery is part of the job's story: a history entry with the new task id.
    entry = store.history(job_id)[-1]
    assert (entry["kind"], entry["from"], entry["status"]) == ("redelivered", stage, stage)
    assert (entry["version"], entry["task_id"]) == (3, "again")
    assert entry["message"] == "delivery 2 of at most 2"
    assert wf.is_legal_path((e["kind"], e["status"]) for e in store.history(job_id))
    third = store.set_state(job_id, stage, attempt=1, max_runs=2)
    record = store.get_state(job_id)
    assert third.status == record["status"] == wf.error
    assert "gave up after 2 deliveries" in record["error"]
    assert store.history(job_id)[-1]["kind"] == "redelivery"


def test_same_status_without_max_runs_is_refused(store: JobStore, wf: Workflow) -> None:
    stage = wf.happy_path()[1]
    job_id = new_job(store, stage)
    with pytest.raises(InvalidTransition):
        store.set_state(job_id, stage)


# -- clear ----------------------------------------------------------------------------------


def test_clear_removes_the_job_history_and_index_entries(store: JobStore, wf: Workflow) -> None:
    job_id = new_job(store, wf.happy_path()[1])
    keep = new_job(store)
    assert store.clear_state(job_id) is True
    assert store.find_state(job_id) is None
    assert store.history(job_id) == []
    assert [r["job_id"] for r in store.list_jobs()] == [keep]
    for index in store.keys.indexes():
        assert store.client.zscore(index, job_id) is None
    assert store.clear_state(job_id) is False


def test_a_cleared_id_can_be_used_again(store: JobStore) -> None:
    job_id = new_job(store, job_id="again")
    store.progress(job_id, 1)
    store.clear_state(job_id)
    assert store.create(URL, job_id=job_id).version == 1
    assert [e["kind"] for e in store.history(job_id)] == ["create"]


def test_clear_says_whether_the_job_existed(store: JobStore) -> None:
    job_id = store.create(URL).job_id
    assert store.clear_state(job_id) is True
    assert store.clear_state(job_id) is False


def test_a_sweep_not_due_is_skipped_and_a_due_one_is_done(store: JobStore, wf: Workflow) -> None:
    job_id = store.create(URL).job_id
    store.set_state(job_id, wf.stages[0])
    left = store.sweep(Sweep.MARK_STALE, job_id, 3600, "stale: test")
    assert (left.skipped, left.status) == (True, wf.stages[0])
    time_gap(store.client, 1)  # at 0 s a job is due once more than 0 ms old (strictly)
    done = store.sweep(Sweep.MARK_STALE, job_id, 0, "stale: test")
    assert (done.skipped, done.status) == (False, wf.error)
    assert store.get_state(job_id)["error"].startswith("stale: test")


def test_a_batch_writes_nothing_until_flushed(store: JobStore) -> None:
    batch = Batch(store)
    ids = [f"seeded-{i}" for i in range(5)]
    for job_id in ids:
        assert batch.create(URL, job_id=job_id).version == 0
    assert batch.pending == 5
    assert store.find_state(ids[0]) is None
    assert batch.flush() == 5
    assert [store.get_state(j)["version"] for j in ids] == [1] * 5
