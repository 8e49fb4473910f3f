"""Store calls with a deadline: awaited reads, and blocking calls off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.to_thread

__all__ = ["StoreTimeout", "await_store", "call_store"]

T = TypeVar("T")


class StoreTimeout(Exception):
    """The store did not answer within the request's deadline."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the state store did not answer within {seconds:g} s")
        self.seconds = seconds


async def call_store(deadline: float, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a worker thread; :class:`StoreTimeout` after ``deadline`` s.

    redis-py retries a refused connection with backoff for several seconds; the page
    must hear "unavailable" within a poll or two, so the request stops waiting at the
    deadline and the thread is left to finish on its own.
    """
    try:
        with anyio.fail_after(deadline):
            return await anyio.to_thread.run_sync(
                partial(fn, *args, **kwargs), abandon_on_cancel=True
            )
    except TimeoutError as exc:
        raise StoreTimeout(deadline) from exc


async def await_store(deadline: float, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """``await fn(*args)``; :class:`StoreTimeout` after ``deadline`` s (the read is
    cancelled, and the connection it was waiting on is dropped). asyncio's own timeout:
    the app is served on asyncio, and it costs a fraction of a cancel scope per read."""
    try:
        async with asyncio.timeout(deadline):
            return await fn(*args)
    except TimeoutError as exc:
        raise StoreTimeout(deadline) from exc
