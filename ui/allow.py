"""405 answers that list every method the path supports (RFC 9110, section 15.5.6).

Starlette answers 405 with the methods of the *first* route whose path matched, so a path
served by two routes (``GET /api/jobs`` and ``POST /api/jobs``) claimed to allow only one.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match

__all__ = ["METHODS", "allowed_methods", "http_error"]

METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app fully matches at the request's path, sorted.

    Each method is tried through the routes' own ``matches`` (included routers too).
    """
    routes = request.app.router.routes
    return [
        method
        for method in METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]


async def http_error(request: Request, exc: Exception) -> Response:
    """FastAPI's HTTP error answer, with a complete ``Allow`` header on a 405."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        headers = {**(exc.headers or {}), "Allow": ", ".join(allowed_methods(request))}
        exc = HTTPException(405, exc.detail, headers)
    return await http_exception_handler(request, exc)
