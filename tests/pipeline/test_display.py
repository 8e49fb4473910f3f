"""The live view of ``jobstate submit --wait``: a job no worker starts is said to be one.

The view's clock is faked: the note's bound (``UNSTARTED`` seconds in the initial status)
is checked at exactly the bound and just past it, without waiting for either.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from pipeline import display
from pipeline.store import JobStore

NOTE = "no worker has started it"


class FakeClock:
    """``time.monotonic`` and ``time.sleep`` for the view: each sleep jumps to the next
    reading of ``readings`` (then past the view's timeout)."""

    def __init__(self, readings: list[float], end: float) -> None:
        self.now = 0.0
        self.readings = list(readings)
        self.end = end

    def monotonic(self) -> float:
        return self.now

    def sleep(self, _: float) -> None:
        self.now = self.readings.pop(0) if self.readings else self.end


def _notes_seen(
    monkeypatch: pytest.MonkeyPatch, store: JobStore, job_id: str, readings: list[float]
) -> list[tuple[float, str]]:
    """Watch ``job_id`` on the fake clock; what note the view showed at each reading."""
    clock = FakeClock(readings, end=1000.0)
    # The view's own names only: the time module's are every thread's (a heartbeat
    # thread left by an earlier test sleeps through them too).
    monkeypatch.setattr(display, "monotonic", clock.monotonic)
    monkeypatch.setattr(display, "sleep", clock.sleep)
    seen: list[tuple[float, str]] = []
    view = display._view

    def spy(record: dict[str, Any] | None, note: str = "") -> Any:
        seen.append((clock.now, note))
        return view(record, note)

    monkeypatch.setattr(display, "_view", spy)
    display.watch_job(store, job_id, Console(file=io.StringIO()), timeout=999.0)
    return seen[1:]  # the first is the empty view the display opens with


def test_a_job_still_in_its_initial_status_is_noted_just_past_the_bound(
    monkeypatch: pytest.MonkeyPatch, state_store: JobStore
) -> None:
    job = state_store.create("https://example.com/a.mp3")
    bound = display.UNSTARTED
    seen = _notes_seen(monkeypatch, state_store, job.job_id, [bound - 0.2, bound, bound + 0.2])
    notes = dict(seen)
    assert NOTE not in notes[0.0]
    assert NOTE not in notes[bound - 0.2]
    assert NOTE not in notes[bound]  # exactly the bound: not yet
    assert NOTE in notes[bound + 0.2]  # one refresh past it
    assert "in 10 s" in notes[bound + 0.2]


def test_a_job_a_worker_started_is_never_noted(
    monkeypatch: pytest.MonkeyPatch, state_store: JobStore
) -> None:
    job = state_store.create("https://example.com/a.mp3")
    state_store.set_state(job.job_id, state_store.workflow.stages[0], attempt=1)
    seen = _notes_seen(monkeypatch, state_store, job.job_id, [display.UNSTARTED * 3])
    assert [note for _, note in seen if note] == []


def test_the_job_is_read_even_when_the_wait_is_over_before_it_starts(
    monkeypatch: pytest.MonkeyPatch, state_store: JobStore
) -> None:
    # Slip: with a timeout shorter than the first clock reading the view never read the
    # job, and ``submit --wait --timeout 1e-300`` said it had disappeared.
    job = state_store.create("https://example.com/a.mp3")
    clock = FakeClock([], end=1.0)
    monkeypatch.setattr(display, "monotonic", lambda: clock.now)
    record = display.watch_job(state_store, job.job_id, Console(file=io.StringIO()), timeout=0)
    assert record is not None
    assert record["status"] == state_store.workflow.initial
