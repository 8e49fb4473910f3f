"""Typed errors raised by the job-state store and the pipeline."""

from __future__ import annotations

__all__ = [
    "InvalidTransition",
    "JobExists",
    "JobNotFound",
    "JobStateError",
    "StaleAttempt",
    "StoreUnavailable",
    "ValidationError",
]


class JobStateError(Exception):
    """Base class of every error the store raises on purpose."""


class ValidationError(JobStateError, ValueError):
    """Input was rejected before anything was written; ``field`` names the culprit."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class JobNotFound(JobStateError, KeyError):
    """No job with this id is stored (never created, cleared, purged or expired)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        self.job_id = job_id

    def __str__(self) -> str:
        return f"job {self.job_id} not found"


class JobExists(JobStateError):
    """A job with this id already exists; create refuses to overwrite it."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id} already exists")
        self.job_id = job_id


class StaleAttempt(JobStateError):
    """The writer holds an old attempt (fencing token); the job was retried since."""

    def __init__(self, job_id: str, attempt: int, current: int) -> None:
        super().__init__(f"job {job_id}: attempt {attempt} is stale (current attempt {current})")
        self.job_id = job_id
        self.attempt = attempt
        self.current = current


class InvalidTransition(JobStateError):
    """The workflow does not allow this move from the job's current status."""

    def __init__(self, job_id: str, current: str, requested: str, why: str = "") -> None:
        detail = f" ({why})" if why else ""
        super().__init__(f"job {job_id}: cannot go from {current} to {requested}{detail}")
        self.job_id = job_id
        self.current = current
        self.requested = requested


class StoreUnavailable(JobStateError):
    """Redis could not be reached; nothing is known about the job's state."""
