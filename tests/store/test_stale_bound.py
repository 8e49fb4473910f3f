"""The stale sweep's bound, to the millisecond, at every door that sweeps or judges it.

The inequality: a running job is stale when ``now - last > older_than`` (in ms, ``now``
Redis' ``TIME``, ``last`` the later of its last change and its last heartbeat). Strictly:
a job silent for exactly ``older_than`` is left running, one a millisecond older is moved
to the error status (``pipeline.cleanup.mark_stale``'s docstring). The sweep's index
query (scores below ``now - int(older_than * 1000)``) and the page's stale flag
(``get_live_state``, the poll's tag) judged it so; the sweep's script re-checked
``now - last >= older_than``, so a job exactly at the bound was stale to the script,
alive to the index and the page: one job, two answers at the same instant.

Time is Redis' (the store never reads a worker's clock), so no Python clock is frozen.
Each attempt reads ``TIME`` (``t0``), writes three running jobs' stamps and index scores
at ``t0 - bound - 1``, ``t0 - bound`` and ``t0 - bound + 1`` ms, runs the door, and reads
``TIME`` again (``t1``). The door read Redis' clock between the two, so when ``t1 == t0``
it read exactly ``t0``: only such attempts are judged, and the others retried on new jobs
(a condition waited on, not a sleep), whatever the machine's scheduling.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.modes import RedisMode
from harness.testing.redis.backend import RedisBackend
from pipeline.cleanup import archive_completed, mark_stale, purge_errors, sweep_all
from pipeline.lua_read import read_source
from pipeline.reading import flag_stale
from pipeline.records import decode
from pipeline.store import JobStore, Sweep
from pipeline.waiting import wait_until
from pipeline.workflow import Workflow
from tests.store.conftest import new_job


@pytest.fixture(autouse=True)
def _one_node(redis_backend: RedisBackend) -> None:
    """An attempt is judged only when Redis' clock read the same millisecond before and
    after it; on a Redis Cluster or behind Sentinel an attempt is round trips to several
    processes and rarely fits, so each case would wait out its minute. The inequality is
    the same scripts and queries there; it is judged on fakeredis and one redis-server."""
    if redis_backend.mode in (RedisMode.CLUSTER, RedisMode.SENTINEL):
        pytest.skip("to-the-millisecond judgement needs one Redis node (fake or server)")


AGES = {"a ms older than the bound": 1, "exactly at the bound": 0, "a ms newer": -1}
"""Each job's age at ``t0``, in ms past the bound."""
STALE = {"a ms older than the bound": True, "exactly at the bound": False, "a ms newer": False}

Door = Callable[[JobStore, float, str], bool]
"""``door(store, seconds, job_id)``: whether the door finds the job stale."""


def _with_threshold(store: JobStore, seconds: float) -> JobStore:
    """``store`` with ``stale_after_seconds`` at ``seconds`` (a whole number), made
    before an attempt: building a store is no part of what is timed."""
    changed = store.settings.with_(stale_after_seconds=int(seconds), heartbeat_seconds=seconds / 2)
    return JobStore(store.client, store.workflow, changed)


def _poll_tag(store: JobStore, job_id: str) -> str:
    """The version tag the web API's poll reads (its script, its arguments), whose last
    digit is the job view's stale flag."""
    stale_ms = int(store.settings.stale_after_seconds * 1000)
    reply = store.client.eval(
        read_source(store.workflow), 1, store.keys.state(job_id), stale_ms, "*"
    )
    return decode(reply[0])


def _listed_stale(store: JobStore, job_id: str) -> bool:
    """The job list's stale flag for the job, as the list judges it (its record and Redis'
    time read together)."""
    record = store.get_state(job_id)
    now = store.now_ms()
    flagged = flag_stale([record], now, store.workflow.terminal, store.settings.stale_after_seconds)
    return bool(flagged[0]["stale"])


DOORS: dict[str, Door] = {
    "mark_stale": lambda store, s, job_id: job_id in mark_stale(store, older_than=s),
    "sweep_all": lambda store, s, job_id: job_id in sweep_all(store, stale_after=s).stale,
    "one job's sweep": lambda store, s, job_id: (
        not store.sweep(Sweep.MARK_STALE, job_id, s, "stale").skipped
    ),
    "the default threshold": lambda store, s, job_id: job_id in mark_stale(store),
    "the record's stale flag": lambda store, s, job_id: store.get_live_state(job_id)["stale"],
    "the poll's tag (the job view)": lambda store, s, job_id: _poll_tag(store, job_id)[-1] == "1",
    "the list's stale flag": lambda store, s, job_id: _listed_stale(store, job_id),
}
WHOLE_SECONDS_ONLY = {
    "the default threshold",
    "the record's stale flag",
    "the poll's tag (the job view)",
    "the list's stale flag",
}
"""Doors that take the threshold from ``stale_after_seconds``, a whole number."""


