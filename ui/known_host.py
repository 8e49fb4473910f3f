"""Only names this server answers to: a page whose name merely resolves to this machine
(DNS rebinding) cannot read the API through its visitor's browser.

A browser keeps pages of different names apart, but a name is only what DNS says it is:
a page at ``evil.example`` whose name is then made to resolve to 127.0.0.1 is, to the
browser, the same origin as the server listening there, and may read what that answers
(the job list, a job's state). What gives it away is the name its requests carry in
``Host``. So, judged by the address a request arrived on (the ASGI ``server``):

* on a loopback address (``jobstate serve``'s default, the demo, a test's live server,
  and a server on ``0.0.0.0`` reached through ``127.0.0.1``: the path a rebinding page
  takes), ``Host`` must name a loopback host (``localhost``, ``127.0.0.1``, ``[::1]``,
  any port) or one listed in ``JOBSTATE_UI_HOSTS``;
* on any other address (the operator exposed the server), ``Host`` is checked only when
  ``JOBSTATE_UI_HOSTS`` lists names: then it must be one of them, a loopback host, or the
  very address the request arrived on.

``X-Forwarded-Host`` (set by a proxy) is held to the same rule as ``Host``:
:class:`ui.same_origin.SameOrigin` counts it as this server's name, so it must be one.
Any other name is answered 421 (Misdirected Request) with a one-line JSON error naming
the host and how to allow it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline.errors import printable
from pipeline.hostnames import LOOPBACK_NAMES, host_of, is_loopback, ui_host_entry
from pipeline.settings import Settings
from ui.security import send_json

__all__ = ["KnownHost", "KnownHosts"]

_HEADERS = ((b"host", "Host"), (b"x-forwarded-host", "X-Forwarded-Host"))


@dataclass(frozen=True)
class KnownHosts:
    """The rule above, with the names ``JOBSTATE_UI_HOSTS`` lists (canonical spelling)."""

    listed: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_settings(cls, settings: Settings) -> KnownHosts:
        """The rule with ``settings.ui_hosts`` listed."""
        return cls(frozenset(ui_host_entry(entry) for entry in settings.ui_hosts))

    def refusal(self, scope: Scope) -> str | None:
        """Why the request names a host this server does not answer to, or None."""
        arrived = _arrived_on(scope)
        loopback = arrived is not None and is_loopback(arrived)
        if not loopback and not self.listed:
            return None
        for name, header in _HEADERS:
            for value in _named(scope, name):
                host = host_of(value)
                known = host is not None and (
                    is_loopback(host) or host in self.listed or host == arrived
                )
                if not known:
                    return _why(header, value, loopback)
        return None


def _arrived_on(scope: Scope) -> str | None:
    server = scope.get("server")
    return host_of(f"[{server[0]}]" if ":" in server[0] else server[0]) if server else None


def _named(scope: Scope, name: bytes) -> Iterator[str]:
    """Each host the request names in header ``name``: every ``Host`` (none at all is
    an empty one), every comma-separated entry of every ``X-Forwarded-Host``."""
    values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == name]
    if name == b"host":
        yield from values or [""]
        return
    for value in values:
        yield from (part.strip() for part in value.split(","))


def _why(header: str, value: str, loopback: bool) -> str:
    shown = repr(printable(value, 100)) if value else "(none)"
    allowed = (
        f"this server listens on a loopback address and answers to {', '.join(LOOPBACK_NAMES)}"
        if loopback
        else "this server answers to the names JOBSTATE_UI_HOSTS lists"
    )
    return (
        f"{header} {shown} is not a name this server answers to: {allowed} (any port); "
        "to reach it by that name, add the name to JOBSTATE_UI_HOSTS (comma-separated)"
    )


class KnownHost:
    """Pure ASGI middleware answering 421 to a request naming an unknown host (above)."""

    def __init__(self, app: ASGIApp, hosts: KnownHosts) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        why = self.hosts.refusal(scope) if scope["type"] == "http" else None
        if why is None:
            await self.app(scope, receive, send)
            return
        await send_json(send, 421, json.dumps({"detail": why}).encode())
