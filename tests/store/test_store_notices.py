"""Change notices: every versioned write publishes ``"<job_id> <version> <status>"``."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from harness.testing.redis.backend import RedisBackend
from pipeline.store import JobStore
from pipeline.workflow import Workflow
from tests.store.conftest import new_job


@pytest.fixture
def notices(store: JobStore, redis_backend: RedisBackend) -> Iterator[redis.client.PubSub]:
    """Function: a subscription to the store's channel (confirmed before the test runs)."""
    pubsub = redis_backend.make_client().pubsub()
    pubsub.subscribe(store.keys.channel)
    confirmation = pubsub.get_message(timeout=5)  # the server has registered us
    assert confirmation is not None
    assert confirmation["type"] == "subscribe"
    yield pubsub
    pubsub.close()


def receive(pubsub: redis.client.PubSub, count: int, timeout: float = 5.0) -> list[str]:
    """The next ``count`` notices, waiting at most ``timeout`` seconds for them."""
    got: list[str] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.1)
        if message and message["type"] == "message":
            data = message["data"]
            got.append(data.decode() if isinstance(data, bytes) else data)
    return got


def test_every_versioned_write_is_announced(
    store: JobStore, wf: Workflow, notices: redis.client.PubSub
) -> None:
    stage = wf.happy_path()[1]
    job_id = new_job(store, stage, job_id="n1")
    store.progress(job_id, 5)
    store.heartbeat(job_id)  # liveness only: not announced
    store.fail(job_id, "boom")
    store.retry(job_id)
    store.clear_state(job_id)
    new_job(store, job_id="marker")  # notices arrive in order: nothing may come before it
    assert receive(notices, 7) == [
        f"n1 1 {wf.initial}",
        f"n1 2 {stage}",
        f"n1 3 {stage}",
        f"n1 4 {wf.error}",
        f"n1 5 {wf.initial}",
        "n1 0 CLEARED",
        f"marker 1 {wf.initial}",
    ]


def test_refused_writes_are_not_announced(
    store: JobStore, wf: Workflow, notices: redis.client.PubSub
) -> None:
    job_id = new_job(store, wf.error, job_id="n2")
    assert len(receive(notices, 2)) == 2
    with pytest.raises(Exception, match="cannot go"):
        store.progress(job_id, 1)
    assert store.clear_state("never-existed") is False
    new_job(store, job_id="marker")
    assert receive(notices, 1) == [f"marker 1 {wf.initial}"]
