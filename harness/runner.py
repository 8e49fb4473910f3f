"""Submit jobs and wait for statuses, in any Celery mode (no pytest import)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from harness.recorder import StateRecorder
from pipeline.errors import StoreUnavailable
from pipeline.service import JobService

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
        deadline = time.monotonic() + (timeout or self.timeout)
        record: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            try:
                record = self.service.store.find_state(job_id)
            except StoreUnavailable:
                record = None
            if (
                record
                and record["status"] in wanted
                and (attempt is None or record["attempt"] == attempt)
            ):
                return record
            if record and record["status"] in self.terminal and not wanted & self.terminal:
                break
            time.sleep(0.02)  # polling interval of a condition wait with a deadline
        last = f"{record['status']} {record['error']!r}" if record else "(no record)"
        if record and record["status"] in self.terminal:
            why = f"ended in {record['status']} instead"
        else:
            why = f"did not get there within {timeout or self.timeout}s"
        raise JobTimeout(
            f"job {job_id} never reached {' or '.join(sorted(wanted))}: {why}; "
            f"last state: {last}\n{self.recorder.timeline()}"
        )

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
