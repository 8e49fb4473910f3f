"""Turn the raw Redis hash and stream entries into the public record dicts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["decode", "history_entry", "iso_ms", "record_from_hash"]


def decode(value: Any) -> str:
    """Bytes from a non-decoding client become text; text stays text."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def iso_ms(ms: int) -> str:
    """Milliseconds since the epoch as ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    stamp = datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{ms % 1000:03d}Z"


def _json_or_none(text: str) -> Any:
    return json.loads(text) if text else None


def record_from_hash(raw: Mapping[Any, Any]) -> dict[str, Any]:
    """The PRD record (plus version, attempt and times) from a job's hash."""
    h = {decode(k): decode(v) for k, v in raw.items()}
    return {
        "job_id": h["job_id"],
        "workflow": h.get("workflow", ""),
        "status": h["status"],
        "message": h.get("message", ""),
        "error": h.get("error") or None,
        "updated_at": iso_ms(int(h["updated_ms"])),
        "created_at": iso_ms(int(h["created_ms"])),
        "heartbeat_at": iso_ms(int(h["heartbeat_ms"])),
        "metadata": {
            "url": h.get("url", ""),
            "space_id": h.get("space_id") or None,
            "task_id": h.get("task_id") or None,
        },
        "version": int(h["version"]),
        "attempt": int(h["attempt"]),
        "progress": _json_or_none(h.get("progress", "")),
        "result": _json_or_none(h.get("result", "")),
    }


def history_entry(entry_id: Any, fields: Mapping[Any, Any]) -> dict[str, Any]:
    """One history stream entry as a dict (``from`` is ``None`` for the create)."""
    f = {decode(k): decode(v) for k, v in fields.items()}
    ms = int(f["ms"])
    return {
        "id": decode(entry_id),
        "version": int(f["v"]),
        "attempt": int(f["attempt"]),
        "kind": f["kind"],
        "from": f["from"] or None,
        "status": f["to"],
        "at": iso_ms(ms),
        "ms": ms,
        "message": f.get("message", ""),
        "error": f.get("error") or None,
        "task_id": f.get("task_id") or None,
    }
