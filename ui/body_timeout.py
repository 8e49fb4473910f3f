"""Request bodies must arrive in time: a stalled or trickling upload is answered 408 and dropped."""

from __future__ import annotations

import time

import anyio
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DEFAULT_BODY_TIMEOUT", "BodyTimeout"]

DEFAULT_BODY_TIMEOUT = 10.0
"""Seconds a whole request body may take (``JOBSTATE_UI_BODY_TIMEOUT_SECONDS``)."""


class BodyTimeout:
    """Pure ASGI middleware: the whole body must arrive within ``seconds`` of the request.

    The clock starts when the request's headers are in and covers every read of the body
    together, so a body that stops short of its ``Content-Length``, or trickles a byte at a
    time, is cut off at the same moment. The answer is 408 with ``Connection: close``: the
    server drops the connection instead of waiting for the rest. A request that reads no
    body (every ``GET``) is never timed.
    """

    def __init__(self, app: ASGIApp, seconds: float = DEFAULT_BODY_TIMEOUT) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Read from the monotonic clock, not the event loop's: asking anyio for the loop's
        # time costs more than the rest of this middleware on every request, and a GET
        # (the page's poll) never reads a body.
        began = time.monotonic()

        async def timed() -> Message:
            left = self.seconds - (time.monotonic() - began)
            try:
                with anyio.fail_after(max(left, 0.0)):
                    return await receive()
            except TimeoutError:
                raise HTTPException(
                    408,
                    f"the request body did not arrive within {self.seconds:g} s",
                    headers={"Connection": "close"},
                ) from None

        await self.app(scope, timed, send)
