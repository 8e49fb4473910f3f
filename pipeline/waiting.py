"""Wait on a condition with a deadline (never sleep-and-hope): the one loop that does it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from pipeline.validation import SECONDS_RANGE, finite_number

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
    A ``timeout`` that is not a finite number (0 or less: one check), or an ``interval``
    that is not a finite number above 0, raises :class:`ValueError` at once: ``nan`` or
    ``inf`` would wait for ever on a job that never comes.
    """
    _check_seconds("timeout", timeout, what, above_zero=False)
    _check_seconds("interval", interval, what, above_zero=True)
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise fail(f"{what} not met within {timeout:g}s")
        pause(interval)


def _check_seconds(name: str, value: object, what: str, *, above_zero: bool) -> None:
    number = finite_number(value)
    if number is None or (above_zero and number <= 0):
        bound = " above 0" if above_zero else ""
        raise ValueError(
            f"waiting for {what}: {name}={value!r} is not a finite number of seconds{bound} "
            f"({SECONDS_RANGE})"
        )
