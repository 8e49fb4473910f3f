"""``HEAD`` is ``GET`` without the body (RFC 9110, section 9.3.2), on every path.

FastAPI's routes declared ``GET`` answer ``HEAD`` with a 405, and a path served by a route
of ours inside a mount (``/static/history-kinds.js``) was answered by the mount instead.
So ``HEAD`` never reaches the routes: the app is asked the same request as a ``GET`` and
its answer goes out with the same status and headers (``Content-Length`` and ``ETag``
included, a conditional request's 304 too) and no body.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HeadAsGet"]


class HeadAsGet:
    """Pure ASGI middleware answering ``HEAD`` with the headers of the same ``GET``.

    The app sees a copy of the scope with the method ``GET``; the server keeps its own
    (``HEAD``), so it frames the answer as one with no body.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # a streamed part: nothing of it goes out
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
