"""Reads: get/find, the record's format, history and the job list."""

from __future__ import annotations

import re
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster
from redis.sentinel import SentinelConnectionPool

from pipeline.errors import JobNotFound
from pipeline.store import JobStore
from pipeline.workflow import Workflow
from tests.store.conftest import URL, new_job, redis_ms, wait_for_redis_time

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def test_get_state_has_the_prd_schema(store: JobStore, wf: Workflow) -> None:
    job_id = new_job(store, wf.happy_path()[1])
    record = store.get_state(job_id)
    prd = {"status", "message", "error", "updated_at", "metadata"}
    extra = {
        "job_id",
        "workflow",
        "version",
        "attempt",
        "created_at",
        "heartbeat_at",
        "progress",
        "result",
        "input",
    }
    assert set(record) == prd | extra
    assert set(record["metadata"]) == {"url", "space_id", "task_id"}
    assert record["workflow"] == wf.name
    for stamp in ("updated_at", "created_at", "heartbeat_at"):
        assert ISO_MS.match(record[stamp]), record[stamp]


def test_times_come_from_the_redis_clock(store: JobStore) -> None:
    before = redis_ms(store.client)
    job_id = new_job(store)
    after = redis_ms(store.client)
    created = store.history(job_id)[0]["ms"]
    assert before <= created <= after


def test_updated_at_moves_forward(store: JobStore, wf: Workflow) -> None:
    job_id = new_job(store)
    first = store.history(job_id)[0]["ms"]
    wait_for_redis_time(store.client, first)
    store.set_state(job_id, wf.happy_path()[1])
    record = store.get_state(job_id)
    assert record["updated_at"] > record["created_at"]


def test_get_unknown_raises_and_find_returns_none(store: JobStore) -> None:
    with pytest.raises(JobNotFound) as caught:
        store.get_state("nobody")
    assert str(caught.value) == "job nobody not found"
    assert store.find_state("nobody") is None
    with pytest.raises(JobNotFound):
        store.get_archived("nobody")


def test_decoding_clients_read_the_same_record(store: JobStore, wf: Workflow) -> None:
    job_id = new_job(store, wf.happy_path()[1])
    decoding = _decoding_twin(store.client)
    try:
        assert decoding.hget(store.keys.state(job_id), "status") == wf.happy_path()[1]
        text_store = JobStore(decoding, wf, store.settings)
        assert text_store.get_state(job_id) == store.get_state(job_id)
        assert text_store.history(job_id) == store.history(job_id)
        assert text_store.progress(job_id, 7).version == 3
    finally:
        decoding.close()


def _decoding_twin(client: Any) -> Any:
    """A client to the same Redis (server, cluster or sentinel) that decodes replies."""
    if isinstance(client, RedisCluster):
        node = client.get_default_node()
        return RedisCluster(host=node.host, port=node.port, decode_responses=True)
    pool = client.connection_pool
    kwargs = {**pool.connection_kwargs, "decode_responses": True}
    if isinstance(pool, SentinelConnectionPool):
        twin = SentinelConnectionPool(pool.service_name, pool.sentinel_manager, **kwargs)
        return redis.Redis(connection_pool=twin)
    return redis.Redis(connection_pool=type(pool)(pool.connection_class, **kwargs))


def test_history_records_every_versioned_change(store: JobStore, wf: Workflow) -> None:
    happy = wf.happy_path()
    job_id = new_job(store, happy[1])
    store.progress(job_id, {"pct": 10})
    store.heartbeat(job_id)
    store.fail(job_id, "decoder crashed")
    store.retry(job_id)
    history = store.history(job_id)
    assert [(e["kind"], e["from"], e["status"]) for e in history] == [
        ("create", None, happy[0]),
        ("transition", happy[0], happy[1]),
        ("progress", happy[1], happy[1]),
        ("transition", happy[1], wf.error),
        ("retry", wf.error, happy[0]),
    ]
    assert [e["version"] for e in history] == [1, 2, 3, 4, 5]
    assert [e["attempt"] for e in history] == [1, 1, 1, 1, 2]
    assert history[3]["error"] == "decoder crashed"
    assert all(ISO_MS.match(e["at"]) for e in history)
    assert wf.is_legal_path((e["kind"], e["status"]) for e in history)


STREAM_NODE = 100  # Redis's stream-node-max-entries: '~' trimming drops whole nodes


def test_history_is_the_newest_history_maxlen_entries(store: JobStore, wf: Workflow) -> None:
    """The stream may hold a node more (tests/store/test_history_cap.py); readers do not."""
    capped = JobStore(store.client, wf, store.settings.with_(history_maxlen=5))
    job_id = new_job(capped, wf.happy_path()[1])
    for n in range(3 * STREAM_NODE):
        capped.progress(job_id, n)
    history = capped.history(job_id)
    last = capped.get_state(job_id)["version"]
    assert [e["version"] for e in history] == list(range(last - 4, last + 1))


def test_list_jobs_is_newest_first_with_paging(store: JobStore) -> None:
    ids = []
    for n in range(5):
        ids.append(new_job(store, job_id=f"job-{n}"))
        wait_for_redis_time(store.client, store.history(ids[-1])[0]["ms"])
    listed = [r["job_id"] for r in store.list_jobs()]
    assert listed == ids[::-1]
    assert [r["job_id"] for r in store.list_jobs(limit=2, offset=1)] == ids[::-1][1:3]
    assert store.list_jobs(limit=3, offset=10) == []


def test_list_jobs_drops_jobs_whose_record_expired(store: JobStore) -> None:
    gone, kept = new_job(store), new_job(store)
    store.client.delete(store.keys.state(gone))  # what the retention TTL does
    assert [r["job_id"] for r in store.list_jobs()] == [kept]
    assert store.client.zscore(store.keys.jobs, gone) is None


def test_ping_and_now(store: JobStore) -> None:
    assert store.ping() is True
    assert abs(store.now_ms() - redis_ms(store.client)) < 5_000


def test_path_helpers_reach_every_status(store: JobStore, wf: Workflow) -> None:
    for status in sorted(wf.statuses):
        job_id = new_job(store, status, job_id=f"reach-{status.lower()}"[:64].replace("_", "-"))
        assert store.get_state(job_id)["status"] == status
    assert store.get_state(new_job(store, job_id="plain"))["metadata"]["url"] == URL
