"""Durability on a real redis-server: states written before a restart (clean or SIGKILL)
are read back unchanged, records, history and retention alike."""

from __future__ import annotations

from typing import Any

import pytest

from harness.testing.redis.backend import RedisBackend
from pipeline.procs.redis_server import RedisServer
from pipeline.store import JobStore
from pipeline.workflow import Workflow
from tests.store.conftest import new_job

pytestmark = [pytest.mark.integration, pytest.mark.jobstate_redis("server")]


def write_some_states(store: JobStore, wf: Workflow) -> list[str]:
    """One job per interesting state: running with progress, done, failed, retried."""
    happy = wf.happy_path()
    running = new_job(store, happy[1], job_id="running")
    store.progress(running, {"bytes": 1024}, message="downloading 1 KiB")
    done = new_job(store, happy[-2], job_id="done")
    store.set_state(done, happy[-1], result={"summary": "ok", "quotes": ["q"]})
    failed = new_job(store, happy[1], job_id="failed")
    store.fail(failed, "network unreachable", stage=happy[1])
    retried = new_job(store, wf.error, job_id="retried")
    store.retry(retried, message="again")
    return [running, done, failed, retried]


def read_back(store: JobStore, job_ids: list[str]) -> dict[str, Any]:
    """Records, histories and whether each record expires."""
    return {
        job_id: (
            store.get_state(job_id),
            store.history(job_id),
            store.client.ttl(store.keys.state(job_id)) > 0,
        )
        for job_id in job_ids
    }


def reopen(backend: RedisBackend, store: JobStore) -> JobStore:
    """A store on a brand-new connection (the old one died with the server)."""
    return JobStore(backend.make_client(), store.workflow, store.settings)


def test_states_survive_a_clean_restart(
    state_store: JobStore,
    jobstate_workflow: Workflow,
    redis_backend: RedisBackend,
    redis_server: RedisServer,
) -> None:
    job_ids = write_some_states(state_store, jobstate_workflow)
    before = read_back(state_store, job_ids)
    port = redis_server.port

    redis_server.restart()

    assert redis_server.port == port
    after = read_back(reopen(redis_backend, state_store), job_ids)
    assert after == before
    assert [expires for _, _, expires in after.values()] == [False, True, True, False]


def test_acknowledged_writes_survive_sigkill(
    state_store: JobStore,
    jobstate_workflow: Workflow,
    redis_backend: RedisBackend,
    redis_server: RedisServer,
) -> None:
    job_ids = write_some_states(state_store, jobstate_workflow)
    before = read_back(state_store, job_ids)

    redis_server.kill()
    assert not redis_server.running
    redis_server.start()

    store = reopen(redis_backend, state_store)
    assert read_back(store, job_ids) == before
    stage = jobstate_workflow.happy_path()[1]
    assert (
        store.set_state("retried", stage, attempt=2).version == before["retried"][0]["version"] + 1
    )


def test_a_data_dir_the_caller_gives_outlives_the_server_one_it_made_does_not(
    tmp_path: Any,
) -> None:
    """The caller's Redis data (its AOF) is theirs: closing the server leaves it, and a
    new server on the same directory reads the job back. A directory the server made for
    itself goes with it."""
    mine = tmp_path / "redis-data"
    mine.mkdir()
    with RedisServer(data_dir=mine) as server:
        client = server.client()
        client.set("kept", "yes")
        client.close()
    assert mine.is_dir()
    assert any(mine.rglob("*.aof*")), list(mine.rglob("*"))
    with RedisServer(data_dir=mine) as again:
        client = again.client()
        assert client.get("kept") == b"yes"
        client.close()

    with RedisServer() as own:
        made = own.data_dir
        assert made.is_dir()
    assert not made.exists()
