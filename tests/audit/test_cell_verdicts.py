"""Every problem the chaos tally finds in a cell's job turns the cell red.

The tally says whether the job is stuck, illegal or lost; the cell adds what its fault
demands. Whatever the fault, a cell whose job the tally faults may not pass.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis

from harness.testing.audit.verdict import judge_cell
from pipeline.store import JobStore

STAGES = ["DOWNLOADING", "TRANSCRIBING", "GENERATING_QUOTES", "GENERATING_SUMMARY"]


def _stuck(store: JobStore, client: redis.Redis) -> str:
    job_id = store.create("https://example.com/a.mp3").job_id
    store.set_state(job_id, "DOWNLOADING", attempt=1)
    return job_id


def _illegal(store: JobStore, client: redis.Redis) -> str:
    """A finished job whose history goes on after COMPLETE (written behind its back)."""
    job_id = store.create("https://example.com/a.mp3").job_id
    for stage in STAGES:
        store.set_state(job_id, stage, attempt=1)
    store.set_state(job_id, "COMPLETE", attempt=1, result={"summary": "s"})
    last = store.history(job_id)[-1]["version"]
    entry = {"v": last + 1, "attempt": 1, "kind": "transition", "from": "COMPLETE"}
    entry |= {"to": "DOWNLOADING", "ms": store.now_ms(), "message": "", "error": ""}
    client.xadd(store.keys.history(job_id), entry)  # type: ignore[arg-type]
    return job_id


def _vanished(store: JobStore, client: redis.Redis) -> str:
    job_id = store.create("https://example.com/a.mp3").job_id
    store.set_state(job_id, "DOWNLOADING", attempt=1)
    store.fail(job_id, "DOWNLOADING: boom", attempt=1, stage="DOWNLOADING")
    client.delete(store.keys.state(job_id))
    return job_id


CASES: dict[str, tuple[Callable[[JobStore, redis.Redis], str], str]] = {
    "stuck": (_stuck, "stuck in DOWNLOADING"),
    "illegal": (_illegal, "illegal path"),
    "lost": (_vanished, "record vanished"),
}


@pytest.mark.parametrize("fault", ["exception", "kill", "time-limit"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_job_the_tally_faults_turns_its_cell_red(
    state_store: JobStore, redis_client: redis.Redis, case: str, fault: str
) -> None:
    make, problem = CASES[case]
    cell = judge_cell(state_store, "DOWNLOADING", fault, make(state_store, redis_client), fired=1)
    assert cell.verdict == "fail", cell.reasons
    assert any(problem in reason for reason in cell.reasons), cell.reasons
