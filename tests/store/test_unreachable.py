"""A Redis that cannot answer is ``StoreUnavailable`` through every door of the store.

Gone (connection refused) and silent (connected, no answer before the socket timeout)
are the same fact for a caller: nothing is known about the job's state. redis-py raises
a ``ConnectionError`` for one and a ``TimeoutError``, which is not one, for the other;
every read, write and sweep must say ``StoreUnavailable`` for both, so each front end
(the command line, the API, a worker's heartbeat) reports it instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from pipeline.cleanup import archive_completed, mark_stale, purge_errors, sweep_all
from pipeline.errors import StoreUnavailable
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.workflow import PRD_WORKFLOW
from tests.silent import closed_port_url, silent_redis_url

JOB = "job-1"

DOORS: dict[str, Callable[[JobStore], Any]] = {
    "create": lambda s: s.create("https://media.example/a.mp3"),
    "set_state": lambda s: s.set_state(JOB, "DOWNLOADING", attempt=1),
    "progress": lambda s: s.progress(JOB, {"done": 1}, attempt=1),
    "heartbeat": lambda s: s.heartbeat(JOB, attempt=1),
    "fail": lambda s: s.fail(JOB, "boom", attempt=1),
    "retry": lambda s: s.retry(JOB),
    "clear_state": lambda s: s.clear_state(JOB),
    "get_state": lambda s: s.get_state(JOB),
    "get_live_state": lambda s: s.get_live_state(JOB),
    "find_state": lambda s: s.find_state(JOB),
    "get_archived": lambda s: s.get_archived(JOB),
    "history": lambda s: s.history(JOB),
    "list_jobs": lambda s: s.list_jobs(),
    "now_ms": lambda s: s.now_ms(),
    "mark_stale": lambda s: mark_stale(s, older_than=60),
    "purge_errors": lambda s: purge_errors(s, older_than=60),
    "archive_completed": lambda s: archive_completed(s, older_than=60),
    "sweep_all": lambda s: sweep_all(s),
}


@pytest.fixture(scope="module")
def silent_url() -> Iterator[str]:
    """Module: a server that accepts connections and never answers."""
    with silent_redis_url() as url:
        yield url


@pytest.mark.parametrize("door", sorted(DOORS))
@pytest.mark.parametrize("kind", ["silent", "gone"])
def test_a_redis_that_cannot_answer_is_store_unavailable_through_every_door(
    silent_url: str, kind: str, door: str
) -> None:
    url = silent_url if kind == "silent" else closed_port_url()
    settings = Settings(redis_url=url, key_prefix="unreachable")
    client = redis.Redis.from_url(
        url, socket_timeout=0.2, socket_connect_timeout=0.2, retry_on_timeout=False
    )
    store = JobStore(client, PRD_WORKFLOW, settings)
    try:
        with pytest.raises(StoreUnavailable, match="Redis unreachable"):
            DOORS[door](store)
    finally:
        client.close()
