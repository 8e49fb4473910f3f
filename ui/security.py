"""Security headers on every response, and a JSON answer for any unexpected error."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_SECURITY_POLICY", "SecurityHeaders", "Stamped", "send_json", "stamp"]

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)

_ALWAYS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_RAW = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in _ALWAYS.items()]
_RAW_NO_STORE = [*_RAW, (b"cache-control", b"no-store")]
_NAMES = frozenset(k for k, _ in _RAW)
_NAMES_NO_STORE = frozenset(k for k, _ in _RAW_NO_STORE)
_INTERNAL_ERROR = json.dumps({"detail": "internal error: the server could not answer"}).encode()


async def send_json(send: Send, status: int, body: bytes, *, close: bool = False) -> None:
    """Answer with a JSON ``body`` straight from an ASGI middleware (the headers above are
    stamped on it by :class:`SecurityHeaders` outside); ``close`` asks the client to
    close the connection."""
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def stamp(message: Message, *, no_store: bool) -> None:
    """Put our headers on an ``http.response.start`` message, replacing any of the same
    name (one pass over the list: this runs on every answer, the page's poll included);
    ``no_store`` adds ``Cache-Control: no-store``."""
    ours = _RAW_NO_STORE if no_store else _RAW
    names = _NAMES_NO_STORE if no_store else _NAMES
    kept = [(k, v) for k, v in message.get("headers", ()) if k.lower() not in names]
    message["headers"] = kept + ours


class Stamped:
    """``send`` that stamps our headers on the answer's start (:func:`stamp`); ``started``
    once that went out."""

    def __init__(self, send: Send, *, no_store: bool) -> None:
        self.send = send
        self.no_store = no_store
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            stamp(message, no_store=self.no_store)
        await self.send(message)


class SecurityHeaders:
    """Pure ASGI middleware: stamps the headers above on every HTTP response.

    Paths starting with one of ``no_store_prefixes`` also get ``Cache-Control: no-store``
    (job state must never come from a cache). An exception that escapes the app is
    logged and answered with a JSON 500 that carries the same headers, so no response,
    not even a crash, goes out without the policy.
    """

    def __init__(self, app: ASGIApp, no_store_prefixes: Iterable[str] = ("/api/",)) -> None:
        self.app = app
        self.no_store_prefixes = tuple(no_store_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = str(scope.get("path", "")).startswith(self.no_store_prefixes)
        stamped = Stamped(send, no_store=no_store)
        try:
            await self.app(scope, receive, stamped)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if stamped.started:
                raise
            await self._internal_error(stamped)

    @staticmethod
    async def _internal_error(send: Send) -> None:
        await send_json(send, 500, _INTERNAL_ERROR)
