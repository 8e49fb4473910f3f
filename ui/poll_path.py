"""The poll's own door: ``GET /api/jobs/{id}`` answered without the framework's layers.

Every open page and watcher asks this once a second, and the framework's layers (its
telemetry check, the error middleware, routing and dependency injection, each middleware
wrapping ``send`` again) cost more than the read itself. So the poll is answered by the
declared route's own functions (:func:`ui.api.read_poll`, :func:`ui.api.poll_response`),
its refusals by the app's own handlers (:func:`ui.http_errors.handler_for`), stamped with
the same security headers (:class:`ui.security.Stamped`): the answers are the route's,
whichever way they come.

Two ways in:

* :class:`JobstateAPI` answers the poll before anything else when the app's middleware is
  only ours (as :func:`ui.app.create_app` builds it) and no OpenTelemetry provider was
  set up by the time the first request came; an unexpected error there is left to the
  whole stack, which answers it as it would any route's (a logged JSON 500), and so is
  a poll naming a host the app does not answer to (:mod:`ui.known_host` refuses it).
* :class:`PollPath`, the innermost middleware, answers it inside any middleware a project
  added (an authentication layer, say), so that middleware sees every poll.

Every other request passes through untouched.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from ui.api import poll_response, read_poll
from ui.body_limit import BodyLimit
from ui.body_timeout import BodyTimeout
from ui.context import AppContext
from ui.etags import etag
from ui.head import HeadAsGet
from ui.http_errors import handler_for
from ui.known_host import KnownHost
from ui.same_origin import SameOrigin
from ui.security import SecurityHeaders, Stamped

__all__ = ["JobstateAPI", "PollPath", "polled_job"]

_POLL = re.compile(r"/api/jobs/([^/]+)")


def polled_job(scope: Scope) -> str | None:
    """The job id when ``scope`` is a poll (``GET /api/jobs/{id}``), else ``None``."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    match = _POLL.fullmatch(scope["path"])
    return match[1] if match else None


async def _answer(ctx: AppContext, job_id: str, scope: Scope, receive: Receive, send: Send) -> None:
    """Send the route's answer to a poll of ``job_id``; an error without a handler raises
    before anything is sent."""
    try:
        poll = await read_poll(ctx, job_id, _if_none_match(scope))
    except Exception as exc:
        handler = handler_for(exc)
        if handler is None:
            raise
        answer = await handler(Request(scope, receive), exc)
    else:
        if poll.record is None:  # most polls: the route's 304, without building a Response
            await send({"type": "http.response.start", "status": 304, "headers": [_etag(poll.tag)]})
            await send({"type": "http.response.body", "body": b""})
            return
        answer = poll_response(ctx, poll)
    await answer(scope, receive, send)


def _etag(tag: str) -> tuple[bytes, bytes]:
    return (b"etag", etag(tag).encode("latin-1"))


def _if_none_match(scope: Scope) -> str | None:
    """The ``If-None-Match`` header (its values joined as one list, as HTTP allows).
    ASGI servers hand header names over lowercased."""
    values = [v.decode("latin-1") for k, v in scope["headers"] if k == b"if-none-match"]
    return ", ".join(values) if values else None


class PollPath:
    """Middleware: answer ``GET /api/jobs/{id}`` for ``ctx`` (see the module docs)."""

    def __init__(self, app: ASGIApp, ctx: AppContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        job_id = polled_job(scope)
        if job_id is None:
            await self.app(scope, receive, send)
            return
        await _answer(self.ctx, job_id, scope, receive, send)


# SameOrigin judges only writes: a poll (a GET) skipping it skips nothing it would do;
# KnownHost's rule is asked before a poll skips it.
_OURS: frozenset[Any] = frozenset(
    {PollPath, BodyLimit, BodyTimeout, SameOrigin, KnownHost, SecurityHeaders, HeadAsGet}
)


class JobstateAPI(FastAPI):
    """The FastAPI app, answering the poll first when nothing else must see it (see the
    module docs). Everything else is FastAPI's own."""

    jobstate_poll_first: bool | None = None
    """Whether polls skip the stack: decided when the stack is built (first request)."""

    def build_middleware_stack(self) -> ASGIApp:
        """FastAPI's stack; also decides whether the poll may be answered ahead of it."""
        only_ours = all(m.cls in _OURS for m in self.user_middleware)
        self.jobstate_poll_first = only_ours and not _telemetry_on(self)
        return super().build_middleware_stack()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.middleware_stack is None:
            self.middleware_stack = self.build_middleware_stack()
        job_id = polled_job(scope) if self.jobstate_poll_first else None
        if job_id is not None and self.state.jobstate.hosts.refusal(scope) is not None:
            job_id = None  # a name the app does not answer to: the stack's KnownHost refuses
        if job_id is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        stamped = Stamped(send, no_store=True)
        try:
            await _answer(self.state.jobstate, job_id, scope, receive, stamped)
        except Exception:
            if stamped.started:
                raise
            await super().__call__(scope, receive, send)  # the stack answers, as any route


def _telemetry_on(app: Any) -> bool:
    """Whether FastAPI's own telemetry would observe requests (then polls go through it)."""
    telemetry = getattr(app, "_native_telemetry", None)
    enabled = getattr(telemetry, "enabled", None)
    return bool(enabled()) if callable(enabled) else False
