"""Wait on a condition with a deadline (never sleep-and-hope): the one loop that does it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["wait_until"]

T = TypeVar("T")


def wait_until(
    check: Callable[[], T],
    timeout: float,
    *,
    interval: float = 0.05,
    what: str = "condition",
    fail: Callable[[str], BaseException] = TimeoutError,
    pause: Callable[[float], object] = time.sleep,
) -> T:
    """Call ``check`` until it returns something truthy and return that.

    After ``timeout`` seconds raise ``fail(message)`` (default :class:`TimeoutError`), the
    message naming ``what``; ``fail`` is called only then, so it may read a log tail.
    ``check`` may raise to give up early (a process that exited will never get ready).
    ``pause`` waits between checks (a browser page passes one that keeps delivering events).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise fail(f"{what} not met within {timeout:g}s")
        pause(interval)
