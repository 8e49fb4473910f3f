"""The state recorder judges every entry of a history, the ones that keep the status too.

A store (or an app with its own state) that writes progress, a redelivery or a refused
duplicate to a job that already ended tells an illegal story: the recorder is the
second line that must say so, whatever the first line let through.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harness.testing.recorder import NOT_MOVES, StateRecorder
from pipeline.store import JobStore
from pipeline.workflow import PRD_WORKFLOW


class _Forging(StateRecorder):
    """A recorder that reads one forged entry after each job's real history."""

    def __init__(self, store: JobStore, forged: dict[str, Any] | None) -> None:
        super().__init__(store)
        self.forged = forged

    def history(self, job_id: str) -> list[dict[str, Any]]:
        """The job's real history, then the forged entry (if any) one version later."""
        real = super().history(job_id)
        if self.forged is None:
            return real
        return [*real, {**real[-1], **self.forged, "version": real[-1]["version"] + 1}]


def _ended(store: JobStore, end: str) -> str:
    """A job taken through its first stages to ``end`` (COMPLETE or ERROR)."""
    job_id = store.create("https://media.example/talk.mp3").job_id
    if end == "ERROR":
        store.set_state(job_id, "DOWNLOADING", attempt=1)
        store.fail(job_id, "broke", attempt=1, stage="DOWNLOADING")
        return job_id
    for status in PRD_WORKFLOW.happy_path()[1:]:
        store.set_state(job_id, status, attempt=1)
    return job_id


@pytest.fixture
def recorder_for(state_store: JobStore) -> Iterator[Any]:
    """Function: builds a started forging recorder; stops each at teardown."""
    made: list[StateRecorder] = []

    def build(forged: dict[str, Any] | None) -> StateRecorder:
        recorder = _Forging(state_store, forged).start()
        made.append(recorder)
        return recorder

    yield build
    for recorder in made:
        recorder.stop()


@pytest.mark.parametrize("end", ["COMPLETE", "ERROR"])
def test_an_ended_job_with_nothing_after_its_end_is_legal(
    state_store: JobStore, recorder_for: Any, end: str
) -> None:
    recorder = recorder_for(None)
    recorder.track(_ended(state_store, end))
    recorder.assert_all_legal()


@pytest.mark.parametrize("kind", sorted(NOT_MOVES))
@pytest.mark.parametrize("end", ["COMPLETE", "ERROR"])
def test_an_entry_that_keeps_the_status_after_the_end_is_an_illegal_path(
    state_store: JobStore, recorder_for: Any, end: str, kind: str
) -> None:
    recorder = recorder_for({"kind": kind})
    job_id = _ended(state_store, end)
    recorder.track(job_id)
    with pytest.raises(AssertionError, match="illegal path") as failed:
        recorder.assert_all_legal()
    assert repr((kind, end)) in str(failed.value)  # the step it judged illegal is named
