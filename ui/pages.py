"""The HTML entry points: the job page (at ``/`` and ``/jobs/<id>``) and the API docs page."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from starlette.responses import Response

__all__ = ["STATIC_DIR", "pages_router"]

STATIC_DIR = Path(__file__).parent / "static"


def _html(name: str) -> bytes:
    return (STATIC_DIR / name).read_bytes()


def pages_router() -> APIRouter:
    """Routes serving the static HTML files (read once, when the app is built)."""
    router = APIRouter(include_in_schema=False)
    index, docs = _html("index.html"), _html("docs.html")

    def page(body: bytes) -> Response:
        return Response(
            body, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"}
        )

    @router.get("/")
    async def home() -> Response:
        return page(index)

    @router.get("/jobs/{job_id}")
    async def job_page(job_id: str) -> Response:
        # The page reads the id from its own URL; an unknown id is its to report.
        return page(index)

    @router.get("/docs")
    async def api_docs() -> Response:
        return page(docs)

    return router