def _age(store: JobStore, job_id: str, age_ms: int) -> int:
    """Stamp the job ``age_ms`` old by Redis' clock (its last change and beat, and its
    score in the index of its status); the Redis time read."""
    wf, keys = store.workflow, store.keys
    status = store.get_state(job_id)["status"]
    index = keys.completed
    if status not in wf.terminal:
        index = keys.running
    elif status == wf.error:
        index = keys.errored
    t0 = store.now_ms()
    last = t0 - age_ms
    pipe = store.client.pipeline(transaction=False)
    pipe.hset(keys.state(job_id), mapping={"updated_ms": last, "heartbeat_ms": last})
    pipe.zadd(index, {job_id: last})
    pipe.execute()
    return t0


def _judged(
    store: JobStore, wf: Workflow, door: Door, seconds: float, age: str, status: str = ""
) -> bool:
    """The door's verdict on a job (running, or in ``status``) ``AGES[age]`` ms past the
    bound, from an attempt during which Redis' clock did not move (see the module docs).
    One job an attempt: the less an attempt does, the likelier it fits in a millisecond."""

    def attempt() -> tuple[bool] | None:
        job_id = new_job(store, status or wf.happy_path()[1])
        t0 = _age(store, job_id, round(seconds * 1000) + AGES[age])
        verdict = door(store, seconds, job_id)
        exact = store.now_ms() == t0
        store.clear_state(job_id)  # an inexact attempt's job stays out of the next
        return (verdict,) if exact else None

    judged = wait_until(
        attempt, timeout=60, interval=0.001, what="an attempt within one ms of Redis' clock"
    )
    return judged[0]


THRESHOLDS = [0, 0.5, 1, 2.5, 120]


def _whole(seconds: float) -> bool:
    return seconds >= 1 and seconds == int(seconds)


@pytest.mark.parametrize(
    ("door", "seconds"),
    [
        (door, seconds)
        for door in sorted(DOORS)
        for seconds in THRESHOLDS
        if door not in WHOLE_SECONDS_ONLY or _whole(seconds)
    ],
)
def test_a_job_is_stale_one_ms_past_the_bound_and_not_at_it(
    state_store: JobStore, wf: Workflow, door: str, seconds: float
) -> None:
    whole = _whole(seconds)
    store = _with_threshold(state_store, seconds) if whole else state_store
    judged = {age: _judged(store, wf, DOORS[door], seconds, age) for age in AGES}
    assert judged == STALE


def test_a_stale_job_moves_once_and_says_why(state_store: JobStore, wf: Workflow) -> None:
    """The move one ms past the bound is the sweep's whole write: ERROR with the stale
    error, the stale history entry, out of the running index; the sweep after it finds
    nothing (the index query and the script agree: no candidate is left to skip)."""
    job_id = new_job(state_store, wf.happy_path()[1])
    _age(state_store, job_id, 2500 + 1)
    assert mark_stale(state_store, older_than=2.5) == [job_id]
    record = state_store.get_state(job_id)
    assert record["status"] == wf.error
    assert record["error"].startswith("stale: no heartbeat or progress for 2.5s")
    assert state_store.history(job_id)[-1]["kind"] == "stale"
    assert state_store.client.zscore(state_store.keys.running, job_id) is None
    assert mark_stale(state_store, older_than=2.5) == []


OTHER_SWEEPS: dict[str, tuple[str, Door]] = {
    "purge_errors": ("error", lambda store, s, job_id: job_id in purge_errors(store, s)),
    "one job's purge": (
        "error",
        lambda store, s, job_id: (
            not store.sweep(Sweep.PURGE, job_id, s, store.workflow.error).skipped
        ),
    ),
    "archive_completed": ("done", lambda store, s, job_id: job_id in archive_completed(store, s)),
    "one job's archive": (
        "done",
        lambda store, s, job_id: not store.sweep(Sweep.ARCHIVE, job_id, s, "0").skipped,
    ),
}


@pytest.mark.parametrize("seconds", [0, 2.5])
@pytest.mark.parametrize("door", sorted(OTHER_SWEEPS))
def test_the_purge_and_the_archive_take_a_job_one_ms_past_the_bound_and_not_at_it(
    state_store: JobStore, wf: Workflow, door: str, seconds: float
) -> None:
    """The other sweeps share the bound: "more than ``older_than`` s" in their
    docstrings, strictly, as the index query they start from."""
    which, sweep = OTHER_SWEEPS[door]
    status = wf.error if which == "error" else wf.happy_path()[-1]
    judged = {age: _judged(state_store, wf, sweep, seconds, age, status) for age in AGES}
    assert judged == STALE
