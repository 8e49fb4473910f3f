"""Redis Sentinel: the primary is killed mid-pipeline, a replica is promoted, the store's
clients (redis-py ``Sentinel``) follow it and every job finishes.

Sentinel group: a primary, one replica and 3 sentinels (quorum 2), ``down-after`` 1 s.
Celery's broker and results stay on a plain Redis, as Celery cannot follow Sentinel
through the URL the store uses.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.testing.chaos.injector import FaultInjector
from harness.testing.recorder import StateRecorder
from harness.testing.redis.backend import RedisBackend
from harness.testing.redis.sentinel import RedisSentinelGroup
from harness.testing.runner import JobRunner
from pipeline.errors import StoreUnavailable
from pipeline.store import JobStore
from pipeline.waiting import wait_until
from tests.pipeline.conftest import HAPPY
from tests.scale.conftest import URL, Stopwatch

pytestmark = [
    pytest.mark.scale,
    pytest.mark.jobstate_redis("sentinel"),
    pytest.mark.jobstate_celery("prefork"),
]

JOBS = 12
HELD = "TRANSCRIBING"


def _group(backend: RedisBackend) -> RedisSentinelGroup:
    assert isinstance(backend.topology, RedisSentinelGroup)
    return backend.topology


def _writes(store: JobStore, job_id: str) -> bool:
    """True once a write through the store's own client succeeds."""
    try:
        store.heartbeat(job_id)
    except StoreUnavailable:
        return False
    return True


def test_jobs_finish_when_the_primary_dies_mid_pipeline(
    job_runner: JobRunner,
    state_recorder: StateRecorder,
    fault_injector: FaultInjector,
    redis_backend: RedisBackend,
    jobstate_worker: object,
    report: Callable[[str], None],
) -> None:
    group, store = _group(redis_backend), job_runner.service.store
    fault_injector.hang_at(HELD)
    held = job_runner.submit(URL)
    job_runner.wait_for(held, HELD, timeout=60)
    others = [job_runner.submit(URL) for _ in range(JOBS - 1)]
    old = group.primary_address()
    clock = Stopwatch()
    killed = group.kill_primary()
    new = group.wait_for_failover(old, timeout=30)
    promoted = clock.lap("promoted")
    wait_until(lambda: _writes(store, held), timeout=30, what="a store write after failover")
    followed = clock.lap("store follows")
    in_flight = sum(store.get_state(j)["status"] not in job_runner.terminal for j in others)
    fault_injector.release(HELD)
    for job_id in [held, *others]:
        assert job_runner.wait_for(job_id, "COMPLETE", timeout=120)["attempt"] == 1
        state_recorder.assert_path(job_id, HAPPY)
    done = clock.lap("all complete")
    assert new == (group.primary().host, group.primary().port) != (killed.host, killed.port)
    state_recorder.assert_all_legal()
    state_recorder.assert_nothing_stuck()
    report(
        f"sentinel failover: primary {old[1]} SIGKILLed with 1 job held in {HELD} and "
        f"{in_flight} of {JOBS - 1} more unfinished; replica {new[1]} promoted after "
        f"{promoted:.2f}s; the store's client wrote through it after {followed:.2f}s; "
        f"all {JOBS} jobs COMPLETE after {done:.2f}s"
    )
