"""``history_maxlen`` is what every reader of a job's history sees: the newest entries,
at most that many, oldest first, at the cap, one past it and far past it.

The write scripts trim the stream with ``XADD ... MAXLEN ~``: Redis drops whole stream
nodes, so the stream may hold up to a node (100 entries by default) more than the cap,
and fakeredis trims in its own steps. Readers used to return the whole stream: with a cap
of 5, a job with 50 entries showed 25 to 50 of them depending on the Redis. The contract
is the readers' and holds on every Redis: ``JOBSTATE_HISTORY_MAXLEN`` entries kept per job
(README), the newest ones, in order.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.cleanup import archive_completed
from pipeline.live_reads import LiveReads
from pipeline.service import JobService
from pipeline.store import JobStore
from pipeline.waiting import wait_until
from pipeline.workflow import Workflow

URL = "https://media.example/talk.mp3"
NODE = 100  # Redis' stream-node-max-entries: how far past the cap '~' may leave a stream


def _live_reads(store: JobStore, job_id: str) -> list[dict[str, Any]]:
    """The web API's read of the history (its own asyncio client, closed after)."""

    async def read() -> list[dict[str, Any]]:
        reads = LiveReads(store)
        try:
            return await reads.history(job_id)
        finally:
            await reads.aclose()

    return asyncio.run(read())


DOORS = {
    "store": lambda store, job_id: store.history(job_id),
    "service": lambda store, job_id: JobService(store, lambda ctx: None).history(job_id),
    "api": _live_reads,
}
"""Every reader of one job's history: ``jobstate status --history`` reads the service's."""


def _job_with(store: JobStore, wf: Workflow, entries: int) -> str:
    """A job whose history has ``entries`` entries, versions 1..entries: the happy path
    with progress in its first stage, ending COMPLETE when there are entries enough."""
    path = wf.happy_path()
    job_id = store.create(URL).job_id  # entry 1
    first, rest = path[1:2], path[2:]
    progress = max(0, entries - len(path))
    for status in (first + rest)[: entries - 1] if progress == 0 else first:
        store.set_state(job_id, status, attempt=1)
    for n in range(progress):
        store.progress(job_id, {"n": n}, attempt=1)
    if progress:
        for status in rest:
            store.set_state(job_id, status, attempt=1)
    return job_id


def _capped(store: JobStore, cap: int) -> JobStore:
    """A store on ``store``'s Redis whose ``history_maxlen`` is ``cap``."""
    return JobStore(store.client, store.workflow, store.settings.with_(history_maxlen=cap))


def _versions(history: list[dict[str, Any]]) -> list[int]:
    return [entry["version"] for entry in history]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cap=st.integers(1, 2 * NODE), past=st.sampled_from([0, 1, "10x"]) | st.integers(-5, 300))
@example(cap=1, past=0)
@example(cap=1, past=1)
@example(cap=5, past="10x")
@example(cap=NODE, past=0)
@example(cap=NODE, past=1)
@example(cap=NODE, past="10x")
def test_every_door_shows_the_newest_entries_up_to_the_cap_in_order(
    state_store: JobStore, cap: int, past: int | str
) -> None:
    """``past``: entries written beyond the cap (``"10x"``: ten times the cap in all)."""
    store = _capped(state_store, cap)
    written = 10 * cap if past == "10x" else max(1, cap + int(past))
    job_id = _job_with(store, store.workflow, written)
    assert store.get_state(job_id)["version"] == written
    newest = list(range(max(1, written - cap + 1), written + 1))
    for door, read in DOORS.items():
        assert _versions(read(store, job_id)) == newest, (door, written, cap)
    if store.get_state(job_id)["status"] not in store.workflow.terminal:
        return
    # Archived, it is read through the same doors, from the archive's copy.
    wait_until(lambda: archive_completed(store, older_than=0), timeout=5, what="the archive")
    assert _versions(store.history(job_id, archived=True)) == newest
    for door, read in DOORS.items():
        if door != "store":  # the store reads the archive only when asked
            assert _versions(read(store, job_id)) == newest, ("archived", door, written, cap)


@pytest.mark.parametrize("written", [NODE - 1, NODE, NODE + 1, 10 * NODE])
def test_the_default_node_sized_bound_holds_with_a_larger_cap_too(
    state_store: JobStore, written: int
) -> None:
    """A cap above a node: nothing is dropped before it, the newest ``cap`` after."""
    cap = NODE + 50
    store = _capped(state_store, cap)
    job_id = _job_with(store, store.workflow, written)
    newest = list(range(max(1, written - cap + 1), written + 1))
    assert _versions(store.history(job_id)) == newest


def test_a_history_written_under_a_larger_cap_is_read_under_the_readers_own(
    state_store: JobStore,
) -> None:
    """A deployment that lowers the cap: a job's stream keeps its old length until its
    next write, and readers show no more than the cap they were given."""
    wide = _capped(state_store, 500)
    job_id = _job_with(wide, wide.workflow, 300)
    narrow = _capped(state_store, 20)
    assert state_store.client.xlen(narrow.keys.history(job_id)) == 300
    for door, read in DOORS.items():
        assert _versions(read(narrow, job_id)) == list(range(281, 301)), door
