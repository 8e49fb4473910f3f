"""The service layer shared by the CLI and the web UI: submit, retry, clear, get, list."""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Callable
from typing import Any

from pipeline import validation as v
from pipeline.errors import JobNotFound, StoreUnavailable
from pipeline.settings import redact_credentials
from pipeline.store import JobStore

__all__ = ["Enqueue", "JobService", "job_context"]

Enqueue = Callable[[dict[str, Any]], None]
"""Sends a job's first stage: called with the job context after the job is stored."""


def job_context(record: dict[str, Any]) -> dict[str, Any]:
    """The small JSON context passed from stage to stage, from a job's record."""
    meta = record["metadata"]
    return {
        "job_id": record["job_id"],
        "attempt": record["attempt"],
        "url": meta["url"],
        "space_id": meta["space_id"],
        "artifacts": {},
    }


class JobService:
    """Operations on jobs, one implementation for every front end."""

    def __init__(self, store: JobStore, enqueue: Enqueue) -> None:
        self.store = store
        self.enqueue = enqueue

    def submit(self, url: str, space_id: str | None = None) -> dict[str, Any]:
        """Validate, create the job in the initial status and enqueue its first stage."""
        write = self.store.create(url, space_id=space_id or None)
        record = self.get(write.job_id)
        self._start(record)
        return record

    def retry(self, job_id: str) -> dict[str, Any]:
        """Start a new attempt of a job in the error status (atomic: one click, one attempt)."""
        self.store.retry(job_id)
        record = self.get(job_id)
        self._start(record)
        return record

    def clear(self, job_id: str) -> bool:
        """Remove the job and its history; True if it existed."""
        return self.store.clear_state(job_id)

    def get(self, job_id: str) -> dict[str, Any]:
        """The job's record plus a ``stale`` flag (running but silent too long)."""
        return self.store.get_live_state(job_id)

    def list(self, limit: int = 50) -> builtins.list[dict[str, Any]]:
        """Recent jobs, newest first."""
        return self.store.list_jobs(limit=limit)

    def history(self, job_id: str) -> builtins.list[dict[str, Any]]:
        """Every recorded change of the job."""
        return self.store.history(job_id)

    def healthy(self) -> bool:
        """True when the store's Redis answers."""
        return self.store.ping()

    def _start(self, record: dict[str, Any]) -> None:
        try:
            self.enqueue(job_context(record))
        except StoreUnavailable:
            raise
        except Exception as exc:
            # The job exists but its work could not be sent: say so instead of idling.
            detail = redact_credentials(str(exc))
            text = v.clean_text(f"could not enqueue: {type(exc).__name__}: {detail}", "error", 300)
            with contextlib.suppress(JobNotFound):
                self.store.fail(record["job_id"], text, attempt=record["attempt"])
            raise
