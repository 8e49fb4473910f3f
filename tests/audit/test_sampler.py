"""The sampled recorder: every status an app writes, in order, and how often it read.

An in-memory adapter stands in for an app's store; a writer moves a job through a dozen
statuses, each held until the sampler has seen it, so the test waits on the sampler,
never on time.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from harness.adapter import JobReading, StateAdapter
from harness.testing.audit.foreign.sampler import StateSampler
from pipeline.waiting import wait_until
from pipeline.workflow import Workflow

STAGES = {f"STEP_{i}": f"Step {i}" for i in range(10)}
WF = Workflow.linear("steps", stages=STAGES, done=("DONE", "Done"), error=("FAILED", "Failed"))


class MemoryAdapter(StateAdapter):
    """Reads a dict; its API answers from a second dict (a cache the test controls)."""

    workflow = WF
    stage_tasks = {"STEP_0": "steps.zero"}  # noqa: RUF012 (a class-level declaration)

    def __init__(self, app: Any = None) -> None:
        super().__init__(app)
        self.store: dict[str, JobReading] = {}
        self.api: dict[str, JobReading] = {}
        self.down = threading.Event()
        self.reads = 0

    def read(self, job_id: str) -> JobReading | None:
        self.reads += 1
        if self.down.is_set():
            raise ConnectionError("store down")
        return self.store.get(job_id)

    def read_api(self, job_id: str) -> JobReading | None:
        return self.api.get(job_id)


class StoreOnly(MemoryAdapter):
    read_api = StateAdapter.read_api  # type: ignore[assignment]


def _seen(sampler: StateSampler, job: str, status: str) -> bool:
    latest = sampler.latest(job)
    return latest is not None and latest.status == status


def test_every_status_of_a_dozen_is_seen_once_in_order() -> None:
    adapter = StoreOnly()
    path = WF.happy_path()
    assert len(path) == 12
    with StateSampler(adapter) as sampler:
        sampler.track("j")
        for status in path:
            adapter.store["j"] = JobReading(status, result={"n": 1} if status == "DONE" else None)
            wait_until(lambda s=status: _seen(sampler, "j", s), timeout=10, what=status)
        changes = sampler.changes("j")
        stats = sampler.stats("j")
    assert [c.reading.status for c in changes if c.reading] == path
    assert [c.at for c in changes] == sorted(c.at for c in changes)
    # Each change happened after the read before it began: the window the judge trusts.
    assert changes[0].since == 0.0
    for before, change in itertools.pairwise(changes):
        assert before.since <= change.since < change.wall
    assert changes[-1].reading is not None
    assert changes[-1].reading.has_result
    assert stats.reads >= len(path)
    assert 0 < stats.mean_gap_ms <= stats.max_gap_ms
    assert "read" in stats.describe()
    assert "longest gap" in stats.describe()


def test_a_new_error_or_result_is_a_change_and_a_repeat_is_not() -> None:
    adapter = StoreOnly()
    with StateSampler(adapter) as sampler:
        sampler.track("j")
        adapter.store["j"] = JobReading("FAILED")
        wait_until(lambda: _seen(sampler, "j", "FAILED"), timeout=10, what="FAILED")
        reads = adapter.reads
        wait_until(lambda: adapter.reads > reads + 20, timeout=10, what="more reads")
        adapter.store["j"] = JobReading("FAILED", error="boom")
        wait_until(
            lambda: sampler.changes("j")[-1].reading == adapter.store["j"], timeout=10, what="error"
        )
    assert [c.reading.error for c in sampler.changes("j") if c.reading] == [None, "boom"]


def test_an_api_that_disagrees_with_a_still_store_is_a_span_and_one_that_agrees_ends_it() -> None:
    adapter = MemoryAdapter()
    adapter.store["j"] = JobReading("DONE")
    adapter.api["j"] = JobReading("STEP_3")
    with StateSampler(adapter) as sampler:
        sampler.track("j")
        wait_until(
            lambda: any(s.seconds > 0.2 for s in sampler.api_spans("j")), timeout=10, what="span"
        )
        adapter.api["j"] = JobReading("DONE")
        wait_until(
            lambda: sampler.api_spans("j") and sampler.api_agrees("j"),
            timeout=10,
            what="closed",
        )
        spans = sampler.api_spans("j")
    assert [(s.api, s.store) for s in spans] == [("STEP_3", "DONE")]
    assert spans[0].seconds > 0.2


def test_a_store_that_fails_every_read_is_down_for_as_long_as_it_fails() -> None:
    adapter = StoreOnly()
    adapter.store["j"] = JobReading("STEP_0")
    with StateSampler(adapter) as sampler:
        sampler.track("j")
        wait_until(lambda: _seen(sampler, "j", "STEP_0"), timeout=10, what="first read")
        assert sampler.down_for() == 0.0
        adapter.down.set()
        wait_until(lambda: sampler.down_for() > 0.1, timeout=10, what="down")
        adapter.down.clear()
        wait_until(lambda: sampler.down_for() == 0.0, timeout=10, what="up again")
        stats = sampler.stats("j")
    assert stats.failed > 0
    assert "failed (Redis down)" in stats.describe()
    assert [c.reading.status for c in sampler.changes("j") if c.reading] == ["STEP_0"]
