"""Request and response shapes of the JSON API (used for validation and the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel

from pipeline.history import HistoryKind

__all__ = [
    "Health",
    "HistoryEntry",
    "JobMetadata",
    "JobRecord",
    "Problem",
    "SubmitRequest",
    "WorkflowInfo",
]


class SubmitRequest(RootModel[dict[str, Any]]):
    """A new job: its input, the JSON object the workflow declares.

    The media pipeline's is ``{"url": "https://...", "space_id": "optional"}``; a bad or
    unknown key is a 422 naming it, and nothing is stored.
    """

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"url": "https://example.com/talk.mp3", "space_id": "s1"}]}
    )


class JobMetadata(BaseModel):
    """Where the job came from and which Celery task runs it now."""

    url: str | None = Field(default=None, description="The media pipeline's input URL")
    space_id: str | None = Field(default=None, description="The media pipeline's space id")
    task_id: str | None


class JobRecord(BaseModel):
    """One job's state: the PRD record plus version, attempt, progress and result."""

    job_id: str
    workflow: str
    status: str
    message: str
    error: str | None
    updated_at: str = Field(description="ISO-8601 UTC with milliseconds, from Redis' clock")
    created_at: str
    heartbeat_at: str
    metadata: JobMetadata
    input: Any = Field(default=None, description="The job's input, as submitted")
    version: int = Field(description="Strictly increasing with every change")
    attempt: int = Field(description="1 for the first run, bumped by every retry")
    progress: Any = None
    result: Any = None
    stale: bool = Field(default=False, description="Running but silent for too long")
    archived: bool = Field(
        default=False, description="Read from the archive (moved there by the cleanup)"
    )
    terminal: bool = Field(default=False, description="No further change without a retry")
    failed: bool = Field(default=False, description="In the workflow's error status")


class HistoryEntry(BaseModel):
    """One recorded change of a job."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    version: int
    attempt: int
    kind: str = Field(
        description="What moved the job, one of: "
        + ", ".join(k.value for k in HistoryKind)
        + " (pipeline.history.HistoryKind; redelivery means it gave up on a stage)"
    )
    from_: str | None = Field(alias="from")
    status: str
    at: str
    ms: int
    message: str
    error: str | None
    task_id: str | None


class Problem(BaseModel):
    """Why a request failed; ``field`` names the culprit when there is one."""

    detail: str
    field: str | None = None


class Health(BaseModel):
    """Whether the state store answers."""

    status: str
    redis: str


class WorkflowInfo(BaseModel):
    """The statuses the page may show, in the order of a successful run."""

    name: str
    statuses: dict[str, str]
    initial: str
    error: str
    terminal: list[str]
    happy_path: list[str]
