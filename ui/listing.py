"""The recent-jobs list as the page shows it: each job flagged stale like the poll path does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.service import JobService

__all__ = ["recent_jobs"]


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def recent_jobs(service: JobService, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` most recent jobs, newest first, each with ``stale``.

    ``stale`` means what it means on one job's record: running, yet no change or
    heartbeat for ``stale_after_seconds`` by Redis' clock. Redis is asked for the time
    only when a listed job is running.
    """
    store = service.store
    records = service.list(limit)
    running = [r for r in records if r["status"] not in store.workflow.terminal]
    for record in records:
        record["stale"] = False
    if running:
        now = store.now_ms()
        limit_ms = store.settings.stale_after_seconds * 1000
        for record in running:
            last = max(_ms(record["updated_at"]), _ms(record["heartbeat_at"]))
            record["stale"] = now - last > limit_ms
    return records
