"""The state recorder: every transition of every job, and assertions over them.

It listens to the store's change notices to learn which jobs exist and when they moved,
and reads each job's history stream (the durable record) for the assertions, so a
notice missed while subscribing never hides a transition.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.history import HistoryKind
from pipeline.records import decode
from pipeline.store import JobStore
from pipeline.validation import check_record

__all__ = ["Notice", "StateRecorder"]


@dataclass(frozen=True)
class Notice:
    """One change notice as it arrived: job, version, status and local arrival time."""

    job_id: str
    version: int
    status: str
    seen: float


NOT_MOVES = frozenset(k for k in HistoryKind if k.keeps_status)
"""History entry kinds that leave the status where it is (folded out of :meth:`path`)."""


class StateRecorder:
    """Records every job's transitions in ``store`` from the moment it starts."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self.notices: list[Notice] = []
        self._jobs: dict[str, None] = {}
        self._lock = threading.Lock()
        self._pubsub = store.client.pubsub(  # type: ignore[no-untyped-call,unused-ignore]
            ignore_subscribe_messages=True
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="jobstate-recorder", daemon=True)
        self._t0 = time.monotonic()

    def start(self) -> StateRecorder:
        """Subscribe and start collecting notices."""
        self._pubsub.subscribe(self.store.keys.channel)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and close the subscription."""
        self._stop.set()
        self._thread.join(timeout=5)
        self._pubsub.close()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                # Short: stop() waits for this call to return (a test's teardown).
                msg = self._pubsub.get_message(timeout=0.02)
            except Exception:
                if self._stop.wait(0.2):
                    return
                continue
            if msg and msg.get("type") == "message":
                self._note(decode(msg["data"]))

    def _note(self, data: str) -> None:
        job_id, version, status = data.split(" ", 2)
        with self._lock:
            self._jobs.setdefault(job_id, None)
            self.notices.append(Notice(job_id, int(version), status, time.monotonic() - self._t0))

    def track(self, job_id: str) -> None:
        """Make sure ``job_id`` is included even if its notices were missed."""
        with self._lock:
            self._jobs.setdefault(job_id, None)

    # -- reading --------------------------------------------------------------------

    def jobs(self) -> list[str]:
        """Every job seen, in order of first notice."""
        with self._lock:
            return list(self._jobs)

    def history(self, job_id: str) -> list[dict[str, Any]]:
        """The job's durable history (from its stream)."""
        return self.store.history(job_id)

    def path(self, job_id: str, *, attempt: int | None = None) -> list[str]:
        """Statuses the job passed through (progress entries folded away)."""
        out: list[str] = []
        for entry in self.history(job_id):
            if attempt is not None and entry["attempt"] != attempt:
                continue
            if entry["kind"] not in NOT_MOVES:
                out.append(entry["status"])
        return out

    def steps(self, job_id: str) -> list[tuple[str, str]]:
        """Every ``(kind, status)`` of the job's history, progress included: what
        :meth:`pipeline.workflow.Workflow.is_legal_path` checks in full."""
        return [(e["kind"], e["status"]) for e in self.history(job_id)]

    def redeliveries(self, job_id: str) -> list[dict[str, Any]]:
        """History entries of stages delivered again (a child lost mid-stage, a duplicate)."""
        return [e for e in self.history(job_id) if e["kind"] == HistoryKind.REDELIVERED]

    def refused(self, job_id: str) -> list[dict[str, Any]]:
        """History entries of deliveries the store refused (superseded runs, second hand-offs)."""
        return [e for e in self.history(job_id) if e["kind"] == HistoryKind.DUPLICATE]

    # -- assertions -----------------------------------------------------------------

    def assert_path(
        self, job_id: str, expected: Sequence[str], *, attempt: int | None = None
    ) -> None:
        """The job went through exactly ``expected``."""
        got = self.path(job_id, attempt=attempt)
        assert got == list(expected), (
            f"job {job_id}: path {got} != expected {list(expected)}\n{self.timeline()}"
        )

    def assert_all_legal(self) -> None:
        """Every recorded job's history is a legal path and its record is well formed."""
        wf = self.store.workflow
        for job_id in self.jobs():
            history = self.history(job_id)
            if not history:
                continue  # cleared or purged since
            steps = [(e["kind"], e["status"]) for e in history]  # the history read once
            versions = [e["version"] for e in history]
            assert versions == sorted(set(versions)), f"job {job_id}: versions {versions}"
            assert wf.is_legal_path(steps), f"job {job_id}: illegal path {steps}\n{self.timeline()}"
        self.assert_records_valid()

    def assert_records_valid(self) -> None:
        """Every recorded job that still exists has a well-formed record."""
        for job_id in self.jobs():
            record = self.store.find_state(job_id)
            if record is not None:
                check_record(record, self.store.workflow)

    def assert_nothing_stuck(self) -> None:
        """Every recorded job that still exists is in a terminal status."""
        for job_id in self.jobs():
            record = self.store.find_state(job_id)
            if record is not None:
                assert record["status"] in self.store.workflow.terminal, (
                    f"job {job_id} stuck in {record['status']}\n{self.timeline()}"
                )

    def timeline(self) -> str:
        """A readable timeline of every job's history (attached to failed tests)."""
        lines = []
        for job_id in self.jobs():
            lines.append(f"job {job_id}:")
            try:
                entries = self.history(job_id)
            except Exception as exc:
                lines.append(f"  (history unavailable: {exc})")
                continue
            for e in entries:
                extra = f" error={e['error']!r}" if e["error"] else ""
                lines.append(
                    f"  {e['at']} v{e['version']} a{e['attempt']} {e['kind']:<10} "
                    f"{e['from'] or '-'} -> {e['status']}"
                    f" task={e['task_id'] or '-'}{extra}"
                )
        return "\n".join(lines) or "(no jobs recorded)"
