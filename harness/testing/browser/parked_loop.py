"""Let tests run their own event loops in a thread where Playwright's sync API parked one.

pytest-playwright starts Playwright's sync API once per session; from then on the main
thread reports Playwright's event loop as running, although it only runs while a
Playwright call is made. Anything after it that starts an event loop in that thread (an
async test under anyio or pytest-asyncio, a plain test calling ``asyncio.run``, a module
fixture calling ``anyio.run`` in its teardown) then fails with ``RuntimeError: Cannot run
the event loop while another loop is running``, so a suite's verdict would depend on
whether a browser test happened to run first in the same process.

:func:`loop_set_aside` hides the parked loop from this thread for a block;
:func:`reveal_hidden_loop` shows it again for the rest of the block (a browser fixture
requested from inside a test that had it hidden); :class:`LoopUsers` learns which
fixtures parked a loop or are built on one that did, so that only they and the tests
using them see it. No pytest here.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Collection, Iterator

__all__ = ["LoopUsers", "loop_set_aside", "reveal_hidden_loop"]


class _Hidden(threading.local):
    """The loops :func:`loop_set_aside` hid in this thread, innermost last (a running loop
    is a thread's own, and so is what was hidden of it)."""

    def __init__(self) -> None:
        self.loops: list[asyncio.AbstractEventLoop] = []


_hidden = _Hidden()


@contextlib.contextmanager
def loop_set_aside() -> Iterator[None]:
    """Within the block, this thread reports no running event loop; the one it reported
    before (if any) is reported again after. Nothing is touched when none was reported, so
    a loop parked *inside* the block (a browser started there) stays parked."""
    parked = asyncio._get_running_loop()
    if parked is None:
        yield
        return
    asyncio._set_running_loop(None)
    _hidden.loops.append(parked)
    try:
        yield
    finally:
        _hidden.loops.pop()
        asyncio._set_running_loop(parked)


def reveal_hidden_loop() -> None:
    """From here on, until the innermost :func:`loop_set_aside` block ends, this thread
    reports the loop that block hid: code in it turned out to use that loop (a browser
    fixture requested from inside a test or fixture that had it set aside). A no-op when
    nothing is hidden or a loop is reported already."""
    if _hidden.loops and asyncio._get_running_loop() is None:
        asyncio._set_running_loop(_hidden.loops[-1])


class LoopUsers:
    """The fixtures that use a parked loop: the ones whose setup parked it, the ones
    requesting any of those (directly or by ``getfixturevalue`` while being set up), and
    so on up. Everything else runs with the parked loop set aside. A fixture already set up
    and asked for again by ``getfixturevalue`` passes no hook and reveals nothing;
    Playwright parks its loop again on every call, so its objects work all the same."""

    def __init__(self) -> None:
        self._names: set[str] = set()
        self._setting_up: list[str] = []

    def use(self, names: Collection[str]) -> bool:
        """Whether a fixture or test asking for these fixtures uses a parked loop."""
        return not self._names.isdisjoint(names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    @contextlib.contextmanager
    def setting_up(self, name: str, requested: Collection[str]) -> Iterator[None]:
        """Set up fixture ``name`` (asking for ``requested``): with the parked loop shown
        when it uses one, set aside when it does not, and learn whether it parks one."""
        user = self.use(requested)
        before = asyncio._get_running_loop()
        self._setting_up.append(name)
        try:
            if user:
                reveal_hidden_loop()
                yield
            else:
                with loop_set_aside():
                    yield
        finally:
            self._setting_up.pop()
            after = asyncio._get_running_loop()
            if user or (after is not None and after is not before):
                self._names.add(name)
                self._names.update(self._setting_up)
