"""The stateful machine from harness.machines, on several workflows and store modes, and
proof that it catches a broken store."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import Phase, settings

from harness.machines import StoreFactory, run_machine
from pipeline.errors import InvalidTransition
from pipeline.store import JobStore, Write
from pipeline.workflow import PRD_WORKFLOW, Workflow
from tests.property.workflows import LOOSE_PRD, WORKFLOWS


@pytest.mark.parametrize("name", ["configured", "review", "tiny"])
def test_machine_holds_on_every_workflow(
    store_factory: StoreFactory, jobstate_workflow: Workflow, name: str
) -> None:
    workflow = {"configured": jobstate_workflow, **WORKFLOWS}[name]
    run_machine(workflow, store_factory)


def test_machine_holds_in_cluster_mode(store_factory: StoreFactory) -> None:
    def cluster(wf: Workflow) -> JobStore:
        store = store_factory(wf)
        return JobStore(store.client, wf, store.settings.with_(cluster=True))

    run_machine(PRD_WORKFLOW, cluster)


# A broken store must be caught while generating; shrinking the failure is not the point.
QUICK = settings(
    max_examples=200,
    stateful_step_count=30,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    report_multiple_bugs=False,
    print_blob=False,
)


def test_machine_catches_a_store_with_a_forbidden_edge(store_factory: StoreFactory) -> None:
    def loose(wf: Workflow) -> JobStore:
        store = store_factory(wf)
        return JobStore(store.client, LOOSE_PRD, store.settings)

    with pytest.raises(AssertionError, match="expected InvalidTransition"):
        run_machine(PRD_WORKFLOW, loose, settings=QUICK)


class VersionBumpingHeartbeat(JobStore):
    """A broken store whose heartbeat writes progress (a version bump and history)."""

    def heartbeat(self, job_id: str, *, attempt: int = 0, status: str | None = None) -> Write:
        return self.progress(job_id, None, attempt=attempt, status=status)


def test_machine_catches_a_heartbeat_that_bumps_the_version(
    store_factory: StoreFactory,
) -> None:
    def broken(wf: Workflow) -> JobStore:
        store = store_factory(wf)
        return VersionBumpingHeartbeat(store.client, wf, store.settings)

    with pytest.raises(AssertionError, match=r"version|heartbeat"):
        run_machine(PRD_WORKFLOW, broken, settings=QUICK)


class RefusalThatTouches(JobStore):
    """A broken store that stamps the job as active before it checks the transition (a
    GET-modify-SET habit): the refusal is raised, but a dead job now looks alive."""

    def set_state(self, job_id: str, status: str, **kwargs: Any) -> Write:
        try:
            return super().set_state(job_id, status, **kwargs)
        except InvalidTransition:
            self.client.hset(self.keys.state(job_id), "updated_ms", self.now_ms() + 1)
            raise


def test_machine_catches_a_refused_write_that_still_changed_the_job(
    store_factory: StoreFactory,
) -> None:
    def broken(wf: Workflow) -> JobStore:
        store = store_factory(wf)
        return RefusalThatTouches(store.client, wf, store.settings)

    with pytest.raises(AssertionError, match="a rejected write changed"):
        run_machine(PRD_WORKFLOW, broken, settings=QUICK)
