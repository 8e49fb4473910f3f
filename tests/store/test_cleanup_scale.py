"""10,000 stored jobs, a few of them stale, old errors and old completions: the sweeps
touch exactly those, and run one script per job they touch (the indexes find them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pipeline.batch import Batch
from pipeline.cleanup import archive_completed, mark_stale, purge_errors
from pipeline.store import JobStore
from pipeline.workflow import Workflow
from tests.store.conftest import URL, age_between, path_to, time_gap

TOTAL = 10_000
OLD_STALE, OLD_ALIVE, OLD_ERRORS, OLD_DONE = 60, 40, 30, 30
NEW_ERRORS, NEW_DONE = 200, 200
pytestmark = pytest.mark.slow


def seed(store: JobStore, groups: dict[str, tuple[int, str]]) -> dict[str, list[str]]:
    """Create ``count`` jobs per group, each moved to the group's status, in one pipeline."""
    batch = Batch(store)
    ids: dict[str, list[str]] = {}
    for name, (count, status) in groups.items():
        ids[name] = [f"{name}-{n}" for n in range(count)]
        for job_id in ids[name]:
            batch.create(URL, job_id=job_id)
            for step in path_to(store.workflow, status):
                error = "boom" if step == store.workflow.error else None
                batch.set_state(job_id, step, error=error)
    batch.flush()
    return ids


def versions(store: JobStore, job_ids: list[str]) -> dict[str, tuple[Any, Any]]:
    """``(status, version)`` of every job (``None`` for gone ones), in one round trip."""
    pipe = store.client.pipeline(transaction=False)
    for job_id in job_ids:
        pipe.hmget(store.keys.state(job_id), "status", "version")
    return {j: tuple(r) for j, r in zip(job_ids, pipe.execute(), strict=True)}


def counting(store: JobStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the job id of every script the sweeps run."""
    calls: list[str] = []
    original: Callable[..., Any] = store._run

    def spy(op: str, job_id: str, *args: Any) -> Any:
        calls.append(job_id)
        return original(op, job_id, *args)

    monkeypatch.setattr(store, "_run", spy)
    return calls


def test_sweeps_touch_exactly_the_right_jobs_among_10000(
    state_store: JobStore, jobstate_workflow: Workflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, wf = state_store, jobstate_workflow
    happy = wf.happy_path()
    rest = TOTAL - OLD_STALE - OLD_ALIVE - OLD_ERRORS - OLD_DONE - NEW_ERRORS - NEW_DONE
    old = seed(
        store,
        {
            "stale": (OLD_STALE, happy[1]),
            "alive": (OLD_ALIVE, happy[2]),
            "olderr": (OLD_ERRORS, wf.error),
            "olddone": (OLD_DONE, happy[-1]),
        },
    )
    before, after = time_gap(store.client)
    beats = Batch(store)
    for job_id in old["alive"]:
        beats.heartbeat(job_id)
    beats.flush()
    new = seed(
        store,
        {
            "run": (rest, wf.initial),
            "newerr": (NEW_ERRORS, wf.error),
            "newdone": (NEW_DONE, happy[-1]),
        },
    )
    everyone = [j for group in (*old.values(), *new.values()) for j in group]
    assert len(everyone) == TOTAL
    start = versions(store, everyone)
    calls = counting(store, monkeypatch)

    stale = mark_stale(store, older_than=age_between(store.client, before, after))
    assert sorted(stale) == sorted(old["stale"])
    assert sorted(calls) == sorted(old["stale"])
    calls.clear()
    purged = purge_errors(store, older_than=age_between(store.client, before, after))
    assert sorted(purged) == sorted(calls) == sorted(old["olderr"])
    calls.clear()
    archived = archive_completed(store, older_than=age_between(store.client, before, after))
    assert sorted(archived) == sorted(calls) == sorted(old["olddone"])

    end = versions(store, everyone)
    changed = {j for j in everyone if end[j] != start[j]}
    assert changed == {*old["stale"], *old["olderr"], *old["olddone"]}
    for job_id in old["stale"]:
        status, version = end[job_id]
        assert (status.decode(), int(version)) == (wf.error, int(start[job_id][1]) + 1)
    assert all(end[j] == (None, None) for j in [*old["olderr"], *old["olddone"]])
    assert store.client.zcard(store.keys.jobs) == TOTAL - OLD_ERRORS - OLD_DONE
