"""Closing a client closes every connection the store opened on it, on a real server.

The store writes on connections its client's pool makes but does not list, so
``client.close()`` (the pool's ``disconnect()``) used to leave them open until the garbage
collector found them; a socket collected unclosed warns, and under
``filterwarnings = error`` that failed whichever later test was running then: a verdict
that hung on test order. The property counts, on the server, the connections of one
client (by its name) after any mix of stores, threads and writes, and a close that
lands while a call is still waiting for its reply.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.config import get_config
from pipeline.direct_calls import sync_direct_calls
from pipeline.procs.redis_server import RedisServer
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.waiting import wait_until
from pipeline.workflow import PRD_WORKFLOW

pytestmark = pytest.mark.integration

URL = "https://media.example.com/a.mp3"


@pytest.fixture(scope="module")
def server(pytestconfig: pytest.Config) -> Iterator[RedisServer]:
    """Module: a redis-server of this module's own (its connections are all ours)."""
    with RedisServer(get_config(pytestconfig)["redis_exec"]) as started:
        yield started


def _named(server: RedisServer, name: str) -> list[dict[str, str]]:
    """The connections named ``name`` the server holds now."""
    with redis.Redis.from_url(server.url) as observer:
        return [c for c in observer.client_list() if c.get("name") == name]


def _writes(store: JobStore, count: int) -> None:
    for _ in range(count):
        job = store.create(URL)
        store.set_state(job.job_id, "DOWNLOADING", attempt=job.attempt)


@settings(max_examples=12, deadline=None, derandomize=True)
@given(
    threads=st.integers(min_value=1, max_value=4),
    stores=st.integers(min_value=1, max_value=3),
    writes=st.integers(min_value=1, max_value=4),
    close_mid_call=st.booleans(),
)
def test_closing_the_client_closes_every_connection_its_stores_opened(
    server: RedisServer, threads: int, stores: int, writes: int, close_mid_call: bool
) -> None:
    name = f"close-{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(server.url, client_name=name)
    settings_ = Settings(redis_url=server.url, key_prefix=name)
    made = [JobStore(client, PRD_WORKFLOW, settings_) for _ in range(stores)]
    workers = [
        threading.Thread(target=_writes, args=(made[i % stores], writes)) for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert _named(server, name), "the stores wrote on connections of their own"
    waiting: threading.Thread | None = None
    if close_mid_call:
        calls = sync_direct_calls(client)
        assert calls is not None
        waiting = threading.Thread(target=calls.call, args=("BLPOP", f"{name}:none", "0.3"))
        waiting.start()
        wait_until(
            lambda: any(c.get("cmd") == "blpop" for c in _named(server, name)),
            timeout=5,
            what="the call waiting for its reply",
        )
    client.close()
    if waiting is not None:
        waiting.join(timeout=5)
    # The server drops a connection as it reads the close: wait for that, not a while.
    wait_until(lambda: not _named(server, name), timeout=5, what=f"{name}'s connections closed")
