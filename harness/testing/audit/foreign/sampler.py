"""The sampled recorder: reads an app's own job state fast enough to see every status.

An app that keeps its own state publishes no change notices, so the audit reads each
job through the adapter (:meth:`harness.adapter.StateAdapter.read`) in a tight loop on a
thread of its own and keeps every change it sees, with when it saw it. How often it
read and its longest gap between two reads of a job travel with the verdict: a status
held for less than that gap could be missed, and the card says so. When the adapter
reads the app's API too, the API is compared with the store now and then (between two
equal store reads, so a write in between is never taken for a disagreement). No pytest.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from harness.adapter import JobReading, StateAdapter

__all__ = ["ApiSpan", "Change", "SampleStats", "StateSampler"]

INTERVAL = 0.0005
"""Pause between two rounds of reads (seconds)."""

API_EVERY = 0.05
"""How often the API is held against the store (seconds)."""


@dataclass(frozen=True)
class Change:
    """One change of a job the sampler saw: when (seconds since it was tracked) and to what.

    ``reading`` is ``None`` when the store held nothing for the job.
    """

    at: float
    reading: JobReading | None
    wall: float = 0.0
    """The wall-clock time it was seen (to order it with Celery's log)."""
    since: float = 0.0
    """The wall-clock time the read before began (it still showed the job as it was): the
    change happened between ``since`` and ``wall``, and nothing that came and went in
    between could be seen (0 for a job's first reading)."""


@dataclass
class ApiSpan:
    """A stretch of time the API showed ``api`` while the store held ``store``."""

    start: float
    end: float
    api: str
    store: str

    @property
    def seconds(self) -> float:
        """How long the disagreement lasted."""
        return self.end - self.start


@dataclass
class SampleStats:
    """How the sampler read one job: reads, failed reads, mean and longest gap (ms)."""

    reads: int = 0
    failed: int = 0
    mean_gap_ms: float = 0.0
    max_gap_ms: float = 0.0

    def describe(self) -> str:
        """One line for the card."""
        failed = f", {self.failed} failed (Redis down)" if self.failed else ""
        return (
            f"read {self.reads} times, every {self.mean_gap_ms:.2f} ms on average, "
            f"longest gap {self.max_gap_ms:.1f} ms{failed}"
        )


@dataclass
class _Job:
    t0: float
    changes: list[Change] = field(default_factory=list)
    spans: list[ApiSpan] = field(default_factory=list)
    open_span: ApiSpan | None = None
    last_read: float = 0.0
    last_read_begun: float = 0.0
    gap_total: float = 0.0
    stats: SampleStats = field(default_factory=SampleStats)
    last_change: float = 0.0


def _key(reading: JobReading | None) -> Any:
    if reading is None:
        return None
    return (reading.status, reading.error or None, reading.has_result)


class StateSampler:
    """Samples every tracked job's state through ``adapter`` until :meth:`stop`."""

    def __init__(self, adapter: StateAdapter, *, interval: float = INTERVAL) -> None:
        self.adapter = adapter
        self.interval = interval
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="jobstate-sampler", daemon=True)
        self._down_since: float | None = None
        self._next_api = 0.0

    def start(self) -> StateSampler:
        """Start sampling (jobs are added with :meth:`track`)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join(timeout=5)

    def __enter__(self) -> StateSampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def track(self, job_id: str) -> None:
        """Sample ``job_id`` from now on (its first read is its first change)."""
        with self._lock:
            self._jobs.setdefault(job_id, _Job(time.monotonic()))

    # -- reading ----------------------------------------------------------------------

    def changes(self, job_id: str) -> list[Change]:
        """Every change of ``job_id`` seen so far, oldest first."""
        with self._lock:
            return list(self._jobs[job_id].changes)

    def latest(self, job_id: str) -> JobReading | None:
        """The job as last read."""
        changes = self.changes(job_id)
        return changes[-1].reading if changes else None

    def quiet_for(self, job_id: str) -> float:
        """Seconds since ``job_id`` last changed."""
        with self._lock:
            return time.monotonic() - self._jobs[job_id].last_change

    def api_spans(self, job_id: str) -> list[ApiSpan]:
        """The stretches the API disagreed with the store (one still open included)."""
        with self._lock:
            job = self._jobs[job_id]
            spans = list(job.spans)
            if job.open_span is not None:
                spans.append(job.open_span)
            return spans

    def api_agrees(self, job_id: str) -> bool:
        """Whether the API agreed with the store at the last comparison."""
        with self._lock:
            return self._jobs[job_id].open_span is None

    def stats(self, job_id: str) -> SampleStats:
        """How ``job_id`` was read so far."""
        with self._lock:
            job = self._jobs[job_id]
            stats = SampleStats(**job.stats.__dict__)
        ok = stats.reads - stats.failed
        stats.mean_gap_ms = round(job.gap_total / max(ok - 1, 1) * 1000, 3)
        return stats

    def down_for(self) -> float:
        """Seconds the store has failed every read in a row (0 when it answers)."""
        since = self._down_since
        return 0.0 if since is None else time.monotonic() - since

    # -- the loop -------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                jobs = list(self._jobs.items())
            compare = self.adapter.has_api and time.monotonic() >= self._next_api
            for job_id, job in jobs:
                self._sample(job_id, job)
                if compare:
                    self._compare(job_id, job)
            if compare:
                self._next_api = time.monotonic() + API_EVERY
            self._stop.wait(self.interval)

    def _read(self, job_id: str, job: _Job) -> tuple[bool, JobReading | None]:
        try:
            reading = self.adapter.read(job_id)
        except Exception:  # the store is down (a fault of the audit): a failed read
            with self._lock:
                job.stats.reads += 1
                job.stats.failed += 1
            if self._down_since is None:
                self._down_since = time.monotonic()
            return False, None
        self._down_since = None
        return True, reading

    def _sample(self, job_id: str, job: _Job) -> None:
        begun = time.time()
        ok, reading = self._read(job_id, job)
        if not ok:
            return
        now = time.monotonic()
        with self._lock:
            job.stats.reads += 1
            if job.last_read:
                gap = now - job.last_read
                job.gap_total += gap
                job.stats.max_gap_ms = max(job.stats.max_gap_ms, round(gap * 1000, 3))
            job.last_read, before, job.last_read_begun = now, job.last_read_begun, begun
            last = job.changes[-1].reading if job.changes else ...
            if last is ... or _key(last) != _key(reading):
                job.changes.append(Change(round(now - job.t0, 4), reading, time.time(), before))
                job.last_change = now

    def _compare(self, job_id: str, job: _Job) -> None:
        try:
            before = self.adapter.read(job_id)
            api = self.adapter.read_api(job_id)
            after = self.adapter.read(job_id)
        except Exception:
            return
        if _key(before) != _key(after):
            return  # the store moved meanwhile: no verdict this time
        now = time.monotonic() - job.t0
        store_status = before.status if before else "(nothing)"
        api_status = api.status if api else "(nothing)"
        with self._lock:
            span = job.open_span
            if api_status != store_status:
                if span is None or (span.api, span.store) != (api_status, store_status):
                    if span is not None:
                        job.spans.append(span)
                    span = job.open_span = ApiSpan(now, now, api_status, store_status)
                span.end = now
            elif span is not None:
                span.end = now
                job.spans.append(span)
                job.open_span = None
