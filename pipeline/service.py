"""The service layer shared by the CLI and the web UI: submit, retry, clear, get, list."""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from pipeline.error_text import sanitise_error
from pipeline.errors import EnqueueFailed, JobNotFound, JobStateError, StoreUnavailable
from pipeline.records import redact_record
from pipeline.redaction import install_log_redaction
from pipeline.store import JobStore

__all__ = ["Enqueue", "JobService", "job_context"]

Enqueue = Callable[[dict[str, Any]], None]
"""Sends a job's first stage: called with the job context after the job is stored."""


def job_context(record: dict[str, Any]) -> dict[str, Any]:
    """The small JSON context passed from stage to stage, from a job's record.

    ``{"job_id", "attempt", "input", "artifacts"}``: ``input`` is the job's input as
    submitted; a job whose record carries a URL (the reference pipeline's) also has
    ``url`` and ``space_id`` at the top level. Stages add to ``artifacts``.
    """
    meta = record["metadata"]
    job_input = record.get("input")
    if job_input is None:  # stored before jobs kept their input: the PRD's url and space_id
        job_input = {k: meta[k] for k in ("url", "space_id") if meta.get(k)}
    ctx: dict[str, Any] = {"job_id": record["job_id"], "attempt": record["attempt"]}
    if meta.get("url"):
        ctx.update(url=meta["url"], space_id=meta.get("space_id"))
    ctx.update(input=job_input, artifacts={})
    return ctx


class JobService:
    """Operations on jobs, one implementation for every front end."""

    def __init__(self, store: JobStore, enqueue: Enqueue) -> None:
        self.store = store
        self.enqueue = enqueue
        install_log_redaction(store.settings.secret_keys)

    def submit(
        self, job_input: str | Mapping[str, Any], space_id: str | None = None
    ) -> dict[str, Any]:
        """Validate the input, create the job in the initial status, enqueue its first stage.

        ``job_input`` is the JSON object the workflow's input declares; a string is the
        reference pipeline's media URL (``space_id`` goes with it).
        """
        write = self.store.create(job_input, space_id=space_id or None)
        return self._start(write.job_id)

    def retry(self, job_id: str) -> dict[str, Any]:
        """Start a new attempt of a job in the error status (atomic: one click, one attempt)."""
        self.store.retry(job_id)
        return self._start(job_id)

    def clear(self, job_id: str) -> bool:
        """Remove the job and its history; True if it existed."""
        return self.store.clear_state(job_id)

    def get(self, job_id: str) -> dict[str, Any]:
        """The job's record plus a ``stale`` flag (running but silent too long); a job
        archived by the cleanup is read from the archive, with ``archived`` set."""
        try:
            return self.store.get_live_state(job_id)
        except JobNotFound:
            record = self.store.get_archived(job_id)  # JobNotFound when in neither
            return {**record, "stale": False, "archived": True}

    def list(self, limit: int = 50) -> builtins.list[dict[str, Any]]:
        """Recent jobs, newest first."""
        return self.store.list_jobs(limit=limit)

    def history(self, job_id: str) -> builtins.list[dict[str, Any]]:
        """The job's recorded changes, the newest ``history_maxlen`` of them, oldest
        first (:meth:`JobStore.history`; an archived job's from the archive)."""
        live = self.store.history(job_id)
        if live or self.store.find_state(job_id) is not None:
            return live
        return self.store.history(job_id, archived=True)

    def healthy(self) -> bool:
        """True when the store's Redis answers."""
        return self.store.ping()

    def _start(self, job_id: str) -> dict[str, Any]:
        """Send the job's first stage; returns its record as a reader may see it.

        One read serves both: the worker's context keeps URL credentials, the answer
        hides them.
        """
        record = self.store.get_live_state(job_id, reveal_credentials=True)
        try:
            self.enqueue(job_context(record))
        except StoreUnavailable:
            raise
        except Exception as exc:
            # The job exists but its work could not be sent: say so instead of idling.
            detail = sanitise_error(exc)
            with contextlib.suppress(JobStateError):
                self.store.fail(job_id, f"could not enqueue: {detail}", attempt=record["attempt"])
            raise EnqueueFailed(job_id, detail) from exc
        return redact_record(record, self.store.redactor)
