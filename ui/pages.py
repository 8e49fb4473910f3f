"""The HTML entry points (the job page at ``/`` and ``/jobs/<id>``, the API docs page) and
the generated history-kinds module the page imports."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from starlette.responses import Response

from pipeline.history import js_module

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

    kinds = js_module().encode("utf-8")

    @router.get("/static/history-kinds.js")
    async def history_kinds() -> Response:
        # Generated from pipeline.history.HistoryKind: the page and the store share one list.
        return Response(
            kinds,
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    return router
