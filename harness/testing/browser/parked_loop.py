"""Let an async test run in a thread where Playwright's sync API parked its event loop.

pytest-playwright starts Playwright's sync API once per session; from then on the main
thread reports Playwright's event loop as running, although it only runs while a
Playwright call is made. An async test after it (anyio, pytest-asyncio) then fails with
``RuntimeError: Cannot run the event loop while another loop is running``, so a suite's
verdict would depend on whether a browser test ran first in the same process. While an
async test's phase runs, :func:`loop_set_aside` hides the parked loop from this thread
and puts it back afterwards. No pytest here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

__all__ = ["loop_set_aside"]


@contextlib.contextmanager
def loop_set_aside() -> Iterator[None]:
    """Within the block, this thread reports no running event loop; the one it reported
    before (if any) is reported again after."""
    parked = asyncio._get_running_loop()
    if parked is None:
        yield
        return
    asyncio._set_running_loop(None)
    try:
        yield
    finally:
        asyncio._set_running_loop(parked)
