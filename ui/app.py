"""The web app: JSON API, health check, OpenAPI schema and the polling page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from pipeline.live_reads import LiveReads
from pipeline.service import JobService
from ui import api, health
from ui.body_limit import BodyLimit
from ui.body_timeout import BodyTimeout
from ui.context import AppContext
from ui.head import HeadAsGet
from ui.http_errors import install_error_handlers
from ui.known_host import KnownHost, KnownHosts
from ui.pages import STATIC_DIR, pages_router
from ui.poll_path import JobstateAPI, PollPath
from ui.same_origin import SameOrigin
from ui.security import SecurityHeaders

__all__ = ["close_reads", "create_app"]

NO_STORE = ("/api/", "/healthz", "/openapi.json")
DESCRIPTION = (
    "Job state of the media pipeline. Poll `GET /api/jobs/{job_id}` about once a second; "
    "a 503 means Redis is unreachable and the state is unknown (try again), never a guess."
)


def _version() -> str:
    try:
        return metadata.version("pytest-jobstate")
    except metadata.PackageNotFoundError:
        return "0"


def create_app(
    service: JobService,
    *,
    read_deadline: float = 2.0,
    write_deadline: float = 10.0,
    body_timeout: float | None = None,
    reads: LiveReads | None = None,
) -> FastAPI:
    """Build the app around ``service``.

    ``read_deadline``/``write_deadline`` bound how long a request waits for Redis before
    answering 503 (a write may also enqueue work, so it gets longer); ``body_timeout``
    how long a request body may take to arrive before a 408 (default: the service's
    ``ui_body_timeout_seconds``). Reads go through ``reads`` (default: asyncio reads of
    the service's store, whose connections the app's shutdown closes).
    """
    live = reads or LiveReads(service.store)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await live.aclose()

    app = JobstateAPI(
        lifespan=lifespan,
        title="jobstate",
        version=_version(),
        description=DESCRIPTION,
        docs_url=None,  # the stock docs page needs inline script and a CDN; /docs is ours
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    hosts = KnownHosts.from_settings(service.store.settings)
    ctx = AppContext(service, live, read_deadline, write_deadline, hosts)
    app.state.jobstate = ctx
    install_error_handlers(app)
    app.include_router(api.router)
    app.include_router(health.router)
    app.include_router(pages_router())
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(PollPath, ctx=ctx)  # the poll skips routing, inside a project's layers
    app.add_middleware(BodyLimit)  # inside SecurityHeaders: a 413 carries the policy too
    timeout = (
        service.store.settings.ui_body_timeout_seconds if body_timeout is None else body_timeout
    )
    app.add_middleware(BodyTimeout, seconds=timeout)  # a 408 too
    app.add_middleware(SameOrigin)  # a cross-site write's 403 too, before its body is read
    app.add_middleware(KnownHost, hosts=hosts)  # a rebinding page's 421 too, first
    app.add_middleware(SecurityHeaders, no_store_prefixes=NO_STORE)
    app.add_middleware(HeadAsGet)  # outermost: every answer above, the body dropped
    return app


async def close_reads(app: FastAPI) -> None:
    """Close the connections the app's reads opened in this event loop (what its
    shutdown does; for callers that run no lifespan, such as an in-process client)."""
    ctx: AppContext = app.state.jobstate
    await ctx.reads.aclose()
