"""Request bodies are capped before they are read: a 20 MB POST costs what a 64 KB one does."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ui.security import send_json

__all__ = ["MAX_BODY_BYTES", "BodyLimit"]

MAX_BODY_BYTES = 64 * 1024
"""Far above any real request (a job's input is a URL or a small JSON object)."""


class BodyLimit:
    """Pure ASGI middleware answering 413 to a body above ``max_bytes``.

    A declared ``Content-Length`` above the cap is refused before a byte of the body is
    read; a body without one (chunked) is counted as it arrives and refused as soon as it
    passes the cap, so the server never holds more than the cap plus one chunk.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send, declared)
            return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(413, self._detail())
            return message

        return counted

    async def _refuse(self, send: Send, declared: int) -> None:
        await send_json(send, 413, json.dumps({"detail": self._detail()}).encode(), close=True)

    def _detail(self) -> str:
        return f"request body is larger than {self.max_bytes} bytes"


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
