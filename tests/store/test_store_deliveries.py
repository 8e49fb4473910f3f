"""Deliveries of a stage are fenced like attempts: the newest delivery runs, older ones and
second hand-offs are refused, and every refusal is in the history.

Slips these catch: counting a redelivery without superseding the run it replaces (two runs
of one stage both hand off: the chain runs twice, the result is written twice); accepting a
stage entry from any run (a duplicate's hand-off moves the job again); a superseded run's
error overwriting a healthy newer run.
"""

from __future__ import annotations

import pytest

from pipeline.errors import InvalidTransition
from pipeline.store import JobStore
from pipeline.workflow import Workflow
from tests.store.conftest import new_job


@pytest.fixture
def stages(wf: Workflow) -> tuple[str, str]:
    """Two consecutive stages of the workflow."""
    happy = wf.happy_path()
    return happy[1], happy[2]


def _kinds(store: JobStore, job_id: str) -> list[tuple[str, str]]:
    return [(e["kind"], e["status"]) for e in store.history(job_id)]


def test_a_second_delivery_supersedes_the_first(
    store: JobStore, wf: Workflow, stages: tuple[str, str]
) -> None:
    x, y = stages
    job_id = new_job(store, x)
    second = store.set_state(job_id, x, attempt=1, max_runs=3, task_id="t-x")
    assert second.reruns == 2
    # The first delivery can no longer report progress, beat, fail or hand off...
    with pytest.raises(InvalidTransition, match="superseded"):
        store.progress(job_id, {"n": 1}, attempt=1, status=x, run=1)
    with pytest.raises(InvalidTransition, match="superseded"):
        store.heartbeat(job_id, attempt=1, status=x, run=1)
    with pytest.raises(InvalidTransition, match="superseded"):
        store.fail(job_id, "boom", attempt=1, stage=x, by=(x, 1))
    with pytest.raises(InvalidTransition, match="superseded"):
        store.set_state(job_id, y, attempt=1, max_runs=3, by=(x, 1))
    assert store.get_state(job_id)["status"] == x
    # ...while the second runs on and hands off.
    store.progress(job_id, {"n": 2}, attempt=1, status=x, run=2)
    store.heartbeat(job_id, attempt=1, status=x, run=2)
    assert store.set_state(job_id, y, attempt=1, max_runs=3, by=(x, 2)).status == y
    refused = [e for e in store.history(job_id) if e["kind"] == "duplicate"]
    assert [e["status"] for e in refused] == [x, x]  # the error and the hand-off, not beats
    assert all("superseded" in e["message"] for e in refused)
    assert wf.is_legal_path(_kinds(store, job_id))


def test_a_second_hand_off_is_refused_and_recorded(
    store: JobStore, wf: Workflow, stages: tuple[str, str]
) -> None:
    x, y = stages
    job_id = new_job(store, x)
    store.set_state(job_id, x, attempt=1, max_runs=3)  # delivery 2 of x
    store.set_state(job_id, y, attempt=1, max_runs=3, by=(x, 2), task_id="first")
    version = store.get_state(job_id)["version"]
    with pytest.raises(InvalidTransition, match="second hand-off from"):
        store.set_state(job_id, y, attempt=1, max_runs=3, by=(x, 1), task_id="second")
    record = store.get_state(job_id)
    assert (record["status"], record["metadata"]["task_id"]) == (y, "first")
    assert record["version"] == version + 1
    assert _kinds(store, job_id)[-1] == ("duplicate", y)
    assert wf.is_legal_path(_kinds(store, job_id))


def test_the_same_hand_off_delivered_again_is_a_redelivery(
    store: JobStore, stages: tuple[str, str]
) -> None:
    x, y = stages
    job_id = new_job(store, x)
    store.set_state(job_id, y, attempt=1, max_runs=3, by=(x, 1), task_id="y-1")
    again = store.set_state(job_id, y, attempt=1, max_runs=3, by=(x, 1), task_id="y-1")
    assert (again.status, again.reruns) == (y, 2)
    assert _kinds(store, job_id)[-1] == ("redelivered", y)


def test_deliveries_start_over_with_each_status_and_attempt(
    store: JobStore, wf: Workflow, stages: tuple[str, str]
) -> None:
    x, y = stages
    job_id = new_job(store, x)
    store.set_state(job_id, x, attempt=1, max_runs=3)
    store.set_state(job_id, y, attempt=1, max_runs=3, by=(x, 2))
    store.progress(job_id, {"n": 1}, attempt=1, status=y, run=1)  # y's first delivery
    store.fail(job_id, "boom", attempt=1, stage=y, by=(y, 1))
    store.retry(job_id)
    first = wf.stages[0]
    assert store.set_state(job_id, first, attempt=2, max_runs=3).reruns == 0


@pytest.mark.parametrize("run", [-1, True, "1"])
def test_a_bad_delivery_number_is_refused(
    store: JobStore, stages: tuple[str, str], run: object
) -> None:
    from pipeline.errors import ValidationError

    x, _ = stages
    job_id = new_job(store, x)
    with pytest.raises(ValidationError, match="run"):
        store.heartbeat(job_id, attempt=1, status=x, run=run)  # type: ignore[arg-type]
