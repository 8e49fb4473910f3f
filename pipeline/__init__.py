"""jobstate pipeline: an atomic job-state store for Celery + Redis and a media pipeline on it."""

from pipeline.errors import (
    InvalidTransition,
    JobExists,
    JobNotFound,
    JobStateError,
    StaleAttempt,
    StoreUnavailable,
    ValidationError,
)
from pipeline.settings import Settings
from pipeline.store import JobStore, Write
from pipeline.workflow import PRD_WORKFLOW, Workflow

__all__ = [
    "PRD_WORKFLOW",
    "InvalidTransition",
    "JobExists",
    "JobNotFound",
    "JobStateError",
    "JobStore",
    "Settings",
    "StaleAttempt",
    "StoreUnavailable",
    "ValidationError",
    "Workflow",
    "Write",
]
