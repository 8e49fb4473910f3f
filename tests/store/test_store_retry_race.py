"""Two retries at once (a double click, two operators): exactly one new attempt starts."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.testing.redis.backend import RedisBackend
from pipeline.errors import InvalidTransition, StaleAttempt
from pipeline.store import JobStore, Write
from pipeline.workflow import Workflow
from tests.store.conftest import new_job

ROUNDS = 25


def _racing_retries(stores: list[JobStore], job_id: str, attempt: int) -> list[object]:
    """Each store retries ``job_id`` at the same moment; the outcome of each."""
    start = threading.Barrier(len(stores), timeout=10)

    def one(store: JobStore) -> object:
        start.wait()
        try:
            return store.retry(job_id, attempt=attempt)
        except (InvalidTransition, StaleAttempt) as exc:
            return exc

    with ThreadPoolExecutor(len(stores)) as pool:
        return list(pool.map(one, stores))


@pytest.mark.parametrize("fenced", [False, True], ids=["unfenced", "fenced"])
def test_concurrent_retries_start_exactly_one_attempt(
    store: JobStore, wf: Workflow, redis_backend: RedisBackend, fenced: bool
) -> None:
    stores = [JobStore(redis_backend.make_client(), wf, store.settings) for _ in range(2)]
    for n in range(ROUNDS):
        job_id = new_job(store, wf.error, job_id=f"race-{n}")
        outcomes = _racing_retries(stores, job_id, attempt=1 if fenced else 0)
        wins = [o for o in outcomes if isinstance(o, Write)]
        losses = [o for o in outcomes if not isinstance(o, Write)]
        assert len(wins) == 1, outcomes
        assert isinstance(losses[0], StaleAttempt if fenced else InvalidTransition)
        record = store.get_state(job_id)
        assert (record["attempt"], record["status"]) == (2, wf.initial)
        assert [e["kind"] for e in store.history(job_id)].count("retry") == 1
