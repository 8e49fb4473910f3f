"""Submit jobs and wait for statuses, in any Celery mode (no pytest import)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import Any

from harness.testing.recorder import StateRecorder
from pipeline.errors import StoreUnavailable
from pipeline.service import JobService
from pipeline.waiting import wait_until

__all__ = ["JobRunner", "JobTimeout"]


class JobTimeout(AssertionError):
    """A job did not reach the awaited status in time; carries its recorded history."""


class JobRunner:
    """Drives jobs through the service layer and waits on the store."""

    def __init__(self, service: JobService, recorder: StateRecorder, timeout: float = 60.0) -> None:
        self.service = service
        self.recorder = recorder
        self.timeout = timeout

    @property
    def terminal(self) -> frozenset[str]:
        """The workflow's terminal statuses."""
        return self.service.store.workflow.terminal

    def submit(self, job_input: str | Mapping[str, Any], space_id: str | None = None) -> str:
        """Submit a job with its input; returns its id.

        ``job_input`` is the JSON object the workflow declares
        (``submit({"image": "cat.png", "width": 64})``); a string is the media pipeline's
        URL (``submit("https://...", "space-1")``).
        """
        record = self.service.submit(job_input, space_id)
        self.recorder.track(record["job_id"])
        return str(record["job_id"])

    def retry(self, job_id: str) -> dict[str, Any]:
        """Retry a job in the error status."""
        return self.service.retry(job_id)

    def wait_for(
        self,
        job_id: str,
        status: str | Iterable[str],
        timeout: float | None = None,
        *,
        attempt: int | None = None,
    ) -> dict[str, Any]:
        """Wait until the job is in ``status`` (one or several); fail with its history."""
        wanted = {status} if isinstance(status, str) else set(status)
        limit = timeout or self.timeout
        last: list[dict[str, Any] | None] = [None]

        def arrived() -> bool:
            record = last[0] = self._read(job_id)
            if record is None:
                return False
            there = record["status"] in wanted and attempt in (None, record["attempt"])
            ended_elsewhere = record["status"] in self.terminal and not wanted & self.terminal
            return there or ended_elsewhere

        with contextlib.suppress(TimeoutError):  # the error below says more
            wait_until(arrived, limit, interval=0.02, what=f"job {job_id} in {sorted(wanted)}")
        record = last[0]
        if record and record["status"] in wanted and attempt in (None, record["attempt"]):
            return record
        shown = f"{record['status']} {record['error']!r}" if record else "(no record)"
        if record and record["status"] in self.terminal:
            why = f"ended in {record['status']} instead"
        else:
            why = f"did not get there within {limit}s"
        raise JobTimeout(
            f"job {job_id} never reached {' or '.join(sorted(wanted))}: {why}; "
            f"last state: {shown}\n{self.recorder.timeline()}"
        )

    def _read(self, job_id: str) -> dict[str, Any] | None:
        """The job's record, or None when it does not exist or Redis is unreachable."""
        try:
            return self.service.store.find_state(job_id)
        except StoreUnavailable:
            return None

    def wait_terminal(self, job_id: str, timeout: float | None = None) -> dict[str, Any]:
        """Wait until the job is in any terminal status."""
        return self.wait_for(job_id, self.terminal, timeout)

    def run(
        self,
        job_input: str | Mapping[str, Any],
        space_id: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Submit a job with its input and wait for a terminal status."""
        return self.wait_terminal(self.submit(job_input, space_id), timeout)
