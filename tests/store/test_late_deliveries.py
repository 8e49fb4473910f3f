"""Writes that arrive after a job has ended, and sweeps whose index is behind.

A stage message redelivered (or handed off twice) after the job reached a terminal status
is refused as ``terminal`` and changes nothing: no version, no history entry, no lifetime.
A sweep re-checks the job's status inside Redis: an index that still lists a job (a
cluster's indexes are written after the script) never lets a sweep touch a job that moved.
"""

from __future__ import annotations

import pytest

from pipeline.cleanup import purge_errors
from pipeline.errors import InvalidTransition
from pipeline.store import JobStore
from pipeline.workflow import Workflow
from tests.store.conftest import new_job, wait_for_redis_time


@pytest.mark.parametrize("end", ["done", "error"])
@pytest.mark.parametrize("by", [None, "same", "earlier"])
def test_a_stage_delivered_after_the_job_ended_is_refused_and_changes_nothing(
    store: JobStore, wf: Workflow, end: str, by: str | None
) -> None:
    stages = wf.stages
    final = wf.happy_path()[-1] if end == "done" else wf.error
    job_id = new_job(store, final)
    key = store.keys.state(job_id)
    before = (store.get_state(job_id), store.history(job_id), store.client.ttl(key))
    handed = {None: None, "same": (stages[-1], 1), "earlier": (stages[0], 1)}[by]
    for stage in (stages[0], stages[-1]):
        with pytest.raises(InvalidTransition) as refused:
            store.set_state(job_id, stage, attempt=1, max_runs=3, by=handed)
        assert "terminal" in str(refused.value)
    after = (store.get_state(job_id), store.history(job_id), store.client.ttl(key))
    assert after[0] == before[0]
    assert after[1] == before[1]
    assert 0 < after[2] <= before[2]  # the same lifetime, running down


def test_a_purge_never_deletes_a_job_its_index_lists_but_that_is_running(
    store: JobStore, wf: Workflow
) -> None:
    running = new_job(store, wf.stages[0])
    # As a lagging index would: the job listed among the errors, long ago.
    store.client.zadd(store.keys.errored, {running: 1})
    wait_for_redis_time(store.client, store.history(running)[-1]["ms"])
    assert purge_errors(store, older_than=0) == []
    assert store.get_state(running)["status"] == wf.stages[0]
