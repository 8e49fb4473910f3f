"""405 answers that list every method the path supports (RFC 9110, section 15.5.6).

Starlette answers 405 with the methods of the *first* route whose path matched, so a path
served by two routes (``GET /api/jobs`` and ``POST /api/jobs``) claimed to allow only one.
``HEAD`` is listed wherever ``GET`` is: :mod:`ui.head` answers it through the ``GET``.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Match

__all__ = ["METHODS", "allowed_methods", "http_error"]

METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")

_NO_METHOD = "JOBSTATE-NO-SUCH-METHOD"
"""A method no route declares: a route that matches it matches any method (a mount)."""


def allowed_methods(request: Request, raised: str = "") -> list[str]:
    """Every method the app answers at the request's path, sorted.

    Those some route fully matches by its method (tried through the routes' own
    ``matches``, included routers too), those named in ``raised`` (the ``Allow`` of the
    405 itself: a mount matches any method, and the app in it says what it takes), and
    ``HEAD`` exactly when ``GET`` is one.
    """
    # A mounted app's 405 carries its own scope: routes are matched from the app's root.
    root = request.scope.get("app_root_path", request.scope.get("root_path", ""))
    scope = {**request.scope, "root_path": root}
    routes = request.app.router.routes

    def full(route: BaseRoute, method: str) -> bool:
        return route.matches({**scope, "method": method})[0] is Match.FULL

    by_method = [r for r in routes if not full(r, _NO_METHOD)]
    named = {m.strip().upper() for m in raised.split(",")}
    found = {m for m in METHODS if m in named or any(full(r, m) for r in by_method)}
    return [m for m in METHODS if (m != "HEAD" and m in found) or (m == "HEAD" and "GET" in found)]


async def http_error(request: Request, exc: Exception) -> Response:
    """FastAPI's HTTP error answer, with a complete ``Allow`` header on a 405."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        headers = dict(exc.headers or {})
        raised = headers.pop("Allow", headers.pop("allow", ""))
        headers["Allow"] = ", ".join(allowed_methods(request, raised))
        exc = HTTPException(405, exc.detail, headers)
    return await http_exception_handler(request, exc)
