"""A request's head must arrive in time: a connection that sends nothing, or trickles its
headers a line at a time, is closed instead of holding a place among the server's
capped connections (``JOBSTATE_UI_MAX_CONNECTIONS``) for ever.

uvicorn times out an idle kept-alive connection only after a response, and any byte
resets that; nothing bounds how long the head of a request may take. The protocol here
is uvicorn's own (httptools when installed, else h11) with one deadline more: from the
moment a connection opens, and again after each response, the next request's whole head
must arrive within the request timeout (``JOBSTATE_UI_BODY_TIMEOUT_SECONDS``, which then
bounds its body, :mod:`ui.body_timeout`).
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from pipeline.settings import Settings

__all__ = ["HeadDeadline", "head_deadline"]

_Base: Any = AutoHTTPProtocol  # typed as a bare asyncio.Protocol by uvicorn


class HeadDeadline(_Base):  # type: ignore[misc]
    """uvicorn's HTTP protocol, closing a connection whose request head is late."""

    seconds: ClassVar[float | None] = None
    """The deadline; None: ``JOBSTATE_UI_BODY_TIMEOUT_SECONDS`` (read once per process)."""

    _head_timer: asyncio.TimerHandle | None = None

    @classmethod
    def deadline(cls) -> float:
        """Seconds a request head may take (see :attr:`seconds`)."""
        if cls.seconds is None:
            cls.seconds = Settings.from_env().ui_body_timeout_seconds
        return cls.seconds

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        before = self.cycle
        super().data_received(data)
        if self.cycle is not before:  # a whole head arrived: a request began
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._arm()  # the next request's head, on a kept-alive connection

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(type(self).deadline(), self._head_late)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
            self.transport.close()


def head_deadline(seconds: float) -> type[HeadDeadline]:
    """:class:`HeadDeadline` with its deadline set (for a server in this process)."""
    return type("HeadDeadline", (HeadDeadline,), {"seconds": seconds})
