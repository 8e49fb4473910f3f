"""Retention: a running job never expires, a finished one expires after the retention
period, a retried one is kept again; checked on the record and the history after every
kind of write."""

from __future__ import annotations

import pytest

from pipeline.cleanup import mark_stale
from pipeline.errors import InvalidTransition
from pipeline.store import JobStore
from pipeline.workflow import Workflow
from tests.store.conftest import new_job, redis_ms, ttl, wait_for_redis_time


def ttls(store: JobStore, job_id: str) -> tuple[int, int]:
    """TTL (s) of the job's record and history."""
    keys = store.keys
    return ttl(store.client, keys.state(job_id)), ttl(store.client, keys.history(job_id))


def assert_kept(store: JobStore, job_id: str) -> None:
    """No expiry on either key."""
    assert ttls(store, job_id) == (-1, -1)


def assert_retained(store: JobStore, job_id: str) -> None:
    """Both keys expire within the retention period (and not much sooner)."""
    retention = store.settings.retention_seconds
    for left in ttls(store, job_id):
        assert retention - 5 <= left <= retention


def test_running_writes_set_no_ttl(store: JobStore, wf: Workflow) -> None:
    happy = wf.happy_path()
    job_id = new_job(store)
    assert_kept(store, job_id)
    for status in happy[1:-1]:
        store.set_state(job_id, status)
        assert_kept(store, job_id)
        store.progress(job_id, {"at": status})
        assert_kept(store, job_id)
        store.heartbeat(job_id)
        assert_kept(store, job_id)
        store.set_state(job_id, status, max_runs=5)  # a redelivered stage
        assert_kept(store, job_id)


def test_completion_sets_the_retention_ttl(store: JobStore, wf: Workflow) -> None:
    happy = wf.happy_path()
    job_id = new_job(store, happy[-2])
    store.set_state(job_id, happy[-1], result={"ok": True})
    assert_retained(store, job_id)


def test_failure_sets_the_retention_ttl(store: JobStore, wf: Workflow) -> None:
    job_id = new_job(store, wf.happy_path()[1])
    store.fail(job_id, "boom")
    assert_retained(store, job_id)


def test_giving_up_on_redeliveries_sets_the_retention_ttl(store: JobStore, wf: Workflow) -> None:
    stage = wf.happy_path()[1]
    job_id = new_job(store, stage)
    assert store.set_state(job_id, stage, max_runs=1).status == wf.error
    assert_retained(store, job_id)


def test_retry_removes_the_ttl_again(store: JobStore, wf: Workflow) -> None:
    job_id = new_job(store, wf.error)
    assert_retained(store, job_id)
    store.retry(job_id)
    assert_kept(store, job_id)
    store.set_state(job_id, wf.happy_path()[1], attempt=2)
    assert_kept(store, job_id)


def test_refused_writes_never_drop_the_ttl(store: JobStore, wf: Workflow) -> None:
    happy = wf.happy_path()
    job_id = new_job(store, happy[-1])
    for late in (
        lambda: store.progress(job_id, 1),
        lambda: store.heartbeat(job_id),
        lambda: store.set_state(job_id, happy[1]),
        lambda: store.retry(job_id),
    ):
        with pytest.raises(InvalidTransition):
            late()
        assert_retained(store, job_id)


def test_the_retention_setting_is_used(store: JobStore, wf: Workflow) -> None:
    short = JobStore(store.client, wf, store.settings.with_(retention_seconds=60))
    job_id = new_job(short, wf.error)
    assert all(50 <= left <= 60 for left in ttls(short, job_id))


def test_a_stale_job_gets_the_retention_ttl(store: JobStore, wf: Workflow) -> None:
    job_id = new_job(store, wf.happy_path()[1])
    wait_for_redis_time(store.client, redis_ms(store.client) + 20)
    assert mark_stale(store, older_than=0.01) == [job_id]
    assert_retained(store, job_id)
