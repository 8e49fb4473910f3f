"""The naive resizer's API: ``GET /jobs/{job_id}``, with a cache "to spare Redis".

Bug 4 of :mod:`naive_resizer.app`: a job is read from Redis at most every five seconds,
so the API shows an old status while the store already holds a new one.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from naive_resizer import store
from naive_resizer.app import app as celery_app

__all__ = ["CACHE_SECONDS", "create_web_app", "job_view"]

CACHE_SECONDS = 5.0
_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def job_view(job_id: str) -> dict[str, Any]:
    """What the API answers for ``job_id``: status, error and result."""
    now = time.monotonic()
    hit = _cache.get(job_id)
    if hit is None or now - hit[0] > CACHE_SECONDS:
        record = store.load(celery_app, job_id)
        hit = _cache[job_id] = (now, record)
    record = hit[1]
    return {k: record.get(k) for k in ("status", "error", "result")}


async def _job(request: Request) -> JSONResponse:
    return JSONResponse(job_view(request.path_params["job_id"]))


def create_web_app() -> Starlette:
    """The API app (``uvicorn --factory naive_resizer.web:create_web_app``)."""
    return Starlette(routes=[Route("/jobs/{job_id}", _job)])
