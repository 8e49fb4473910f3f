"""Writes only from this server's own pages: a cross-site request that changes state is
refused before it reaches the app.

A page on another site can make a visitor's browser POST to this API (a form needs no
script and no CORS preflight), retrying or submitting jobs in the visitor's name. Every
browser sends ``Origin`` with such a request (and ``Sec-Fetch-Site``); a request that
changes state and names another origin than the one it was sent to is answered 403.
Requests with neither header (the CLI, scripts, curl) are not a browser's and pass.
Behind a proxy that passes on another ``Host``, the ``X-Forwarded-Host`` it sets counts
as the server's too.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from ui.security import send_json

__all__ = ["SAFE_METHODS", "SameOrigin"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that change nothing: any site may send them (what they answer is the CSP's
and the browser's same-origin policy's concern)."""


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1")).strip()
    return None


def cross_site(scope: Scope) -> str | None:
    """Why a state-changing request comes from another site, or None when it does not
    (or says nothing of where it comes from)."""
    if scope.get("method", "GET").upper() in SAFE_METHODS:
        return None
    if (_header(scope, b"sec-fetch-site") or "").lower() == "cross-site":
        return "the browser says it comes from another site"
    origin = _header(scope, b"origin")
    if origin is None:
        return None
    host = (_header(scope, b"host") or "").lower()
    forwarded = (_header(scope, b"x-forwarded-host") or "").lower()
    try:
        parts = urlsplit(origin)
        sent_from = parts.netloc.lower()
    except ValueError:
        sent_from = ""
    if origin.lower() == "null" or not sent_from or sent_from not in {host, forwarded}:
        return f"its Origin is not this server ({host or 'no Host'})"
    return None


class SameOrigin:
    """Pure ASGI middleware answering 403 to a state-changing request from another site."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        why = cross_site(scope) if scope["type"] == "http" else None
        if why is None:
            await self.app(scope, receive, send)
            return
        body = json.dumps({"detail": f"cross-site request refused: {why}"}).encode()
        await send_json(send, 403, body)
