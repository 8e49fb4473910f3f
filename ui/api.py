"""The JSON API: submit, read, retry, clear, list and history of jobs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse
from starlette.responses import Response

from pipeline import validation as v
from pipeline.errors import JobNotFound
from pipeline.live_reads import Poll
from ui.context import AppContext, context
from ui.etags import etag, held
from ui.schemas import HistoryEntry, JobRecord, Problem, SubmitRequest, WorkflowInfo

__all__ = ["poll_response", "read_poll", "router"]


# Bad parameters get the same Problem body as every other error (ui.http_errors), so say so.
BAD_INPUT: dict[int | str, dict[str, Any]] = {
    422: {"model": Problem, "description": "A parameter or the body is invalid"}
}
router = APIRouter(prefix="/api", tags=["jobs"], responses=BAD_INPUT)
Ctx = Annotated[AppContext, Depends(context)]

Answers = dict[int | str, dict[str, Any]]
BAD_ID: Answers = {400: {"model": Problem, "description": "Malformed job id"}}
UNKNOWN: Answers = {404: {"model": Problem, "description": "No such job"}}
NOT_QUEUED: Answers = {
    502: {"model": Problem, "description": "Stored and marked failed; its work could not be queued"}
}
DOWN: Answers = {503: {"model": Problem, "description": "Redis is unreachable"}}
UNCHANGED: Answers = {
    304: {"description": "The job is at the version If-None-Match names (no body)"}
}
_PONG = {"status": "ok"}


@router.post(
    "/jobs",
    status_code=202,
    response_model=JobRecord,
    responses={
        400: {"model": Problem, "description": "The body is not JSON"},
        422: {"model": Problem},
        **NOT_QUEUED,
        **DOWN,
    },
)
async def submit_job(body: SubmitRequest, ctx: Ctx) -> Response:
    """Create a job from its input and queue its first stage; answers with its state.

    A refusal (422) stores nothing; 502 says the job was stored, marked failed, and its
    work could not be queued, and only then; any other failure is the server's own (500).
    """
    record = await ctx.write(ctx.service.submit, body.root)
    headers = {"Location": f"/api/jobs/{record['job_id']}"}
    return JSONResponse(ctx.view(record), status_code=202, headers=headers)


@router.get("/jobs", response_model=list[JobRecord], responses=DOWN)
async def list_jobs(ctx: Ctx, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> Response:
    """The most recent jobs, newest first, each flagged ``stale`` like one job's record."""
    records = await ctx.read(ctx.reads.list, limit)
    return JSONResponse([ctx.view(r) for r in records])


@router.get(
    "/jobs/{job_id}",
    response_model=JobRecord,
    responses={**UNCHANGED, **BAD_ID, **UNKNOWN, **DOWN},
)
async def get_job(
    job_id: str,
    ctx: Ctx,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """One job's current state (the endpoint the page polls every second).

    The answer carries a weak ``ETag``; send it back as ``If-None-Match`` and an unchanged
    job is a 304 with no body. Only ``heartbeat_at`` may move without changing the tag.
    """
    return poll_response(ctx, await read_poll(ctx, job_id, if_none_match))


async def read_poll(ctx: AppContext, job_id: str, if_none_match: str | None) -> Poll:
    """A poll of ``job_id``: its version tag, and its record unless the ``If-None-Match``
    header names that version. Refusals raise (the app's error handlers answer them)."""
    v.check_job_id(job_id)
    tags, any_held = held(if_none_match)
    return await ctx.read(ctx.reads.poll, job_id, tags, any_held)


def poll_response(ctx: AppContext, poll: Poll) -> Response:
    """The answer to ``poll``: 200 with the record, or a 304 with no body when the caller
    holds its version; both carry the ``ETag``."""
    headers = {"ETag": etag(poll.tag)}
    if poll.record is None:
        return Response(status_code=304, headers=headers)
    return JSONResponse(ctx.view(poll.record), headers=headers)


@router.get(
    "/jobs/{job_id}/history",
    response_model=list[HistoryEntry],
    responses={**BAD_ID, **UNKNOWN, **DOWN},
)
async def job_history(job_id: str, ctx: Ctx) -> Response:
    """Every recorded change of the job, oldest first."""
    v.check_job_id(job_id)
    return JSONResponse(await ctx.read(ctx.reads.history, job_id))


@router.post(
    "/jobs/{job_id}/retry",
    status_code=202,
    response_model=JobRecord,
    responses={**BAD_ID, **UNKNOWN, 409: {"model": Problem}, **NOT_QUEUED, **DOWN},
)
async def retry_job(job_id: str, ctx: Ctx) -> Response:
    """Start a new attempt of a job in ERROR (409 from any other status)."""
    v.check_job_id(job_id)
    return JSONResponse(ctx.view(await ctx.write(ctx.service.retry, job_id)), status_code=202)


@router.delete("/jobs/{job_id}", status_code=204, responses={**BAD_ID, **UNKNOWN, **DOWN})
async def clear_job(job_id: str, ctx: Ctx) -> Response:
    """Remove the job and its history."""
    v.check_job_id(job_id)
    if not await ctx.write(ctx.service.clear, job_id):
        raise JobNotFound(job_id)
    return Response(status_code=204)


@router.get("/workflow", response_model=WorkflowInfo)
async def workflow(ctx: Ctx) -> Response:
    """The statuses of the service's workflow, for the page's step bar."""
    wf = ctx.service.store.workflow
    try:
        happy = wf.happy_path()
    except ValueError:
        happy = [wf.initial]
    body = {
        "name": wf.name,
        "statuses": dict(wf.statuses),
        "initial": wf.initial,
        "error": wf.error,
        "terminal": sorted(wf.terminal),
        "happy_path": happy,
    }
    return JSONResponse(body)


@router.get("/ping", responses={200: {"description": "Always the same small JSON body"}})
async def ping() -> Response:
    """A constant answer that touches no store: the baseline the poll benchmark compares to."""
    return JSONResponse(_PONG)
