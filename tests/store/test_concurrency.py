"""Lost-update oracle: 8 OS processes x 1000 progress updates to one job on a real
redis-server. The store applies all 8000; a naive read-modify-write store loses some."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from collections.abc import Callable
from multiprocessing.synchronize import Barrier
from typing import Any

import pytest
import redis

from harness.testing.redis.backend import RedisBackend
from pipeline.keys import Keys
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.workflow import Workflow
from tests.store.conftest import URL

pytestmark = [pytest.mark.integration, pytest.mark.jobstate_redis("server")]

PROCESSES, UPDATES = 8, 1000
TIMEOUT = 120


class NaiveStore:
    """The foil: GET the hash, bump the version in Python, SET it back. Not atomic."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.keys = Keys(prefix)

    def progress(self, job_id: str, value: Any) -> int:
        """Read the record, do a little work, write it back with version + 1."""
        key = self.keys.state(job_id)
        record = self.client.hgetall(key)
        version = int(record[b"version"]) + 1
        payload = _work(value)
        self.client.hset(key, mapping={"version": version, "progress": payload})
        self.client.xadd(self.keys.history(job_id), {"v": version, "kind": "progress"})
        return version


def _work(value: Any) -> str:
    """What a worker does between reading and writing: encode and checksum the update."""
    text = json.dumps(value)
    digest = hashlib.sha256(text.encode())
    for _ in range(200):
        digest = hashlib.sha256(digest.digest())
    return json.dumps({"value": value, "sum": digest.hexdigest()[:8]})


def _real_writer(
    url: str, settings: Settings, workflow: Workflow, job_id: str, worker: int
) -> Callable[[int], int]:
    store = JobStore(redis.Redis.from_url(url), workflow, settings)
    return lambda n: store.progress(job_id, {"worker": worker, "n": n}, attempt=1).version


def _naive_writer(
    url: str, settings: Settings, workflow: Workflow, job_id: str, worker: int
) -> Callable[[int], int]:
    naive = NaiveStore(redis.Redis.from_url(url), settings.key_prefix)
    return lambda n: naive.progress(job_id, {"worker": worker, "n": n})


WRITERS = {"store": _real_writer, "naive": _naive_writer}


def _hammer(
    kind: str,
    url: str,
    settings: Settings,
    workflow: Workflow,
    job_id: str,
    worker: int,
    start: Barrier,
    results: Any,
) -> None:
    """One OS process: wait for the others, then write UPDATES times; report versions."""
    write = WRITERS[kind](url, settings, workflow, job_id, worker)
    start.wait(TIMEOUT)
    results.put((worker, [write(n) for n in range(UPDATES)]))


def run_processes(
    kind: str, backend: RedisBackend, settings: Settings, workflow: Workflow, job_id: str
) -> dict[int, list[int]]:
    """Run PROCESSES spawned writers at once; the versions each one saw, by worker."""
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(PROCESSES), ctx.Queue()
    assert backend.url is not None
    procs = [
        ctx.Process(
            target=_hammer, args=(kind, backend.url, settings, workflow, job_id, n, start, results)
        )
        for n in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    try:
        seen = dict(results.get(timeout=TIMEOUT) for _ in procs)
    finally:
        for proc in procs:
            proc.join(TIMEOUT)
            if proc.is_alive():
                proc.kill()
                proc.join()
        results.close()
        results.join_thread()
    assert all(proc.exitcode == 0 for proc in procs), [proc.exitcode for proc in procs]
    return seen


@pytest.fixture
def big_history(jobstate_settings: Settings) -> Settings:
    """Settings whose history keeps every one of the 8000 updates."""
    return jobstate_settings.with_(history_maxlen=PROCESSES * UPDATES + 100)


def test_no_update_is_lost_across_processes(
    redis_backend: RedisBackend, big_history: Settings, jobstate_workflow: Workflow
) -> None:
    store = JobStore(redis_backend.client, jobstate_workflow, big_history)
    job_id = store.create(URL).job_id
    start = store.get_state(job_id)["version"]

    seen = run_processes("store", redis_backend, big_history, jobstate_workflow, job_id)

    total = PROCESSES * UPDATES
    every = sorted(v for versions in seen.values() for v in versions)
    assert every == list(range(start + 1, start + total + 1)), "each write got its own version"
    assert all(versions == sorted(versions) for versions in seen.values())
    assert store.get_state(job_id)["version"] == start + total
    history = store.history(job_id)
    progress = [e["version"] for e in history if e["kind"] == "progress"]
    assert progress == list(range(start + 1, start + total + 1))
    assert len(set(progress)) == total
    assert jobstate_workflow.is_legal_path((e["kind"], e["status"]) for e in history)


def test_the_naive_store_loses_updates(
    redis_backend: RedisBackend, big_history: Settings, jobstate_workflow: Workflow
) -> None:
    store = JobStore(redis_backend.client, jobstate_workflow, big_history)
    job_id = store.create(URL).job_id
    start = store.get_state(job_id)["version"]

    seen = run_processes("naive", redis_backend, big_history, jobstate_workflow, job_id)

    total = PROCESSES * UPDATES
    final = store.get_state(job_id)["version"]
    claimed = [v for versions in seen.values() for v in versions]
    assert len(claimed) == total, "every naive write 'succeeded'"
    assert final - start < total, "the naive store lost no update: the race did not happen"
    assert len(set(claimed)) < total, "two writers claimed the same version"
