"""Helpers for the store tests: single-node and cluster stores, snapshots, Redis time.

Every test here runs on whatever ``--jobstate-redis`` selects (fakeredis by default, the
real server in the integration tier) through the plugin's ``state_store``/``redis_client``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import pytest
import redis

from harness.testing.redis.backend import RedisBackend
from pipeline.store import JobStore, Write
from pipeline.workflow import Workflow

URL = "https://media.example.com/talks/keynote.mp3"


@pytest.fixture(params=["node", "cluster"])
def store(
    request: pytest.FixtureRequest,
    state_store: JobStore,
    redis_backend: RedisBackend,
    jobstate_workflow: Workflow,
) -> JobStore:
    """Function: the test's store, once as configured and once with ``cluster=True``."""
    if request.param == "node":
        return state_store
    return redis_backend.store(jobstate_workflow, cluster=True)


@pytest.fixture
def wf(jobstate_workflow: Workflow) -> Workflow:
    """Session workflow under a short name."""
    return jobstate_workflow


# -- building jobs ----------------------------------------------------------------------------


def path_to(wf: Workflow, status: str) -> list[str]:
    """The shortest list of statuses that moves a new job to ``status`` (BFS)."""
    paths = {wf.initial: [wf.initial]}
    queue = [wf.initial]
    while queue:
        current = queue.pop(0)
        for nxt in sorted(wf.allowed_from(current)):
            if nxt not in paths:
                paths[nxt] = [*paths[current], nxt]
                queue.append(nxt)
    if status not in paths:
        raise ValueError(f"{status} is not reachable in workflow {wf.name}")
    return paths[status][1:]


def walk(store: JobStore, job_id: str, statuses: Iterable[str], attempt: int = 0) -> Write | None:
    """``set_state`` to each status in turn (an error message when moving to the error
    status); the last write, or ``None`` when there was nothing to do."""
    last = None
    for status in statuses:
        error = "boom" if status == store.workflow.error else None
        last = store.set_state(job_id, status, attempt=attempt, error=error)
    return last


def new_job(store: JobStore, status: str | None = None, *, job_id: str | None = None) -> str:
    """Create a job and move it by the shortest legal path to ``status``; its id."""
    job_id = store.create(URL, job_id=job_id, space_id="space-1").job_id
    if status is not None:
        walk(store, job_id, path_to(store.workflow, status))
    return job_id


# -- looking at Redis -------------------------------------------------------------------------


def _dump(client: redis.Redis, key: Any) -> Any:
    kind = client.type(key)
    kind = kind.decode() if isinstance(kind, bytes) else kind
    readers = {
        "hash": client.hgetall,
        "stream": client.xrange,
        "zset": lambda k: client.zrange(k, 0, -1, withscores=True),
        "string": client.get,
        "list": lambda k: client.lrange(k, 0, -1),
        "set": client.smembers,
    }
    return kind, readers[kind](key), client.pttl(key) > 0


def snapshot(client: redis.Redis, prefix: str) -> dict[Any, Any]:
    """Every key under ``prefix``: its type, full value and whether it has a TTL."""
    return {key: _dump(client, key) for key in sorted(client.scan_iter(match=f"{prefix}*"))}


def ttl(client: redis.Redis, key: str) -> int:
    """TTL in seconds (-1: none, -2: no key)."""
    return int(client.ttl(key))


def redis_ms(client: redis.Redis) -> int:
    """Redis server time in ms (the clock the store stamps records with)."""
    sec, usec = client.time()
    return int(sec) * 1000 + int(usec) // 1000


def wait_for_redis_time(client: redis.Redis, past_ms: int, timeout: float = 5.0) -> int:
    """Poll Redis TIME until it is beyond ``past_ms``; return that time."""
    deadline = time.monotonic() + timeout
    while (now := redis_ms(client)) <= past_ms:
        if time.monotonic() > deadline:
            raise AssertionError(f"Redis time stuck before {past_ms} (now {now})")
        time.sleep(0.005)
    return now


GAP_MS = 500
"""The default gap of :func:`time_gap`. It is also how long the test may stall between
computing a sweep's age and the sweep reading Redis' clock before a job written after the
gap would count as old: 60 ms failed a test on a loaded machine (a random-order run
beside another tier), so it is wide."""


def time_gap(client: redis.Redis, ms: int = GAP_MS) -> tuple[int, int]:
    """Let ``ms`` of Redis time pass: ``(before, after)`` for :func:`age_between`.

    Whatever was written before the call counts as older than ``before``; whatever is
    written after it is at least as new as ``after``, for up to ``ms`` of stalling.
    """
    before = redis_ms(client)
    return before, wait_for_redis_time(client, before + ms)


def age_between(client: redis.Redis, old_ms: int, new_ms: int) -> float:
    """An ``older_than`` (s) for a sweep started right after this call: its cutoff falls
    just after ``old_ms`` (the last activity of jobs that must count as old), so a job
    active at ``new_ms`` or later is safe for ``new_ms - old_ms`` ms of sweeping."""
    assert new_ms - old_ms >= 20, "leave a gap between old and new activity"
    return (redis_ms(client) - old_ms - 1) / 1000
