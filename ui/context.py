"""What a request handler needs from the app: the service, its reads and the deadlines."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request

from pipeline.live_reads import LiveReads
from pipeline.service import JobService
from ui.calls import await_store, call_store
from ui.known_host import KnownHosts

__all__ = ["AppContext", "context"]

T = TypeVar("T")


@dataclass(frozen=True)
class AppContext:
    """The service behind the app, the asyncio reads of its store, how long a request
    waits for the store, and the host names the app answers to."""

    service: JobService
    reads: LiveReads
    read_deadline: float
    write_deadline: float
    hosts: KnownHosts = field(default_factory=KnownHosts)

    async def read(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Await a read of the store (a :class:`LiveReads` method) with the read deadline."""
        return await await_store(self.read_deadline, fn, *args)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a write (which may also enqueue work) in a thread with the longer deadline."""
        return await call_store(self.write_deadline, fn, *args)

    def view(self, record: dict[str, Any]) -> dict[str, Any]:
        """The record plus ``terminal`` and ``failed`` flags, so the page needs no workflow."""
        workflow = self.service.store.workflow
        record["terminal"] = record["status"] in workflow.terminal
        record["failed"] = record["status"] == workflow.error
        return record


async def context(request: Request) -> AppContext:
    """The :class:`AppContext` that :func:`ui.app.create_app` stored on the app."""
    ctx: AppContext = request.app.state.jobstate
    return ctx
