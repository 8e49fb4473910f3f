"""Redis' clock in tests: the sweeps judge age by it, strictly and to the millisecond.

A sweep with ``older_than=0`` takes a job more than 0 ms old, so a job written in the
millisecond the sweep reads is left alone. A test that sweeps "everything now" first lets
Redis' clock pass every write before it (a condition waited on, never a sleep).
"""

from __future__ import annotations

from pipeline.store import JobStore
from pipeline.waiting import wait_until

__all__ = ["past_every_write"]


def past_every_write(store: JobStore) -> int:
    """Wait until Redis' clock reads a later millisecond than it did when called: every
    write made before the call is then more than 0 ms old. The clock read then."""
    start = store.now_ms()
    return wait_until(
        lambda: now if (now := store.now_ms()) > start else None,
        timeout=5,
        interval=0.0005,
        what="Redis' clock to pass the last write",
    )
