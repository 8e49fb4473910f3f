"""``python -m harness.testing.workers.faketime_main <module> [args...]``: run a module under
libfaketime.

:func:`harness.testing.chaos.injector.clock_ahead_env` preloads libfaketime with the monotonic
clocks left
true. libfaketime 0.9.10 then fails Python's ``time.sleep`` (an absolute
``clock_nanosleep`` on the monotonic clock) with ``EINVAL``; this entry replaces
``time.sleep`` with a relative wait that it leaves alone, then runs ``<module>`` as
``__main__`` with the remaining arguments. Nothing else changes: the process's wall
clock (``time.time``, ``datetime.now``, ``CLOCK_REALTIME``) is what libfaketime makes it.
"""

from __future__ import annotations

import runpy
import select
import sys
import time
from typing import SupportsIndex

__all__ = ["main", "relative_sleep"]


def relative_sleep(seconds: float | SupportsIndex) -> None:
    """Sleep ``seconds`` with a relative timeout (what libfaketime passes through)."""
    length = float(seconds.__index__() if isinstance(seconds, SupportsIndex) else seconds)
    if length < 0:
        raise ValueError("sleep length must be non-negative")
    deadline = time.monotonic() + length
    while (left := deadline - time.monotonic()) > 0:
        select.select([], [], [], left)


def main() -> None:
    """Patch ``time.sleep``, then run the module named by the first argument."""
    if len(sys.argv) < 2:
        raise SystemExit(
            "usage: python -m harness.testing.workers.faketime_main <module> [args...]"
        )
    module = sys.argv[1]
    sys.argv = [module, *sys.argv[2:]]
    time.sleep = relative_sleep
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
