"""What every reader does with raw replies, whichever client fetched them.

The synchronous store and the asyncio reads of the web API turn Redis' replies into
records the same way: through :mod:`pipeline.records` (decoding, repair, redaction), with
a damaged entry or record left out and reported once, and ``stale`` judged by Redis'
clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pipeline.records import decode, history_entry, record_from_hash, report_once
from pipeline.redaction import Redactor

__all__ = ["flag_stale", "history_entries", "listable", "redis_ms"]


def redis_ms(sec: Any, usec: Any) -> int:
    """Redis ``TIME`` (seconds, microseconds) as milliseconds."""
    return int(sec) * 1000 + int(usec) // 1000


def history_entries(
    job_id: str, entries: Sequence[tuple[Any, Any]], redactor: Redactor, *, keep: int
) -> list[dict[str, Any]]:
    """A job's XRANGE reply (oldest first) as its history: the newest ``keep`` entries
    (``history_maxlen``), oldest first; one too damaged to read is left out (once
    reported). The one gate of every history reader: the stream itself may hold more,
    because the write scripts trim it a whole node at a time (``XADD MAXLEN ~``: up to a
    node's ``stream-node-max-entries``, 100 by default, more), and one written under a
    larger ``history_maxlen`` keeps its length until its next write."""
    shown = []
    for entry_id, fields in entries[-keep:] if keep > 0 else []:
        try:
            shown.append(history_entry(entry_id, fields, redactor))
        except Exception as exc:
            report_once(
                (job_id, decode(entry_id)),
                "job %s: history entry %s left out, it is damaged (%s)",
                job_id,
                decode(entry_id),
                type(exc).__name__,
            )
    return shown


def listable(
    job_id: str,
    raw: Mapping[Any, Any] | None,
    *,
    redactor: Redactor,
    mirrored: Sequence[str] = ("url", "space_id"),
) -> dict[str, Any] | None:
    """One job of a listing (``redactor`` and ``mirrored`` as for
    :func:`~pipeline.records.record_from_hash`); ``None`` for a missing one, and for a
    record too damaged to read whatever the damage raises (logged once per job)."""
    if not raw:
        return None
    try:
        return record_from_hash(raw, redactor=redactor, mirrored=mirrored, job_id=job_id)
    except Exception as exc:
        report_once(
            (job_id, "unlisted"),
            "job %s left out of the list: its record is damaged (%s)",
            job_id,
            type(exc).__name__,
        )
        return None


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def flag_stale(
    records: list[dict[str, Any]], now_ms: int, terminal: frozenset[str], stale_after: float
) -> list[dict[str, Any]]:
    """Set ``stale`` on each record as on one job's: running, yet no change or heartbeat
    for ``stale_after`` seconds by Redis' clock ``now_ms``."""
    for record in records:
        last = max(_ms(record["updated_at"]), _ms(record["heartbeat_at"]))
        running = record["status"] not in terminal
        record["stale"] = running and now_ms - last > stale_after * 1000
    return records
