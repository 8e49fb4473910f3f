"""The poll's own door: ``GET /api/jobs/{id}`` answered without the framework's routing.

Every open page and watcher asks this once a second, and FastAPI's routing and dependency
injection cost more than the read itself. This pure ASGI middleware answers those requests
with the declared route's own function (:func:`ui.api.poll_answer`) and its refusals with
the app's own handlers (:func:`ui.http_errors.handler_for`), so the answers are the route's;
every other request passes through untouched.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from ui.api import poll_answer
from ui.context import AppContext
from ui.http_errors import handler_for

__all__ = ["PollPath"]

_POLL = re.compile(r"/api/jobs/([^/]+)")


class PollPath:
    """Answer ``GET /api/jobs/{id}`` for ``ctx`` (see the module docs)."""

    def __init__(self, app: ASGIApp, ctx: AppContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _POLL.fullmatch(scope["path"]) if scope["type"] == "http" else None
        if match is None or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        try:
            answer = await poll_answer(self.ctx, match[1], _if_none_match(scope))
        except Exception as exc:
            handler = handler_for(exc)
            if handler is None:
                raise
            answer = await handler(Request(scope, receive), exc)
        await answer(scope, receive, send)


def _if_none_match(scope: Scope) -> str | None:
    """The ``If-None-Match`` header (its values joined as one list, as HTTP allows).
    ASGI servers hand header names over lowercased."""
    values = [v.decode("latin-1") for k, v in scope["headers"] if k == b"if-none-match"]
    return ", ".join(values) if values else None
