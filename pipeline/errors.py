"""Typed errors raised by the job-state store and the pipeline."""

from __future__ import annotations

from pipeline.redaction import DEFAULT

__all__ = [
    "DamagedRecord",
    "EnqueueFailed",
    "InvalidTransition",
    "JobExists",
    "JobNotFound",
    "JobStateError",
    "StaleAttempt",
    "StoreUnavailable",
    "ValidationError",
    "printable",
]


class JobStateError(Exception):
    """Base class of every error the store raises on purpose."""


class ValidationError(JobStateError, ValueError):
    """Input was rejected before anything was written; ``field`` names the culprit.

    ``field`` and ``problem`` are kept printable and safe whatever the input held: a
    lone surrogate or a control character is shown escaped (``\\ud800``), credentials
    masked, each capped, so any writer (a JSON answer, a terminal, a log) can show them.
    """

    def __init__(self, field: str, problem: str) -> None:
        field, problem = printable(str(field), 200), printable(str(problem), 1000)
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def printable(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with credentials masked and anything no
    UTF-8 terminal can show (lone surrogates, control characters) escaped."""
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in DEFAULT.head(text, limit)
    )


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


class EnqueueFailed(JobStateError):
    """The job was stored (and marked failed) but its first stage could not be sent.

    The only error after which a job exists that its caller did not see started;
    ``__cause__`` is the broker's error, ``detail`` its redacted one-line description.
    """

    def __init__(self, job_id: str, detail: str) -> None:
        super().__init__(f"job {job_id} was stored but its work could not be queued ({detail})")
        self.job_id = job_id
        self.detail = detail


class StoreUnavailable(JobStateError):
    """Redis could not be reached; nothing is known about the job's state."""


class DamagedRecord(JobStateError):
    """A job's stored record cannot be read: a field every record has is missing, or not
    what the store writes there (a record changed by hand, or by other software).

    The message names the job and the field, never the stored value.
    """

    def __init__(self, job_id: str, field: str, problem: str) -> None:
        super().__init__(
            f"job {job_id}: its stored record is damaged ({field} {problem}); "
            "only clearing it (JobStore.clear_state) removes it"
        )
        self.job_id = job_id
        self.field = field
