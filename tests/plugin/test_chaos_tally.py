"""The chaos tally judges jobs from the store: terminal, stuck, illegal, lost."""

from __future__ import annotations

import pytest
import redis

from harness.testing.chaos.tally import judge_job, tally_jobs
from pipeline.store import JobStore

STAGES = ["DOWNLOADING", "TRANSCRIBING", "GENERATING_QUOTES", "GENERATING_SUMMARY"]


def _finished(store: JobStore, result: dict[str, object] | None = None) -> str:
    job_id = store.create("https://example.com/a.mp3").job_id
    for stage in STAGES:
        store.set_state(job_id, stage, attempt=1)
    store.set_state(job_id, "COMPLETE", attempt=1, result=result or {"summary": "s"})
    return job_id


def _append(client: redis.Redis, store: JobStore, job_id: str, **fields: object) -> None:
    """Write a history entry behind the store's back (what a broken writer might do)."""
    base = {"attempt": 1, "kind": "transition", "ms": store.now_ms(), "message": "", "error": ""}
    client.xadd(store.keys.history(job_id), {**base, "task_id": "", **fields})  # type: ignore[arg-type]


def test_a_finished_job_is_terminal_and_clean(state_store: JobStore) -> None:
    verdict = judge_job(state_store, _finished(state_store))
    assert (verdict.terminal, verdict.stuck, verdict.illegal, verdict.lost) == (
        True,
        False,
        False,
        False,
    )
    assert verdict.problems == []


def test_a_running_job_is_stuck(state_store: JobStore) -> None:
    job_id = state_store.create("https://example.com/a.mp3").job_id
    state_store.set_state(job_id, "DOWNLOADING", attempt=1)
    verdict = judge_job(state_store, job_id)
    assert verdict.stuck
    assert not verdict.terminal
    assert verdict.problems == ["stuck in DOWNLOADING"]


def test_an_error_after_a_retry_is_terminal_and_legal(state_store: JobStore) -> None:
    job_id = state_store.create("https://example.com/a.mp3").job_id
    state_store.set_state(job_id, "DOWNLOADING", attempt=1)
    state_store.fail(job_id, "boom", attempt=1, stage="DOWNLOADING")
    state_store.retry(job_id)
    state_store.set_state(job_id, "DOWNLOADING", attempt=2)
    state_store.fail(job_id, "boom again", attempt=2, stage="DOWNLOADING")
    verdict = judge_job(state_store, job_id)
    assert verdict.terminal
    assert not (verdict.illegal)
    assert not (verdict.lost)
    assert not (verdict.stuck)


def test_a_move_out_of_a_terminal_status_in_the_history_is_illegal(
    state_store: JobStore, redis_client: redis.Redis
) -> None:
    job_id = _finished(state_store)
    last = state_store.history(job_id)[-1]["version"]
    _append(redis_client, state_store, job_id, v=last + 1, to="DOWNLOADING", **{"from": "COMPLETE"})
    verdict = judge_job(state_store, job_id)
    assert verdict.illegal
    assert any(p.startswith("illegal path") for p in verdict.problems)
    assert any("history ends in DOWNLOADING" in p for p in verdict.problems)


def test_versions_that_do_not_increase_are_illegal(
    state_store: JobStore, redis_client: redis.Redis
) -> None:
    job_id = state_store.create("https://example.com/a.mp3").job_id
    state_store.set_state(job_id, "DOWNLOADING", attempt=1)
    _append(
        redis_client, state_store, job_id, v=1, kind="progress", to="DOWNLOADING", **{"from": ""}
    )
    verdict = judge_job(state_store, job_id)
    assert verdict.illegal
    assert any("versions not strictly increasing" in p for p in verdict.problems)


@pytest.mark.parametrize(("step", "illegal"), [(1, False), (0, True), (-1, True)])
def test_a_next_version_must_be_above_the_last_one_not_equal_to_it(
    state_store: JobStore, redis_client: redis.Redis, step: int, illegal: bool
) -> None:
    """At the bound: the next entry's version one above the last is a story; equal to it
    (a write counted twice, or two writers) or below it is not."""
    job_id = state_store.create("https://example.com/a.mp3").job_id
    state_store.set_state(job_id, "DOWNLOADING", attempt=1)
    last = state_store.history(job_id)[-1]["version"]
    _append(
        redis_client,
        state_store,
        job_id,
        v=last + step,
        kind="progress",
        to="DOWNLOADING",
        **{"from": "DOWNLOADING"},
    )
    verdict = judge_job(state_store, job_id)
    flagged = any("versions not strictly increasing" in p for p in verdict.problems)
    assert (flagged, verdict.illegal) == (illegal, illegal), verdict.problems


def test_a_record_whose_attempt_disagrees_with_its_history_is_illegal(
    state_store: JobStore, redis_client: redis.Redis
) -> None:
    """Same status, another attempt: the record was written by a run its history never
    saw (a stale worker's write behind the fence)."""
    job_id = state_store.create("https://example.com/a.mp3").job_id
    state_store.set_state(job_id, "DOWNLOADING", attempt=1)
    redis_client.hset(state_store.keys.state(job_id), "attempt", 2)
    verdict = judge_job(state_store, job_id)
    assert verdict.illegal
    assert (
        "record says DOWNLOADING (attempt 2) but its history ends in DOWNLOADING (attempt 1)"
        in verdict.problems
    )


def test_a_result_removed_after_completion_is_lost(
    state_store: JobStore, redis_client: redis.Redis
) -> None:
    job_id = _finished(state_store)
    redis_client.hset(state_store.keys.state(job_id), "result", "")
    verdict = judge_job(state_store, job_id)
    assert verdict.lost
    assert verdict.terminal
    assert "reached COMPLETE but its result is gone" in verdict.problems
    assert not judge_job(state_store, job_id, expect_result=False).lost


def test_a_vanished_record_is_lost(state_store: JobStore, redis_client: redis.Redis) -> None:
    job_id = _finished(state_store)
    redis_client.delete(state_store.keys.state(job_id))
    verdict = judge_job(state_store, job_id)
    assert verdict.lost
    assert not (verdict.terminal)
    assert not (verdict.stuck)
    assert "record vanished" in verdict.problems


def test_the_tally_counts_each_job_once(state_store: JobStore) -> None:
    done = _finished(state_store)
    running = state_store.create("https://example.com/b.mp3").job_id
    tally = tally_jobs(state_store, [done, running, done])
    assert (tally.jobs, tally.terminal, tally.stuck, tally.illegal, tally.lost) == (2, 1, 1, 0, 0)
    assert not tally.clean
    assert tally.problems == [f"job {running}: stuck in INIT"]
